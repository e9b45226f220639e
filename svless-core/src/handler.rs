//! Handlers: plain `async fn`s whose arguments are extractors and whose result is a response.

use crate::body::{Request, Response};
use crate::extract::{FromRequest, FromRequestParts};
use crate::response::IntoResponse;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A function that can handle requests: an `async fn` (or closure returning a future) of up to
/// 16 extractor arguments whose output implements [`IntoResponse`].
///
/// `T` lists the extractor types; it lets one function type implement the trait once per
/// signature and is inferred, never written.
///
/// ```
/// use svless_core::{App, Json, Path};
///
/// async fn get_todo(Path(id): Path<u32>) -> Json<u32> { Json(id) }
///
/// // Registered by hand; `#[svless::api(GET "/todos/{id}")]` does the same and checks the template.
/// let app = App::new().route_fn("GET", "/todos/{id}", get_todo);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a svless handler",
    note = "a handler is an `async fn` whose arguments are extractors (`Path`, `Query`, `Json`, `State`, `Context`, ...; the body extractor last) and whose result implements `svless::IntoResponse`"
)]
pub trait Handler<T, S>: Clone + Send + Sync + 'static {
    /// Extracts the arguments from the request and calls the function.
    fn call(self, req: Request, state: Arc<S>) -> BoxFuture<Response>;
}

/// The arguments of a handler as a tuple, extracted from a request.
///
/// Implemented for tuples of extractors; used by the code `#[svless::api]` generates.
#[diagnostic::on_unimplemented(
    message = "the handler arguments `{Self}` cannot all be extracted from the request",
    note = "every argument must implement `svless::extract::FromRequestParts`, except the last, which may implement `svless::extract::FromRequest` (the body)"
)]
pub trait FromRequestArgs<S, M>: Sized + Send {
    /// Extracts every argument, or answers with the first rejection.
    fn extract(req: Request, state: &S) -> impl Future<Output = Result<Self, Response>> + Send;
}

impl<S: Sync> FromRequestArgs<S, ()> for () {
    async fn extract(_req: Request, _state: &S) -> Result<Self, Response> {
        Ok(())
    }
}

impl<F, Fut, Res, S> Handler<((),), S> for F
where
    F: FnOnce() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Res> + Send,
    Res: IntoResponse,
    S: Send + Sync + 'static,
{
    fn call(self, _req: Request, _state: Arc<S>) -> BoxFuture<Response> {
        Box::pin(async move { self().await.into_response() })
    }
}

macro_rules! impl_handler {
    ([$($ty:ident),*], $last:ident) => {
        #[allow(non_snake_case, unused_mut)]
        impl<S, M, $($ty,)* $last> FromRequestArgs<S, M> for ($($ty,)* $last,)
        where
            S: Sync,
            $($ty: FromRequestParts<S> + Send,)*
            $last: FromRequest<S, M> + Send,
        {
            async fn extract(req: Request, state: &S) -> Result<Self, Response> {
                let (mut parts, body) = req.into_parts();
                $(
                    let $ty = match $ty::from_request_parts(&mut parts, state).await {
                        Ok(value) => value,
                        Err(rejection) => return Err(rejection.into_response()),
                    };
                )*
                let req = Request::from_parts(parts, body);
                let $last = match $last::from_request(req, state).await {
                    Ok(value) => value,
                    Err(rejection) => return Err(rejection.into_response()),
                };
                Ok(($($ty,)* $last,))
            }
        }

        #[allow(non_snake_case)]
        impl<F, Fut, Res, S, M, $($ty,)* $last> Handler<(M, $($ty,)* $last,), S> for F
        where
            F: FnOnce($($ty,)* $last) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = Res> + Send,
            Res: IntoResponse,
            S: Send + Sync + 'static,
            M: 'static,
            $($ty: FromRequestParts<S> + Send + 'static,)*
            $last: FromRequest<S, M> + Send + 'static,
        {
            fn call(self, req: Request, state: Arc<S>) -> BoxFuture<Response> {
                Box::pin(async move {
                    match <($($ty,)* $last,) as FromRequestArgs<S, M>>::extract(req, &state).await {
                        Ok(($($ty,)* $last,)) => self($($ty,)* $last).await.into_response(),
                        Err(rejection) => rejection,
                    }
                })
            }
        }
    };
}

impl_handler!([], T1);
impl_handler!([T1], T2);
impl_handler!([T1, T2], T3);
impl_handler!([T1, T2, T3], T4);
impl_handler!([T1, T2, T3, T4], T5);
impl_handler!([T1, T2, T3, T4, T5], T6);
impl_handler!([T1, T2, T3, T4, T5, T6], T7);
impl_handler!([T1, T2, T3, T4, T5, T6, T7], T8);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8], T9);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8, T9], T10);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8, T9, T10], T11);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11], T12);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12], T13);
impl_handler!(
    [T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13],
    T14
);
impl_handler!(
    [T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14],
    T15
);
impl_handler!(
    [
        T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14, T15
    ],
    T16
);

/// A route declared with `#[svless::api]`: its method, template and function.
///
/// The attribute implements this trait for a unit struct named like the function; pass that
/// struct to [`App::route`](crate::App::route). Implementing it by hand works too:
///
/// ```
/// use svless_core::{App, Endpoint, IntoResponse, Path, Response};
///
/// #[derive(Clone, Copy)]
/// struct GetTodo;
///
/// impl Endpoint for GetTodo {
///     const METHOD: &'static str = "GET";
///     const PATH: &'static str = "/todos/{id}";
///     type Args = (Path<u32>,);
///
///     async fn call(self, (Path(id),): Self::Args) -> Response {
///         format!("todo {id}").into_response()
///     }
/// }
///
/// let app = App::new().route(GetTodo);
/// ```
pub trait Endpoint: Clone + Send + Sync + 'static {
    /// The HTTP method (`GET`, `POST`, ..., or `ANY`).
    const METHOD: &'static str;
    /// The route template, such as `/todos/{id}`.
    const PATH: &'static str;
    /// The handler's arguments, as a tuple of extractors.
    type Args: Send + 'static;
    /// Calls the handler with extracted arguments.
    fn call(self, args: Self::Args) -> impl Future<Output = Response> + Send;
}
