//! The local HTTP API: what API Gateway does in front of the app — the 10 MB payload limit,
//! the integration timeout, and a JWT authorizer that checks tokens at the gateway and hands
//! their claims to the app under `requestContext.authorizer.jwt`, as HTTP APIs do — then the
//! event through [`App::dispatch`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use serde_json::{Map, Value, json};
use svless_auth::{CognitoVerifier, JwksCache, TokenUse};
use svless_core::PayloadFormat;
use svless_core::local::{self, HttpRequest};
use svless_core::server::{BodyError, read_body};
use svless_core::{App, Context};

/// API Gateway refuses bodies over 10 MB.
const MAX_BODY: usize = 10 * 1024 * 1024;

/// A JWT authorizer, as an HTTP API configures one: the issuer, the audiences (an ID token's
/// `aud` or an access token's `client_id`), and the routes it guards.
///
/// ```
/// use svless_local::gateway::JwtAuthorizer;
/// let authorizer = JwtAuthorizer::new("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_X", ["client"])
///     .public(["GET /health", "GET /static/*", "POST /signup"]);
/// assert!(authorizer.guards("GET", "/albums"));
/// assert!(!authorizer.guards("GET", "/static/app.js"));
/// ```
#[derive(Debug, Clone)]
pub struct JwtAuthorizer {
    issuer: String,
    audience: Vec<String>,
    jwks_url: Option<String>,
    public: Vec<(String, String)>,
}

impl JwtAuthorizer {
    /// Guards every route; tokens must come from `issuer` for one of `audience`.
    pub fn new<I, A>(issuer: &str, audience: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: Into<String>,
    {
        Self {
            issuer: issuer.to_owned(),
            audience: audience.into_iter().map(Into::into).collect(),
            jwks_url: None,
            public: Vec::new(),
        }
    }

    /// Guards every route with tokens of the local user pool `pool` (its issuer, its app
    /// client).
    ///
    /// ```
    /// use svless_local::{cognito::PoolConfig, gateway::JwtAuthorizer};
    /// let authorizer = JwtAuthorizer::local_pool(&PoolConfig::default()).public(["GET /"]);
    /// ```
    pub fn local_pool(pool: &crate::cognito::PoolConfig) -> Self {
        Self::new(
            &crate::cognito::issuer(&pool.pool_id),
            [pool.client_id.clone()],
        )
    }

    /// The key set's URL (the local user pool's when not set).
    ///
    /// ```
    /// let a = svless_local::gateway::JwtAuthorizer::new("https://issuer", ["c"]).jwks_url("http://127.0.0.1:5000/jwks.json");
    /// ```
    pub fn jwks_url(mut self, url: &str) -> Self {
        self.jwks_url = Some(url.to_owned());
        self
    }

    /// Routes without the authorizer: `"METHOD /path"`, `ANY` for every method, a trailing `*`
    /// for every path below, or `OPTIONS` preflights (always public, as on API Gateway).
    pub fn public<I, R>(mut self, routes: I) -> Self
    where
        I: IntoIterator<Item = R>,
        R: AsRef<str>,
    {
        for route in routes {
            let route = route.as_ref().trim();
            let (method, path) = route.split_once(' ').unwrap_or(("ANY", route));
            self.public
                .push((method.to_ascii_uppercase(), path.trim().to_owned()));
        }
        self
    }

    /// Whether the authorizer guards `method path`.
    pub fn guards(&self, method: &str, path: &str) -> bool {
        if method.eq_ignore_ascii_case("OPTIONS") {
            return false;
        }
        !self.public.iter().any(|(m, p)| {
            (m == "ANY" || m.eq_ignore_ascii_case(method))
                && match p.strip_suffix('*') {
                    Some(prefix) => path.starts_with(prefix),
                    None => path == p,
                }
        })
    }
}

/// The verifiers an authorizer runs: a token passes if it is a valid ID or access token.
pub(crate) struct Authorizer {
    config: JwtAuthorizer,
    id: CognitoVerifier,
    access: CognitoVerifier,
}

impl Authorizer {
    pub(crate) fn new(
        config: JwtAuthorizer,
        default_jwks: &str,
    ) -> Result<Self, svless_auth::AuthError> {
        let url = config
            .jwks_url
            .clone()
            .unwrap_or_else(|| default_jwks.to_owned());
        let id = CognitoVerifier::with_keys(
            &config.issuer,
            JwksCache::new(&url)?,
            TokenUse::Id,
            config.audience.clone(),
        );
        let access = CognitoVerifier::with_keys(
            &config.issuer,
            JwksCache::new(&url)?,
            TokenUse::Access,
            config.audience.clone(),
        );
        Ok(Self { config, id, access })
    }

