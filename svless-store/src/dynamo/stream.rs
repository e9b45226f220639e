//! The in-memory backend's change feed, shaped as DynamoDB Streams records, and its delivery
//! to `#[svless::dynamodb_stream]` handlers.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use futures_util::Stream;
use serde_dynamo::Item;
use svless_core::{App, Context};
use tokio::sync::mpsc;

use super::StreamView;
use crate::delivery::{StreamMapping, give_up};

/// What happened to an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// `INSERT`: a new item.
    Insert,
    /// `MODIFY`: an item was replaced or updated.
    Modify,
    /// `REMOVE`: an item was deleted.
    Remove,
}

impl ChangeKind {
    /// The stream's `eventName`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ChangeKind::Insert => "INSERT",
            ChangeKind::Modify => "MODIFY",
            ChangeKind::Remove => "REMOVE",
        }
    }
}

/// One change, carrying what a DynamoDB Streams record carries for the table's stream view.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StreamChange {
    /// The table.
    pub table: String,
    /// What happened.
    pub kind: ChangeKind,
    /// The item's key attributes.
    pub keys: Item,
    /// The item before (`OLD_IMAGE`, `NEW_AND_OLD_IMAGES`).
    pub old: Option<Item>,
    /// The item after (`NEW_IMAGE`, `NEW_AND_OLD_IMAGES`).
    pub new: Option<Item>,
    /// Increases with every change of the database.
    pub sequence: u64,
    /// The stream view.
    pub view: StreamView,
    /// Whether time to live removed the item (the record names DynamoDB's service principal).
    pub expired: bool,
}

impl StreamChange {
    /// The record as Lambda receives it from DynamoDB Streams (the shape of the Lambda
    /// Developer Guide's example event).
    pub fn record(&self) -> serde_json::Value {
        let mut dynamodb = serde_json::json!({
            "Keys": self.keys,
            "SequenceNumber": format!("{:021}", self.sequence),
            "SizeBytes": super::item_size(self.new.as_ref().or(self.old.as_ref()).unwrap_or(&self.keys)),
            "StreamViewType": self.view.as_str(),
        });
        if let Some(new) = &self.new {
            dynamodb["NewImage"] = serde_json::json!(new);
        }
        if let Some(old) = &self.old {
            dynamodb["OldImage"] = serde_json::json!(old);
        }
        let mut record = serde_json::json!({
            "eventID": self.sequence.to_string(),
            "eventName": self.kind.as_str(),
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": dynamodb,
            "eventSourceARN": format!(
                "arn:aws:dynamodb:us-east-1:000000000000:table/{}/stream/local",
                self.table
            ),
        });
        if self.expired {
            record["userIdentity"] = serde_json::json!({
                "type": "Service",
                "principalId": "dynamodb.amazonaws.com"
            });
        }
        record
    }
}

/// The Lambda payload for a batch of changes: `{"Records": [...]}`.
pub fn stream_payload(changes: &[StreamChange]) -> Vec<u8> {
    let records: Vec<_> = changes.iter().map(StreamChange::record).collect();
    serde_json::json!({ "Records": records })
        .to_string()
        .into_bytes()
}

/// A subscription to a table's changes, in order; nothing is dropped.
#[derive(Debug)]
pub struct StreamChanges(pub(crate) mpsc::UnboundedReceiver<StreamChange>);

impl StreamChanges {
    /// The next change; `None` once the database is dropped.
    pub async fn recv(&mut self) -> Option<StreamChange> {
        self.0.recv().await
    }

    /// A change already made, without waiting.
    pub fn try_recv(&mut self) -> Option<StreamChange> {
        self.0.try_recv().ok()
    }
}

impl Stream for StreamChanges {
    type Item = StreamChange;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<StreamChange>> {
        self.0.poll_recv(cx)
    }
}

/// Delivers a table's changes to an app's `#[svless::dynamodb_stream]` handlers through
/// [`App::dispatch`], as Lambda's event source mapping does with its default settings: batches
/// of up to 100 records in stream order, a failing batch retried (from the first record the
/// handler reports in `batchItemFailures`, or whole if it fails) until it succeeds; returns when
/// the database is dropped. [`deliver_stream_with`] takes the mapping's other settings.
///
/// ```
/// # async fn demo(app: svless_core::App) {
/// use svless_store::dynamo::{MemoryDb, StreamView, Table, TableDef, deliver_stream};
/// let db = MemoryDb::new();
/// let table = Table::memory(TableDef::new("app").stream(StreamView::NewAndOldImages), &db);
/// let changes = db.subscribe("app");
/// tokio::spawn(async move { deliver_stream(&app, changes).await });
/// # }
/// ```
pub async fn deliver_stream<S: Send + Sync + 'static>(app: &App<S>, changes: StreamChanges) {
    deliver_stream_with(app, changes, &StreamMapping::default()).await;
}

