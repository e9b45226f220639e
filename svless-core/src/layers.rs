//! The layers of the app's default stack, as `tower` layers you can reorder or leave out.
//!
//! Every request an [`App`](crate::App) handles passes, outermost first:
//!
//! 1. [`HeadLayer`] — empties the body of the answer to a `HEAD` request (after everything else
//!    has written it, so its `content-length` and problem fields stay those of the `GET`);
//! 2. [`ProblemInstanceLayer`] — fills a problem's `instance` with the request id;
//! 3. [`CorsLayer`] — answers preflights and decorates responses (only with
//!    [`App::cors`](crate::App::cors));
//! 4. [`CatchPanicLayer`] — turns a panic into a 500 problem;
//! 5. the app's own layers ([`App::layer`](crate::App::layer)), the first added innermost;
//! 6. the router: 404, 405, `OPTIONS`, then the route's handler.
//!
//! To order them differently — a logging layer that should see the CORS headers, a panic
//! handler of your own — turn the default stack off with
//! [`App::without_default_layers`](crate::App::without_default_layers) and add these layers
//! yourself with [`App::layer`](crate::App::layer), in the order you want:
//!
//! ```
//! use svless_core::{App, Cors};
//! use svless_core::layers::{CatchPanicLayer, CorsLayer, HeadLayer, ProblemInstanceLayer};
//!
//! async fn hello() -> &'static str { "hello" }
//!
//! // Layers added later wrap those added before: this is the default order, rebuilt.
//! let app = App::new()
//!     .without_default_layers()
//!     .route_fn("GET", "/", hello)
//!     .layer(CatchPanicLayer)
//!     .layer(CorsLayer::new(Cors::new().allow_any_origin()))
//!     .layer(ProblemInstanceLayer)
//!     .layer(HeadLayer);
//! ```

use crate::body::{Body, Request, Response};
use crate::context::Context;
use crate::cors::Cors;
use crate::error::{Error, Problem};
use crate::response::IntoResponse;
use futures_util::future::{CatchUnwind, FutureExt as _};
use http::{HeaderValue, Method, StatusCode, header};
use pin_project_lite::pin_project;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, ready};
use tower::{Layer, Service};

/// Empties the body of the answer to a `HEAD` request (RFC 9110 §9.3.2): routes answer `HEAD`
/// with their `GET` handler, and this layer drops what it wrote.
///
/// ```
/// let app = svless_core::App::new().without_default_layers().layer(svless_core::layers::HeadLayer);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct HeadLayer;

impl<S> Layer<S> for HeadLayer {
    type Service = Head<S>;

    fn layer(&self, inner: S) -> Head<S> {
        Head { inner }
    }
}

/// The service of [`HeadLayer`].
#[derive(Debug, Clone)]
pub struct Head<S> {
    inner: S,
}

impl<S> Service<Request> for Head<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = HeadFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        HeadFuture {
            head: request.method() == Method::HEAD,
            inner: self.inner.call(request),
        }
    }
}

pin_project! {
    /// The future of [`Head`].
    pub struct HeadFuture<F> {
        #[pin]
        inner: F,
        head: bool,
    }
}

impl<F, E> Future for HeadFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = ready!(this.inner.poll(cx))?;
        if *this.head {
            *response.body_mut() = Body::empty();
        }
        Poll::Ready(Ok(response))
    }
}

/// Fills the `instance` of a problem response that has none with the request's id — API
/// Gateway's when the request came through it, else Lambda's — so a client's bug report names
/// the request to look up in the logs.
///
/// ```
/// let app = svless_core::App::new().without_default_layers().layer(svless_core::layers::ProblemInstanceLayer);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ProblemInstanceLayer;

impl<S> Layer<S> for ProblemInstanceLayer {
    type Service = ProblemInstance<S>;

    fn layer(&self, inner: S) -> ProblemInstance<S> {
        ProblemInstance { inner }
    }
}

/// The service of [`ProblemInstanceLayer`].
#[derive(Debug, Clone)]
pub struct ProblemInstance<S> {
    inner: S,
}

impl<S> Service<Request> for ProblemInstance<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ProblemInstanceFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        ProblemInstanceFuture {
            context: request.extensions().get::<Arc<Context>>().cloned(),
            inner: self.inner.call(request),
        }
    }
}

pin_project! {
    /// The future of [`ProblemInstance`].
    pub struct ProblemInstanceFuture<F> {
        #[pin]
        inner: F,
        context: Option<Arc<Context>>,
    }
}

impl<F, E> Future for ProblemInstanceFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = ready!(this.inner.poll(cx))?;
        if let Some(context) = this.context.as_deref() {
            fill_instance(&mut response, Some(context.trace_id()));
        }
        Poll::Ready(Ok(response))
    }
}

/// Sets a problem response's `instance` to `trace_id` when it has none, rendering its body again.
pub(crate) fn fill_instance(response: &mut Response, trace_id: Option<&str>) {
    let Some(trace_id) = trace_id.filter(|id| !id.is_empty()) else {
        return;
    };
    let Some(problem) = response.extensions().get::<Problem>() else {
        return;
    };
    if problem.instance.is_some() {
        return;
    }
    let mut problem = problem.clone();
    problem.instance = Some(trace_id.to_owned());
    let (mut parts, _) = std::mem::take(response).into_parts();
    let rendered = problem.into_response();
    parts.extensions.extend(rendered.extensions().clone());
    *response = Response::from_parts(parts, rendered.into_body());
}

