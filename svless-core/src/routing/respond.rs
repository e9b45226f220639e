//! The routing policy: which route a request goes to, and the answers when none takes it —
//! 404, 405 with `Allow`, and the `OPTIONS` listing.

use super::{Found, Router};
use crate::body::{Request, Response};
use crate::error::Error;
use crate::handler::BoxFuture;
use crate::payload::RouteHint;
use crate::response::IntoResponse;
use http::{HeaderValue, Method, StatusCode, header};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use tower::Service;

/// The router as the innermost service of an app.
#[derive(Clone)]
pub(crate) struct RouterService {
    router: Arc<Router>,
    base_path: Option<Arc<str>>,
}

impl RouterService {
    pub(crate) fn new(router: Arc<Router>, base_path: Option<&str>) -> Self {
        RouterService {
            router,
            base_path: base_path.map(Arc::from),
        }
    }

    /// Routes one request: its future is the handler's, with no allocation of its own.
    pub(crate) fn route(&self, request: Request) -> BoxFuture<Response> {
        route(&self.router, self.base_path.as_deref(), request)
    }
}
impl Service<Request> for RouterService {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let future = route(&self.router, self.base_path.as_deref(), request);
        Box::pin(async move { Ok(future.await) })
    }
}

/// Finds the route for a request and calls it, or answers 404, 405 or an `OPTIONS` listing.
pub(crate) fn route(
    router: &Router,
    base_path: Option<&str>,
    mut request: Request,
) -> BoxFuture<Response> {
    let hint = request
        .extensions_mut()
        .remove::<RouteHint>()
        .unwrap_or_default();
    let by_key = hint
        .route
        .as_ref()
        .and_then(|(_, template)| router.by_route_key(request.method(), template, &hint.params));
    let found = match by_key {
        Some((index, params)) => Found::Route { index, params },
        None => {
            let mut path = if hint.api_path.is_empty() {
                request.uri().path()
            } else {
                hint.api_path.as_str()
            };
            if let Some(rest) = base_path
                .and_then(|base| path.strip_prefix(base))
                .filter(|r| r.is_empty() || r.starts_with('/'))
            {
                path = if rest.is_empty() { "/" } else { rest };
            }
            router.lookup(request.method(), path)
        }
    };
    let response = match found {
        Found::Route { index, params } => {
            request.extensions_mut().insert(params);
            return router.target(index).call(request);
        }
        Found::MethodNotAllowed { allow } => {
            let allow_value = allow
                .iter()
                .map(Method::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            let mut response = if request.method() == Method::OPTIONS {
                StatusCode::NO_CONTENT.into_response()
            } else {
                Error::new(StatusCode::METHOD_NOT_ALLOWED)
                    .with_detail(format!(
                        "{} is not allowed here; allowed: {allow_value}",
                        request.method()
                    ))
                    .into_response()
            };
            if let Ok(value) = HeaderValue::try_from(allow_value) {
                response.headers_mut().insert(header::ALLOW, value);
            }
            response
        }
        Found::Nothing => {
            Error::not_found(format!("no route matches {}", request.uri().path())).into_response()
        }
    };
    Box::pin(std::future::ready(response))
}
