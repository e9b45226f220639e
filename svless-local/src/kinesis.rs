//! Local Kinesis data streams: the API subset producers need (`CreateStream`, `PutRecord`,
//! `PutRecords`, `DescribeStreamSummary`, `ListStreams`, in the JSON protocol the AWS SDKs
//! speak), records placed on shards by the MD5 hash of their partition key as Kinesis places
//! them, and an event source mapping that delivers each shard in order to the app's
//! `#[svless::kinesis]` handlers with Lambda's retry semantics (checkpoint from
//! `batchItemFailures`, bisection, maximum retries, an on-failure record).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use md5::{Digest as _, Md5};
use serde_json::{Value, json};
use svless_core::{App, Context};
use svless_store::delivery::{FailureSink, StreamMapping};
use tokio::sync::Notify;

const ACCOUNT: &str = "123456789012";
/// Kinesis's largest record: 1 MiB of data and partition key.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// A Kinesis API error: the `__type` the SDK reads, and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KinesisError {
    /// `ResourceNotFoundException`, `ValidationException`, …
    pub code: &'static str,
    /// What Kinesis says.
    pub message: String,
}

fn err(code: &'static str, message: impl Into<String>) -> KinesisError {
    KinesisError {
        code,
        message: message.into(),
    }
}

#[derive(Debug, Clone)]
struct StoredRecord {
    sequence: String,
    partition_key: String,
    data: String,
    arrival: f64,
}

#[derive(Debug)]
struct Shard {
    id: String,
    /// The first hash key of the shard's range (the ranges split 0..2^128 evenly).
    start: u128,
    next: u64,
    pending: VecDeque<StoredRecord>,
}

#[derive(Debug)]
struct Stream {
    name: String,
    shards: Vec<Shard>,
    created: f64,
}

/// The local streams, shared by the API and the deliveries.
#[derive(Clone, Default)]
pub struct Streams {
    inner: Arc<Mutex<BTreeMap<String, Stream>>>,
    changed: Arc<Notify>,
}

impl std::fmt::Debug for Streams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Streams").finish_non_exhaustive()
    }
}

fn now() -> f64 {
    chrono::Utc::now().timestamp_millis() as f64 / 1000.0
}

fn arn(name: &str) -> String {
    format!("arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{name}")
}

/// The 128-bit hash key Kinesis derives from a partition key (MD5, big-endian).
fn hash_key(partition_key: &str) -> u128 {
    let digest = Md5::digest(partition_key.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest);
    u128::from_be_bytes(bytes)
}

impl Streams {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Stream>> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn name_of(body: &Value) -> Result<String, KinesisError> {
        if let Some(name) = body["StreamName"].as_str() {
            return Ok(name.to_owned());
        }
        if let Some(arn) = body["StreamARN"].as_str() {
            return arn
                .rsplit('/')
                .next()
                .map(str::to_owned)
                .ok_or_else(|| err("ValidationException", "the stream ARN is malformed"));
        }
        Err(err(
            "ValidationException",
            "Either StreamName or StreamARN should be provided.",
        ))
    }

    /// Answers one operation with its JSON body.
    pub(crate) fn call(&self, operation: &str, body: &Value) -> Result<Value, KinesisError> {
        match operation {
            "CreateStream" => {
                let name = Self::name_of(body)?;
                let count = body["ShardCount"].as_u64().unwrap_or(1);
                if !(1..=64).contains(&count) {
                    return Err(err(
                        "ValidationException",
                        "the local streams take 1 to 64 shards",
                    ));
                }
                let mut streams = self.lock();
                if streams.contains_key(&name) {
                    return Err(err(
                        "ResourceInUseException",
                        format!("Stream {name} under account {ACCOUNT} already exists."),
                    ));
                }
                let width = u128::MAX / u128::from(count);
                let shards = (0..count)
                    .map(|i| Shard {
                        id: format!("shardId-{i:012}"),
                        start: width * u128::from(i),
                        next: 0,
                        pending: VecDeque::new(),
                    })
                    .collect();
                streams.insert(
                    name.clone(),
                    Stream {
                        name,
                        shards,
                        created: now(),
                    },
                );
                drop(streams);
                self.changed.notify_waiters();
                Ok(json!({}))
            }
            "DescribeStreamSummary" => {
                let name = Self::name_of(body)?;
                let streams = self.lock();
                let stream = streams.get(&name).ok_or_else(|| not_found(&name))?;
                Ok(json!({"StreamDescriptionSummary": {
                    "StreamName": stream.name,
                    "StreamARN": arn(&stream.name),
                    "StreamStatus": "ACTIVE",
                    "StreamModeDetails": {"StreamMode": "PROVISIONED"},
                    "RetentionPeriodHours": 24,
                    "StreamCreationTimestamp": stream.created,
                    "EnhancedMonitoring": [],
                    "EncryptionType": "NONE",
                    "OpenShardCount": stream.shards.len(),
                    "ConsumerCount": 0,
                }}))
            }
            "ListStreams" => {
                let names: Vec<String> = self.lock().keys().cloned().collect();
                Ok(json!({"StreamNames": names, "HasMoreStreams": false}))
            }
            "PutRecord" => {
                let name = Self::name_of(body)?;
                self.put(&name, body)
            }
            "PutRecords" => {
                let name = Self::name_of(body)?;
                let records = body["Records"]
                    .as_array()
                    .filter(|r| !r.is_empty())
                    .ok_or_else(|| err("ValidationException", "1 validation error detected: Value at 'records' failed to satisfy constraint: Member must have length greater than or equal to 1"))?;
                if records.len() > 500 {
                    return Err(err(
                        "ValidationException",
                        format!(
                            "1 validation error detected: Value '{}' at 'records' failed to satisfy constraint: Member must have length less than or equal to 500",
                            records.len()
                        ),
                    ));
                }
                let mut out = Vec::new();
                let mut failed = 0;
                for record in records {
                    match self.put(&name, record) {
                        Ok(answer) => out.push(answer),
                        Err(e) if e.code == "ResourceNotFoundException" => return Err(e),
                        Err(e) => {
                            failed += 1;
                            out.push(json!({"ErrorCode": e.code, "ErrorMessage": e.message}));
                        }
                    }
                }
                Ok(json!({"FailedRecordCount": failed, "Records": out}))
            }
            other => Err(err(
                "UnknownOperationException",
                format!(
                    "the local streams answer CreateStream, DescribeStreamSummary, ListStreams, PutRecord and PutRecords, not {other}"
                ),
            )),
        }
    }