    /// The `requestContext.authorizer` of a request that passes, or `None`.
    async fn authorize(&self, header: Option<&str>) -> Option<Value> {
        let token = header?.trim();
        let token = token
            .strip_prefix("Bearer ")
            .or_else(|| token.strip_prefix("bearer "))
            .unwrap_or(token)
            .trim();
        if token.is_empty() {
            return None;
        }
        if self.id.verify::<Map<String, Value>>(token).await.is_err() {
            self.access.verify::<Map<String, Value>>(token).await.ok()?;
        }
        // Verified: the claims as the token carries them, every one.
        use base64::Engine as _;
        let payload = token.split('.').nth(1)?;
        let raw: Map<String, Value> = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .ok()?,
        )
        .ok()?;
        let scopes: Option<Vec<String>> = raw
            .get("scope")
            .and_then(Value::as_str)
            .map(|s| s.split_whitespace().map(str::to_owned).collect());
        let mut flat = Map::new();
        for (name, value) in &raw {
            flat.insert(name.clone(), Value::String(claim_text(value)));
        }
        Some(json!({"jwt": {"claims": flat, "scopes": scopes}}))
    }
}

/// A claim as HTTP APIs pass it on: every value a string, arrays as `[a b]`.
fn claim_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(claim_text).collect::<Vec<_>>().join(" ")
        ),
        other => other.to_string(),
    }
}

/// Whether API Gateway passes a body of this media type as text (else base64-encoded).
fn textual(content_type: &str) -> bool {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    media.starts_with("text/")
        || media.ends_with("+json")
        || media.ends_with("+xml")
        || [
            "application/json",
            "application/xml",
            "application/javascript",
            "application/x-www-form-urlencoded",
            "application/graphql",
        ]
        .contains(&media.as_str())
}

/// The HTTP API in front of the app.
pub(crate) struct Gateway<S> {
    pub(crate) app: Arc<App<S>>,
    pub(crate) authorizer: Option<Arc<Authorizer>>,
    pub(crate) lambda: Option<Arc<crate::authorize::Authorizing>>,
    pub(crate) timeout: Duration,
}

impl<S> Clone for Gateway<S> {
    fn clone(&self) -> Self {
        Self {
            app: self.app.clone(),
            authorizer: self.authorizer.clone(),
            lambda: self.lambda.clone(),
            timeout: self.timeout,
        }
    }
}

fn message(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(
        json!({ "message": text }).to_string(),
    )));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

