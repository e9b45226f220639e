//! Kinesis Data Streams: typed records, stream-ordered partial batch responses.

use super::RecordHandler;
use crate::invocation::Invocation;
use crate::named_error::NamedError;
use aws_lambda_events::kinesis::KinesisEventRecord;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::future::Future;

/// One Kinesis record as a handler receives it: its data decoded into `T` and its metadata.
///
/// The data arrives base64-encoded in the event and is decoded first; then `Record<Vec<u8>>`
/// takes the bytes as they were put, `Record<String>` the UTF-8 text, and any other `T` reads
/// JSON.
///
/// ```
/// use svless_core::source::kinesis::Record;
///
/// #[derive(serde::Deserialize)]
/// struct Click { page: String }
///
/// async fn on_click(record: Record<Click>) {
///     println!("{} (partition {})", record.data.page, record.partition_key);
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Record<T> {
    /// The data, decoded.
    pub data: T,
    /// The partition key the producer chose.
    pub partition_key: String,
    /// The record's sequence number (what a partial batch response reports).
    pub sequence_number: String,
    /// When the stream received the record.
    pub approximate_arrival: DateTime<Utc>,
    /// `shardId-…:sequence`.
    pub event_id: Option<String>,
    /// The stream's ARN.
    pub event_source_arn: Option<String>,
}

/// The data as the handler's type: raw bytes, UTF-8 text, or JSON.
fn decode_data<T: DeserializeOwned + 'static>(data: Vec<u8>) -> Result<T, String> {
    use std::any::{Any, TypeId};
    let take = |value: Box<dyn Any>| {
        value
            .downcast::<T>()
            .map(|v| *v)
            .map_err(|_| "the data's type changed while it was decoded".to_owned())
    };
    if TypeId::of::<T>() == TypeId::of::<Vec<u8>>() {
        return take(Box::new(data));
    }
    if TypeId::of::<T>() == TypeId::of::<String>() {
        let text = String::from_utf8(data)
            .map_err(|_| "the record's data is not UTF-8 text".to_owned())?;
        return take(Box::new(text));
    }
    serde_json::from_slice(&data)
        .map_err(|e| format!("the record's data does not decode into the handler's type: {e}"))
}

impl<T: DeserializeOwned + 'static> Record<T> {
    /// Decodes a record of an `aws_lambda_events` Kinesis event.
    ///
    /// ```
    /// use svless_core::source::kinesis::Record;
    /// let record: aws_lambda_events::kinesis::KinesisEventRecord = serde_json::from_value(serde_json::json!({
    ///     "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": "1",
    ///                 "sequenceNumber": "4959", "data": "SGVsbG8=", "approximateArrivalTimestamp": 1545084650.987},
    ///     "eventSource": "aws:kinesis", "eventID": "shardId-000000000006:4959"
    /// })).expect("a record");
    /// let record = Record::<String>::from_record(record).expect("text");
    /// assert_eq!(record.data, "Hello");
    /// ```
    pub fn from_record(record: KinesisEventRecord) -> Result<Self, String> {
        let kinesis = record.kinesis;
        let arrival = kinesis.approximate_arrival_timestamp.0;
        Ok(Record {
            data: decode_data(kinesis.data.0)?,
            partition_key: kinesis.partition_key,
            sequence_number: kinesis.sequence_number,
            approximate_arrival: arrival,
            event_id: record.event_id,
            event_source_arn: record.event_source_arn,
        })
    }
}

pub(crate) struct Subscription<S> {
    pub(crate) handler: RecordHandler<KinesisEventRecord, S>,
}

impl<S> Clone for Subscription<S> {
    fn clone(&self) -> Self {
        Subscription {
            handler: self.handler.clone(),
        }
    }
}

/// Registers a Kinesis handler on `sources` (what `#[svless::kinesis]` generates).
///
/// ```
/// use svless_core::source::{Sources, Subscribe, kinesis};
/// struct Clicks;
/// impl<S: Send + Sync + 'static> Subscribe<S> for Clicks {
///     fn subscribe(self, sources: &mut Sources<S>) {
///         kinesis::subscribe(sources, |record: kinesis::Record<String>, _inv| async move {
///             println!("{}", record.data);
///             Ok(())
///         });
///     }
/// }
/// let app = svless_core::App::new().on(Clicks);
/// ```
pub fn subscribe<S, T, F, Fut>(sources: &mut super::Sources<S>, handler: F)
where
    T: DeserializeOwned + Send + 'static,
    F: Fn(Record<T>, Invocation<S>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), NamedError>> + Send + 'static,
{
    let handler = super::typed(Record::<T>::from_record, handler);
    sources.kinesis.push(Subscription { handler });
}

#[derive(Deserialize)]
struct SequenceOnly {
    kinesis: SequenceNumber,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SequenceNumber {
    sequence_number: String,
}

/// How Kinesis names its records.
const STREAM: super::batch::Stream<KinesisEventRecord> = super::batch::Stream {
    name: "Kinesis",
    sequence: |record| record.kinesis.sequence_number.clone(),
    raw_sequence: |raw| {
        serde_json::from_str::<SequenceOnly>(raw)
            .ok()
            .map(|s| s.kinesis.sequence_number)
    },
};

/// The sequence number of the first record that failed, if any: records run in shard order and
/// the batch stops at the first failure, as Lambda's checkpoint for a Kinesis event source mapping
/// with `ReportBatchItemFailures` expects; a record that does not decode is that failure.
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

/// Whether Kinesis takes events of `kind`.
pub(crate) fn takes(kind: &super::SourceKind) -> bool {
    matches!(kind, super::SourceKind::Kinesis)
}

/// Runs a batch in shard order; the first failure, and nothing after it, is reported.
pub(crate) async fn dispatch<S: Send + Sync + 'static>(
    sources: &super::Sources<S>,
    _kind: &super::SourceKind,
    payload: &[u8],
    invocation: Invocation<S>,
) -> Result<Vec<u8>, NamedError> {
    super::batch::answer(
        sources.kinesis.is_empty(),
        "Kinesis records",
        run(&sources.kinesis, payload, &invocation),
    )
    .await
}
