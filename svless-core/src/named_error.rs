//! Errors with the `errorType` name Lambda reports, for event and task handlers.

use serde_json::Value;
use std::borrow::Cow;
use std::fmt;

/// An error as Lambda reports it: an `errorType` name, an `errorMessage`, and an optional JSON cause.
///
/// Event handlers (S3, EventBridge) and tasks fail with it; Step Functions matches `errorType`
/// in `Retry` and `Catch` (`ErrorEquals`).
///
/// ```
/// use svless_core::NamedError;
/// let err = NamedError::new("Image.TooLarge", "the image is 12 MB; the limit is 10 MB");
/// assert_eq!(err.error_type(), "Image.TooLarge");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct NamedError {
    error_type: Cow<'static, str>,
    message: String,
    cause: Option<Value>,
}

impl NamedError {
    /// An error named `error_type`.
    ///
    /// ```
    /// let err = svless_core::NamedError::new("Order.Missing", "no order 7");
    /// assert_eq!(err.message(), "no order 7");
    /// ```
    pub fn new(error_type: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self {
            error_type: error_type.into(),
            message: message.into(),
            cause: None,
        }
    }

    /// Attaches a JSON cause (for example the offending input's identifiers).
    ///
    /// ```
    /// let err = svless_core::NamedError::new("A.B", "c").with_cause(serde_json::json!({"id": 7}));
    /// assert_eq!(err.cause(), Some(&serde_json::json!({"id": 7})));
    /// ```
    pub fn with_cause(mut self, cause: Value) -> Self {
        self.cause = Some(cause);
        self
    }

    /// The `errorType`.
    ///
    /// ```
    /// assert_eq!(svless_core::NamedError::new("A.B", "c").error_type(), "A.B");
    /// ```
    pub fn error_type(&self) -> &str {
        &self.error_type
    }

    /// The `errorMessage`.
    ///
    /// ```
    /// assert_eq!(svless_core::NamedError::new("A.B", "c").message(), "c");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The JSON cause, if any.
    ///
    /// ```
    /// assert!(svless_core::NamedError::new("A.B", "c").cause().is_none());
    /// ```
    pub fn cause(&self) -> Option<&Value> {
        self.cause.as_ref()
    }
}

impl fmt::Display for NamedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.message)
    }
}

impl std::error::Error for NamedError {}

/// Turns a handler's error into a [`NamedError`]. Derive it with `#[derive(svless::IntoNamedError)]`
/// (`#[error_type("Image.TooLarge")]` on each variant), or implement it.
///
/// ```
/// use svless_core::{IntoNamedError, NamedError};
///
/// enum ResizeError { TooLarge(u64) }
///
/// impl IntoNamedError for ResizeError {
///     fn into_named_error(self) -> NamedError {
///         match self {
///             ResizeError::TooLarge(mb) => NamedError::new("Image.TooLarge", format!("{mb} MB")),
///         }
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no Lambda error name",
    note = "derive `svless::IntoNamedError` on `{Self}` (with `#[error_type(\"Area.Name\")]` on each variant), or implement `svless::IntoNamedError`"
)]
pub trait IntoNamedError {
    /// The named error.
    fn into_named_error(self) -> NamedError;
}

impl IntoNamedError for NamedError {
    fn into_named_error(self) -> NamedError {
        self
    }
}

impl IntoNamedError for crate::BoxError {
    fn into_named_error(self) -> NamedError {
        match self.downcast::<NamedError>() {
            Ok(named) => *named,
            Err(other) => NamedError::new("Svless.HandlerError", other.to_string()),
        }
    }
}

impl IntoNamedError for std::convert::Infallible {
    fn into_named_error(self) -> NamedError {
        match self {}
    }
}

/// What an event handler's result means: success, or a named failure.
///
/// Implemented for `()` and `Result<(), E>` with `E: IntoNamedError`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the result of an event handler",
    note = "return `()` or `Result<(), E>` where `E` implements `svless::IntoNamedError` (derive `svless::IntoNamedError`)"
)]
pub trait IntoOutcome {
    /// `Ok(())` or the named failure.
    fn into_outcome(self) -> Result<(), NamedError>;
}

impl IntoOutcome for () {
    fn into_outcome(self) -> Result<(), NamedError> {
        Ok(())
    }
}

impl<E: IntoNamedError> IntoOutcome for Result<(), E> {
    fn into_outcome(self) -> Result<(), NamedError> {
        self.map_err(IntoNamedError::into_named_error)
    }
}
