//! Choice rules: every comparison operator and its `…Path` form, `And`/`Or`/`Not`, the type tests
//! and `StringMatches`.
//!
//! ```
//! use serde_json::json;
//! use svless_asl::choice::Rule;
//!
//! let rule = Rule::parse(&json!({"Variable": "$.n", "NumericGreaterThan": 3}), "").expect("a rule");
//! assert!(rule.matches(&json!({"n": 5}), &json!({})).expect("evaluated"));
//! ```

use crate::path::Path;
use chrono::{DateTime, FixedOffset};
use serde_json::Value;
use std::cmp::Ordering;

/// A choice rule (the top-level ones carry a `Next`, kept by the model).
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// All must match.
    And(Vec<Rule>),
    /// One must match.
    Or(Vec<Rule>),
    /// The inner rule must not match.
    Not(Box<Rule>),
    /// A test of the variable.
    Test {
        /// `Variable`, a path into the input (or `$$` context).
        variable: Operand,
        /// The comparison.
        test: Test,
    },
}

/// Where a value comes from: the input (`$.a`) or the context object (`$$.a`).
#[derive(Debug, Clone, PartialEq)]
pub struct Operand {
    context: bool,
    path: Path,
}

impl Operand {
    fn parse(text: &str) -> Result<Operand, String> {
        let (context, text) = match text.strip_prefix("$$") {
            Some(rest) => (true, format!("${rest}")),
            None => (false, text.to_owned()),
        };
        let path = Path::parse(&text).map_err(|e| e.to_string())?;
        Ok(Operand { context, path })
    }

    fn get<'v>(&self, input: &'v Value, context: &'v Value) -> Option<Value> {
        let doc = if self.context { context } else { input };
        if self.path.is_definite() {
            self.path.get(doc).cloned()
        } else {
            self.path.select(doc).ok()
        }
    }
}

/// The comparison a rule makes.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// `StringEquals`, `NumericLessThan`, ... against a value or (the `…Path` form) another operand.
    Compare {
        /// The kind of values compared.
        kind: Kind,
        /// The ordering that passes.
        op: Op,
        /// The value compared with.
        against: Against,
    },
    /// `StringMatches` with `*` wildcards (`\*` and `\\` escape).
    Matches(String),
    /// `IsPresent`.
    IsPresent(bool),
    /// `IsNull`.
    IsNull(bool),
    /// `IsNumeric`.
    IsNumeric(bool),
    /// `IsString`.
    IsString(bool),
    /// `IsBoolean`.
    IsBoolean(bool),
    /// `IsTimestamp`.
    IsTimestamp(bool),
}

/// What a comparison is against.
#[derive(Debug, Clone, PartialEq)]
pub enum Against {
    /// A literal value.
    Value(Value),
    /// Another path (the `…Path` operators).
    Path(Operand),
}

/// The kind of values a comparison operator compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `String…`
    String,
    /// `Numeric…`
    Numeric,
    /// `Boolean…`
    Boolean,
    /// `Timestamp…`
    Timestamp,
}

/// The comparison of a `…Equals`, `…LessThan`, ... operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `Equals`
    Eq,
    /// `LessThan`
    Lt,
    /// `LessThanEquals`
    Le,
    /// `GreaterThan`
    Gt,
    /// `GreaterThanEquals`
    Ge,
}

const KINDS: [(&str, Kind); 4] = [
    ("String", Kind::String),
    ("Numeric", Kind::Numeric),
    ("Boolean", Kind::Boolean),
    ("Timestamp", Kind::Timestamp),
];

const OPS: [(&str, Op); 5] = [
    ("GreaterThanEquals", Op::Ge),
    ("LessThanEquals", Op::Le),
    ("GreaterThan", Op::Gt),
    ("LessThan", Op::Lt),
    ("Equals", Op::Eq),
];

/// Fields a choice rule may hold besides its operator.
const RULE_FIELDS: &[&str] = &["Variable", "Next", "Comment", "Assign"];