    fn put(&self, name: &str, record: &Value) -> Result<Value, KinesisError> {
        let partition_key = record["PartitionKey"]
            .as_str()
            .filter(|k| !k.is_empty() && k.chars().count() <= 256)
            .ok_or_else(|| err("ValidationException", "1 validation error detected: Value at 'partitionKey' failed to satisfy constraint: Member must have length between 1 and 256"))?;
        let data = record["Data"]
            .as_str()
            .ok_or_else(|| err("ValidationException", "1 validation error detected: Value null at 'data' failed to satisfy constraint: Member must not be null"))?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|_| err("SerializationException", "the record's Data is not base64"))?;
        if bytes.len() + partition_key.len() > MAX_RECORD_BYTES {
            return Err(err(
                "ValidationException",
                "1 validation error detected: Value at 'data' failed to satisfy constraint: Member must have length less than or equal to 1048576",
            ));
        }
        let hash = match record["ExplicitHashKey"].as_str() {
            Some(explicit) => explicit.parse::<u128>().map_err(|_| {
                err(
                    "InvalidArgumentException",
                    "ExplicitHashKey must be a decimal 128-bit number",
                )
            })?,
            None => hash_key(partition_key),
        };
        let mut streams = self.lock();
        let stream = streams.get_mut(name).ok_or_else(|| not_found(name))?;
        let shard_index = stream
            .shards
            .iter()
            .rposition(|s| s.start <= hash)
            .unwrap_or(0);
        let shard = &mut stream.shards[shard_index];
        shard.next += 1;
        let sequence = format!("4959{:04}{:048}", shard_index, shard.next);
        shard.pending.push_back(StoredRecord {
            sequence: sequence.clone(),
            partition_key: partition_key.to_owned(),
            data: data.to_owned(),
            arrival: now(),
        });
        let shard_id = shard.id.clone();
        drop(streams);
        self.changed.notify_waiters();
        Ok(json!({"ShardId": shard_id, "SequenceNumber": sequence, "EncryptionType": "NONE"}))
    }

    /// Takes up to `max` records of one shard.
    fn take(&self, stream: &str, shard: usize, max: usize) -> Vec<StoredRecord> {
        let mut streams = self.lock();
        let Some(shard) = streams
            .get_mut(stream)
            .and_then(|s| s.shards.get_mut(shard))
        else {
            return Vec::new();
        };
        let n = shard.pending.len().min(max);
        shard.pending.drain(..n).collect()
    }

    fn shards(&self) -> Vec<(String, usize, String)> {
        self.lock()
            .values()
            .flat_map(|s| {
                s.shards
                    .iter()
                    .enumerate()
                    .map(|(i, shard)| (s.name.clone(), i, shard.id.clone()))
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

fn not_found(name: &str) -> KinesisError {
    err(
        "ResourceNotFoundException",
        format!("Stream {name} under account {ACCOUNT} not found."),
    )
}

/// The record Lambda gives a handler (the Lambda developer guide's example Kinesis event).
fn event_record(stream: &str, shard_id: &str, r: &StoredRecord) -> Value {
    json!({
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": r.partition_key,
            "sequenceNumber": r.sequence,
            "data": r.data,
            "approximateArrivalTimestamp": r.arrival,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": format!("{shard_id}:{}", r.sequence),
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": format!("arn:aws:iam::{ACCOUNT}:role/svless-local"),
        "awsRegion": "us-east-1",
        "eventSourceARN": arn(stream),
    })
}

/// Delivers every shard of every stream, each in order, until the task is stopped.
pub(crate) async fn deliver<S: Send + Sync + 'static>(
    app: Arc<App<S>>,
    streams: Streams,
    mapping: StreamMapping,
    sink: FailureSink,
) {
    let mut running = std::collections::HashSet::new();
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let changed = streams.changed.notified();
        for (stream, shard, shard_id) in streams.shards() {
            if running.insert((stream.clone(), shard)) {
                tasks.spawn(shard_loop(
                    app.clone(),
                    streams.clone(),
                    stream,
                    shard,
                    shard_id,
                    mapping.clone(),
                    sink.clone(),
                ));
            }
        }
        changed.await;
    }
}

async fn shard_loop<S: Send + Sync + 'static>(
    app: Arc<App<S>>,
    streams: Streams,
    stream: String,
    shard: usize,
    shard_id: String,
    mapping: StreamMapping,
    sink: FailureSink,
) {
    loop {
        let changed = streams.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        let batch = streams.take(&stream, shard, mapping.batch_size.max(1));
        if batch.is_empty() {
            changed.await;
            continue;
        }
        process(&app, &stream, &shard_id, batch, &mapping, &sink).await;
    }
}

