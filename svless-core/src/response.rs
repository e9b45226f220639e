//! Turning handler results into HTTP responses.

use crate::body::{Body, Response};
use crate::error::{Error, IntoProblem};
use bytes::Bytes;
use http::StatusCode;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// Something a handler can return.
///
/// Implemented for text, bytes, [`Json`](crate::Json), [`Html`], `()` (204 No Content),
/// [`StatusCode`], `(StatusCode, T)`, `(StatusCode, headers, T)`, `(headers, T)`,
/// [`Response`] and `Result<T, E>` where `E` is an [`IntoProblem`].
///
/// ```
/// use svless_core::{IntoResponse, http::StatusCode};
///
/// let response = (StatusCode::CREATED, "made").into_response();
/// assert_eq!(response.status(), StatusCode::CREATED);
/// assert_eq!(response.headers()["content-type"], "text/plain; charset=utf-8");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a svless handler",
    note = "return `svless::Json<T>`, a `String`, `()` , `(StatusCode, T)` or a `Result<T, E>` whose `E: svless::IntoProblem`"
)]
pub trait IntoResponse {
    /// The response.
    fn into_response(self) -> Response;
}

impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }
}

impl IntoResponse for std::convert::Infallible {
    fn into_response(self) -> Response {
        match self {}
    }
}

impl IntoResponse for () {
    fn into_response(self) -> Response {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        response
    }
}

impl IntoResponse for StatusCode {
    fn into_response(self) -> Response {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = self;
        response
    }
}

fn with_type(body: Body, content_type: &'static str) -> Response {
    let mut response = Response::new(body);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

const TEXT: &str = "text/plain; charset=utf-8";
const OCTETS: &str = "application/octet-stream";

impl IntoResponse for &'static str {
    fn into_response(self) -> Response {
        with_type(Body::from(self), TEXT)
    }
}

impl IntoResponse for String {
    fn into_response(self) -> Response {
        with_type(Body::from(self), TEXT)
    }
}

impl IntoResponse for Vec<u8> {
    fn into_response(self) -> Response {
        with_type(Body::from(self), OCTETS)
    }
}

impl IntoResponse for Bytes {
    fn into_response(self) -> Response {
        with_type(Body::from(self), OCTETS)
    }
}

impl IntoResponse for Body {
    fn into_response(self) -> Response {
        with_type(self, OCTETS)
    }
}

/// An HTML response body.
///
/// ```
/// use svless_core::{Html, IntoResponse};
/// let response = Html("<h1>hi</h1>").into_response();
/// assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
/// ```
#[derive(Debug, Clone)]
pub struct Html<T>(pub T);

impl<T: Into<Body>> IntoResponse for Html<T> {
    fn into_response(self) -> Response {
        with_type(self.0.into(), "text/html; charset=utf-8")
    }
}

/// `201 Created` with `T`'s response: the status in the type, so the API definition
/// ([`App::openapi`](crate::App::openapi)) names it rather than a range.
///
/// ```
/// use svless_core::{Created, IntoResponse, Json};
/// let response = Created(Json(serde_json::json!({"id": 7}))).into_response();
/// assert_eq!(response.status(), 201);
/// ```
#[derive(Debug, Clone)]
pub struct Created<T>(pub T);

impl<T: IntoResponse> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        (StatusCode::CREATED, self.0).into_response()
    }
}

/// `204 No Content`: done, nothing to say — the status in the type, as [`Created`].
///
/// ```
/// use svless_core::{IntoResponse, NoContent};
/// let response = NoContent.into_response();
/// assert_eq!(response.status(), 204);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct NoContent;

impl IntoResponse for NoContent {
    fn into_response(self) -> Response {
        StatusCode::NO_CONTENT.into_response()
    }
}

impl<T: IntoResponse, E: IntoProblem> IntoResponse for Result<T, E> {
    fn into_response(self) -> Response {
        match self {
            Ok(value) => value.into_response(),
            Err(err) => err.into_problem().into_response(),
        }
    }
}