/// [`deliver_stream`] with an event source mapping's settings: batch size, batching window,
/// maximum retry attempts, bisection on function error and an on-failure destination.
///
/// ```
/// # async fn demo(app: svless_core::App) {
/// use svless_store::delivery::StreamMapping;
/// use svless_store::dynamo::{MemoryDb, deliver_stream_with};
/// let db = MemoryDb::new();
/// let mapping = StreamMapping { batch_size: 10, maximum_retry_attempts: Some(2), ..StreamMapping::default() };
/// deliver_stream_with(&app, db.subscribe("app"), &mapping).await;
/// # }
/// ```
pub async fn deliver_stream_with<S: Send + Sync + 'static>(
    app: &App<S>,
    mut changes: StreamChanges,
    mapping: &StreamMapping,
) {
    let batch_size = mapping.batch_size.max(1);
    while let Some(first) = changes.recv().await {
        let mut batch = vec![first];
        let window = tokio::time::sleep(mapping.maximum_batching_window);
        tokio::pin!(window);
        while batch.len() < batch_size {
            if mapping.maximum_batching_window.is_zero() {
                match changes.try_recv() {
                    Some(change) => batch.push(change),
                    None => break,
                }
            } else {
                tokio::select! {
                    change = changes.recv() => match change {
                        Some(change) => batch.push(change),
                        None => break,
                    },
                    () = &mut window => break,
                }
            }
        }
        process(app, batch, mapping).await;
    }
}

/// What one invocation said about a batch.
enum Answer {
    /// Every record succeeded.
    Done,
    /// The records from this index on failed (`batchItemFailures`).
    FailedFrom(usize, String, String),
    /// The invocation failed as a whole.
    Failed(String, String),
}

async fn invoke<S: Send + Sync + 'static>(app: &App<S>, batch: &[StreamChange]) -> Answer {
    match app.dispatch(&stream_payload(batch), Context::local()).await {
        Err(error) => Answer::Failed(error.error_type().to_owned(), error.message().to_owned()),
        Ok(answer) => {
            let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap_or_default();
            let Some(failed) = answer["batchItemFailures"].as_array() else {
                return Answer::Done;
            };
            if failed.is_empty() {
                return Answer::Done;
            }
            // Lambda retries from the lowest sequence number reported; an identifier that is
            // not one of the batch's fails the whole batch.
            let mut from = batch.len();
            for failure in failed {
                let position = failure["itemIdentifier"].as_str().and_then(|id| {
                    batch
                        .iter()
                        .position(|c| format!("{:021}", c.sequence) == id)
                });
                match position {
                    Some(position) => from = from.min(position),
                    None => {
                        return Answer::Failed(
                            "Svless.InvalidBatchItemFailure".into(),
                            format!("`{failure}` names no record of the batch"),
                        );
                    }
                }
            }
            Answer::FailedFrom(
                from,
                "Svless.BatchItemFailure".into(),
                format!("{} records reported as failed", failed.len()),
            )
        }
    }
}

/// One batch through to success or to its on-failure record.
async fn process<S: Send + Sync + 'static>(
    app: &App<S>,
    batch: Vec<StreamChange>,
    mapping: &StreamMapping,
) {
    // A stack of batches still to do, so bisection needs no recursion.
    let mut todo = vec![batch];
    while let Some(mut batch) = todo.pop() {
        let mut retries = 0u32;
        let mut wait = mapping.retry_backoff;
        let mut invocations = 0u32;
        loop {
            invocations += 1;
            let (error_type, message) = match invoke(app, &batch).await {
                Answer::Done => break,
                Answer::FailedFrom(from, error_type, message) => {
                    // The records before the first failure are checkpointed.
                    batch.drain(..from);
                    (error_type, message)
                }
                Answer::Failed(error_type, message) => {
                    if mapping.bisect_batch_on_function_error && batch.len() > 1 {
                        let second = batch.split_off(batch.len() / 2);
                        tracing::warn!(
                            error_type,
                            error = message,
                            "the stream handler failed: the batch is split in two"
                        );
                        todo.push(second);
                        todo.push(batch);
                        break;
                    }
                    (error_type, message)
                }
            };
            tracing::warn!(
                error_type,
                error = message,
                first = batch.first().map(|c| c.sequence),
                records = batch.len(),
                "a stream batch failed"
            );
            if mapping
                .maximum_retry_attempts
                .is_some_and(|max| retries >= max)
            {
                give_up(
                    mapping.on_failure.as_ref(),
                    stream_failure(&batch, invocations),
                );
                break;
            }
            retries += 1;
            tokio::time::sleep(wait).await;
            wait = wait
                .saturating_mul(2)
                .min(std::time::Duration::from_secs(60));
        }
    }
}

/// The on-failure record of a stream batch given up on ("Retaining records of discarded batches",
/// Lambda developer guide: `DDBStreamBatchInfo`).
fn stream_failure(batch: &[StreamChange], invocations: u32) -> serde_json::Value {
    let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
        return serde_json::Value::Null;
    };
    let arn = first.record()["eventSourceARN"].clone();
    let now = crate::delivery::now();
    serde_json::json!({
        "requestContext": {
            "requestId": svless_core::local::request_id(),
            "functionArn": crate::delivery::function_arn(),
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": invocations,
        },
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "version": "1.0",
        "timestamp": now,
        "DDBStreamBatchInfo": {
            "shardId": "shardId-00000000000000000000-local",
            "startSequenceNumber": format!("{:021}", first.sequence),
            "endSequenceNumber": format!("{:021}", last.sequence),
            "approximateArrivalOfFirstRecord": now,
            "approximateArrivalOfLastRecord": now,
            "batchSize": batch.len(),
            "streamArn": arn,
        },
    })
}
