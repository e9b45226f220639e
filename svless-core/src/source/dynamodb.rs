//! DynamoDB Streams: typed changes, stream-ordered partial batch responses.

use super::RecordHandler;
use crate::invocation::Invocation;
use crate::named_error::NamedError;
use aws_lambda_events::dynamodb::EventRecord;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::future::Future;

/// What happened to an item, with its images decoded into `T`.
///
/// A stream sends the images its view type says: `NEW_AND_OLD_IMAGES` sends both,
/// `NEW_IMAGE` only new ones, `OLD_IMAGE` only old ones, `KEYS_ONLY` none. Take
/// `StreamRecord<Option<T>>` to accept missing images, or `StreamRecord<serde::de::IgnoredAny>`
/// for a `KEYS_ONLY` stream; a required image that is missing makes the record fail with a message
/// naming the view type, never a panic.
///
/// ```
/// use svless_core::source::dynamodb::Change;
/// let change = Change::Insert { new: 7 };
/// assert!(matches!(change, Change::Insert { new: 7 }));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Change<T> {
    /// A new item.
    Insert {
        /// The item as written.
        new: T,
    },
    /// An item was updated or replaced.
    Modify {
        /// The item before.
        old: T,
        /// The item after.
        new: T,
    },
    /// An item was deleted.
    Remove {
        /// The item before.
        old: T,
        /// Whether DynamoDB's time-to-live deleted it (rather than a caller).
        expired: bool,
    },
}

/// One stream record as a handler receives it: the change, the keys and the record's metadata.
///
/// ```
/// use svless_core::source::dynamodb::{Change, StreamRecord};
///
/// #[derive(serde::Deserialize)]
/// struct Todo { id: String, title: String }
///
/// async fn on_change(record: StreamRecord<Todo>) {
///     match record.change {
///         Change::Insert { new } => println!("new todo {}", new.title),
///         Change::Modify { old, new } => println!("{} became {}", old.title, new.title),
///         Change::Remove { old, expired } => println!("{} removed (ttl: {expired})", old.id),
///     }
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StreamRecord<T> {
    /// The change.
    pub change: Change<T>,
    /// The item's key attributes; decode them with `serde_dynamo::from_item` into your key type.
    pub keys: serde_dynamo::Item,
    /// The record's sequence number (what a partial batch response reports).
    pub sequence_number: String,
    /// When the change was made (to the second).
    pub approximate_creation: DateTime<Utc>,
    /// The record's event id.
    pub event_id: String,
    /// The ARN of the stream.
    pub event_source_arn: Option<String>,
}

/// Why a record could not be given to its handler.
fn decode_image<T: DeserializeOwned>(
    item: serde_dynamo::Item,
    which: &str,
    view: &str,
) -> Result<T, String> {
    if item.is_empty() {
        return T::deserialize(serde::de::value::UnitDeserializer::<serde::de::value::Error>::new()).map_err(|_| {
            format!(
                "the record has no {which} (the stream's view type is {view}): take `StreamRecord<Option<T>>`, or set the stream to NEW_AND_OLD_IMAGES"
            )
        });
    }
    crate::attribute::from_item(item)
        .map_err(|e| format!("the {which} does not decode into the handler's type: {e}"))
}

impl<T: DeserializeOwned> StreamRecord<T> {
    /// Decodes a record of an `aws_lambda_events` DynamoDB event.
    ///
    /// ```
    /// use svless_core::source::dynamodb::{Change, StreamRecord};
    /// let record: aws_lambda_events::dynamodb::EventRecord = serde_json::from_value(serde_json::json!({
    ///     "eventID": "1", "eventName": "INSERT", "awsRegion": "us-east-1", "eventSource": "aws:dynamodb",
    ///     "dynamodb": { "Keys": {"id": {"S": "a"}}, "NewImage": {"id": {"S": "a"}, "n": {"N": "3"}},
    ///                   "SequenceNumber": "111", "SizeBytes": 26, "StreamViewType": "NEW_AND_OLD_IMAGES" }
    /// })).expect("a record");
    /// #[derive(serde::Deserialize, Debug, PartialEq)]
    /// struct Item { id: String, n: u32 }
    /// let typed = StreamRecord::<Item>::from_record(record).expect("decodes");
    /// assert_eq!(typed.change, Change::Insert { new: Item { id: "a".into(), n: 3 } });
    /// ```
    pub fn from_record(record: EventRecord) -> Result<Self, String> {
        // As AWS names view types: `NEW_IMAGE`, `KEYS_ONLY`, ...
        let view = record
            .change
            .stream_view_type
            .as_ref()
            .and_then(|v| serde_json::to_value(v).ok())
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| "not stated".into());
        let stream = record.change;
        let expired = record
            .user_identity
            .as_ref()
            .is_some_and(|u| u.type_ == "Service" && u.principal_id == "dynamodb.amazonaws.com");
        let change = match record.event_name.as_str() {
            "INSERT" => Change::Insert {
                new: decode_image(stream.new_image, "NewImage", &view)?,
            },
            "MODIFY" => Change::Modify {
                old: decode_image(stream.old_image, "OldImage", &view)?,
                new: decode_image(stream.new_image, "NewImage", &view)?,
            },
            "REMOVE" => Change::Remove {
                old: decode_image(stream.old_image, "OldImage", &view)?,
                expired,
            },
            other => return Err(format!("unknown stream event name `{other}`")),
        };
        Ok(StreamRecord {
            change,
            keys: stream.keys,
            sequence_number: stream.sequence_number.unwrap_or_default(),
            approximate_creation: stream.approximate_creation_date_time,
            event_id: record.event_id,
            event_source_arn: record.event_source_arn,
        })
    }
}

