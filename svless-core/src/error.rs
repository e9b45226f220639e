//! The error type of HTTP handlers: an RFC 9457 problem.

use crate::body::{Body, Response};
use crate::response::IntoResponse;
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;
use std::borrow::Cow;
use std::fmt;

/// A boxed error, as returned by [`runtime::run`](crate::runtime::run) and accepted from state builders.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The media type of problem details (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An HTTP error, rendered as an RFC 9457 `application/problem+json` body.
///
/// The body carries `type`, `title`, `status`, `detail` and `instance`; svless sets
/// `instance` to the API Gateway (or Lambda) request id when the response leaves the app.
///
/// ```
/// use svless_core::{Error, http::StatusCode};
///
/// let err = Error::not_found("no todo with id 7");
/// assert_eq!(err.status(), StatusCode::NOT_FOUND);
/// assert_eq!(err.title(), "Not Found");
/// assert_eq!(err.detail(), Some("no todo with id 7"));
/// ```
#[derive(Debug)]
pub struct Error {
    status: StatusCode,
    kind: Cow<'static, str>,
    title: Cow<'static, str>,
    detail: Option<String>,
    /// Boxed: most errors have none, and a small `Error` keeps `Result`s small.
    extensions: Option<Box<serde_json::Map<String, serde_json::Value>>>,
    source: Option<BoxError>,
    absent: bool,
}

/// The serializable form of an [`Error`]: what goes on the wire.
///
/// It travels in the extensions of the response that an [`Error`] turns into, so that the
/// app can fill in `instance` with the request id.
///
/// ```
/// use svless_core::{Error, IntoResponse, Problem};
///
/// let response = Error::conflict("already exists").into_response();
/// let problem = response.extensions().get::<Problem>().expect("an error response carries its problem");
/// assert_eq!(problem.status, 409);
/// ```
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Problem {
    /// A URI naming the kind of problem; `about:blank` when the status says it all.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub detail: Option<String>,
    /// The request id of the request that failed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub instance: Option<String>,
    /// Further members, such as the failing field.
    #[serde(flatten)]
    pub extensions: serde_json::Map<String, serde_json::Value>,
}

impl Problem {
    /// Renders the problem as a response with the `application/problem+json` media type.
    ///
    /// ```
    /// use svless_core::Error;
    /// let problem = Error::bad_request("nope").to_problem();
    /// let response = problem.into_response();
    /// assert_eq!(response.status(), 400);
    /// ```
    pub fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = status;
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response.extensions_mut().insert(self);
        response
    }
}

/// The reason phrase of a status as RFC 9110 names it (`422 Unprocessable Content`,
/// `413 Content Too Large`), the title of an `about:blank` problem.
///
/// ```
/// use svless_core::{error::reason_phrase, http::StatusCode};
/// assert_eq!(reason_phrase(StatusCode::UNPROCESSABLE_ENTITY), "Unprocessable Content");
/// assert_eq!(reason_phrase(StatusCode::NOT_FOUND), "Not Found");
/// ```
pub fn reason_phrase(status: StatusCode) -> &'static str {
    match status.as_u16() {
        413 => "Content Too Large",
        422 => "Unprocessable Content",
        _ => status.canonical_reason().unwrap_or("Error"),
    }
}

macro_rules! constructors {
    ($($(#[$doc:meta])* $name:ident => $status:ident;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(detail: impl Into<String>) -> Self {
                Self::new(StatusCode::$status).with_detail(detail)
            }
        )*
    };
}

impl Error {
    /// A problem with the given status, titled by the status's reason phrase.
    ///
    /// ```
    /// use svless_core::{Error, http::StatusCode};
    /// assert_eq!(Error::new(StatusCode::GONE).title(), "Gone");
    /// ```
    pub fn new(status: StatusCode) -> Self {
        Self {
            status,
            kind: Cow::Borrowed("about:blank"),
            title: Cow::Borrowed(reason_phrase(status)),
            detail: None,
            extensions: None,
            source: None,
            absent: false,
        }
    }

    /// 400 Bad Request for something the request lacks (a header, a body, a parameter).
    ///
    /// An `Option<T>` extractor turns this rejection into `None`.
    ///
    /// ```
    /// let err = svless_core::Error::missing("the x-tenant-id header is required");
    /// assert!(err.is_absent());
    /// assert_eq!(err.status(), 400);
    /// ```
    pub fn missing(detail: impl Into<String>) -> Self {
        let mut err = Self::bad_request(detail);
        err.absent = true;
        err
    }

    /// Whether this error says that something was absent (see [`Error::missing`]).
    ///
    /// ```
    /// assert!(!svless_core::Error::bad_request("x").is_absent());
    /// ```
    pub fn is_absent(&self) -> bool {
        self.absent
    }

    constructors! {
        /// 400 Bad Request.
        ///
        /// ```
        /// assert_eq!(svless_core::Error::bad_request("x").status(), 400);
        /// ```
        bad_request => BAD_REQUEST;
        /// 401 Unauthorized.
        ///
        /// ```
        /// assert_eq!(svless_core::Error::unauthorized("x").status(), 401);
        /// ```
        unauthorized => UNAUTHORIZED;
        /// 403 Forbidden.
        ///
        /// ```
        /// assert_eq!(svless_core::Error::forbidden("x").status(), 403);
        /// ```
        forbidden => FORBIDDEN;
        /// 404 Not Found.
        ///
        /// ```
        /// assert_eq!(svless_core::Error::not_found("x").status(), 404);
        /// ```
        not_found => NOT_FOUND;
        /// 409 Conflict.
        ///
        /// ```
        /// assert_eq!(svless_core::Error::conflict("x").status(), 409);
        /// ```
        conflict => CONFLICT;
        /// 422 Unprocessable Content.
        ///
        /// ```
        /// assert_eq!(svless_core::Error::unprocessable("x").status(), 422);
        /// ```
        unprocessable => UNPROCESSABLE_ENTITY;
        /// 429 Too Many Requests.
        ///
        /// ```
        /// assert_eq!(svless_core::Error::too_many_requests("x").status(), 429);
        /// ```
        too_many_requests => TOO_MANY_REQUESTS;
    }