fn operator(name: &str) -> Option<(Kind, Op, bool)> {
    let (name, path) = match name.strip_suffix("Path") {
        Some(rest) => (rest, true),
        None => (name, false),
    };
    let (kind, rest) = KINDS
        .iter()
        .find_map(|(prefix, kind)| name.strip_prefix(prefix).map(|rest| (*kind, rest)))?;
    if kind == Kind::Boolean && rest != "Equals" {
        return None;
    }
    let op = OPS.iter().find(|(suffix, _)| *suffix == rest)?.1;
    Some((kind, op, path))
}

impl Rule {
    /// Parses a rule; `at` is its location for error messages (`/States/Check/Choices/0`).
    ///
    /// ```
    /// use serde_json::json;
    /// let err = svless_asl::choice::Rule::parse(&json!({"Variable": "$.a"}), "/Choices/0").unwrap_err();
    /// assert!(err.contains("/Choices/0"), "{err}");
    /// ```
    pub fn parse(value: &Value, at: &str) -> Result<Rule, String> {
        let Some(map) = value.as_object() else {
            return Err(format!("a choice rule must be an object at {at}"));
        };
        for (combinator, make) in [
            ("And", Rule::And as fn(Vec<Rule>) -> Rule),
            ("Or", Rule::Or as fn(Vec<Rule>) -> Rule),
        ] {
            if let Some(list) = map.get(combinator) {
                let Some(items) = list.as_array().filter(|items| !items.is_empty()) else {
                    return Err(format!(
                        "`{combinator}` must be a non-empty array of rules at {at}/{combinator}"
                    ));
                };
                let rules = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| Rule::parse(item, &format!("{at}/{combinator}/{i}")))
                    .collect::<Result<Vec<_>, _>>()?;
                return Ok(make(rules));
            }
        }
        if let Some(inner) = map.get("Not") {
            return Ok(Rule::Not(Box::new(Rule::parse(
                inner,
                &format!("{at}/Not"),
            )?)));
        }
        let Some(variable) = map.get("Variable").and_then(Value::as_str) else {
            return Err(format!(
                "a choice rule needs `Variable` (or `And`, `Or`, `Not`) at {at}"
            ));
        };
        let variable = Operand::parse(variable).map_err(|e| format!("{e} at {at}/Variable"))?;
        let mut tests = map
            .iter()
            .filter(|(key, _)| !RULE_FIELDS.contains(&key.as_str()));
        let Some((name, operand)) = tests.next() else {
            return Err(format!("a choice rule needs a comparison operator at {at}"));
        };
        if let Some((extra, _)) = tests.next() {
            return Err(format!(
                "a choice rule has one comparison operator, not `{name}` and `{extra}`, at {at}"
            ));
        }
        let here = format!("{at}/{name}");
        let test = match name.as_str() {
            "StringMatches" => Test::Matches(
                operand
                    .as_str()
                    .ok_or_else(|| format!("`StringMatches` takes a string at {here}"))?
                    .to_owned(),
            ),
            "IsPresent" | "IsNull" | "IsNumeric" | "IsString" | "IsBoolean" | "IsTimestamp" => {
                let flag = operand
                    .as_bool()
                    .ok_or_else(|| format!("`{name}` takes true or false at {here}"))?;
                match name.as_str() {
                    "IsPresent" => Test::IsPresent(flag),
                    "IsNull" => Test::IsNull(flag),
                    "IsNumeric" => Test::IsNumeric(flag),
                    "IsString" => Test::IsString(flag),
                    "IsBoolean" => Test::IsBoolean(flag),
                    _ => Test::IsTimestamp(flag),
                }
            }
            other => {
                let Some((kind, op, path)) = operator(other) else {
                    return Err(format!("`{other}` is not a comparison operator at {here}"));
                };
                let against = if path {
                    let text = operand
                        .as_str()
                        .ok_or_else(|| format!("`{other}` takes a path at {here}"))?;
                    Against::Path(Operand::parse(text).map_err(|e| format!("{e} at {here}"))?)
                } else {
                    let ok = match kind {
                        Kind::String => operand.is_string(),
                        Kind::Numeric => operand.is_number(),
                        Kind::Boolean => operand.is_boolean(),
                        Kind::Timestamp => operand.as_str().is_some_and(|t| timestamp(t).is_some()),
                    };
                    if !ok {
                        return Err(format!(
                            "`{other}` takes a {} at {here}",
                            match kind {
                                Kind::String => "string",
                                Kind::Numeric => "number",
                                Kind::Boolean => "boolean",
                                Kind::Timestamp => "timestamp (RFC 3339)",
                            }
                        ));
                    }
                    Against::Value(operand.clone())
                };
                Test::Compare { kind, op, against }
            }
        };
        Ok(Rule::Test { variable, test })
    }

    /// Whether the rule reads the context object (`$$`).
    ///
    /// ```
    /// use serde_json::json;
    /// let rule = svless_asl::choice::Rule::parse(&json!({"Variable": "$$.State.RetryCount", "NumericEquals": 0}), "").expect("a rule");
    /// assert!(rule.uses_context());
    /// ```
    pub fn uses_context(&self) -> bool {
        match self {
            Rule::And(rules) | Rule::Or(rules) => rules.iter().any(Rule::uses_context),
            Rule::Not(rule) => rule.uses_context(),
            Rule::Test { variable, test } => {
                variable.context
                    || matches!(test, Test::Compare { against: Against::Path(o), .. } if o.context)
            }
        }
    }

    /// Whether the rule matches. A comparison whose variable is absent is an error (Step
    /// Functions fails the state with `States.Runtime`), except under `IsPresent`.
    ///
    /// ```
    /// use serde_json::json;
    /// let rule = svless_asl::choice::Rule::parse(&json!({"Variable": "$.a", "IsPresent": false}), "").expect("a rule");
    /// assert!(rule.matches(&json!({}), &json!({})).expect("evaluated"));
    /// ```
    pub fn matches(&self, input: &Value, context: &Value) -> Result<bool, String> {
        match self {
            Rule::And(rules) => {
                for rule in rules {
                    if !rule.matches(input, context)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Rule::Or(rules) => {
                for rule in rules {
                    if rule.matches(input, context)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Rule::Not(rule) => Ok(!rule.matches(input, context)?),
            Rule::Test { variable, test } => {
                let value = variable.get(input, context);
                if let Test::IsPresent(flag) = test {
                    return Ok(value.is_some() == *flag);
                }
                let Some(value) = value else {
                    return Err(format!(
                        "Invalid path '{}': The choice state's condition path references an invalid value.",
                        variable.path
                    ));
                };
                Ok(match test {
                    Test::IsPresent(_) => true,
                    Test::IsNull(flag) => value.is_null() == *flag,
                    Test::IsNumeric(flag) => value.is_number() == *flag,
                    Test::IsString(flag) => value.is_string() == *flag,
                    Test::IsBoolean(flag) => value.is_boolean() == *flag,
                    Test::IsTimestamp(flag) => {
                        value.as_str().is_some_and(|t| timestamp(t).is_some()) == *flag
                    }
                    Test::Matches(pattern) => value.as_str().is_some_and(|s| wildcard(pattern, s)),
                    Test::Compare { kind, op, against } => {
                        let other = match against {
                            Against::Value(v) => Some(v.clone()),
                            Against::Path(operand) => operand.get(input, context),
                        };
                        let Some(other) = other else {
                            return Err(format!(
                                "Invalid path: the comparison's path references an invalid value at `{}`",
                                variable.path
                            ));
                        };
                        compare(*kind, &value, &other).is_some_and(|ordering| match op {
                            Op::Eq => ordering == Ordering::Equal,
                            Op::Lt => ordering == Ordering::Less,
                            Op::Le => ordering != Ordering::Greater,
                            Op::Gt => ordering == Ordering::Greater,
                            Op::Ge => ordering != Ordering::Less,
                        })
                    }
                })
            }
        }
    }
}

/// Compares two values as `kind`; values of another type never match.
fn compare(kind: Kind, a: &Value, b: &Value) -> Option<Ordering> {
    match kind {
        Kind::String => Some(a.as_str()?.cmp(b.as_str()?)),
        Kind::Numeric => a.as_f64()?.partial_cmp(&b.as_f64()?),
        Kind::Boolean => {
            let (a, b) = (a.as_bool()?, b.as_bool()?);
            (a == b).then_some(Ordering::Equal).or(Some(Ordering::Less))
        }
        Kind::Timestamp => Some(timestamp(a.as_str()?)?.cmp(&timestamp(b.as_str()?)?)),
    }
}

/// An RFC 3339 timestamp (with an uppercase `T` and a `Z` or offset, as the ASL requires).
pub fn timestamp(text: &str) -> Option<DateTime<FixedOffset>> {
    if !text.contains('T') {
        return None;
    }
    DateTime::parse_from_rfc3339(text).ok()
}

/// `*` matches any run of characters; `\*` is a star, `\\` a backslash — the wildcard of
/// `StringMatches`, and of EventBridge's `wildcard` pattern.
///
/// ```
/// use svless_asl::choice::wildcard;
/// assert!(wildcard("log-*.txt", "log-2026.txt"));
/// assert!(wildcard(r"a\*b", "a*b"));
/// assert!(!wildcard(r"a\*b", "axb"));
/// ```
pub fn wildcard(pattern: &str, text: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Token {
        Star,
        Char(char),
    }
    let mut tokens = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => tokens.push(Token::Char(chars.next().unwrap_or('\\'))),
            '*' => tokens.push(Token::Star),
            c => tokens.push(Token::Char(c)),
        }
    }
    let text: Vec<char> = text.chars().collect();
    // Greedy matching with one backtrack point per star.
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match tokens.get(p) {
            Some(Token::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            Some(Token::Star) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    tokens[p..].iter().all(|token| *token == Token::Star)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(value: Value) -> Rule {
        Rule::parse(&value, "").unwrap()
    }

    #[test]
    fn string_matches_follows_the_documented_examples() {
        // Choice state, "StringMatches" in the developer guide: `log-*.txt` and escapes.
        assert!(wildcard("log-*.txt", "log-2024-01.txt"));
        assert!(!wildcard("log-*.txt", "log-2024-01.csv"));
        assert!(wildcard("*", ""));
        assert!(wildcard("a\\*b", "a*b"));
        assert!(!wildcard("a\\*b", "axb"));
        assert!(wildcard("*.*.*", "a.b.c"));
    }

    #[test]
    fn every_operator_and_its_path_form() {
        let input = json!({"s": "b", "n": 3, "b": true, "t": "2024-01-01T00:00:00Z",
                           "s2": "c", "n2": 3.0, "t2": "2023-12-31T23:59:59Z"});
        for (r, expected) in [
            (json!({"Variable": "$.s", "StringLessThan": "c"}), true),
            (
                json!({"Variable": "$.s", "StringLessThanPath": "$.s2"}),
                true,
            ),
            (
                json!({"Variable": "$.n", "NumericEqualsPath": "$.n2"}),
                true,
            ),
            (
                json!({"Variable": "$.n", "NumericGreaterThanEquals": 4}),
                false,
            ),
            (json!({"Variable": "$.b", "BooleanEquals": true}), true),
            (
                json!({"Variable": "$.t", "TimestampGreaterThanPath": "$.t2"}),
                true,
            ),
            (json!({"Variable": "$.t", "IsTimestamp": true}), true),
            (json!({"Variable": "$.s", "NumericEquals": 1}), false),
            (
                json!({"Not": {"Variable": "$.s", "StringEquals": "b"}}),
                false,
            ),
            (
                json!({"Or": [{"Variable": "$.n", "NumericLessThan": 0},
                           {"Variable": "$.missing", "IsPresent": false}]}),
                true,
            ),
        ] {
            assert_eq!(
                rule(r.clone()).matches(&input, &json!({})).unwrap(),
                expected,
                "{r}"
            );
        }
    }

    #[test]
    fn bad_rules_are_refused_with_their_location() {
        for bad in [
            json!({"Variable": "$.a", "StringEquals": 1}),
            json!({"Variable": "$.a", "BooleanLessThan": true}),
            json!({"Variable": "$.a", "NumericEquals": 1, "StringEquals": "x"}),
            json!({"And": []}),
            json!({"Variable": "a"}),
        ] {
            assert!(Rule::parse(&bad, "/x").is_err(), "{bad}");
        }
    }
}
