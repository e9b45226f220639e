//! Lambda authorizers: REST API TOKEN and REQUEST authorizers answering with an IAM policy, and
//! HTTP API authorizers answering with a simple response.

use serde::Deserialize;
use serde::de::Error as _;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use svless_core::NamedError;
use svless_core::policy::{Effect, PolicyDocument, Statement};

/// What API Gateway asks an authorizer.
///
/// ```
/// let request: svless_auth::authorizer::AuthorizerRequest = serde_json::from_value(serde_json::json!({
///     "type": "TOKEN", "authorizationToken": "t", "methodArn": "arn:aws:execute-api:us-east-1:1:api/prod/GET/x"
/// })).expect("a TOKEN request");
/// assert!(matches!(request, svless_auth::authorizer::AuthorizerRequest::Token { .. }));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AuthorizerRequest {
    /// A REST API TOKEN authorizer: the token from the configured header.
    Token {
        /// The token.
        token: String,
        /// The ARN of the method called.
        method_arn: String,
    },
    /// A REST API REQUEST authorizer: the request's parts.
    Request {
        /// The ARN of the method called.
        method_arn: String,
        /// Headers.
        headers: HashMap<String, String>,
        /// Query string parameters.
        query: HashMap<String, String>,
        /// Path parameters.
        path_parameters: HashMap<String, String>,
        /// The request context, as sent.
        request_context: Value,
    },
    /// An HTTP API REQUEST authorizer (payload format 2.0).
    HttpApi {
        /// The ARN of the route called.
        route_arn: String,
        /// The identity sources' values.
        identity_source: Vec<String>,
        /// Headers.
        headers: HashMap<String, String>,
        /// Query string parameters.
        query: HashMap<String, String>,
        /// The request context, as sent.
        request_context: Value,
    },
}

impl svless_core::source::Record<svless_core::source::kind::Authorizer> for AuthorizerRequest {}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wire {
    #[serde(default)]
    version: Option<String>,
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    authorization_token: Option<String>,
    #[serde(default)]
    method_arn: Option<String>,
    #[serde(default)]
    route_arn: Option<String>,
    #[serde(default)]
    identity_source: Option<Value>,
    #[serde(default)]
    headers: Option<HashMap<String, String>>,
    #[serde(default)]
    query_string_parameters: Option<HashMap<String, String>>,
    #[serde(default)]
    path_parameters: Option<HashMap<String, String>>,
    #[serde(default)]
    request_context: Value,
}

impl<'de> Deserialize<'de> for AuthorizerRequest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = Wire::deserialize(deserializer)?;
        match (wire.version.as_deref(), wire.kind.as_deref()) {
            (Some("2.0"), _) => Ok(AuthorizerRequest::HttpApi {
                route_arn: wire
                    .route_arn
                    .ok_or_else(|| D::Error::missing_field("routeArn"))?,
                identity_source: match wire.identity_source {
                    Some(Value::Array(items)) => items
                        .into_iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect(),
                    Some(Value::String(one)) => vec![one],
                    _ => Vec::new(),
                },
                headers: wire.headers.unwrap_or_default(),
                query: wire.query_string_parameters.unwrap_or_default(),
                request_context: wire.request_context,
            }),
            (_, Some("TOKEN")) => Ok(AuthorizerRequest::Token {
                token: wire
                    .authorization_token
                    .ok_or_else(|| D::Error::missing_field("authorizationToken"))?,
                method_arn: wire
                    .method_arn
                    .ok_or_else(|| D::Error::missing_field("methodArn"))?,
            }),
            (_, Some("REQUEST")) => Ok(AuthorizerRequest::Request {
                method_arn: wire
                    .method_arn
                    .ok_or_else(|| D::Error::missing_field("methodArn"))?,
                headers: wire.headers.unwrap_or_default(),
                query: wire.query_string_parameters.unwrap_or_default(),
                path_parameters: wire.path_parameters.unwrap_or_default(),
                request_context: wire.request_context,
            }),
            _ => Err(D::Error::custom(
                "not an API Gateway authorizer request (no `type` TOKEN or REQUEST)",
            )),
        }
    }
}

