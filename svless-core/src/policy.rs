//! IAM policy documents: the JSON of S3 bucket policies and of Lambda authorizers' answers,
//! typed, with an evaluation helper for tests.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The policy language version every current policy uses.
pub const VERSION: &str = "2012-10-17";

/// One value or a list, kept as written: IAM accepts both, and a document read and written back
/// comes out the same.
///
/// ```
/// use svless_core::policy::OneOrMany;
/// let one: OneOrMany<String> = serde_json::from_str("\"s3:GetObject\"").expect("one");
/// let many: OneOrMany<String> = serde_json::from_str("[\"a\", \"b\"]").expect("many");
/// assert_eq!((one.iter().count(), many.iter().count()), (1, 2));
/// assert_eq!(serde_json::to_string(&one).expect("JSON"), "\"s3:GetObject\"");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    /// A single value.
    One(T),
    /// A list.
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    /// The values.
    ///
    /// ```
    /// let v = svless_core::policy::OneOrMany::Many(vec![1, 2]);
    /// assert_eq!(v.iter().sum::<i32>(), 3);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        match self {
            OneOrMany::One(one) => std::slice::from_ref(one).iter(),
            OneOrMany::Many(many) => many.iter(),
        }
    }
}

impl<T> From<T> for OneOrMany<T> {
    fn from(value: T) -> Self {
        OneOrMany::One(value)
    }
}

impl From<&str> for OneOrMany<String> {
    fn from(value: &str) -> Self {
        OneOrMany::One(value.to_owned())
    }
}

impl<T> From<Vec<T>> for OneOrMany<T> {
    fn from(value: Vec<T>) -> Self {
        OneOrMany::Many(value)
    }
}

/// Allow or deny.
///
/// ```
/// let deny = svless_core::policy::Statement::new(svless_core::policy::Effect::Deny);
/// assert_eq!(deny.effect, svless_core::policy::Effect::Deny);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Effect {
    /// `"Allow"`.
    Allow,
    /// `"Deny"`.
    Deny,
}

/// Who a statement is about: `"*"` or principals by kind (`AWS`, `Service`, `Federated`, `CanonicalUser`).
///
/// ```
/// use svless_core::policy::Principal;
/// let p: Principal = serde_json::from_str(r#"{"AWS": "arn:aws:iam::111122223333:root"}"#).expect("a principal");
/// assert!(p.matches("arn:aws:iam::111122223333:root"));
/// assert!(serde_json::from_str::<Principal>("\"*\"").expect("anyone").matches("anyone"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Principal {
    /// `"*"`: anyone.
    Any(String),
    /// Principals by kind.
    Kinds(BTreeMap<String, OneOrMany<String>>),
}

impl Principal {
    /// Whether `principal` (an ARN, a service name, ...) is one of these.
    ///
    /// ```
    /// let p = svless_core::policy::Principal::Any("*".into());
    /// assert!(p.matches("arn:aws:iam::1:user/x"));
    /// ```
    pub fn matches(&self, principal: &str) -> bool {
        match self {
            Principal::Any(star) => star == "*",
            Principal::Kinds(kinds) => kinds
                .values()
                .flat_map(OneOrMany::iter)
                .any(|p| p == "*" || p == principal),
        }
    }
}

/// Conditions: operator → context key → values (`{"StringEquals": {"aws:SourceVpce": "vpce-1a2b"}}`).
pub type Conditions = BTreeMap<String, BTreeMap<String, OneOrMany<String>>>;

/// One statement of a policy.
///
/// ```
/// use svless_core::policy::{Effect, Statement};
/// let read = Statement::new(Effect::Allow).action("s3:GetObject").resource("arn:aws:s3:::photos/*");
/// assert_eq!(serde_json::to_value(&read).expect("JSON")["Action"], "s3:GetObject");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    /// An optional statement id.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sid: Option<String>,
    /// Allow or deny.
    pub effect: Effect,
    /// Who (resource-based policies such as bucket policies).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub principal: Option<Principal>,
    /// Everyone but these.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub not_principal: Option<Principal>,
    /// The actions (`s3:GetObject`, `execute-api:Invoke`, wildcards allowed).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub action: Option<OneOrMany<String>>,
    /// Every action but these.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub not_action: Option<OneOrMany<String>>,
    /// The resources (ARNs, wildcards allowed).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub resource: Option<OneOrMany<String>>,
    /// Every resource but these.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub not_resource: Option<OneOrMany<String>>,
    /// Conditions.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub condition: Option<Conditions>,
}

impl Statement {
    /// A statement with an effect and nothing else yet.
    ///
    /// ```
    /// let s = svless_core::policy::Statement::new(svless_core::policy::Effect::Deny);
    /// ```
    pub fn new(effect: Effect) -> Self {
        Statement {
            sid: None,
            effect,
            principal: None,
            not_principal: None,
            action: None,
            not_action: None,
            resource: None,
            not_resource: None,
            condition: None,
        }
    }

