//! Lambda authorizers at the local HTTP API, run as API Gateway runs them: the authorizer
//! (the app's `#[svless::authorizer]`, chosen by its name as a function would be) gets a TOKEN,
//! REQUEST or HTTP API event; its policy is evaluated against the request's method ARN (an
//! explicit deny wins; no allow is a deny) or its simple response read; its answer is cached
//! by identity source for the configured time; its context reaches the app under
//! `requestContext.authorizer`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::HeaderMap;
use serde_json::{Map, Value, json};
use svless_core::{App, Context};

/// Which event an authorizer gets, and how its answer is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizerKind {
    /// REST API `TOKEN` authorizer: the token from one header; answers with a policy.
    Token,
    /// REST API `REQUEST` authorizer: headers, query, path; answers with a policy.
    Request,
    /// HTTP API Lambda authorizer (payload 2.0, simple responses).
    HttpApi,
}

/// A Lambda authorizer at the local HTTP API.
///
/// ```
/// use std::time::Duration;
/// use svless_local::authorize::{AuthorizerKind, LambdaAuthorizer};
/// let authorizer = LambdaAuthorizer::new("authorize", AuthorizerKind::Token)
///     .identity_source("Authorization")
///     .ttl(Duration::from_secs(300))
///     .public(["GET /health"]);
/// assert!(authorizer.guards("GET", "/albums"));
/// ```
#[derive(Debug, Clone)]
pub struct LambdaAuthorizer {
    name: String,
    kind: AuthorizerKind,
    identity: Vec<String>,
    ttl: Duration,
    public: crate::gateway::JwtAuthorizer,
}

impl LambdaAuthorizer {
    /// The authorizer `name` (the app's authorizer of that name), of `kind`; the identity
    /// source is the `Authorization` header; answers are cached 300 s for REST APIs, not at
    /// all for HTTP APIs (API Gateway's defaults).
    pub fn new(name: &str, kind: AuthorizerKind) -> Self {
        Self {
            name: name.to_owned(),
            kind,
            identity: vec!["authorization".into()],
            ttl: if kind == AuthorizerKind::HttpApi {
                Duration::ZERO
            } else {
                Duration::from_secs(300)
            },
            public: crate::gateway::JwtAuthorizer::new("", Vec::<String>::new()),
        }
    }

    /// A value that identifies a caller (the cache key; a request without it is refused with
    /// 401 before the authorizer runs): a header name, or API Gateway's forms
    /// `method.request.header.X` / `route.request.header.X` / `$request.header.X` and
    /// `…querystring.X` for a query parameter (what a WebSocket `$connect` authorizer usually
    /// reads). The first call replaces the default (`Authorization`).
    pub fn identity_source(mut self, source: &str) -> Self {
        if self.identity == ["authorization"] {
            self.identity.clear();
        }
        let source = source.trim();
        let query = [
            "method.request.querystring.",
            "route.request.querystring.",
            "$request.querystring.",
        ]
        .iter()
        .find_map(|prefix| source.strip_prefix(prefix));
        let header = [
            "method.request.header.",
            "route.request.header.",
            "$request.header.",
        ]
        .iter()
        .find_map(|prefix| source.strip_prefix(prefix));
        self.identity.push(match (query, header) {
            (Some(name), _) => format!("?{name}"),
            (_, Some(name)) => name.to_ascii_lowercase(),
            _ => source.to_ascii_lowercase(),
        });
        self
    }

    /// How long an answer is reused for the same identity (0: never).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Routes without the authorizer (as [`JwtAuthorizer::public`](crate::gateway::JwtAuthorizer::public)).
    pub fn public<I, R>(mut self, routes: I) -> Self
    where
        I: IntoIterator<Item = R>,
        R: AsRef<str>,
    {
        self.public = self.public.public(routes);
        self
    }

    /// Whether the authorizer guards `method path`.
    pub fn guards(&self, method: &str, path: &str) -> bool {
        self.public.guards(method, path)
    }
}

/// What the gateway does with a request after the authorizer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Decision {
    /// Pass it on with this `requestContext.authorizer`.
    Allow(Value),
    /// Answer with this status and body.
    Refuse(u16, Value),
}

/// A running authorizer: its configuration and its cache.
pub(crate) struct Authorizing {
    config: LambdaAuthorizer,
    cache: Mutex<HashMap<String, (Instant, Answer)>>,
}

#[derive(Clone)]
enum Answer {
    /// A REST policy answer.
    Policy {
        principal: String,
        statements: Vec<Value>,
        context: Map<String, Value>,
    },
    /// An HTTP API simple answer.
    Simple {
        authorized: bool,
        context: Map<String, Value>,
    },
    Unauthorized,
}