/// Answers CORS preflights (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) from a
/// [`Cors`] configuration, and adds the CORS headers to responses for allowed origins.
///
/// ```
/// use svless_core::{App, Cors, layers::CorsLayer};
/// let app = App::new()
///     .without_default_layers()
///     .layer(CorsLayer::new(Cors::new().allow_origin("https://app.example.com")));
/// ```
#[derive(Debug, Clone)]
pub struct CorsLayer {
    cors: Option<Arc<Cors>>,
}

impl CorsLayer {
    /// A layer applying `cors`.
    ///
    /// ```
    /// let layer = svless_core::layers::CorsLayer::new(svless_core::Cors::new().allow_any_origin());
    /// ```
    pub fn new(cors: Cors) -> Self {
        Self {
            cors: Some(Arc::new(cors)),
        }
    }

    /// The default stack's CORS layer: it passes everything through when the app has no CORS
    /// configuration.
    pub(crate) fn optional(cors: Option<Arc<Cors>>) -> Self {
        Self { cors }
    }
}

impl<S> Layer<S> for CorsLayer {
    type Service = CorsService<S>;

    fn layer(&self, inner: S) -> CorsService<S> {
        CorsService {
            inner,
            cors: self.cors.clone(),
        }
    }
}

/// The service of [`CorsLayer`].
#[derive(Debug, Clone)]
pub struct CorsService<S> {
    inner: S,
    cors: Option<Arc<Cors>>,
}

impl<S> Service<Request> for CorsService<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = CorsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let Some(cors) = &self.cors else {
            return CorsFuture {
                decorate: None,
                preflight: None,
                inner: Some(self.inner.call(request)),
            };
        };
        if Cors::is_preflight(request.method(), request.headers()) {
            return CorsFuture {
                inner: None,
                preflight: Some(cors.preflight(request.headers())),
                decorate: None,
            };
        }
        let origin = request.headers().get(header::ORIGIN).cloned();
        CorsFuture {
            decorate: Some((cors.clone(), origin)),
            preflight: None,
            inner: Some(self.inner.call(request)),
        }
    }
}

pin_project! {
    /// The future of [`CorsService`].
    pub struct CorsFuture<F> {
        #[pin]
        inner: Option<F>,
        preflight: Option<Response>,
        decorate: Option<(Arc<Cors>, Option<HeaderValue>)>,
    }
}

impl<F, E> Future for CorsFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Some(inner) = this.inner.as_pin_mut() else {
            return Poll::Ready(Ok(this.preflight.take().unwrap_or_else(|| {
                Error::new(StatusCode::INTERNAL_SERVER_ERROR)
                    .with_detail("a CORS preflight future was polled after it completed")
                    .into_response()
            })));
        };
        let mut response = ready!(inner.poll(cx))?;
        if let Some((cors, origin)) = this.decorate.take() {
            cors.decorate(origin.as_ref(), &mut response);
        }
        Poll::Ready(Ok(response))
    }
}

/// Turns a panic in what it wraps into a 500 problem that says nothing of the panic; the panic is
/// logged with the request id, and the app keeps serving.
///
/// ```
/// let app = svless_core::App::new().without_default_layers().layer(svless_core::layers::CatchPanicLayer);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct CatchPanicLayer;

impl<S> Layer<S> for CatchPanicLayer {
    type Service = CatchPanic<S>;

    fn layer(&self, inner: S) -> CatchPanic<S> {
        CatchPanic { inner }
    }
}

/// The service of [`CatchPanicLayer`].
#[derive(Debug, Clone)]
pub struct CatchPanic<S> {
    inner: S,
}

impl<S> Service<Request> for CatchPanic<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = CatchPanicFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let context = request.extensions().get::<Arc<Context>>().cloned();
        let inner = match std::panic::catch_unwind(AssertUnwindSafe(|| self.inner.call(request))) {
            Ok(future) => Some(AssertUnwindSafe(future).catch_unwind()),
            Err(_) => None,
        };
        CatchPanicFuture { inner, context }
    }
}

pin_project! {
    /// The future of [`CatchPanic`].
    pub struct CatchPanicFuture<F> {
        #[pin]
        inner: Option<CatchUnwind<AssertUnwindSafe<F>>>,
        context: Option<Arc<Context>>,
    }
}

impl<F, E> Future for CatchPanicFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let outcome = match this.inner.as_pin_mut() {
            Some(inner) => ready!(inner.poll(cx)),
            None => Err(Box::new(()) as Box<dyn std::any::Any + Send>),
        };
        match outcome {
            Ok(result) => Poll::Ready(result),
            Err(_) => {
                tracing::error!(
                    request_id = this.context.as_deref().map(Context::trace_id).unwrap_or(""),
                    "the handler panicked"
                );
                Poll::Ready(Ok(Error::new(StatusCode::INTERNAL_SERVER_ERROR)
                    .with_detail("the handler failed unexpectedly")
                    .into_response()))
            }
        }
    }
}