    /// 500 Internal Server Error. The source is logged, never sent to the client.
    ///
    /// ```
    /// let err = svless_core::Error::internal(std::io::Error::other("disk on fire"));
    /// assert_eq!(err.status(), 500);
    /// assert_eq!(err.detail(), None);
    /// ```
    pub fn internal(source: impl Into<BoxError>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR).with_source(source)
    }

    /// Sets the human-readable explanation of this occurrence.
    ///
    /// ```
    /// let err = svless_core::Error::bad_request("a").with_detail("b");
    /// assert_eq!(err.detail(), Some("b"));
    /// ```
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Sets the title of a problem with its own [`type`](Error::with_type). With the type
    /// `about:blank` the title is the status phrase, whatever is set here (RFC 9457 §4.2.1): a
    /// custom title needs a custom type.
    ///
    /// ```
    /// let err = svless_core::Error::conflict("taken")
    ///     .with_type("https://example.com/probs/name-taken")
    ///     .with_title("Name taken");
    /// assert_eq!(err.title(), "Name taken");
    /// assert_eq!(svless_core::Error::conflict("taken").with_title("Name taken").title(), "Conflict");
    /// ```
    pub fn with_title(mut self, title: impl Into<Cow<'static, str>>) -> Self {
        self.title = title.into();
        self
    }

    /// Sets the `type` URI that names this kind of problem.
    ///
    /// ```
    /// let err = svless_core::Error::conflict("taken").with_type("https://example.com/probs/taken");
    /// assert_eq!(err.to_problem().kind, "https://example.com/probs/taken");
    /// ```
    pub fn with_type(mut self, kind: impl Into<Cow<'static, str>>) -> Self {
        self.kind = kind.into();
        self
    }

    /// Adds an extension member to the problem body.
    ///
    /// ```
    /// let err = svless_core::Error::unprocessable("bad").with_extension("field", "title");
    /// assert_eq!(err.to_problem().extensions["field"], "title");
    /// ```
    pub fn with_extension(
        mut self,
        key: impl Into<String>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        self.extensions
            .get_or_insert_default()
            .insert(key.into(), value.into());
        self
    }

    /// Attaches the underlying cause; it is logged but not rendered.
    ///
    /// ```
    /// use std::error::Error as _;
    /// let err = svless_core::Error::bad_request("x").with_source(std::io::Error::other("y"));
    /// assert!(err.source().is_some());
    /// ```
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The HTTP status.
    ///
    /// ```
    /// assert_eq!(svless_core::Error::forbidden("x").status().as_u16(), 403);
    /// ```
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The title.
    ///
    /// ```
    /// assert_eq!(svless_core::Error::forbidden("x").title(), "Forbidden");
    /// ```
    pub fn title(&self) -> &str {
        if self.kind == "about:blank" {
            reason_phrase(self.status)
        } else {
            &self.title
        }
    }

    /// The detail, if any.
    ///
    /// ```
    /// assert_eq!(svless_core::Error::forbidden("x").detail(), Some("x"));
    /// ```
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// The wire form of this error, without `instance`.
    ///
    /// ```
    /// let p = svless_core::Error::not_found("gone").to_problem();
    /// assert_eq!((p.status, p.title.as_str()), (404, "Not Found"));
    /// ```
    pub fn to_problem(&self) -> Problem {
        Problem {
            kind: self.kind.to_string(),
            title: self.title().to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            instance: None,
            extensions: self.extensions.as_deref().cloned().unwrap_or_default(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.title())?;
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            match &self.source {
                Some(source) => {
                    tracing::error!(status = self.status.as_u16(), error = %source, "handler failed")
                }
                None => {
                    tracing::error!(status = self.status.as_u16(), title = %self.title, "handler failed")
                }
            }
        }
        self.to_problem().into_response()
    }
}

/// Turns a user's error type into an [`Error`] (and so into a problem response).
///
/// Implement it for your own error enums — or derive it with `#[derive(svless::IntoProblem)]` —
/// and return `Result<T, YourError>` from handlers.
///
/// ```
/// use svless_core::{Error, IntoProblem};
///
/// enum TodoError { Missing(String), Locked }
///
/// impl IntoProblem for TodoError {
///     fn into_problem(self) -> Error {
///         match self {
///             TodoError::Missing(id) => Error::not_found(format!("no todo {id}")),
///             TodoError::Locked => Error::conflict("the todo is locked"),
///         }
///     }
/// }
///
/// assert_eq!(TodoError::Locked.into_problem().status(), 409);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be turned into a problem response",
    note = "implement `svless::IntoProblem` for `{Self}`, or add `#[derive(svless::IntoProblem)]` to it"
)]
pub trait IntoProblem {
    /// The problem this error stands for.
    fn into_problem(self) -> Error;
}

impl IntoProblem for Error {
    fn into_problem(self) -> Error {
        self
    }
}