/// A record whose shape is only read for its sequence number (when it does not decode at all).
#[derive(Deserialize)]
struct SequenceOnly {
    dynamodb: SequenceInner,
}

#[derive(Deserialize)]
struct SequenceInner {
    #[serde(rename = "SequenceNumber")]
    sequence_number: String,
}

pub(crate) struct Subscription<S> {
    pub(crate) handler: RecordHandler<EventRecord, S>,
}

impl<S> Clone for Subscription<S> {
    fn clone(&self) -> Self {
        Subscription {
            handler: self.handler.clone(),
        }
    }
}

/// Registers a stream handler on `sources` (what `#[svless::dynamodb_stream]` generates).
///
/// ```
/// use svless_core::source::{Sources, Subscribe, dynamodb};
/// struct Log;
/// impl<S: Send + Sync + 'static> Subscribe<S> for Log {
///     fn subscribe(self, sources: &mut Sources<S>) {
///         dynamodb::subscribe(sources, |record: dynamodb::StreamRecord<serde_json::Value>, _inv| async move {
///             println!("{}", record.sequence_number);
///             Ok(())
///         });
///     }
/// }
/// let app = svless_core::App::new().on(Log);
/// ```
///
/// `handler` gets each record already decoded into a `StreamRecord<T>`; a record that does not
/// decode is that record's failure and never reaches it.
pub fn subscribe<S, T, F, Fut>(sources: &mut super::Sources<S>, handler: F)
where
    T: DeserializeOwned + Send + 'static,
    F: Fn(StreamRecord<T>, Invocation<S>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), NamedError>> + Send + 'static,
{
    let handler = super::typed(StreamRecord::<T>::from_record, handler);
    sources.dynamodb.push(Subscription { handler });
}

/// How DynamoDB Streams names its records.
const STREAM: super::batch::Stream<EventRecord> = super::batch::Stream {
    name: "DynamoDB stream",
    sequence: |record| record.change.sequence_number.clone().unwrap_or_default(),
    raw_sequence: |raw| {
        serde_json::from_str::<SequenceOnly>(raw)
            .ok()
            .map(|s| s.dynamodb.sequence_number)
    },
};

/// The sequence number of the first record that failed, if any: records run in stream order
/// and the batch stops at the first failure.
pub(crate) async fn run<S>(
    subscriptions: &[Subscription<S>],
    payload: &[u8],
    invocation: &Invocation<S>,
) -> Result<Option<String>, NamedError> {
    let handlers: Vec<_> = subscriptions.iter().map(|s| &s.handler).collect();
    super::batch::in_stream_order(&STREAM, &handlers, payload, invocation).await
}

/// Handlers registered before the app had its state, for the stateful app.
pub(crate) fn rebind<S: 'static>(subscriptions: Vec<Subscription<()>>) -> Vec<Subscription<S>> {
    subscriptions
        .into_iter()
        .map(|s| Subscription {
            handler: super::stateless(s.handler),
        })
        .collect()
}

/// Whether DynamoDB Streams takes events of `kind`.
pub(crate) fn takes(kind: &super::SourceKind) -> bool {
    matches!(kind, super::SourceKind::DynamoDbStreams)
}

/// Runs a stream batch in order; the first failure and nothing after it is reported.
pub(crate) async fn dispatch<S: Send + Sync + 'static>(
    sources: &super::Sources<S>,
    _kind: &super::SourceKind,
    payload: &[u8],
    invocation: Invocation<S>,
) -> Result<Vec<u8>, NamedError> {
    super::batch::answer(
        sources.dynamodb.is_empty(),
        "DynamoDB stream records",
        run(&sources.dynamodb, payload, &invocation),
    )
    .await
}
