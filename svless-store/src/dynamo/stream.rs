//! The in-memory backend's change feed, shaped as DynamoDB Streams records, and its delivery
//! to `#[svless::dynamodb_stream]` handlers.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use futures_util::Stream;
use serde_dynamo::Item;
use svless_core::{App, Context};
use tokio::sync::mpsc;

use super::StreamView;

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
/// [`App::dispatch`], in batches of up to 100 records as they queue up, as Lambda's event
/// source mapping does; returns when the database is dropped. Records a handler reports as
/// failed (`batchItemFailures`) are logged with their sequence numbers.
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
pub async fn deliver_stream<S: Send + Sync + 'static>(app: &App<S>, mut changes: StreamChanges) {
    while let Some(first) = changes.recv().await {
        let mut batch = vec![first];
        while batch.len() < 100 {
            match changes.try_recv() {
                Some(change) => batch.push(change),
                None => break,
            }
        }
        match app
            .dispatch(&stream_payload(&batch), Context::local())
            .await
        {
            Ok(answer) => {
                let failures: serde_json::Value =
                    serde_json::from_slice(&answer).unwrap_or_default();
                if let Some(failed) = failures["batchItemFailures"].as_array()
                    && !failed.is_empty()
                {
                    tracing::error!(failures = %serde_json::Value::from(failed.clone()), "stream records failed");
                }
            }
            Err(error) => tracing::error!(
                error_type = error.error_type(),
                error = error.message(),
                "the stream handler failed"
            ),
        }
    }
}
