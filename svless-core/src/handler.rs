//! Handlers: plain `async fn`s whose arguments are extractors and whose result is a response.

use crate::body::{Request, Response};
use crate::extract::{FromRequestHead, FromRequestLast};
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
/// Implemented for tuples of extractors; used by the code `#[svless::api]` generates. `M` is a
/// tuple of markers, one per argument, inferred.
#[diagnostic::on_unimplemented(
    message = "the handler arguments `{Self}` cannot all be extracted from the request",
    note = "every argument must implement `svless::extract::FromRequestParts` or `svless::invocation::FromInvocation`, and the last may implement `svless::extract::FromRequest` (the body)"
)]
pub trait FromRequestArgs<S, M>: Sized + Send {
    /// Extracts every argument, or answers with the first rejection.
    fn extract(req: Request, state: &Arc<S>)
    -> impl Future<Output = Result<Self, Response>> + Send;
}

impl<S: Send + Sync> FromRequestArgs<S, ()> for () {
    async fn extract(_req: Request, _state: &Arc<S>) -> Result<Self, Response> {
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
    ([$($ty:ident $m:ident),*], $last:ident $lm:ident) => {
        #[allow(non_snake_case, unused_mut)]
        impl<S, $($m,)* $lm, $($ty,)* $last> FromRequestArgs<S, ($($m,)* $lm,)> for ($($ty,)* $last,)
        where
            S: Send + Sync,
            $($ty: FromRequestHead<S, $m>,)*
            $last: FromRequestLast<S, $lm>,
        {
            async fn extract(req: Request, state: &Arc<S>) -> Result<Self, Response> {
                let (mut parts, body) = req.into_parts();
                $(
                    let $ty = $ty::from_head(&mut parts, state).await?;
                )*
                let req = Request::from_parts(parts, body);
                let $last = $last::from_last(req, state).await?;
                Ok(($($ty,)* $last,))
            }
        }

        #[allow(non_snake_case)]
        impl<F, Fut, Res, S, $($m,)* $lm, $($ty,)* $last> Handler<(($($m,)* $lm,), $($ty,)* $last,), S> for F
        where
            F: FnOnce($($ty,)* $last) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = Res> + Send,
            Res: IntoResponse,
            S: Send + Sync + 'static,
            $($m: 'static,)*
            $lm: 'static,
            $($ty: FromRequestHead<S, $m> + 'static,)*
            $last: FromRequestLast<S, $lm> + 'static,
        {
            fn call(self, req: Request, state: Arc<S>) -> BoxFuture<Response> {
                Box::pin(async move {
                    match <($($ty,)* $last,) as FromRequestArgs<S, ($($m,)* $lm,)>>::extract(req, &state).await {
                        Ok(($($ty,)* $last,)) => self($($ty,)* $last).await.into_response(),
                        Err(rejection) => rejection,
                    }
                })
            }
        }
    };
}

impl_handler!([], T1 M1);
impl_handler!([T1 M1], T2 M2);
impl_handler!([T1 M1, T2 M2], T3 M3);
impl_handler!([T1 M1, T2 M2, T3 M3], T4 M4);
impl_handler!([T1 M1, T2 M2, T3 M3, T4 M4], T5 M5);
impl_handler!([T1 M1, T2 M2, T3 M3, T4 M4, T5 M5], T6 M6);
impl_handler!([T1 M1, T2 M2, T3 M3, T4 M4, T5 M5, T6 M6], T7 M7);
impl_handler!([T1 M1, T2 M2, T3 M3, T4 M4, T5 M5, T6 M6, T7 M7], T8 M8);
impl_handler!([T1 M1, T2 M2, T3 M3, T4 M4, T5 M5, T6 M6, T7 M7, T8 M8], T9 M9);
impl_handler!([T1 M1, T2 M2, T3 M3, T4 M4, T5 M5, T6 M6, T7 M7, T8 M8, T9 M9], T10 M10);
impl_handler!([T1 M1, T2 M2, T3 M3, T4 M4, T5 M5, T6 M6, T7 M7, T8 M8, T9 M9, T10 M10], T11 M11);
impl_handler!([T1 M1, T2 M2, T3 M3, T4 M4, T5 M5, T6 M6, T7 M7, T8 M8, T9 M9, T10 M10, T11 M11], T12 M12);
impl_handler!([T1 M1, T2 M2, T3 M3, T4 M4, T5 M5, T6 M6, T7 M7, T8 M8, T9 M9, T10 M10, T11 M11, T12 M12], T13 M13);
impl_handler!([T1 M1, T2 M2, T3 M3, T4 M4, T5 M5, T6 M6, T7 M7, T8 M8, T9 M9, T10 M10, T11 M11, T12 M12, T13 M13], T14 M14);
impl_handler!([T1 M1, T2 M2, T3 M3, T4 M4, T5 M5, T6 M6, T7 M7, T8 M8, T9 M9, T10 M10, T11 M11, T12 M12, T13 M13, T14 M14], T15 M15);
impl_handler!([T1 M1, T2 M2, T3 M3, T4 M4, T5 M5, T6 M6, T7 M7, T8 M8, T9 M9, T10 M10, T11 M11, T12 M12, T13 M13, T14 M14, T15 M15], T16 M16);

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

    /// Describes the route for the OpenAPI definition (feature `openapi`): `#[svless::api]`
    /// writes this from the handler's types; by hand, the route is listed as undescribed.
    #[cfg(feature = "openapi")]
    fn describe(op: &mut crate::openapi::Operation<'_>) {
        op.undescribed("an endpoint implemented by hand");
    }
}
