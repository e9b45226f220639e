#![doc = include_str!("../README.md")]

pub mod app;
pub mod attribute;
#[cfg(feature = "aws")]
pub mod aws;
pub mod body;
pub mod context;
pub mod cors;
pub mod error;
pub mod extract;
pub mod handler;
pub mod invocation;
pub mod layers;
pub mod local;
pub mod logging;
pub mod metrics;
pub mod mock;
pub mod named_error;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod payload;
pub mod policy;
pub mod response;
pub mod routing;
pub mod runtime;
mod scope;
pub mod server;
pub mod source;
pub mod testing;

pub use app::{App, AppService, BuildError, MAX_SYNC_RESPONSE_BYTES};
pub use body::{Body, Request, Response};
pub use context::{Context, PayloadFormat};
pub use cors::Cors;
pub use error::{BoxError, Error, IntoProblem, Problem};
pub use extract::{FromRef, Json, Path, Query, State};
pub use handler::{Endpoint, Handler};
pub use metrics::Metrics;
pub use named_error::{IntoNamedError, IntoOutcome, NamedError};
pub use response::{Created, Html, IntoResponse, NoContent};

pub use http;

/// Items the macros' generated code uses. Not part of the public API.
#[doc(hidden)]
pub mod __private {
    /// The field names of a struct used as `Path<T>`, listed by `#[derive(svless::PathParams)]`.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` does not list its fields, so its `Path` cannot be checked against the route template",
        note = "add `#[derive(svless::PathParams)]` beside `serde::Deserialize` on `{Self}`, or use a tuple `Path<(A, B)>`"
    )]
    pub trait PathFields {
        /// The field names, as serde sees them.
        const FIELDS: &'static [&'static str];
    }

    const fn eq(a: &str, b: &str) -> bool {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        let mut i = 0;
        while i < a.len() {
            if a[i] != b[i] {
                return false;
            }
            i += 1;
        }
        true
    }

    /// Whether two lists hold the same names (in any order), evaluated at compile time.
    pub const fn same_names(a: &[&str], b: &[&str]) -> bool {
        if a.len() != b.len() {
            return false;
        }
        let mut i = 0;
        while i < a.len() {
            let mut found = false;
            let mut j = 0;
            while j < b.len() {
                if eq(a[i], b[j]) {
                    found = true;
                }
                j += 1;
            }
            if !found {
                return false;
            }
            i += 1;
        }
        true
    }
}