    /// Sets the statement id.
    ///
    /// ```
    /// let s = svless_core::policy::Statement::new(svless_core::policy::Effect::Allow).sid("ReadPhotos");
    /// ```
    pub fn sid(mut self, sid: &str) -> Self {
        self.sid = Some(sid.to_owned());
        self
    }

    /// Sets the action(s).
    ///
    /// ```
    /// let s = svless_core::policy::Statement::new(svless_core::policy::Effect::Allow).action(vec!["s3:GetObject".to_string()]);
    /// ```
    pub fn action(mut self, action: impl Into<OneOrMany<String>>) -> Self {
        self.action = Some(action.into());
        self
    }

    /// Sets the resource(s).
    ///
    /// ```
    /// let s = svless_core::policy::Statement::new(svless_core::policy::Effect::Allow).resource("*");
    /// ```
    pub fn resource(mut self, resource: impl Into<OneOrMany<String>>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    /// Sets the principal.
    ///
    /// ```
    /// use svless_core::policy::{Effect, Principal, Statement};
    /// let s = Statement::new(Effect::Allow).principal(Principal::Any("*".into()));
    /// ```
    pub fn principal(mut self, principal: Principal) -> Self {
        self.principal = Some(principal);
        self
    }

    /// Adds a condition (`operator`, context `key`, allowed `values`).
    ///
    /// ```
    /// use svless_core::policy::{Effect, Statement};
    /// let s = Statement::new(Effect::Deny).condition("Bool", "aws:SecureTransport", "false");
    /// ```
    pub fn condition(
        mut self,
        operator: &str,
        key: &str,
        values: impl Into<OneOrMany<String>>,
    ) -> Self {
        self.condition
            .get_or_insert_with(Conditions::new)
            .entry(operator.to_owned())
            .or_default()
            .insert(key.to_owned(), values.into());
        self
    }
}

/// An IAM policy document.
///
/// ```
/// use svless_core::policy::{Effect, PolicyDocument, Statement};
/// let policy = PolicyDocument::new(vec![
///     Statement::new(Effect::Allow).action("execute-api:Invoke").resource("arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/*"),
/// ]);
/// let json = serde_json::to_value(&policy).expect("JSON");
/// assert_eq!(json["Version"], "2012-10-17");
/// assert_eq!(json["Statement"][0]["Effect"], "Allow");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument {
    /// The language version, `2012-10-17`.
    pub version: String,
    /// An optional policy id.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub id: Option<String>,
    /// The statements (one object or a list, as written).
    pub statement: OneOrMany<Statement>,
}

/// What a policy says about a request.
///
/// ```
/// let none = svless_core::policy::PolicyDocument::new(vec![]);
/// let ask = svless_core::policy::Request { action: "s3:GetObject", resource: "x", ..Default::default() };
/// assert_eq!(none.evaluate(&ask), svless_core::policy::Decision::ImplicitDeny);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A statement allows it and none denies it.
    Allow,
    /// A statement denies it: explicit denies win.
    ExplicitDeny,
    /// No statement applies.
    ImplicitDeny,
}

/// A request to evaluate: who, what, on which resource, with which context keys.
///
/// ```
/// let ask = svless_core::policy::Request { action: "s3:GetObject", resource: "arn:aws:s3:::b/k", ..Default::default() };
/// assert!(ask.principal.is_none());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Request<'a> {
    /// The calling principal, for resource-based policies.
    pub principal: Option<&'a str>,
    /// The action, such as `s3:GetObject`.
    pub action: &'a str,
    /// The resource ARN.
    pub resource: &'a str,
    /// Context keys for conditions (`aws:SecureTransport` → `true`).
    pub context: HashMap<&'a str, &'a str>,
}

/// IAM wildcard matching: `*` any run of characters, `?` any one character.
///
/// ```
/// use svless_core::policy::wildcard_match;
/// assert!(wildcard_match("arn:aws:s3:::photos/*", "arn:aws:s3:::photos/2024/cat.png"));
/// assert!(wildcard_match("s3:Get?bject", "s3:GetObject"));
/// assert!(!wildcard_match("s3:Get*", "s3:PutObject"));
/// ```
pub fn wildcard_match(pattern: &str, value: &str) -> bool {
    let (p, v): (Vec<char>, Vec<char>) = (pattern.chars().collect(), value.chars().collect());
    let (mut pi, mut vi) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while vi < v.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == v[vi]) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = vi;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            vi = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

