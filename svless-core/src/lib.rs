#![doc = include_str!("../README.md")]

pub mod app;
pub mod body;
pub mod context;
pub mod cors;
pub mod error;
pub mod event;
pub mod extract;
pub mod handler;
pub mod response;
pub mod routing;
pub mod runtime;
pub mod server;
pub mod testing;

pub use app::{App, AppService, BuildError};
pub use body::{Body, Request, Response};
pub use context::{Context, PayloadFormat};
pub use cors::Cors;
pub use error::{BoxError, Error, IntoProblem, Problem};
pub use extract::{FromRef, Json, Path, Query, State};
pub use handler::{Endpoint, Handler};
pub use response::{Html, IntoResponse};

pub use http;
