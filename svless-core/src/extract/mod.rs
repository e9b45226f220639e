//! Extractors: typed handler arguments taken from the request.
//!
//! An argument of a handler is an extractor. All but the last implement [`FromRequestParts`]
//! (they read the head of the request); the last may implement [`FromRequest`] and take the body.
//! A failed extraction answers with a problem response and the handler is not called.

mod body;
mod context;
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

use crate::body::Request;
use crate::response::IntoResponse;
use http::request::Parts;
use std::future::Future;

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

/// Marks extractors that take the whole request (the body included); see [`FromRequest`].
#[derive(Debug, Clone, Copy)]
pub enum ViaRequest {}

/// Marks [`FromRequestParts`] extractors used where a [`FromRequest`] is accepted.
#[derive(Debug, Clone, Copy)]
pub enum ViaParts {}

/// An extractor that consumes the request, body included. It can only be a handler's last argument.
///
/// The marker `M` lets every [`FromRequestParts`] extractor be used in last position too.
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
pub trait FromRequest<S, M = ViaRequest>: Sized {
    /// What a failed extraction answers with.
    type Rejection: IntoResponse;

    /// Extracts `Self` from the request.
    fn from_request(
        req: Request,
        state: &S,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send;
}

impl<S, T> FromRequest<S, ViaParts> for T
where
    S: Sync,
    T: FromRequestParts<S>,
{
    type Rejection = T::Rejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, _) = req.into_parts();
        T::from_request_parts(&mut parts, state).await
    }
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
impl<S, T> FromRequest<S, ViaRequest> for Option<T>
where
    S: Sync,
    T: FromRequest<S, ViaRequest> + Send,
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
