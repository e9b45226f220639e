//! # svless
//!
//! AWS serverless applications in Rust. Plain `async fn`s, annotated with
//! [`#[svless::api]`](macro@api), become typed Lambda handlers; routes are checked at compile
//! time; the same app runs on Lambda, on a local port and inside your tests.
//!
//! ## Quickstart
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use svless::{App, Json, Path, State, api};
//!
//! #[derive(Clone)]
//! struct AppState {
//!     owner: String,
//! }
//!
//! #[derive(Serialize, Deserialize)]
//! struct Todo {
//!     id: String,
//!     owner: String,
//!     title: String,
//! }
//!
//! #[api(GET "/todos/{id}")]
//! async fn get_todo(Path(id): Path<String>, State(app): State<AppState>) -> Result<Json<Todo>, svless::Error> {
//!     if id == "0" {
//!         return Err(svless::Error::not_found(format!("no todo {id}")));
//!     }
//!     Ok(Json(Todo { id, owner: app.owner, title: "write the docs".into() }))
//! }
//!
//! fn app() -> App<AppState> {
//!     App::new().state(AppState { owner: "ann".into() }).route(get_todo)
//! }
//!
//! // On Lambda:          app().run().await
//! // On a local port:    app().serve(([127, 0, 0, 1], 3000).into()).await
//! // In a test:
//! # tokio::runtime::Builder::new_current_thread().build().expect("a runtime").block_on(async {
//! use svless::testing::TestRequest;
//! let response = TestRequest::get("/todos/7").send(&app()).await;
//! assert_eq!(response.status, 200);
//! assert_eq!(response.json::<Todo>().owner, "ann");
//!
//! let missing = TestRequest::get("/todos/0").send(&app()).await;
//! assert_eq!(missing.status, 404);
//! assert_eq!(missing.header("content-type"), Some("application/problem+json"));
//! # });
//! ```
//!
//! ## Where to read on
//! - [`App`]: routes, state, CORS, layers, and the one dispatch path ([`App::dispatch`]).
//! - [`extract`]: typed arguments ([`Path`], [`Query`], [`Json`], [`State`], [`Context`], headers, bodies).
//! - [`IntoResponse`] and [`Error`]: results and RFC 9457 problem details.
//! - [`testing`]: sending API Gateway events to an app in process.
//! - The guide in `docs/` (getting started, HTTP, events, auth, objects, tables, architecture).
//!
//! ## Features
//! - `auth`: `svless::auth` (Cognito verification, the auth layer, Lambda authorizers).
//! - `store`: `svless::store` (the object store on memory and a local directory; the DynamoDB
//!   repository on memory) and `#[derive(svless::Entity)]`.
//! - `s3`, `dynamodb`: the store's AWS backends (`aws-sdk-s3`, `aws-sdk-dynamodb`).
//! - `sfn`, `websocket-client`: task callbacks and posts to WebSocket connections.

pub use svless_core::*;

/// Cognito token verification, the auth layer and extractors, Lambda authorizers (feature `auth`).
#[cfg(feature = "auth")]
pub use svless_auth as auth;
/// `#[derive(svless::Entity)]`: a DynamoDB entity from key templates (feature `store`).
#[cfg(feature = "store")]
pub use svless_macros::Entity;
pub use svless_macros::{
    IntoNamedError, IntoProblem, PathParams, api, authorizer, dynamodb_stream, event, kinesis, s3,
    sqs, task, ws,
};
/// Storage: the object store over S3, memory and a local directory (feature `store`; the S3
/// backend with feature `s3`).
#[cfg(feature = "store")]
pub use svless_store as store;