/// One batch to success or to its on-failure record, as a Kinesis event source mapping.
async fn process<S: Send + Sync + 'static>(
    app: &App<S>,
    stream: &str,
    shard_id: &str,
    batch: Vec<StoredRecord>,
    mapping: &StreamMapping,
    sink: &FailureSink,
) {
    let mut todo = vec![batch];
    while let Some(mut batch) = todo.pop() {
        let mut retries = 0u32;
        let mut wait = mapping.retry_backoff;
        let mut invocations = 0u32;
        loop {
            invocations += 1;
            let records: Vec<Value> = batch
                .iter()
                .map(|r| event_record(stream, shard_id, r))
                .collect();
            let payload = json!({ "Records": records }).to_string();
            let failed_from = match app.dispatch(payload.as_bytes(), Context::local()).await {
                Ok(answer) => {
                    let answer: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
                    match answer["batchItemFailures"].as_array() {
                        None => break,
                        Some(failures) if failures.is_empty() => break,
                        Some(failures) => {
                            let positions: Option<Vec<usize>> = failures
                                .iter()
                                .map(|f| {
                                    let id = f["itemIdentifier"].as_str()?;
                                    batch.iter().position(|r| r.sequence == id)
                                })
                                .collect();
                            // An identifier that is not one of the batch's fails it all.
                            positions.and_then(|p| p.into_iter().min()).unwrap_or(0)
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!(
                        stream,
                        shard = shard_id,
                        error_type = error.error_type(),
                        error = error.message(),
                        "a Kinesis batch failed"
                    );
                    if mapping.bisect_batch_on_function_error && batch.len() > 1 {
                        let second = batch.split_off(batch.len() / 2);
                        todo.push(second);
                        todo.push(batch);
                        break;
                    }
                    0
                }
            };
            // The records before the first failure are checkpointed.
            batch.drain(..failed_from);
            if mapping
                .maximum_retry_attempts
                .is_some_and(|max| retries >= max)
            {
                let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
                    break;
                };
                let record = json!({
                    "requestContext": {
                        "requestId": svless_core::local::request_id(),
                        "functionArn": "arn:aws:lambda:us-east-1:000000000000:function:svless-local:$LATEST",
                        "condition": "RetryAttemptsExhausted",
                        "approximateInvokeCount": invocations,
                    },
                    "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
                    "version": "1.0",
                    "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    "KinesisBatchInfo": {
                        "shardId": shard_id,
                        "startSequenceNumber": first.sequence,
                        "endSequenceNumber": last.sequence,
                        "approximateArrivalOfFirstRecord": first.arrival,
                        "approximateArrivalOfLastRecord": last.arrival,
                        "batchSize": batch.len(),
                        "streamArn": arn(stream),
                    },
                });
                tracing::error!(record = %record, "gave up on a Kinesis batch: its on-failure record follows");
                sink(record);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_keys_land_on_the_shard_their_md5_hash_falls_in() {
        let streams = Streams::default();
        streams
            .call("CreateStream", &json!({"StreamName": "s", "ShardCount": 4}))
            .expect("created");
        for key in ["a", "b", "c", "alpha", "beta", "42"] {
            let out = streams
                .call(
                    "PutRecord",
                    &json!({"StreamName": "s", "PartitionKey": key, "Data": "eA=="}),
                )
                .expect("put");
            let expected = (hash_key(key) / (u128::MAX / 4)).min(3);
            assert_eq!(out["ShardId"], format!("shardId-{expected:012}"), "{key}");
        }
        let missing = streams
            .call(
                "PutRecord",
                &json!({"StreamName": "nope", "PartitionKey": "a", "Data": "eA=="}),
            )
            .expect_err("no stream");
        assert_eq!(missing.code, "ResourceNotFoundException");
    }
}
