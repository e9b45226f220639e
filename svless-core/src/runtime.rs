//! Running an app on AWS Lambda.

use crate::app::{App, BuildError};
use crate::context::Context;
use crate::error::BoxError;
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::value::RawValue;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The environment variables the Lambda Runtime API contract guarantees.
const LAMBDA_ENV: [&str; 4] = [
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
];

/// An error with the `errorType` name Lambda should report, for failures during cold start.
///
/// Return it from the future given to [`run_with`] to choose the name a dashboard or alarm sees.
///
/// ```
/// use svless_core::runtime::InitError;
/// let err = InitError::new("Config.MissingTable", "TABLE_NAME is not set");
/// assert_eq!(err.error_type(), "Config.MissingTable");
/// ```
#[derive(Debug)]
pub struct InitError {
    error_type: String,
    source: BoxError,
}

impl InitError {
    /// An init error named `error_type`.
    ///
    /// ```
    /// let err = svless_core::runtime::InitError::new("State.Failed", std::io::Error::other("x"));
    /// ```
    pub fn new(error_type: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self {
            error_type: error_type.into(),
            source: source.into(),
        }
    }

    /// The `errorType` reported to Lambda.
    ///
    /// ```
    /// assert_eq!(svless_core::runtime::InitError::new("A.B", "c").error_type(), "A.B");
    /// ```
    pub fn error_type(&self) -> &str {
        &self.error_type
    }
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.source)
    }
}

impl std::error::Error for InitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

/// The `errorType` and message svless reports for an init failure.
///
/// ```
/// use svless_core::runtime::{InitError, init_diagnostic};
/// let err: svless_core::BoxError = Box::new(InitError::new("State.Failed", "no table"));
/// assert_eq!(init_diagnostic(&*err).0, "State.Failed");
/// let err: svless_core::BoxError = "anything else".into();
/// assert_eq!(init_diagnostic(&*err).0, "Svless.InitError");
/// ```
pub fn init_diagnostic(err: &(dyn std::error::Error + Send + Sync + 'static)) -> (String, String) {
    if let Some(named) = err.downcast_ref::<InitError>() {
        return (named.error_type.clone(), named.source.to_string());
    }
    if err.downcast_ref::<BuildError>().is_some() {
        return ("Svless.BuildError".to_owned(), err.to_string());
    }
    ("Svless.InitError".to_owned(), err.to_string())
}

fn lambda_environment() -> Result<(), BoxError> {
    let missing: Vec<&str> = LAMBDA_ENV
        .iter()
        .copied()
        .filter(|v| std::env::var_os(v).is_none())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "not running on AWS Lambda ({} not set); use `svless::Run::run` with svless's `local` feature, or `App::serve`, to run locally",
            missing.join(", ")
        )
        .into())
    }
}

async fn report_init_error(err: &(dyn std::error::Error + Send + Sync + 'static)) {
    let (error_type, error_message) = init_diagnostic(err);
    tracing::error!(error_type = %error_type, error = %error_message, "initialisation failed");
    let body =
        serde_json::json!({ "errorType": error_type, "errorMessage": error_message }).to_string();
    let request = http::Request::builder()
        .method(http::Method::POST)
        .uri("/2018-06-01/runtime/init/error")
        .header("Lambda-Runtime-Function-Error-Type", error_type.as_str())
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(lambda_runtime_api_client::body::Body::from(body));
    let Ok(request) = request else {
        return;
    };
    let client = lambda_runtime_api_client::PooledClient::builder().build();
    match tokio::time::timeout(Duration::from_secs(2), client.call(request)).await {
        Ok(Ok(_)) => {}
        Ok(Err(err)) => {
            tracing::error!(error = %err, "could not report the init error to the Lambda Runtime API")
        }
        Err(_) => tracing::error!("the Lambda Runtime API did not take the init error within 2 s"),
    }
}

/// Builds the app (state included) during cold start, then serves invocations on Lambda.
///
/// A failure of `init`, or an app that does not pass [`App::check`], is reported through the
/// Runtime API's init-error endpoint with a named `errorType` (see [`InitError`]), so Lambda
/// shows why the function could not start.
///
/// ```no_run
/// use svless_core::{App, runtime::{InitError, run_with}};
///
/// #[derive(Clone)]
/// struct AppState { table: String }
///
/// #[tokio::main]
/// async fn main() -> Result<(), svless_core::BoxError> {
///     run_with(async {
///         let table = std::env::var("TABLE_NAME").map_err(|e| InitError::new("Config.MissingTable", e))?;
///         Ok::<_, InitError>(App::new().state(AppState { table }))
///     })
///     .await
/// }
/// ```
pub async fn run_with<S, F, E>(init: F) -> Result<(), BoxError>
where
    S: Send + Sync + 'static,
    F: Future<Output = Result<App<S>, E>>,
    E: Into<BoxError>,
{
    lambda_environment()?;
    crate::logging::init();
    let handler = std::env::var("SVLESS_HANDLER")
        .ok()
        .filter(|h| !h.is_empty());
    let app = match init.await.map_err(Into::into).map(|app| match &handler {
        Some(task) => app.handler_from_env(task),
        None => app,
    }) {
        Ok(app) => match app.check() {
            Ok(()) => app,
            Err(err) => {
                report_init_error(&err).await;
                return Err(err.into());
            }
        },
        Err(err) => {
            report_init_error(&*err).await;
            return Err(err);
        }
    };
    let app = Arc::new(app);
    let handler = service_fn(move |event: LambdaEvent<Box<RawValue>>| {
        let app = app.clone();
        async move {
            let lambda = &event.context;
            let ctx = Context {
                request_id: lambda.request_id.clone(),
                function_name: lambda.env_config.function_name.clone(),
                function_version: lambda.env_config.version.clone(),
                invoked_function_arn: lambda.invoked_function_arn.clone(),
                deadline: Some(SystemTime::UNIX_EPOCH + Duration::from_millis(lambda.deadline)),
                trace_id: lambda.xray_trace_id.clone(),
                ..Context::default()
            };
            match app.dispatch(event.payload.get().as_bytes(), ctx).await {
                Ok(bytes) => {
                    let text = String::from_utf8(bytes).map_err(|e| Diagnostic {
                        error_type: "Svless.EncodeError".into(),
                        error_message: e.to_string(),
                    })?;
                    RawValue::from_string(text).map_err(|e| Diagnostic {
                        error_type: "Svless.EncodeError".into(),
                        error_message: e.to_string(),
                    })
                }
                Err(err) => Err(Diagnostic {
                    error_type: err.error_type().into(),
                    error_message: err.message().into(),
                }),
            }
        }
    });
    lambda_runtime::Runtime::new(handler).run().await
}

/// Serves `app` on AWS Lambda, through the Lambda Runtime API (an error off Lambda).
///
/// `svless::Run::run` calls it on Lambda and starts the local cloud elsewhere. Build state
/// that can fail with [`run_with`] instead, so the failure is reported as an init error with a
/// name.
///
/// ```no_run
/// # async fn doc() -> Result<(), svless_core::BoxError> {
/// async fn hello() -> &'static str { "hello" }
/// svless_core::runtime::run(svless_core::App::new().route_fn("GET", "/", hello)).await
/// # }
/// ```
pub async fn run<S: Send + Sync + 'static>(app: App<S>) -> Result<(), BoxError> {
    run_with(async move { Ok::<_, BoxError>(app) }).await
}

/// Whether this process runs on AWS Lambda (the Lambda Runtime API is there).
///
/// ```
/// # if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
/// assert!(!svless_core::runtime::on_lambda());
/// # }
/// ```
pub fn on_lambda() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some()
}