/// `*` matches any run of characters, `?` one.
fn arn_matches(pattern: &str, arn: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let a: Vec<char> = arn.chars().collect();
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < a.len() {
        if i < p.len() && (p[i] == '?' || p[i] == a[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// Evaluates policy statements for `execute-api:Invoke` on `arn`: `Some(true)` allowed,
/// `Some(false)` explicitly denied, `None` not allowed.
fn evaluate(statements: &[Value], arn: &str) -> Option<bool> {
    let mut allowed = false;
    for statement in statements {
        let actions = strings(&statement["Action"]);
        let acts = actions.iter().any(|a| {
            a == "*" || a == "execute-api:*" || a.eq_ignore_ascii_case("execute-api:Invoke")
        });
        let resources = strings(&statement["Resource"]);
        if !acts || !resources.iter().any(|r| arn_matches(r, arn)) {
            continue;
        }
        match statement["Effect"].as_str() {
            Some("Deny") => return Some(false),
            Some("Allow") => allowed = true,
            _ => {}
        }
    }
    allowed.then_some(true)
}

fn message(text: &str) -> Value {
    json!({ "message": text })
}

impl Authorizing {
    pub(crate) fn new(config: LambdaAuthorizer) -> Self {
        Self {
            config,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn guards(&self, method: &str, path: &str) -> bool {
        self.config.guards(method, path)
    }

    /// Runs (or reuses) the authorizer for a request and decides.
    pub(crate) async fn decide<S: Send + Sync + 'static>(
        &self,
        app: &Arc<App<S>>,
        method: &str,
        path: &str,
        query: &str,
        headers: &HeaderMap,
        rest: bool,
    ) -> Decision {
        let arn = format!(
            "arn:aws:execute-api:us-east-1:123456789012:local/$default/{method}/{}",
            path.trim_start_matches('/')
        );
        self.decide_for(app, &arn, method, path, query, headers, rest, None)
            .await
    }

    /// Decides a WebSocket `$connect` (a REQUEST authorizer on the route `$connect`).
    pub(crate) async fn decide_connect<S: Send + Sync + 'static>(
        &self,
        app: &Arc<App<S>>,
        query: &str,
        headers: &HeaderMap,
        connection_id: &str,
    ) -> Decision {
        let arn = "arn:aws:execute-api:us-east-1:123456789012:local/local/$connect";
        self.decide_for(
            app,
            arn,
            "GET",
            "/",
            query,
            headers,
            true,
            Some(connection_id),
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn decide_for<S: Send + Sync + 'static>(
        &self,
        app: &Arc<App<S>>,
        arn: &str,
        method: &str,
        path: &str,
        query: &str,
        headers: &HeaderMap,
        rest: bool,
        connection: Option<&str>,
    ) -> Decision {
        let mut identity = Vec::new();
        for source in &self.config.identity {
            let value = match source.strip_prefix('?') {
                Some(name) => form_urlencoded::parse(query.as_bytes())
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.into_owned()),
                None => headers
                    .get(source.as_str())
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
            };
            match value {
                Some(value) if !value.is_empty() => identity.push(value),
                _ => return Decision::Refuse(401, message("Unauthorized")),
            }
        }
        let key = identity.join(",");
        let cached = {
            let cache = self
                .cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            cache
                .get(&key)
                .filter(|(at, _)| at.elapsed() < self.config.ttl)
                .map(|(_, answer)| answer.clone())
        };
        let answer = match cached {
            Some(answer) => answer,
            None => {
                let answer = match self
                    .invoke(
                        app, arn, method, path, query, headers, &identity, connection,
                    )
                    .await
                {
                    Ok(answer) => answer,
                    Err(decision) => return decision,
                };
                if !self.config.ttl.is_zero() {
                    self.cache
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .insert(key, (Instant::now(), answer.clone()));
                }
                answer
            }
        };
        match answer {
            Answer::Unauthorized => Decision::Refuse(401, message("Unauthorized")),
            Answer::Simple {
                authorized: false, ..
            } => Decision::Refuse(403, message("Forbidden")),
            Answer::Simple { context, .. } => Decision::Allow(json!({ "lambda": context })),
            Answer::Policy {
                principal,
                statements,
                context,
            } => match evaluate(&statements, arn) {
                // REST APIs pass the principal and the context at the top of
                // `requestContext.authorizer`; HTTP APIs pass the context under `lambda`.
                Some(true) if rest => {
                    let mut authorizer = context;
                    authorizer.insert("principalId".into(), json!(principal));
                    authorizer.insert("integrationLatency".into(), json!(0));
                    Decision::Allow(Value::Object(authorizer))
                }
                Some(true) => Decision::Allow(json!({ "lambda": context })),
                Some(false) => Decision::Refuse(
                    403,
                    json!({"Message": "User is not authorized to access this resource with an explicit deny"}),
                ),
                None => Decision::Refuse(
                    403,
                    json!({"Message": "User is not authorized to access this resource"}),
                ),
            },
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn invoke<S: Send + Sync + 'static>(
        &self,
        app: &Arc<App<S>>,
        arn: &str,
        method: &str,
        path: &str,
        query: &str,
        headers: &HeaderMap,
        identity: &[String],
        connection: Option<&str>,
    ) -> Result<Answer, Decision> {
        let header_map: Map<String, Value> = headers
            .iter()
            .filter_map(|(n, v)| Some((n.as_str().to_owned(), json!(v.to_str().ok()?))))
            .collect();
        let query_map: Map<String, Value> = form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), json!(v)))
            .collect();
        let request_id = svless_core::local::request_id();
        let event = match self.config.kind {
            _ if connection.is_some() => json!({
                "type": "REQUEST",
                "methodArn": arn,
                "headers": header_map,
                "queryStringParameters": query_map,
                "stageVariables": {},
                "requestContext": {
                    "routeKey": "$connect",
                    "eventType": "CONNECT",
                    "stage": "local",
                    "connectionId": connection,
                    "requestId": request_id,
                    "identity": {"sourceIp": "127.0.0.1"},
                    "apiId": "local",
                },
            }),
            AuthorizerKind::Token => json!({
                "type": "TOKEN",
                "authorizationToken": identity.first(),
                "methodArn": arn,
            }),
            AuthorizerKind::Request => json!({
                "type": "REQUEST",
                "methodArn": arn,
                "resource": path,
                "path": path,
                "httpMethod": method,
                "headers": header_map,
                "queryStringParameters": query_map,
                "pathParameters": {},
                "stageVariables": {},
                "requestContext": {
                    "path": path,
                    "accountId": "123456789012",
                    "resourceId": "local",
                    "stage": "$default",
                    "requestId": request_id,
                    "identity": {"sourceIp": "127.0.0.1"},
                    "resourcePath": path,
                    "httpMethod": method,
                    "apiId": "local",
                },
            }),
            AuthorizerKind::HttpApi => json!({
                "version": "2.0",
                "type": "REQUEST",
                "routeArn": arn,
                "identitySource": identity,
                "routeKey": format!("{method} {path}"),
                "rawPath": path,
                "rawQueryString": query,
                "headers": header_map,
                "queryStringParameters": query_map,
                "requestContext": {
                    "accountId": "123456789012",
                    "apiId": "local",
                    "domainName": "localhost",
                    "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
                    "requestId": request_id,
                    "routeKey": format!("{method} {path}"),
                    "stage": "$default",
                },
                "pathParameters": {},
                "stageVariables": {},
            }),
        };
        let mut context = Context::local();
        context.function_name = self.config.name.clone();
        let payload = event.to_string();
        let server_error = || match self.config.kind {
            AuthorizerKind::HttpApi => Decision::Refuse(500, message("Internal Server Error")),
            _ => Decision::Refuse(500, json!({"message": null})),
        };
        let out = match app.dispatch(payload.as_bytes(), context).await {
            Ok(out) => out,
            Err(error)
                if error.error_type() == "Unauthorized" || error.message() == "Unauthorized" =>
            {
                return Ok(Answer::Unauthorized);
            }
            Err(error) => {
                tracing::error!(
                    authorizer = self.config.name,
                    error_type = error.error_type(),
                    error = error.message(),
                    "the authorizer failed"
                );
                return Err(server_error());
            }
        };
        let out: Value = serde_json::from_slice(&out).unwrap_or(Value::Null);
        let context = out["context"].as_object().cloned().unwrap_or_default();
        if self.config.kind == AuthorizerKind::HttpApi
            && let Some(authorized) = out["isAuthorized"].as_bool()
        {
            return Ok(Answer::Simple {
                authorized,
                context,
            });
        }
        let statements = match &out["policyDocument"]["Statement"] {
            Value::Array(items) => items.clone(),
            statement @ Value::Object(_) => vec![statement.clone()],
            _ => {
                tracing::error!(authorizer = self.config.name, answer = %out, "the authorizer's answer has no policy");
                return Err(server_error());
            }
        };
        Ok(Answer::Policy {
            principal: out["principalId"].as_str().unwrap_or_default().to_owned(),
            statements,
            context,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_are_evaluated_as_api_gateway_evaluates_them() {
        let arn = "arn:aws:execute-api:us-east-1:123456789012:local/$default/GET/albums/7";
        let allow = |resource: &str| json!({"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": resource});
        let deny = |resource: &str| json!({"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": resource});
        assert_eq!(
            evaluate(
                &[allow(
                    "arn:aws:execute-api:us-east-1:123456789012:local/$default/*/*"
                )],
                arn
            ),
            Some(true)
        );
        assert_eq!(
            evaluate(
                &[allow(
                    "arn:aws:execute-api:us-east-1:123456789012:local/$default/GET/albums/?"
                )],
                arn
            ),
            Some(true)
        );
        assert_eq!(
            evaluate(
                &[allow(
                    "arn:aws:execute-api:us-east-1:123456789012:local/$default/POST/*"
                )],
                arn
            ),
            None
        );
        assert_eq!(
            evaluate(
                &[allow("*"), deny("arn:aws:execute-api:*:*:*/*/GET/albums/*")],
                arn
            ),
            Some(false),
            "an explicit deny wins"
        );
        assert_eq!(
            evaluate(
                &[json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})],
                arn
            ),
            None
        );
        assert_eq!(
            evaluate(
                &[json!({"Effect": "Allow", "Action": ["execute-api:*"], "Resource": ["x", "*"]})],
                arn
            ),
            Some(true)
        );
    }
}