impl AuthorizerRequest {
    /// The bearer token: the TOKEN authorizer's token, else the `Authorization` header (or the
    /// first identity source), with a leading `Bearer ` removed.
    ///
    /// ```
    /// use svless_auth::authorizer::AuthorizerRequest;
    /// let req: AuthorizerRequest = serde_json::from_value(serde_json::json!({
    ///     "type": "TOKEN", "authorizationToken": "Bearer abc", "methodArn": "arn:aws:execute-api:us-east-1:1:api/prod/GET/todos"
    /// })).expect("a TOKEN request");
    /// assert_eq!(req.bearer_token(), Some("abc"));
    /// ```
    pub fn bearer_token(&self) -> Option<&str> {
        let raw = match self {
            AuthorizerRequest::Token { token, .. } => Some(token.as_str()),
            AuthorizerRequest::Request { headers, .. } => header(headers, "authorization"),
            AuthorizerRequest::HttpApi {
                headers,
                identity_source,
                ..
            } => header(headers, "authorization").or(identity_source.first().map(String::as_str)),
        }?;
        let token = match raw.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token,
            _ => raw,
        };
        Some(token.trim()).filter(|t| !t.is_empty())
    }
}

fn header<'a>(headers: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// An authorizer's answer.
///
/// ```
/// let deny = svless_auth::authorizer::Authorization::Deny { principal_id: "mallory".into() };
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Authorization {
    /// Allow the caller on the whole API stage (so API Gateway can cache the answer across routes),
    /// passing `context` to the handler.
    Allow {
        /// The caller's id.
        principal_id: String,
        /// Values the handler reads from the authorizer context (strings, numbers, booleans).
        context: Map<String, Value>,
    },
    /// Deny the caller (403).
    Deny {
        /// The caller's id.
        principal_id: String,
    },
    /// A policy of your own (REST APIs).
    Policy {
        /// The caller's id.
        principal_id: String,
        /// The policy.
        policy: Box<PolicyDocument>,
        /// The context.
        context: Map<String, Value>,
    },
    /// No valid credentials: API Gateway answers 401.
    Unauthorized,
}

/// `arn:aws:execute-api:region:account:api/stage/METHOD/path` → `.../api/stage/*`: the whole
/// stage, so one cached answer serves every route. (`*` in an execute-api resource matches any
/// characters, `/` included; `.../stage/*/*` would not match a WebSocket API's
/// `.../stage/$connect`.)
///
/// ```
/// use svless_auth::authorizer::stage_wildcard;
/// assert_eq!(
///     stage_wildcard("arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/todos/7"),
///     "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*"
/// );
/// assert_eq!(
///     stage_wildcard("arn:aws:execute-api:us-east-1:123456789012:abc123/prod/$connect"),
///     "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*"
/// );
/// ```
pub fn stage_wildcard(arn: &str) -> String {
    match arn.split_once('/') {
        Some((api, rest)) => match rest.split_once('/') {
            Some((stage, _)) => format!("{api}/{stage}/*"),
            None => format!("{api}/{rest}/*"),
        },
        None => arn.to_owned(),
    }
}

/// API Gateway takes only strings, numbers and booleans in an authorizer's context.
fn flat(context: Map<String, Value>) -> Map<String, Value> {
    context
        .into_iter()
        .map(|(k, v)| match v {
            Value::String(_) | Value::Number(_) | Value::Bool(_) => (k, v),
            other => (k, Value::String(other.to_string())),
        })
        .collect()
}

