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
//! // On Lambda, or on the local cloud (feature `local`):  app().run().await   (`use svless::Run`)
//! // On a local port, HTTP only:                        app().serve(([127, 0, 0, 1], 3000).into()).await
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
//! - `local`: the local cloud ([`cloud`]) that `app.run()` starts off Lambda, and Step Functions
//!   in process ([`step_functions`]). Keep it out of Lambda builds.

pub use svless_core::*;

/// The local cloud: the whole app on your machine (feature `local`).
#[cfg(feature = "local")]
pub use svless_local::cloud;
/// Step Functions in process: ASL definitions run against the app's task handlers (feature
/// `local`).
#[cfg(feature = "local")]
pub use svless_local::sfn as step_functions;

/// Runs an app where it is: on AWS Lambda when the Lambda Runtime API is there
/// (`AWS_LAMBDA_RUNTIME_API`), else on the local cloud — which needs the `local` feature; without
/// it, `run` says so.
///
/// ```no_run
/// use svless::{App, Run};
/// async fn hello() -> &'static str { "hello" }
///
/// #[tokio::main]
/// async fn main() -> Result<(), svless::BoxError> {
///     App::new().route_fn("GET", "/", hello).run().await
/// }
/// ```
pub trait Run {
    /// Serves until the process is told to stop (Ctrl-C locally).
    fn run(self) -> impl std::future::Future<Output = Result<(), BoxError>> + Send;
}

impl<S: Send + Sync + 'static> Run for App<S> {
    async fn run(self) -> Result<(), BoxError> {
        if runtime::on_lambda() {
            return runtime::run(self).await;
        }
        #[cfg(feature = "local")]
        {
            svless_local::cloud::run(self).await
        }
        #[cfg(not(feature = "local"))]
        {
            Err(
                "not on AWS Lambda (AWS_LAMBDA_RUNTIME_API is not set), and the local cloud is \
                 not built in: enable svless's `local` feature to run the app on this machine"
                    .into(),
            )
        }
    }
}

/// What `#[svless::api]` writes into each route's `Endpoint` impl: with the `openapi` feature,
/// the route's description from its argument and return types; without it, nothing.
#[cfg(feature = "openapi")]
#[doc(hidden)]
#[macro_export]
macro_rules! __describe_endpoint {
    ($summary:literal ($($arg:ty),*) -> ?) => {
        fn describe(op: &mut $crate::openapi::Operation<'_>) {
            #[allow(unused_imports)]
            use $crate::openapi::__probe::{ArgFallback as _, ArgProbe as _};
            if !$summary.is_empty() {
                op.summary($summary);
            }
            $( (&&$crate::openapi::__probe::Probe::<$arg>::new()).describe_arg(op); )*
            op.undescribed("response `impl IntoResponse`");
        }
    };
    ($summary:literal ($($arg:ty),*) -> $ret:ty) => {
        fn describe(op: &mut $crate::openapi::Operation<'_>) {
            #[allow(unused_imports)]
            use $crate::openapi::__probe::{ArgFallback as _, ArgProbe as _, ResponseFallback as _, ResponseProbe as _};
            if !$summary.is_empty() {
                op.summary($summary);
            }
            $( (&&$crate::openapi::__probe::Probe::<$arg>::new()).describe_arg(op); )*
            (&&$crate::openapi::__probe::Probe::<$ret>::new()).describe_response(op);
        }
    };
}

/// What `#[svless::api]` writes into each route's `Endpoint` impl: with the `openapi` feature,
/// the route's description from its argument and return types; without it, nothing.
#[cfg(not(feature = "openapi"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __describe_endpoint {
    ($($tokens:tt)*) => {};
}

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
