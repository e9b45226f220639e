//! How local changes reach an app's handlers, with the retry semantics Lambda gives each kind
//! of source: S3 notifications are asynchronous invocations (two retries, then an on-failure
//! record), stream records go through an event source mapping (batches, retries from the
//! failed record, bisection, then an on-failure record). Nothing is dropped silently: what is
//! given up on is logged and handed to the [`FailureSink`].

use std::sync::Arc;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};

/// Receives the on-failure record of what was given up on, in the shape Lambda sends to an
/// on-failure destination (an SQS queue, an SNS topic, a bucket).
///
/// ```
/// use std::sync::{Arc, Mutex};
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let sink: svless_store::delivery::FailureSink = {
///     let seen = seen.clone();
///     Arc::new(move |record| seen.lock().expect("lock").push(record))
/// };
/// sink(serde_json::json!({"version": "1.0"}));
/// assert_eq!(seen.lock().expect("lock").len(), 1);
/// ```
pub type FailureSink = Arc<dyn Fn(Value) + Send + Sync>;

/// Retries of an asynchronous invocation (S3 notifications), as Lambda makes them.
///
/// ```
/// use svless_store::delivery::AsyncRetry;
/// let retry = AsyncRetry::default();
/// assert_eq!(retry.retries, 2);
/// ```
#[derive(Clone)]
pub struct AsyncRetry {
    /// Retries after the first attempt (Lambda: 0 to 2, default 2).
    pub retries: u32,
    /// The wait before the first retry; each later one waits twice as long (Lambda waits about
    /// a minute, then two; a local run waits less).
    pub backoff: Duration,
    /// Where the record of an event given up on goes (it is logged in any case).
    pub on_failure: Option<FailureSink>,
}

impl Default for AsyncRetry {
    fn default() -> Self {
        Self {
            retries: 2,
            backoff: Duration::from_secs(1),
            on_failure: None,
        }
    }
}

impl std::fmt::Debug for AsyncRetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncRetry")
            .field("retries", &self.retries)
            .field("backoff", &self.backoff)
            .field("on_failure", &self.on_failure.is_some())
            .finish()
    }
}

/// An event source mapping's settings for a stream (DynamoDB Streams), with Lambda's names
/// and defaults.
///
/// ```
/// use svless_store::delivery::StreamMapping;
/// let mapping = StreamMapping { maximum_retry_attempts: Some(2), bisect_batch_on_function_error: true, ..StreamMapping::default() };
/// assert_eq!(mapping.batch_size, 100);
/// ```
#[derive(Clone)]
pub struct StreamMapping {
    /// `BatchSize`: the most records per invocation (default 100).
    pub batch_size: usize,
    /// `MaximumBatchingWindowInSeconds`: how long to gather records before invoking (default 0).
    pub maximum_batching_window: Duration,
    /// `MaximumRetryAttempts`: retries of a failing batch; `None` is Lambda's `-1`, retry until
    /// it succeeds (a local stream's records do not expire).
    pub maximum_retry_attempts: Option<u32>,
    /// `BisectBatchOnFunctionError`: split a failing batch in two and retry each half.
    pub bisect_batch_on_function_error: bool,
    /// The wait before the first retry, doubled for each later one up to a minute.
    pub retry_backoff: Duration,
    /// The `OnFailure` destination (the record is logged in any case).
    pub on_failure: Option<FailureSink>,
}

impl Default for StreamMapping {
    fn default() -> Self {
        Self {
            batch_size: 100,
            maximum_batching_window: Duration::ZERO,
            maximum_retry_attempts: None,
            bisect_batch_on_function_error: false,
            retry_backoff: Duration::from_millis(500),
            on_failure: None,
        }
    }
}

impl std::fmt::Debug for StreamMapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamMapping")
            .field("batch_size", &self.batch_size)
            .field("maximum_batching_window", &self.maximum_batching_window)
            .field("maximum_retry_attempts", &self.maximum_retry_attempts)
            .field(
                "bisect_batch_on_function_error",
                &self.bisect_batch_on_function_error,
            )
            .field("retry_backoff", &self.retry_backoff)
            .field("on_failure", &self.on_failure.is_some())
            .finish()
    }
}

/// The function ARN the local records name.
pub(crate) fn function_arn() -> String {
    let name = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "svless-local".into());
    format!("arn:aws:lambda:us-east-1:000000000000:function:{name}:$LATEST")
}

pub(crate) fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The invocation record of an asynchronous invocation given up on ("Adding a destination",
/// Lambda developer guide: `requestContext.condition` is `RetriesExhausted`).
fn async_failure(
    request_id: &str,
    payload: &[u8],
    invocations: u32,
    error_type: &str,
    error_message: &str,
) -> Value {
    let request: Value = serde_json::from_slice(payload)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(payload).into_owned()));
    json!({
        "version": "1.0",
        "timestamp": now(),
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn(),
            "condition": "RetriesExhausted",
            "approximateInvokeCount": invocations,
        },
        "requestPayload": request,
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "responsePayload": {
            "errorType": error_type,
            "errorMessage": error_message,
        },
    })
}

/// Logs the record and hands it to the sink.
pub(crate) fn give_up(sink: Option<&FailureSink>, record: Value) {
    tracing::error!(record = %record, "gave up on an event: its on-failure record follows");
    if let Some(sink) = sink {
        sink(record);
    }
}

/// One asynchronous invocation of `app` with `payload`, as Lambda makes it for S3
/// notifications, EventBridge rules and schedules: the first attempt, `retry.retries` retries with
/// doubling backoff, then an on-failure record (logged, and handed to the sink). Returns whether
/// an attempt succeeded. `what` names the event in the log.
///
/// ```
/// # async fn doc(app: svless_core::App) {
/// use svless_store::delivery::{AsyncRetry, invoke_async};
/// let delivered = invoke_async(&app, br#"{"source": "demo"}"#, &AsyncRetry::default(), "a demo event").await;
/// # }
/// ```
pub async fn invoke_async<S: Send + Sync + 'static>(
    app: &svless_core::App<S>,
    payload: &[u8],
    retry: &AsyncRetry,
    what: &str,
) -> bool {
    let request_id = svless_core::local::request_id();
    let mut wait = retry.backoff;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut context = svless_core::Context::local();
        context.request_id = request_id.clone();
        let Err(error) = app.dispatch(payload, context).await else {
            return true;
        };
        tracing::warn!(
            error_type = error.error_type(),
            error = error.message(),
            event = what,
            attempt,
            "an asynchronous invocation failed"
        );
        if attempt > retry.retries {
            let record = async_failure(
                &request_id,
                payload,
                attempt,
                error.error_type(),
                error.message(),
            );
            give_up(retry.on_failure.as_ref(), record);
            return false;
        }
        tokio::time::sleep(wait).await;
        wait = wait.saturating_mul(2);
    }
}
