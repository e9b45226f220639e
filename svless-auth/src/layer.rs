//! `CognitoAuthLayer`: verifies the bearer token of every request it wraps (or, by explicit
//! choice, trusts the claims an API Gateway authorizer already verified).

use crate::error::AuthError;
use crate::verifier::{Claims, CognitoVerifier, TokenUse};
use serde_json::{Map, Value};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use svless_core::{Request, Response};
use tower::{Layer, Service};

/// The verified claims of a request, as the layer leaves them in its extensions.
///
/// ```
/// fn sub_of(request: &svless_core::Request) -> Option<&str> {
///     request.extensions().get::<svless_auth::VerifiedClaims>().map(|c| c.0.sub.as_str())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct VerifiedClaims(pub Claims<Map<String, Value>>);

#[derive(Debug, Clone)]
enum Mode {
    Verify(Arc<CognitoVerifier>),
    TrustGateway(TokenUse),
}

/// A `tower::Layer` that authenticates requests before they reach the app or a route.
///
/// ```
/// use svless_auth::{CognitoAuthLayer, CognitoVerifier, TokenUse};
/// let verifier = CognitoVerifier::new("us-east-1", "us-east-1_EXAMPLE", TokenUse::Access, ["client"]).expect("a verifier");
/// async fn todos() -> &'static str { "[]" }
/// let app = svless_core::App::new().route_fn("GET", "/todos", todos).layer(CognitoAuthLayer::new(verifier));
/// ```
///
/// ```
/// use tower::Layer;
/// let layer = svless_auth::CognitoAuthLayer::trust_api_gateway(svless_auth::TokenUse::Id);
/// let service = layer.layer(tower::service_fn(|_req: svless_core::Request| async {
///     Ok::<_, std::convert::Infallible>(svless_core::Response::new(svless_core::Body::empty()))
/// }));
/// ```
#[derive(Debug, Clone)]
pub struct CognitoAuthLayer {
    mode: Mode,
    optional: bool,
}

impl CognitoAuthLayer {
    /// Verifies each request's bearer token with `verifier`.
    ///
    /// ```
    /// # let verifier = svless_auth::CognitoVerifier::new("us-east-1", "us-east-1_X", svless_auth::TokenUse::Id, ["c"]).expect("a verifier");
    /// let layer = svless_auth::CognitoAuthLayer::new(verifier);
    /// ```
    pub fn new(verifier: CognitoVerifier) -> Self {
        CognitoAuthLayer {
            mode: Mode::Verify(Arc::new(verifier)),
            optional: false,
        }
    }

    /// Trusts the claims that an API Gateway Cognito authorizer (REST) or JWT authorizer (HTTP
    /// API) verified, reading them from the request context. Choose it only behind such an
    /// authorizer: a request without authorizer claims is refused, never let through.
    ///
    /// ```
    /// let layer = svless_auth::CognitoAuthLayer::trust_api_gateway(svless_auth::TokenUse::Id);
    /// ```
    pub fn trust_api_gateway(token_use: TokenUse) -> Self {
        CognitoAuthLayer {
            mode: Mode::TrustGateway(token_use),
            optional: false,
        }
    }

    /// Lets requests that carry no token through, unauthenticated, for routes that serve
    /// anonymous callers too: their `Option<Auth>` is `None`, and `Auth` or `Require` still refuse
    /// them with 401. A token that is present is verified as always — an invalid one is 401,
    /// never treated as absent.
    ///
    /// ```
    /// let layer = svless_auth::CognitoAuthLayer::trust_api_gateway(svless_auth::TokenUse::Id).optional();
    /// ```
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }
}

impl<S> Layer<S> for CognitoAuthLayer {
    type Service = CognitoAuth<S>;

    fn layer(&self, inner: S) -> CognitoAuth<S> {
        CognitoAuth {
            inner,
            mode: self.mode.clone(),
            optional: self.optional,
        }
    }
}

/// The service [`CognitoAuthLayer`] makes.
#[derive(Debug, Clone)]
pub struct CognitoAuth<S> {
    inner: S,
    mode: Mode,
    optional: bool,
}

/// Splits `[admin editor]`, `admin,editor` or a JSON list into group names.
fn groups_of(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(text)) => text
            .trim_matches(|c| c == '[' || c == ']')
            .split([',', ' '])
            .filter(|g| !g.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// Claims an API Gateway authorizer passed on, in the shape the verifier gives.
pub(crate) fn gateway_claims(
    ctx: &svless_core::Context,
    token_use: TokenUse,
) -> Result<Claims<Map<String, Value>>, AuthError> {
    let claims = ctx.claims().ok_or(AuthError::Missing)?;
    let text = |key: &str| claims.get(key).and_then(Value::as_str).map(str::to_owned);
    let sub = text("sub").ok_or(AuthError::Missing)?;
    let scopes = match ctx.authorizer.get("jwt").and_then(|j| j.get("scopes")) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => text("scope")
            .map(|s| s.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default(),
    };
    Ok(Claims::from_parts(
        sub,
        text("cognito:username").or_else(|| text("username")),
        text("email"),
        groups_of(claims.get("cognito:groups")),
        scopes,
        token_use,
        text("aud")
            .or_else(|| text("client_id"))
            .unwrap_or_default(),
        text("exp")
            .and_then(|e| e.parse().ok())
            .or_else(|| claims.get("exp").and_then(Value::as_u64))
            .unwrap_or(0),
        claims.clone(),
    ))
}

impl<S> Service<Request> for CognitoAuth<S>
where
    S: Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        // The clone that was readied serves this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let mode = self.mode.clone();
        let optional = self.optional;
        Box::pin(async move {
            let verified = match &mode {
                Mode::Verify(verifier) => {
                    let header = request
                        .headers()
                        .get(http::header::AUTHORIZATION)
                        .and_then(|v| v.to_str().ok());
                    match CognitoVerifier::bearer(header) {
                        Ok(token) => verifier.verify::<Map<String, Value>>(token).await,
                        Err(err) => Err(err),
                    }
                }
                Mode::TrustGateway(token_use) => {
                    match request
                        .extensions()
                        .get::<std::sync::Arc<svless_core::Context>>()
                    {
                        Some(ctx) => gateway_claims(ctx, *token_use),
                        None => Err(AuthError::Missing),
                    }
                }
            };
            match verified {
                Ok(claims) => {
                    request.extensions_mut().insert(VerifiedClaims(claims));
                    inner.call(request).await
                }
                Err(AuthError::Missing) if optional => {
                    request.extensions_mut().insert(crate::extract::Anonymous);
                    inner.call(request).await
                }
                Err(err) => {
                    if err.status().is_server_error() {
                        tracing::error!(error = %err, "the request could not be authenticated");
                    }
                    Ok(err.into_problem_response())
                }
            }
        })
    }
}