impl<S: Send + Sync + 'static> Gateway<S> {
    pub(crate) async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        crate::serve::serve(
            listener,
            shutdown,
            "HTTP API",
            false,
            move |request, peer| {
                let gateway = self.clone();
                async move { gateway.answer(request, peer).await }
            },
        )
        .await;
    }

    async fn answer(&self, request: Request<Incoming>, peer: SocketAddr) -> Response<Full<Bytes>> {
        let format = self.app.local_payload_format();
        let rest = matches!(format, PayloadFormat::ApiGatewayV1);
        let (parts, body) = request.into_parts();
        let body = match read_body(body, MAX_BODY).await {
            Ok(body) => body,
            Err(BodyError::TooLarge) => {
                return message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
            }
            Err(BodyError::Stalled) => {
                return message(StatusCode::REQUEST_TIMEOUT, "Request Timeout");
            }
        };
        let path = parts.uri.path();
        let authorizer = match &self.authorizer {
            Some(authorizer) if authorizer.config.guards(parts.method.as_str(), path) => {
                let header = parts
                    .headers
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok());
                match authorizer.authorize(header).await {
                    Some(context) => Some(context),
                    None => return message(StatusCode::UNAUTHORIZED, "Unauthorized"),
                }
            }
            _ => None,
        };
        let query = parts.uri.query().unwrap_or("");
        let authorizer = match &self.lambda {
            Some(lambda) if authorizer.is_none() && lambda.guards(parts.method.as_str(), path) => {
                match lambda
                    .decide(
                        &self.app,
                        parts.method.as_str(),
                        path,
                        query,
                        &parts.headers,
                        rest,
                    )
                    .await
                {
                    crate::authorize::Decision::Allow(context) => Some(context),
                    crate::authorize::Decision::Refuse(status, body) => {
                        let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
                        *response.status_mut() =
                            StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN);
                        response.headers_mut().insert(
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("application/json"),
                        );
                        return response;
                    }
                }
            }
            _ => authorizer,
        };
        let mut event = HttpRequest::new(parts.method.as_str(), path, query)
            .headers(&parts.headers)
            .body(body.to_vec())
            .source_ip(peer.ip().to_string());
        let binary = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|content_type| !textual(content_type));
        if binary {
            // API Gateway base64-encodes bodies of binary media types.
            event = event.base64();
        }
        if let Some(authorizer) = &authorizer {
            event = event.authorizer(authorizer);
        }
        let payload = match local::encode_event(&event, format) {
            Ok(payload) => payload,
            Err(err) => return message(StatusCode::BAD_REQUEST, &err.to_string()),
        };
        let out =
            match tokio::time::timeout(self.timeout, self.app.dispatch(&payload, Context::local()))
                .await
            {
                Ok(Ok(out)) => out,
                Ok(Err(err)) => {
                    tracing::error!(
                        error_type = err.error_type(),
                        error = err.message(),
                        "the function failed"
                    );
                    return message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
                }
                // REST APIs answer 504; HTTP APIs 503 (API Gateway developer guide, "Integration
                // timeouts").
                Err(_) if rest => {
                    return message(StatusCode::GATEWAY_TIMEOUT, "Endpoint request timed out");
                }
                Err(_) => return message(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable"),
            };
        let decoded = local::decode_response(&out);
        let mut response = Response::new(Full::new(decoded.body));
        *response.status_mut() = decoded.status;
        *response.headers_mut() = decoded.headers;
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn echo(body: String) -> String {
        body
    }

    // Paused time: the clock jumps to the next timer whenever nothing else can run.
    #[tokio::test(start_paused = true)]
    async fn a_body_that_stalls_is_a_408_and_a_whole_one_reaches_the_app() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("the bound address");
        let gateway = Gateway {
            app: Arc::new(App::new().route_fn("POST", "/echo", echo)),
            authorizer: None,
            lambda: None,
            timeout: Duration::from_secs(29),
        };
        tokio::spawn(gateway.serve(listener, std::future::pending()));

        let mut stalled = tokio::net::TcpStream::connect(addr).await.expect("connect");
        stalled
            .write_all(b"POST /echo HTTP/1.1\r\nHost: local\r\nContent-Length: 10\r\n\r\nabc")
            .await
            .expect("write");
        let started = tokio::time::Instant::now();
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(90), stalled.read_to_end(&mut answer));
        let answer = match read.await {
            Ok(_) => String::from_utf8_lossy(&answer).into_owned(),
            Err(_) => panic!("a stalled body was still waited for after 90 s"),
        };
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(
            answer.ends_with(r#"{"message":"Request Timeout"}"#),
            "{answer}"
        );
        assert!(started.elapsed() >= Duration::from_secs(30));

        let mut whole = tokio::net::TcpStream::connect(addr).await.expect("connect");
        whole
            .write_all(
                b"POST /echo HTTP/1.1\r\nHost: local\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
            )
            .await
            .expect("write");
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), whole.read_to_end(&mut answer));
        assert!(read.await.is_ok(), "a whole request was not answered");
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("abc"), "{answer}");
    }
}
