//! Cross-origin resource sharing: answering preflights and decorating responses.

use crate::body::{Body, Response};
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode};
use std::time::Duration;

/// CORS configuration for an [`App`](crate::App).
///
/// With it, the app answers preflight `OPTIONS` requests itself (204, or 403 for an origin it
/// does not allow) and adds `Access-Control-Allow-Origin` to responses for allowed origins.
///
/// ```
/// use svless_core::{App, Cors, http::Method};
/// use std::time::Duration;
///
/// let app = App::new().cors(
///     Cors::new()
///         .allow_origin("https://todo.example.com")
///         .allow_methods([Method::GET, Method::POST])
///         .allow_headers(["content-type", "authorization"])
///         .max_age(Duration::from_secs(600)),
/// );
/// ```
#[derive(Debug, Clone, Default)]
pub struct Cors {
    any_origin: bool,
    origins: Vec<HeaderValue>,
    methods: Vec<Method>,
    headers: Vec<HeaderName>,
    expose: Vec<HeaderName>,
    credentials: bool,
    max_age: Option<Duration>,
}

impl Cors {
    /// A configuration that allows nothing yet.
    ///
    /// ```
    /// let cors = svless_core::Cors::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Allows any origin (`*`). Not usable with credentials: then the caller's origin is echoed.
    ///
    /// ```
    /// let cors = svless_core::Cors::new().allow_any_origin();
    /// ```
    pub fn allow_any_origin(mut self) -> Self {
        self.any_origin = true;
        self
    }

    /// Allows one origin, such as `https://app.example.com`. Invalid header values are ignored.
    ///
    /// ```
    /// let cors = svless_core::Cors::new().allow_origin("http://localhost:5173");
    /// ```
    pub fn allow_origin(mut self, origin: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(origin) {
            self.origins.push(value);
        }
        self
    }

    /// The methods preflights may ask for.
    ///
    /// ```
    /// let cors = svless_core::Cors::new().allow_methods([svless_core::http::Method::PUT]);
    /// ```
    pub fn allow_methods(mut self, methods: impl IntoIterator<Item = Method>) -> Self {
        self.methods.extend(methods);
        self
    }

    /// The request headers preflights may ask for. Invalid names are ignored.
    ///
    /// ```
    /// let cors = svless_core::Cors::new().allow_headers(["content-type"]);
    /// ```
    pub fn allow_headers<'a>(mut self, headers: impl IntoIterator<Item = &'a str>) -> Self {
        self.headers.extend(
            headers
                .into_iter()
                .filter_map(|h| HeaderName::try_from(h).ok()),
        );
        self
    }

    /// Response headers the browser may show to scripts. Invalid names are ignored.
    ///
    /// ```
    /// let cors = svless_core::Cors::new().expose_headers(["etag"]);
    /// ```
    pub fn expose_headers<'a>(mut self, headers: impl IntoIterator<Item = &'a str>) -> Self {
        self.expose.extend(
            headers
                .into_iter()
                .filter_map(|h| HeaderName::try_from(h).ok()),
        );
        self
    }

    /// Allows cookies and `Authorization` on cross-origin requests.
    ///
    /// ```
    /// let cors = svless_core::Cors::new().allow_origin("https://a.example").allow_credentials(true);
    /// ```
    pub fn allow_credentials(mut self, allow: bool) -> Self {
        self.credentials = allow;
        self
    }

    /// How long browsers may cache a preflight answer.
    ///
    /// ```
    /// let cors = svless_core::Cors::new().max_age(std::time::Duration::from_secs(60));
    /// ```
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    fn allowed_origin(&self, origin: &HeaderValue) -> Option<HeaderValue> {
        if self.origins.iter().any(|o| o == origin) || (self.any_origin && self.credentials) {
            Some(origin.clone())
        } else if self.any_origin {
            Some(HeaderValue::from_static("*"))
        } else {
            None
        }
    }

    fn join<T: AsRef<str>>(items: &[T]) -> Option<HeaderValue> {
        let joined = items
            .iter()
            .map(AsRef::as_ref)
            .collect::<Vec<_>>()
            .join(", ");
        HeaderValue::try_from(joined).ok()
    }

    pub(crate) fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
        method == Method::OPTIONS
            && headers.contains_key(header::ORIGIN)
            && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    }

    pub(crate) fn preflight(&self, headers: &HeaderMap) -> Response {
        let origin = headers
            .get(header::ORIGIN)
            .and_then(|o| self.allowed_origin(o));
        let method_ok = headers
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .and_then(|m| Method::from_bytes(m.as_bytes()).ok())
            .is_some_and(|m| self.methods.contains(&m));
        let (Some(origin), true) = (origin, method_ok) else {
            return crate::IntoResponse::into_response(crate::Error::forbidden(
                "the CORS configuration does not allow this origin or method",
            ));
        };
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        let methods: Vec<&str> = self.methods.iter().map(Method::as_str).collect();
        if let Some(v) = Self::join(&methods) {
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, v);
        }
        if !self.headers.is_empty()
            && let Some(v) = Self::join(&self.headers)
        {
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v);
        }
        if self.credentials {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if let Some(max_age) = self.max_age {
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from(max_age.as_secs()),
            );
        }
        h.insert(header::VARY, HeaderValue::from_static("origin"));
        response
    }

    pub(crate) fn decorate(&self, origin: Option<&HeaderValue>, response: &mut Response) {
        let Some(origin) = origin.and_then(|o| self.allowed_origin(o)) else {
            return;
        };
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        if self.credentials {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if !self.expose.is_empty()
            && let Some(v) = Self::join(&self.expose)
        {
            h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, v);
        }
        h.append(header::VARY, HeaderValue::from_static("origin"));
    }
}
