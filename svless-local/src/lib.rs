//! What stands in for AWS on a developer's machine, in the app's own process: Step Functions
//! ([`sfn`]) running the deployed ASL definition against the app's task handlers.
//!
//! It is a separate crate so that it is never linked into a Lambda binary: depend on it from
//! tests, from a local runner, or behind a feature of your own. It turns on `serde_json`'s
//! `preserve_order`, so JSON objects keep their members in the order written, as Step Functions
//! keeps them (what `States.JsonToString` writes depends on it); a Lambda build, which does not
//! link this crate, keeps `serde_json`'s default.
//!
//! ```
//! let sfn = svless_local::sfn::StepFunctions::new(svless_core::App::new());
//! ```

pub mod authorize;
pub mod cloud;
pub mod cognito;
pub mod events;
pub mod gateway;
pub mod kinesis;
mod s3;
mod serve;
pub mod sfn;
pub mod sqs;
pub mod websocket;
