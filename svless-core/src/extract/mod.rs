//! Extractors: typed handler arguments taken from the request.
//!
//! An argument of a handler is an extractor. All but the last implement [`FromRequestParts`]
//! (they read the head of the request) or [`FromInvocation`] (they need only the app state and
//! the Lambda context, so the same type also works in WebSocket and event handlers); the last may
//! implement [`FromRequest`] and take the body. A failed extraction answers with a problem
//! response and the handler is not called.

mod body;
mod headers;
mod json;
mod path;
mod query;
mod state;

pub use body::RawBody;
pub use json::Json;
pub use path::{MatchedParams, Path};
pub use query::Query;
pub use state::{FromRef, State};

use crate::body::{Request, Response};
use crate::context::Context;
use crate::invocation::{FromInvocation, Invocation};
use crate::response::IntoResponse;
use http::request::Parts;
use std::future::Future;
use std::sync::Arc;

/// An extractor that reads only the head of the request (method, URI, headers, extensions).
///
/// Implement it for your own types to make them handler arguments:
///
/// ```
/// use svless_core::{Error, extract::FromRequestParts, http::request::Parts};
///
/// struct TenantId(String);
///
/// impl<S: Sync> FromRequestParts<S> for TenantId {
///     type Rejection = Error;
///
///     async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Error> {
///         parts.headers.get("x-tenant-id")
///             .and_then(|v| v.to_str().ok())
///             .map(|v| TenantId(v.to_owned()))
///             .ok_or_else(|| Error::missing("the x-tenant-id header is required"))
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an extractor svless can take from the request head",
    note = "handler arguments must implement `svless::extract::FromRequestParts` (only the last argument may read the body with `svless::extract::FromRequest`)"
)]
pub trait FromRequestParts<S>: Sized {
    /// What a failed extraction answers with.
    type Rejection: IntoResponse;

    /// Extracts `Self` from the request head.
    fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send;
}

/// Marks [`FromRequest`] extractors (they take the whole request, the body included) used as a
/// handler's last argument.
#[derive(Debug, Clone, Copy)]
pub enum ViaRequest {}

/// Marks [`FromRequestParts`] extractors used as handler arguments.
#[derive(Debug, Clone, Copy)]
pub enum ViaParts {}

/// Marks [`FromInvocation`] extractors (state, Lambda context, metrics) used as HTTP handler
/// arguments.
#[derive(Debug, Clone, Copy)]
pub enum ViaInvocation {}

/// An extractor that consumes the request, body included. It can only be a handler's last argument
/// (where [`FromRequestParts`] and [`FromInvocation`] extractors may stand too).
///
/// ```
/// use svless_core::{Error, Request, extract::FromRequest};
///
/// struct Shouting(String);
///
/// impl<S: Sync> FromRequest<S> for Shouting {
///     type Rejection = Error;
///
///     async fn from_request(req: Request, _state: &S) -> Result<Self, Error> {
///         let text = std::str::from_utf8(req.body().as_bytes())
///             .map_err(|_| Error::bad_request("the body is not UTF-8"))?;
///         Ok(Shouting(text.to_uppercase()))
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an extractor svless can take from the request",
    note = "handler arguments must implement `svless::extract::FromRequestParts`, and the last one may implement `svless::extract::FromRequest`"
)]
pub trait FromRequest<S>: Sized {
    /// What a failed extraction answers with.
    type Rejection: IntoResponse;

    /// Extracts `Self` from the request.
    fn from_request(
        req: Request,
        state: &S,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send;
}

/// A rejection that can tell "what the extractor reads is not there" from "it is there but
/// wrong": what makes `Option<E>` work for an extractor `E`. [`Error`](crate::Error) is absent when
/// made with [`Error::missing`](crate::Error::missing); implement it for your own rejections.
///
/// ```
/// use svless_core::extract::Absent;
/// assert!(svless_core::Error::missing("no x-tenant header").is_absent());
/// assert!(!svless_core::Error::bad_request("a bad x-tenant header").is_absent());
/// ```
#[diagnostic::on_unimplemented(
    message = "`Option<_>` of this extractor needs its rejection `{Self}` to say when the value is absent",
    note = "implement `svless::extract::Absent` for `{Self}`, or reject with `svless::Error::missing(..)`"
)]
pub trait Absent {
    /// Whether the rejection means "absent" (`Option<E>` is then `None`).
    fn is_absent(&self) -> bool;
}

impl Absent for crate::Error {
    fn is_absent(&self) -> bool {
        crate::Error::is_absent(self)
    }
}

/// `Option<T>` is `None` when what `T` reads is absent, and still rejects what is present but
/// invalid; any extractor whose rejection implements [`Absent`] can be optional (`Option<Auth>`).
impl<S, T> FromRequestParts<S> for Option<T>
where
    S: Sync,
    T: FromRequestParts<S> + Send,
    T::Rejection: Absent,
{
    type Rejection = T::Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match T::from_request_parts(parts, state).await {
            Ok(value) => Ok(Some(value)),
            Err(err) if err.is_absent() => Ok(None),
            Err(err) => Err(err),
        }
    }
}