/// Headers a handler adds to its response: a [`HeaderMap`] or an array of name/value pairs.
///
/// ```
/// use svless_core::{IntoResponse, http::{StatusCode, header}};
///
/// let response = (StatusCode::SEE_OTHER, [(header::LOCATION, "/todos/1")], ()).into_response();
/// assert_eq!(response.status(), 303);
/// assert_eq!(response.headers()["location"], "/todos/1");
/// ```
///
/// A header the handler names replaces what the body set under that name (a `content-type`
/// of its own instead of the body's); several values of one name are all kept.
///
/// ```
/// use svless_core::IntoResponse;
/// let response = ([("content-type", "text/javascript")], "alert(1)").into_response();
/// assert_eq!(response.headers().get_all("content-type").iter().count(), 1);
/// assert_eq!(response.headers()["content-type"], "text/javascript");
/// ```
pub trait IntoResponseHeaders {
    /// Adds the headers to `headers`, or says why one is not a valid header.
    fn add_to(self, headers: &mut HeaderMap) -> Result<(), Error>;
}

/// Adds `extra` to `headers`, each name's values replacing those already there.
fn merge(headers: &mut HeaderMap, extra: HeaderMap) {
    for name in extra.keys() {
        headers.remove(name);
    }
    let mut last = None;
    for (name, value) in extra {
        if let Some(name) = name {
            last = Some(name);
        }
        if let Some(name) = &last {
            headers.append(name.clone(), value);
        }
    }
}

impl IntoResponseHeaders for HeaderMap {
    fn add_to(self, headers: &mut HeaderMap) -> Result<(), Error> {
        merge(headers, self);
        Ok(())
    }
}

impl<K, V, const N: usize> IntoResponseHeaders for [(K, V); N]
where
    K: TryInto<HeaderName>,
    V: TryInto<HeaderValue>,
{
    fn add_to(self, headers: &mut HeaderMap) -> Result<(), Error> {
        let mut extra = HeaderMap::with_capacity(N);
        for (name, value) in self {
            let name = name
                .try_into()
                .map_err(|_| Error::internal("a handler returned an invalid header name"))?;
            let value = value.try_into().map_err(|_| {
                Error::internal(format!(
                    "a handler returned an invalid value for header `{name}`"
                ))
            })?;
            extra.append(name, value);
        }
        merge(headers, extra);
        Ok(())
    }
}

impl<T: IntoResponse> IntoResponse for (StatusCode, T) {
    fn into_response(self) -> Response {
        let mut response = self.1.into_response();
        *response.status_mut() = self.0;
        response
    }
}

impl<H: IntoResponseHeaders, T: IntoResponse> IntoResponse for (H, T) {
    fn into_response(self) -> Response {
        let mut response = self.1.into_response();
        match self.0.add_to(response.headers_mut()) {
            Ok(()) => response,
            Err(err) => err.into_response(),
        }
    }
}

impl<H: IntoResponseHeaders, T: IntoResponse> IntoResponse for (StatusCode, H, T) {
    fn into_response(self) -> Response {
        let mut response = (self.1, self.2).into_response();
        // A header that could not be set is a 500 the caller must see, whatever status it asked for.
        let header_failed = response
            .extensions()
            .get::<crate::Problem>()
            .is_some_and(|p| p.status >= 500);
        if !header_failed {
            *response.status_mut() = self.0;
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_is_no_content() {
        assert_eq!(().into_response().status(), StatusCode::NO_CONTENT);
    }

    #[test]
    fn invalid_header_value_becomes_500_not_panic() {
        let response = ([("x-bad", "line\nbreak")], "body").into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn repeated_headers_survive() {
        let mut map = HeaderMap::new();
        map.append(header::SET_COOKIE, HeaderValue::from_static("a=1"));
        map.append(header::SET_COOKIE, HeaderValue::from_static("b=2"));
        let response = (map, "x").into_response();
        assert_eq!(
            response
                .headers()
                .get_all(header::SET_COOKIE)
                .iter()
                .count(),
            2
        );
    }
}