/// Encodes an answer for the request it answers.
///
/// ```
/// use svless_auth::authorizer::{Authorization, AuthorizerRequest, respond};
/// let req: AuthorizerRequest = serde_json::from_value(serde_json::json!({
///     "type": "TOKEN", "authorizationToken": "t", "methodArn": "arn:aws:execute-api:us-east-1:1:api/prod/GET/todos"
/// })).expect("a TOKEN request");
/// let out = respond(&req, Authorization::Allow { principal_id: "u1".into(), context: Default::default() }).expect("allowed");
/// assert_eq!(out["policyDocument"]["Statement"][0]["Resource"], "arn:aws:execute-api:us-east-1:1:api/prod/*");
/// ```
pub fn respond(request: &AuthorizerRequest, answer: Authorization) -> Result<Value, NamedError> {
    let http_api = matches!(request, AuthorizerRequest::HttpApi { .. });
    let arn = match request {
        AuthorizerRequest::Token { method_arn, .. }
        | AuthorizerRequest::Request { method_arn, .. } => method_arn.as_str(),
        AuthorizerRequest::HttpApi { route_arn, .. } => route_arn.as_str(),
    };
    let policy = |effect: Effect| {
        PolicyDocument::new(vec![
            Statement::new(effect)
                .action("execute-api:Invoke")
                .resource(stage_wildcard(arn).as_str()),
        ])
    };
    match answer {
        Authorization::Unauthorized => Err(NamedError::new("Unauthorized", "Unauthorized")),
        Authorization::Allow { context, .. } if http_api => {
            Ok(json!({ "isAuthorized": true, "context": flat(context) }))
        }
        Authorization::Deny { .. } if http_api => Ok(json!({ "isAuthorized": false })),
        Authorization::Policy { .. } if http_api => Err(NamedError::new(
            "Svless.InvalidAuthorizerAnswer",
            "HTTP API authorizers answer with simple responses: use Allow or Deny",
        )),
        Authorization::Allow {
            principal_id,
            context,
        } => Ok(
            json!({ "principalId": principal_id, "policyDocument": policy(Effect::Allow), "context": flat(context) }),
        ),
        Authorization::Deny { principal_id } => {
            Ok(json!({ "principalId": principal_id, "policyDocument": policy(Effect::Deny) }))
        }
        Authorization::Policy {
            principal_id,
            policy,
            context,
        } => Ok(
            json!({ "principalId": principal_id, "policyDocument": policy, "context": flat(context) }),
        ),
    }
}

/// Registers an authorizer named `name` on an app (like a Step Functions task, it is chosen by
/// the function: `App::task(name)`, `SVLESS_HANDLER`, `App::function`, or a function of that name).
///
/// ```
/// use svless_auth::authorizer::{Authorization, AuthorizerRequest, Authorizer};
/// async fn authorize(request: AuthorizerRequest) -> Authorization {
///     match request.bearer_token() {
///         Some("letmein") => Authorization::Allow { principal_id: "user".into(), context: Default::default() },
///         _ => Authorization::Unauthorized,
///     }
/// }
/// let app = svless_core::App::new().on(Authorizer::new("authorize", authorize));
/// ```
pub struct Authorizer<F> {
    name: String,
    handler: F,
}

impl<F> Authorizer<F> {
    /// An authorizer named `name` answering with `handler`.
    ///
    /// ```
    /// # async fn f(_: svless_auth::authorizer::AuthorizerRequest) -> svless_auth::authorizer::Authorization { svless_auth::authorizer::Authorization::Unauthorized }
    /// let authorizer = svless_auth::authorizer::Authorizer::new("authorize", f);
    /// ```
    pub fn new(name: &str, handler: F) -> Self {
        Authorizer {
            name: name.to_owned(),
            handler,
        }
    }
}

impl<S, F, Fut> svless_core::source::Subscribe<S> for Authorizer<F>
where
    S: Send + Sync + 'static,
    F: Fn(AuthorizerRequest) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Authorization> + Send + 'static,
{
    fn subscribe(self, sources: &mut svless_core::source::Sources<S>) {
        let handler = self.handler;
        svless_core::source::task::subscribe(
            sources,
            &self.name,
            &["Unauthorized"],
            move |request: AuthorizerRequest, _invocation| {
                let handler = handler.clone();
                async move {
                    let answer = handler(request.clone()).await;
                    respond(&request, answer)
                }
            },
        );
    }
}