fn any_match(patterns: &OneOrMany<String>, value: &str, case_insensitive: bool) -> bool {
    patterns.iter().any(|p| {
        if case_insensitive {
            wildcard_match(&p.to_ascii_lowercase(), &value.to_ascii_lowercase())
        } else {
            wildcard_match(p, value)
        }
    })
}

/// The condition operators [`PolicyDocument::evaluate`] understands, each also with the
/// `IfExists` suffix (true when the request lacks the key). A checker should refuse a policy
/// using any other: the evaluator treats a condition it does not understand as not holding.
pub const CONDITION_OPERATORS: [&str; 11] = [
    "Null",
    "StringEquals",
    "StringNotEquals",
    "StringLike",
    "StringNotLike",
    "StringEqualsIgnoreCase",
    "Bool",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
];

/// Whether the conditions hold. Supported: [`CONDITION_OPERATORS`], with or without
/// `IfExists`; any other operator makes the statement not apply (this is a test helper, not
/// IAM itself).
fn conditions_hold(conditions: &Conditions, context: &HashMap<&str, &str>) -> bool {
    conditions.iter().all(|(operator, keys)| {
        let (operator, if_exists) = match operator.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (operator.as_str(), false),
        };
        keys.iter().all(|(key, values)| {
            let actual = context.get(key.as_str()).copied();
            if if_exists && actual.is_none() {
                return true;
            }
            match (operator, actual) {
                ("Null", _) => values.iter().any(|v| (v == "true") == actual.is_none()),
                ("StringEquals" | "ArnEquals" | "Bool", Some(a)) => values.iter().any(|v| v == a),
                ("StringEqualsIgnoreCase", Some(a)) => {
                    values.iter().any(|v| v.eq_ignore_ascii_case(a))
                }
                ("StringNotEquals" | "ArnNotEquals", Some(a)) => values.iter().all(|v| v != a),
                ("StringNotEquals" | "ArnNotEquals", None) => true,
                ("StringLike" | "ArnLike", Some(a)) => values.iter().any(|v| wildcard_match(v, a)),
                ("StringNotLike" | "ArnNotLike", Some(a)) => {
                    values.iter().all(|v| !wildcard_match(v, a))
                }
                ("StringNotLike" | "ArnNotLike", None) => true,
                _ => false,
            }
        })
    })
}

impl Statement {
    fn applies(&self, request: &Request<'_>) -> bool {
        let principal_ok = match (&self.principal, &self.not_principal, request.principal) {
            (Some(p), _, Some(who)) => p.matches(who),
            (Some(_), _, None) => false,
            (None, Some(np), Some(who)) => !np.matches(who),
            _ => true,
        };
        let action_ok = match (&self.action, &self.not_action) {
            (Some(actions), _) => any_match(actions, request.action, true),
            (None, Some(not)) => !any_match(not, request.action, true),
            (None, None) => false,
        };
        let resource_ok = match (&self.resource, &self.not_resource) {
            (Some(resources), _) => any_match(resources, request.resource, false),
            (None, Some(not)) => !any_match(not, request.resource, false),
            (None, None) => true,
        };
        principal_ok
            && action_ok
            && resource_ok
            && self
                .condition
                .as_ref()
                .is_none_or(|c| conditions_hold(c, &request.context))
    }
}

impl PolicyDocument {
    /// A document of version `2012-10-17` with these statements.
    ///
    /// ```
    /// let policy = svless_core::policy::PolicyDocument::new(vec![]);
    /// assert_eq!(policy.version, "2012-10-17");
    /// ```
    pub fn new(statements: Vec<Statement>) -> Self {
        PolicyDocument {
            version: VERSION.to_owned(),
            id: None,
            statement: OneOrMany::Many(statements),
        }
    }