/// `Option<T>` of a body extractor is `None` when there is no body, and rejects a body that is invalid.
impl<S, T> FromRequest<S> for Option<T>
where
    S: Sync,
    T: FromRequest<S> + Send,
    T::Rejection: Absent,
{
    type Rejection = T::Rejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match T::from_request(req, state).await {
            Ok(value) => Ok(Some(value)),
            Err(err) if err.is_absent() => Ok(None),
            Err(err) => Err(err),
        }
    }
}

/// One handler argument before the last: a [`FromRequestParts`] extractor (marker [`ViaParts`])
/// or a [`FromInvocation`] one (marker [`ViaInvocation`]).
///
/// Implemented for you; write one of those two traits instead. The marker `M` is inferred: a
/// type implements exactly one of them.
///
/// ```
/// use svless_core::{App, Context, Path, State};
///
/// // `Path` reads the request; `State` and `Context` come from the invocation.
/// async fn get(Path(id): Path<u32>, State(prefix): State<String>, ctx: Context) -> String {
///     format!("{prefix}{id} in {}", ctx.function_name)
/// }
/// let app = App::new().state(String::from("todo-")).route_fn("GET", "/todos/{id}", get);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a handler argument in an app whose state is `{S}`",
    note = "an argument implements `svless::extract::FromRequestParts` (it reads the request head) or `svless::invocation::FromInvocation` (it needs only the state and the Lambda context)",
    note = "`State<T>` needs an app whose state is `T` (`App::new().state(...)` before the route) or implements `svless::FromRef` into `T`"
)]
pub trait FromRequestHead<S, M>: Sized + Send {
    /// Extracts the argument, or answers with its rejection.
    fn from_head(
        parts: &mut Parts,
        state: &Arc<S>,
    ) -> impl Future<Output = Result<Self, Response>> + Send;
}

impl<S, T> FromRequestHead<S, ViaParts> for T
where
    S: Send + Sync,
    T: FromRequestParts<S> + Send,
{
    async fn from_head(parts: &mut Parts, state: &Arc<S>) -> Result<Self, Response> {
        T::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)
    }
}

impl<S, T> FromRequestHead<S, ViaInvocation> for T
where
    S: Send + Sync,
    T: FromInvocation<S> + Send,
{
    async fn from_head(parts: &mut Parts, state: &Arc<S>) -> Result<Self, Response> {
        from_invocation(parts, state)
    }
}

/// The last handler argument: a [`FromRequest`] extractor (it may take the body), or any
/// argument [`FromRequestHead`] accepts.
///
/// Implemented for you; the marker `M` is inferred.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a handler's last argument in an app whose state is `{S}`",
    note = "the last argument implements `svless::extract::FromRequest` (it may read the body), `svless::extract::FromRequestParts` or `svless::invocation::FromInvocation`",
    note = "`State<T>` needs an app whose state is `T` (`App::new().state(...)` before the route) or implements `svless::FromRef` into `T`"
)]
pub trait FromRequestLast<S, M>: Sized + Send {
    /// Extracts the argument, or answers with its rejection.
    fn from_last(
        req: Request,
        state: &Arc<S>,
    ) -> impl Future<Output = Result<Self, Response>> + Send;
}

impl<S, T> FromRequestLast<S, ViaRequest> for T
where
    S: Send + Sync,
    T: FromRequest<S> + Send,
{
    async fn from_last(req: Request, state: &Arc<S>) -> Result<Self, Response> {
        T::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)
    }
}

impl<S, T> FromRequestLast<S, ViaParts> for T
where
    S: Send + Sync,
    T: FromRequestParts<S> + Send,
{
    async fn from_last(req: Request, state: &Arc<S>) -> Result<Self, Response> {
        let (mut parts, _) = req.into_parts();
        T::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)
    }
}

impl<S, T> FromRequestLast<S, ViaInvocation> for T
where
    S: Send + Sync,
    T: FromInvocation<S> + Send,
{
    async fn from_last(req: Request, state: &Arc<S>) -> Result<Self, Response> {
        let (mut parts, _) = req.into_parts();
        from_invocation(&mut parts, state)
    }
}

/// Takes a [`FromInvocation`] argument in an HTTP handler: the invocation is the app state and
/// the Lambda context the request carries. An error that is a [`crate::Error`] answers as that
/// problem; any other is logged and answers 500.
// The rejection is the response the request answers with, moved once: boxing it would only add
// an allocation on the failure path.
#[allow(clippy::result_large_err)]
fn from_invocation<S, T: FromInvocation<S>>(
    parts: &mut Parts,
    state: &Arc<S>,
) -> Result<T, Response> {
    let context = parts
        .extensions
        .get::<Arc<Context>>()
        .cloned()
        .unwrap_or_default();
    let invocation = Invocation::shared(state.clone(), context);
    T::from_invocation(&invocation).map_err(|err| match err.downcast::<crate::Error>() {
        Ok(err) => err.into_response(),
        Err(err) => {
            tracing::error!(error = %err, argument = std::any::type_name::<T>(), "a handler argument could not be taken from the invocation");
            crate::Error::new(http::StatusCode::INTERNAL_SERVER_ERROR)
                .with_detail("a handler argument could not be prepared")
                .into_response()
        }
    })
}
