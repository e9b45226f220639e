//! What can go wrong in the repository.

use svless_core::BoxError;
use svless_core::error::{Error as Problem, IntoProblem};
use svless_core::http::StatusCode;

/// A repository error. In an HTTP handler `?` turns it into a problem response: a foreign or
/// tampered cursor is a 400, a failed condition a 409, throttling a 503.
///
/// ```
/// use svless_store::dynamo::Error;
/// use svless_core::IntoProblem;
/// assert_eq!(Error::InvalidCursor.into_problem().status(), 400);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The item is not there.
    #[error("no item with that key")]
    NotFound,
    /// A condition (a create-only put, a version check) did not hold.
    #[error("the condition failed")]
    ConditionFailed {
        /// The item as it is, when DynamoDB returned it.
        current: Option<serde_dynamo::Item>,
    },
    /// A transaction was cancelled: nothing was written. One reason per operation, in order.
    #[error("the transaction was cancelled")]
    TransactionCancelled {
        /// Why, per operation (`CancelReason::None` for those that were fine).
        reasons: Vec<CancelReason>,
    },
    /// DynamoDB throttled the request; retrying later may succeed.
    #[error("throttled: {message}")]
    Throttled {
        /// DynamoDB's message.
        message: String,
    },
    /// The item is over DynamoDB's 400 KB limit: checked before a write is sent, with its size;
    /// an update that grows an item past it on DynamoDB is refused there without a size, reported
    /// as 409,601.
    #[error("the item is {size} bytes, over DynamoDB's limit of 409,600")]
    ItemTooLarge {
        /// Its size, as DynamoDB counts it.
        size: usize,
    },
    /// A pagination cursor that this query did not give out, or that was changed.
    #[error("the cursor is not one this query gave out")]
    InvalidCursor,
    /// A request DynamoDB or the repository rejects (a missing index, a key of the wrong shape).
    #[error("invalid request: {message}")]
    Validation {
        /// What was wrong.
        message: String,
    },
    /// An item did not decode into its type.
    #[error("an item did not decode into `{type_name}`")]
    Decode {
        /// The Rust type.
        type_name: &'static str,
        /// What did not decode, with the attribute's path.
        #[source]
        source: svless_core::attribute::DecodeError,
    },
    /// DynamoDB failed.
    #[error("DynamoDB failed in {operation}")]
    Backend {
        /// The operation (`"PutItem"`).
        operation: &'static str,
        /// The SDK's error.
        #[source]
        source: BoxError,
    },
}

impl Error {
    /// Whether a retry might succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Throttled { .. } | Error::Backend { .. })
    }
}

impl IntoProblem for Error {
    fn into_problem(self) -> Problem {
        let status = match &self {
            Error::NotFound => StatusCode::NOT_FOUND,
            Error::ConditionFailed { .. } | Error::TransactionCancelled { .. } => {
                StatusCode::CONFLICT
            }
            Error::Throttled { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Error::ItemTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::InvalidCursor | Error::Validation { .. } => StatusCode::BAD_REQUEST,
            Error::Decode { .. } | Error::Backend { .. } => {
                return Problem::new(StatusCode::INTERNAL_SERVER_ERROR).with_source(self);
            }
        };
        let detail = self.to_string();
        Problem::new(status).with_detail(detail)
    }
}

/// Why one operation of a cancelled transaction failed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum CancelReason {
    /// This operation was fine; another one failed.
    None,
    /// Its condition did not hold; the item as it is, when DynamoDB returned it.
    ConditionFailed {
        /// The current item.
        current: Option<serde_dynamo::Item>,
    },
    /// Another transaction or write was changing the item.
    Conflict,
    /// Throttled.
    Throttled,
    /// Invalid (DynamoDB's message).
    Validation(String),
    /// Another code, as DynamoDB named it.
    Other(String),
}

/// `?` on a repository call in a handler that answers `svless::Error`: the same problem as
/// [`IntoProblem`] gives.
///
/// ```
/// fn handler() -> Result<(), svless_core::Error> {
///     Err(svless_store::dynamo::Error::NotFound)?
/// }
/// assert_eq!(handler().unwrap_err().status(), 404);
/// ```
impl From<Error> for Problem {
    fn from(err: Error) -> Self {
        err.into_problem()
    }
}
