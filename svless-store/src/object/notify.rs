//! Change notifications of the local backends, shaped as S3 event records.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::stream::FuturesUnordered;
use futures_util::{Stream, StreamExt};

use crate::delivery::{AsyncRetry, invoke_async};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use svless_core::App;
use svless_core::source::s3::ObjectEvent;
use tokio::sync::mpsc;

/// What S3 leaves unencoded in an event record's key; a space becomes `+`.
const KEY_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'*')
    .remove(b'/')
    .remove(b' ');

/// The kind of a change: S3's event names (`ObjectCreated:Put`, `ObjectRemoved:Delete`, ...).
pub type ChangeKind = ObjectEvent;

/// One change to an object, carrying what an S3 event record carries.
///
/// ```
/// use svless_store::object::{Key, MemoryStore, ObjectStoreExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> svless_store::object::Result<()> {
/// let store = MemoryStore::new("uploads");
/// let mut changes = store.subscribe();
/// store.put_bytes(&Key::new("a b+c.txt")?, "x").await?;
/// let change = changes.recv().await.expect("one change");
/// assert_eq!(change.kind.name(), "ObjectCreated:Put");
/// assert_eq!(change.encoded_key(), "a+b%2Bc.txt"); // as S3 writes keys into event records
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Change {
    /// What happened.
    pub kind: ChangeKind,
    /// The bucket.
    pub bucket: String,
    /// The key (decoded).
    pub key: String,
    /// The size, for created objects.
    pub size: Option<u64>,
    /// The ETag without quotes, for created objects.
    pub etag: Option<String>,
    /// The version id, in a bucket that has had versioning enabled.
    pub version_id: Option<String>,
    /// Orders the changes of one key (hexadecimal, of equal length).
    pub sequencer: String,
    /// When it happened.
    pub time: DateTime<Utc>,
}

impl Change {
    /// The key as S3 writes it into event records: form-encoded (`+` for a space).
    pub fn encoded_key(&self) -> String {
        utf8_percent_encode(&self.key, KEY_ENCODE)
            .to_string()
            .replace(' ', "+")
    }

    /// The S3 event record, in the shape AWS documents ("Event message structure", S3 user
    /// guide): `eventVersion` 2.1, `eventSource` `aws:s3`, `s3.bucket`, `s3.object`.
    pub fn record(&self) -> serde_json::Value {
        let mut object = serde_json::json!({
            "key": self.encoded_key(),
            "sequencer": self.sequencer,
        });
        if let Some(size) = self.size {
            object["size"] = size.into();
        }
        if let Some(etag) = &self.etag {
            object["eTag"] = etag.as_str().into();
        }
        if let Some(version_id) = &self.version_id {
            object["versionId"] = version_id.as_str().into();
        }
        serde_json::json!({
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": "us-east-1",
            "eventTime": self.time.to_rfc3339_opts(SecondsFormat::Millis, true),
            "eventName": self.kind.name(),
            "userIdentity": { "principalId": "svless-local" },
            "requestParameters": { "sourceIPAddress": "127.0.0.1" },
            "responseElements": {
                "x-amz-request-id": self.sequencer,
                "x-amz-id-2": "svless-local"
            },
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "svless-local",
                "bucket": {
                    "name": self.bucket,
                    "ownerIdentity": { "principalId": "svless-local" },
                    "arn": format!("arn:aws:s3:::{}", self.bucket)
                },
                "object": object
            }
        })
    }

    /// The Lambda payload S3 would send for this change: `{"Records": [record]}`.
    pub fn payload(&self) -> Vec<u8> {
        serde_json::json!({ "Records": [self.record()] })
            .to_string()
            .into_bytes()
    }
}

/// A subscription to a local store's changes, in the order they were made. Nothing is dropped:
/// changes queue until they are read.
#[derive(Debug)]
pub struct Changes(pub(crate) mpsc::UnboundedReceiver<Change>);

impl Changes {
    /// The next change; `None` once the store is dropped.
    pub async fn recv(&mut self) -> Option<Change> {
        self.0.recv().await
    }

    /// A change already made, without waiting.
    pub fn try_recv(&mut self) -> Option<Change> {
        self.0.try_recv().ok()
    }
}

impl Stream for Changes {
    type Item = Change;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Change>> {
        self.0.poll_recv(cx)
    }
}

/// Delivers changes to an app's `#[svless::s3]` handlers, one event per change as S3 sends
/// them, through the same [`App::dispatch`] Lambda calls; returns when the store is dropped and
/// every event is answered. Events are asynchronous invocations, as S3 makes them: they run
/// concurrently, and a failing one is retried twice with backoff and then given up on with an
/// on-failure record ([`deliver_with`] sets the retries and where the record goes).
///
/// ```
/// use std::sync::Arc;
/// use svless_store::object::{MemoryStore, deliver};
///
/// # async fn demo(app: svless_core::App) {
/// let store = Arc::new(MemoryStore::new("uploads"));
/// let changes = store.subscribe();
/// tokio::spawn(async move { deliver(&app, changes).await });
/// # }
/// ```
pub async fn deliver<S: Send + Sync + 'static>(app: &App<S>, changes: Changes) {
    deliver_with(app, changes, &AsyncRetry::default()).await;
}

/// [`deliver`] with the retries of your choice.
///
/// ```
/// use std::time::Duration;
/// use svless_store::delivery::AsyncRetry;
/// use svless_store::object::{MemoryStore, deliver_with};
///
/// # async fn demo(app: svless_core::App) {
/// let store = MemoryStore::new("uploads");
/// let retry = AsyncRetry { retries: 1, backoff: Duration::from_millis(10), on_failure: None };
/// deliver_with(&app, store.subscribe(), &retry).await;
/// # }
/// ```
pub async fn deliver_with<S: Send + Sync + 'static>(
    app: &App<S>,
    mut changes: Changes,
    retry: &AsyncRetry,
) {
    let mut running = FuturesUnordered::new();
    let mut open = true;
    while open || !running.is_empty() {
        tokio::select! {
            change = changes.recv(), if open => match change {
                // A bucket notifies the function of the changes its configuration names — the
                // handlers' filters — and of no others.
                Some(change) if app.takes_object(&change.key, &change.kind.name()) => {
                    running.push(invoke_change(app, change, retry));
                }
                Some(_) => {}
                None => open = false,
            },
            Some(()) = running.next(), if !running.is_empty() => {}
        }
    }
}

/// One change as an asynchronous invocation.
async fn invoke_change<S: Send + Sync + 'static>(app: &App<S>, change: Change, retry: &AsyncRetry) {
    let what = format!("{} {}", change.kind.name(), change.key);
    invoke_async(app, &change.payload(), retry, &what).await;
}