    /// Evaluates a request: an explicit deny wins, then an allow, else the implicit deny.
    ///
    /// ```
    /// use svless_core::policy::{Decision, Effect, PolicyDocument, Request, Statement};
    /// let policy = PolicyDocument::new(vec![
    ///     Statement::new(Effect::Allow).action("s3:*").resource("arn:aws:s3:::photos/*"),
    ///     Statement::new(Effect::Deny).action("s3:DeleteObject").resource("*"),
    /// ]);
    /// let ask = |action| Request { action, resource: "arn:aws:s3:::photos/a.png", ..Request::default() };
    /// assert_eq!(policy.evaluate(&ask("s3:GetObject")), Decision::Allow);
    /// assert_eq!(policy.evaluate(&ask("s3:DeleteObject")), Decision::ExplicitDeny);
    /// assert_eq!(policy.evaluate(&Request { action: "sqs:SendMessage", resource: "x", ..Request::default() }), Decision::ImplicitDeny);
    /// ```
    pub fn evaluate(&self, request: &Request<'_>) -> Decision {
        let mut allowed = false;
        for statement in self.statement.iter().filter(|s| s.applies(request)) {
            match statement.effect {
                Effect::Deny => return Decision::ExplicitDeny,
                Effect::Allow => allowed = true,
            }
        }
        if allowed {
            Decision::Allow
        } else {
            Decision::ImplicitDeny
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bucket policy as the S3 User Guide prints it (deny non-TLS, allow a principal read).
    const BUCKET_POLICY: &str = r#"{"Version":"2012-10-17","Id":"ExamplePolicy","Statement":[{"Sid":"AllowSSLRequestsOnly","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::DOC-EXAMPLE-BUCKET","arn:aws:s3:::DOC-EXAMPLE-BUCKET/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}},{"Sid":"Read","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:root"]},"Action":["s3:GetObject","s3:GetObjectVersion"],"Resource":"arn:aws:s3:::DOC-EXAMPLE-BUCKET/*"}]}"#;

    #[test]
    fn documents_round_trip_exactly() {
        let policy: PolicyDocument = serde_json::from_str(BUCKET_POLICY).unwrap();
        assert_eq!(serde_json::to_string(&policy).unwrap(), BUCKET_POLICY);
        let single = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}"#;
        let policy: PolicyDocument = serde_json::from_str(single).unwrap();
        assert_eq!(serde_json::to_string(&policy).unwrap(), single);
    }

    #[test]
    fn if_exists_conditions_hold_when_the_key_is_absent() {
        let policy: PolicyDocument = serde_json::from_str(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"*","Condition":{"StringNotEqualsIfExists":{"s3:x-amz-server-side-encryption":"AES256"}}}]}"#).unwrap();
        let mut request = Request {
            principal: Some("someone"),
            action: "s3:PutObject",
            resource: "arn:aws:s3:::b/k",
            ..Request::default()
        };
        assert_eq!(
            policy.evaluate(&request),
            Decision::ExplicitDeny,
            "IfExists: no header, the condition holds"
        );
        request
            .context
            .insert("s3:x-amz-server-side-encryption", "aws:kms");
        assert_eq!(policy.evaluate(&request), Decision::ExplicitDeny);
        request
            .context
            .insert("s3:x-amz-server-side-encryption", "AES256");
        assert_eq!(policy.evaluate(&request), Decision::ImplicitDeny);
    }

    #[test]
    fn null_conditions_test_whether_a_key_is_there() {
        let policy: PolicyDocument = serde_json::from_str(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"*","Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption":"AES256"},"Null":{"s3:x-amz-server-side-encryption":"false"}}}]}"#).unwrap();
        let mut request = Request {
            principal: Some("someone"),
            action: "s3:PutObject",
            resource: "arn:aws:s3:::b/k",
            ..Request::default()
        };
        assert_eq!(
            policy.evaluate(&request),
            Decision::ImplicitDeny,
            "no header: the bucket's default encryption applies"
        );
        request
            .context
            .insert("s3:x-amz-server-side-encryption", "aws:kms");
        assert_eq!(policy.evaluate(&request), Decision::ExplicitDeny);
    }

    #[test]
    fn explicit_deny_wins_and_conditions_apply() {
        let policy: PolicyDocument = serde_json::from_str(BUCKET_POLICY).unwrap();
        let mut request = Request {
            principal: Some("arn:aws:iam::111122223333:root"),
            action: "s3:GetObject",
            resource: "arn:aws:s3:::DOC-EXAMPLE-BUCKET/cat.png",
            context: HashMap::from([("aws:SecureTransport", "true")]),
        };
        assert_eq!(policy.evaluate(&request), Decision::Allow);
        request.context.insert("aws:SecureTransport", "false");
        assert_eq!(policy.evaluate(&request), Decision::ExplicitDeny);
        request.context.insert("aws:SecureTransport", "true");
        request.principal = Some("arn:aws:iam::999999999999:root");
        assert_eq!(policy.evaluate(&request), Decision::ImplicitDeny);
    }

    #[test]
    fn not_action_and_wildcards() {
        let policy = PolicyDocument {
            version: VERSION.into(),
            id: None,
            statement: OneOrMany::One(Statement {
                not_action: Some("iam:*".into()),
                ..Statement::new(Effect::Allow)
            }),
        };
        let ask = |action| Request {
            action,
            resource: "x",
            ..Request::default()
        };
        assert_eq!(policy.evaluate(&ask("s3:GetObject")), Decision::Allow);
        assert_eq!(
            policy.evaluate(&ask("IAM:CreateUser")),
            Decision::ImplicitDeny,
            "actions ignore case"
        );
        assert!(wildcard_match("a*b*c", "axxbyyc"));
        assert!(!wildcard_match("a*b", "ac"));
        assert!(wildcard_match("*", ""));
    }
}
