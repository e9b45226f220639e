//! What can go wrong in the object store.

use svless_core::error::{Error as Problem, IntoProblem};
use svless_core::http::StatusCode;

pub(crate) use svless_core::BoxError;

/// An object-store error. In an HTTP handler, `?` turns it into a problem response
/// ([`IntoProblem`]): 404, 412, 403, 400, 416, 501 or 502 (backend details are logged, not sent).
///
/// ```
/// use svless_store::object::{Error, Key, MemoryStore, ObjectStore};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let store = MemoryStore::new("docs");
/// let missing = store.head(&Key::new("nope").unwrap(), Default::default()).await;
/// assert!(matches!(missing, Err(Error::NotFound { .. })));
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No such object, or no such version (or the current version is a delete marker).
    #[error("no object at `{key}`")]
    NotFound {
        /// The key.
        key: String,
    },
    /// A create-only put found an object already there.
    #[error("the precondition failed for `{key}`: an object is already there")]
    PreconditionFailed {
        /// The key.
        key: String,
    },
    /// S3 refused the call (credentials, IAM or bucket policy).
    #[error("access denied: {message}")]
    AccessDenied {
        /// S3's message.
        message: String,
    },
    /// The key is empty, too long, or (for a local directory) would not stay inside it.
    #[error("invalid key: {reason}")]
    InvalidKey {
        /// Why.
        reason: String,
    },
    /// The requested byte range lies outside the object.
    #[error("the range is outside the {size} bytes of `{key}`")]
    InvalidRange {
        /// The key.
        key: String,
        /// The object's size (0 when the backend does not tell).
        size: u64,
    },
    /// The object is archived (GLACIER, DEEP_ARCHIVE) and must be restored before it is read.
    #[error("`{key}` is in {storage_class} and must be restored before it is read")]
    Archived {
        /// The key.
        key: String,
        /// The storage class.
        storage_class: String,
    },
    /// A request this backend or S3 rejects as malformed.
    #[error("invalid request: {message}")]
    Validation {
        /// What was wrong.
        message: String,
    },
    /// The backend does not have this feature.
    #[error("{feature} are not supported by the {backend} backend")]
    NotSupported {
        /// The backend.
        backend: &'static str,
        /// The feature, plural (`"presigned URLs"`).
        feature: &'static str,
    },
    /// The body stream of a put failed; nothing was written (a multipart upload was aborted).
    #[error("the body failed while it was written")]
    Body {
        /// The stream's error.
        #[source]
        source: BoxError,
    },
    /// S3 or the file system failed.
    #[error("the {backend} backend failed in {operation}")]
    Backend {
        /// The backend.
        backend: &'static str,
        /// The operation (`"PutObject"`, `"rename"`).
        operation: &'static str,
        /// The SDK's or the file system's error.
        #[source]
        source: BoxError,
    },
}

impl Error {
    /// Whether a retry might succeed (a backend failure such as a timeout or throttling).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Backend { .. })
    }
}

impl IntoProblem for Error {
    fn into_problem(self) -> Problem {
        let status = match &self {
            Error::NotFound { .. } => StatusCode::NOT_FOUND,
            Error::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            Error::AccessDenied { .. } => StatusCode::FORBIDDEN,
            Error::InvalidKey { .. } | Error::Validation { .. } | Error::Body { .. } => {
                StatusCode::BAD_REQUEST
            }
            Error::InvalidRange { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            Error::Archived { .. } => StatusCode::CONFLICT,
            Error::NotSupported { .. } => StatusCode::NOT_IMPLEMENTED,
            // Logged with its source when the response is written; the body says no more.
            Error::Backend { .. } => {
                return Problem::new(StatusCode::BAD_GATEWAY).with_source(self);
            }
        };
        if status == StatusCode::FORBIDDEN {
            return Problem::new(status);
        }
        let detail = self.to_string();
        Problem::new(status).with_detail(detail)
    }
}

/// `?` on an object store call in a handler that answers `svless::Error`: the same problem as
/// [`IntoProblem`] gives.
///
/// ```
/// fn handler() -> Result<(), svless_core::Error> {
///     Err(svless_store::object::Error::NotFound { key: "a".into() })?
/// }
/// assert_eq!(handler().unwrap_err().status(), 404);
/// ```
impl From<Error> for Problem {
    fn from(err: Error) -> Self {
        err.into_problem()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_become_problems_with_their_status() {
        let key = || "k".to_owned();
        let cases = [
            (Error::NotFound { key: key() }, 404),
            (Error::PreconditionFailed { key: key() }, 412),
            (
                Error::AccessDenied {
                    message: "policy".into(),
                },
                403,
            ),
            (
                Error::InvalidKey {
                    reason: "empty".into(),
                },
                400,
            ),
            (
                Error::InvalidRange {
                    key: key(),
                    size: 3,
                },
                416,
            ),
            (
                Error::Archived {
                    key: key(),
                    storage_class: "GLACIER".into(),
                },
                409,
            ),
            (
                Error::Validation {
                    message: "m".into(),
                },
                400,
            ),
            (
                Error::NotSupported {
                    backend: "memory",
                    feature: "presigned URLs",
                },
                501,
            ),
            (
                Error::Body {
                    source: "gone".into(),
                },
                400,
            ),
            (
                Error::Backend {
                    backend: "s3",
                    operation: "GetObject",
                    source: "timeout".into(),
                },
                502,
            ),
        ];
        for (error, status) in cases {
            let text = error.to_string();
            let problem = error.into_problem();
            assert_eq!(problem.status().as_u16(), status, "{text}");
            match status {
                403 | 502 => assert_eq!(problem.detail(), None, "{text}"),
                _ => assert_eq!(problem.detail(), Some(text.as_str())),
            }
        }
    }

    #[test]
    fn not_supported_names_the_feature_and_backend() {
        let error = Error::NotSupported {
            backend: "local directory",
            feature: "presigned URLs",
        };
        assert_eq!(
            error.to_string(),
            "presigned URLs are not supported by the local directory backend"
        );
        assert!(!error.is_retryable());
    }
}
