//! What batch sources share: partial batch responses, and running a stream's records in order.

use super::{RecordHandler, unhandled};
use crate::invocation::Invocation;
use crate::named_error::NamedError;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use std::future::Future;

/// A partial batch response: the items Lambda should retry.
pub(crate) fn response<'a>(failed: impl Iterator<Item = &'a String>) -> Vec<u8> {
    let items: Vec<serde_json::Value> = failed
        .map(|id| serde_json::json!({ "itemIdentifier": id }))
        .collect();
    serde_json::to_vec(&serde_json::json!({ "batchItemFailures": items })).unwrap_or_default()
}

/// A batch source's answer: the partial batch response of `run`, or `Svless.UnhandledEvent`
/// when the source has no handler (`what` names its events).
pub(crate) async fn answer<I>(
    empty: bool,
    what: &str,
    run: impl Future<Output = Result<I, NamedError>>,
) -> Result<Vec<u8>, NamedError>
where
    I: IntoIterator<Item = String>,
{
    if empty {
        return Err(unhandled(what));
    }
    let failed: Vec<String> = run.await?.into_iter().collect();
    Ok(response(failed.iter()))
}

#[derive(Deserialize)]
#[serde(bound = "R: DeserializeOwned")]
struct Records<R> {
    #[serde(rename = "Records")]
    records: Vec<R>,
}

#[derive(Deserialize)]
struct RawRecords<'a> {
    #[serde(rename = "Records", borrow)]
    records: Vec<&'a RawValue>,
}

/// How a stream names its records: the sequence number of a decoded record, and of one that
/// does not decode (read from its raw JSON).
pub(crate) struct Stream<R> {
    /// The stream's name in messages (`the Kinesis event is malformed`).
    pub(crate) name: &'static str,
    pub(crate) sequence: fn(&R) -> String,
    pub(crate) raw_sequence: fn(&str) -> Option<String>,
}

/// Runs a stream batch in order, each record through every handler, and stops at the first
/// failure, whose sequence number it returns — nothing after it is applied before it is retried,
/// as Lambda's checkpoint (`ReportBatchItemFailures`) expects. A record that does not decode is
/// that failure; the batch is decoded record by record only when it does not decode whole.
pub(crate) async fn in_stream_order<R, S>(
    stream: &Stream<R>,
    handlers: &[&RecordHandler<R, S>],
    payload: &[u8],
    invocation: &Invocation<S>,
) -> Result<Option<String>, NamedError>
where
    R: DeserializeOwned + Clone,
{
    if let Ok(event) = serde_json::from_slice::<Records<R>>(payload) {
        for record in event.records {
            if let Some(failed) = process(stream, handlers, record, invocation).await {
                return Ok(Some(failed));
            }
        }
        return Ok(None);
    }
    let event: RawRecords<'_> = serde_json::from_slice(payload).map_err(|e| {
        NamedError::new(
            "Svless.MalformedEvent",
            format!("the {} event is malformed: {e}", stream.name),
        )
    })?;
    for raw in event.records {
        let record: R = match serde_json::from_str(raw.get()) {
            Ok(record) => record,
            Err(err) => {
                let sequence = (stream.raw_sequence)(raw.get()).ok_or_else(|| {
                    NamedError::new(
                        "Svless.MalformedEvent",
                        format!(
                            "a {} record is malformed and has no sequence number to report: {err}",
                            stream.name
                        ),
                    )
                })?;
                tracing::error!(sequence_number = %sequence, error = %err, "a {} record is malformed", stream.name);
                return Ok(Some(sequence));
            }
        };
        if let Some(failed) = process(stream, handlers, record, invocation).await {
            return Ok(Some(failed));
        }
    }
    Ok(None)
}

/// Gives one record to every handler (the last one takes it without a copy); its sequence
/// number if one fails.
async fn process<R: Clone, S>(
    stream: &Stream<R>,
    handlers: &[&RecordHandler<R, S>],
    record: R,
    invocation: &Invocation<S>,
) -> Option<String> {
    let sequence = (stream.sequence)(&record);
    let mut record = Some(record);
    for (i, handler) in handlers.iter().enumerate() {
        let this = if i + 1 == handlers.len() {
            record.take()
        } else {
            record.clone()
        };
        let Some(this) = this else { break };
        if let Err(err) = handler(this, invocation.clone()).await {
            tracing::error!(sequence_number = %sequence, error_type = %err.error_type(), error = %err.message(), "a {} record failed; the batch stops here", stream.name);
            return Some(sequence);
        }
    }
    None
}
