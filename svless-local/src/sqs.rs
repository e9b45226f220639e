//! Local SQS queues: the API subset app code needs (`CreateQueue`, `GetQueueUrl`,
//! `SendMessage`, `SendMessageBatch`, `ReceiveMessage`, `DeleteMessage`,
//! `GetQueueAttributes`, in the JSON protocol the AWS SDKs speak), and an event source mapping
//! that delivers messages to the app's `#[svless::sqs]` handlers as Lambda does: batches,
//! the visibility timeout, partial batch failures, redrive to a dead-letter queue after
//! `maxReceiveCount` receives, FIFO message groups in order.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use md5::{Digest as _, Md5};
use serde_json::{Map, Value, json};
use svless_core::{App, Context};
use tokio::sync::Notify;

const ACCOUNT: &str = "123456789012";
/// SQS's largest message: 1 MiB (the limit since August 2025; it was 256 KiB).
pub const MAX_MESSAGE_BYTES: usize = 1_048_576;

/// An SQS API error: the `__type` the SDK reads, and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsError {
    /// `QueueDoesNotExist`, `InvalidParameterValue`, …
    pub code: &'static str,
    /// What SQS says.
    pub message: String,
}

/// The query protocol's name of an error (what `x-amzn-query-error` carries and the SDKs
/// report as the error code).
pub(crate) fn query_code(code: &str) -> &str {
    match code {
        "QueueDoesNotExist" => "AWS.SimpleQueueService.NonExistentQueue",
        "QueueNameExists" => "QueueAlreadyExists",
        "BatchEntryIdsNotDistinct" => "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
        "EmptyBatchRequest" => "AWS.SimpleQueueService.EmptyBatchRequest",
        "TooManyEntriesInBatchRequest" => "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        "BatchRequestTooLong" => "AWS.SimpleQueueService.BatchRequestTooLong",
        "UnsupportedOperation" => "AWS.SimpleQueueService.UnsupportedOperation",
        other => other,
    }
}

fn err(code: &'static str, message: impl Into<String>) -> SqsError {
    SqsError {
        code,
        message: message.into(),
    }
}

#[derive(Debug, Clone)]
struct Message {
    id: String,
    body: String,
    attributes: Map<String, Value>,
    md5_of_body: String,
    sent: SystemTime,
    first_received: Option<SystemTime>,
    receive_count: u32,
    /// Not visible before this instant (delay, or in flight).
    visible_at: Instant,
    receipt: Option<String>,
    group: Option<String>,
    dedup: Option<String>,
    sequence: Option<String>,
}

#[derive(Debug)]
struct Queue {
    name: String,
    fifo: bool,
    visibility: Duration,
    delay: Duration,
    content_dedup: bool,
    /// The dead-letter queue's name and the receives after which a message goes there.
    redrive: Option<(String, u32)>,
    attributes: BTreeMap<String, String>,
    messages: VecDeque<Message>,
    /// FIFO deduplication ids seen in the last five minutes.
    dedup: HashMap<String, (Instant, String)>,
    sequence: u64,
}

/// The queues, shared by the API and the deliveries.
#[derive(Clone, Default)]
pub struct Queues {
    inner: Arc<Mutex<HashMap<String, Queue>>>,
    /// Told whenever a message may have become deliverable.
    changed: Arc<Notify>,
    endpoint: Arc<Mutex<String>>,
}

impl std::fmt::Debug for Queues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queues").finish_non_exhaustive()
    }
}

fn md5_hex(bytes: &[u8]) -> String {
    let digest = Md5::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// MD5 of message attributes as SQS computes it (names sorted; each name, data type, transport
/// type and value length-prefixed).
fn md5_of_attributes(attributes: &Map<String, Value>) -> Option<String> {
    if attributes.is_empty() {
        return None;
    }
    let mut names: Vec<&String> = attributes.keys().collect();
    names.sort();
    let mut bytes = Vec::new();
    let put = |data: &[u8], bytes: &mut Vec<u8>| {
        bytes.extend_from_slice(&(data.len() as u32).to_be_bytes());
        bytes.extend_from_slice(data);
    };
    for name in names {
        let attribute = &attributes[name];
        let data_type = attribute["DataType"].as_str().unwrap_or("String");
        put(name.as_bytes(), &mut bytes);
        put(data_type.as_bytes(), &mut bytes);
        if data_type.starts_with("Binary") {
            bytes.push(2);
            let value = attribute["BinaryValue"].as_str().unwrap_or_default();
            use base64::Engine as _;
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(value)
                .unwrap_or_default();
            put(&decoded, &mut bytes);
        } else {
            bytes.push(1);
            put(
                attribute["StringValue"]
                    .as_str()
                    .unwrap_or_default()
                    .as_bytes(),
                &mut bytes,
            );
        }
    }
    Some(md5_hex(&bytes))
}

/// The characters SQS allows in a message: `#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to
/// #xFFFD | #x10000 to #x10FFFF`.
fn valid_body(body: &str) -> bool {
    body.chars().all(|c| {
        matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
    })
}

fn millis(time: SystemTime) -> String {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
        .to_string()
}

impl Queues {
    /// Queues whose URLs start with `endpoint` (the services port).
    pub(crate) fn new(endpoint: &str) -> Self {
        let queues = Self::default();
        *queues
            .endpoint
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = endpoint.to_owned();
        queues
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Queue>> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn url(&self, name: &str) -> String {
        format!(
            "{}/{ACCOUNT}/{name}",
            self.endpoint
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        )
    }

    /// The ARN of the queue `name`.
    pub fn arn(name: &str) -> String {
        format!("arn:aws:sqs:us-east-1:{ACCOUNT}:{name}")
    }

    fn name_of(url: &str) -> String {
        url.trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    /// The names of the queues that no other queue uses as its dead-letter queue.
    pub(crate) fn sources(&self) -> Vec<String> {
        let queues = self.lock();
        let targets: HashSet<&String> = queues
            .values()
            .filter_map(|q| q.redrive.as_ref().map(|(dlq, _)| dlq))
            .collect();
        queues
            .keys()
            .filter(|name| !targets.contains(name))
            .cloned()
            .collect()
    }

    /// Answers one operation with its JSON body.
    pub(crate) fn call(&self, operation: &str, body: &Value) -> Result<Value, SqsError> {
        match operation {
            "CreateQueue" => self.create_queue(body),
            "GetQueueUrl" => {
                let name = body["QueueName"].as_str().ok_or_else(|| {
                    err(
                        "MissingParameter",
                        "The request must contain the parameter QueueName.",
                    )
                })?;
                if !self.lock().contains_key(name) {
                    return Err(err(
                        "QueueDoesNotExist",
                        "The specified queue does not exist.",
                    ));
                }
                Ok(json!({"QueueUrl": self.url(name)}))
            }
            "SendMessage" => {
                let name = self.queue_of(body)?;
                self.send(&name, body)
            }
            "SendMessageBatch" => self.send_batch(body),
            "ReceiveMessage" => self.receive(body),
            "DeleteMessage" => {
                let name = self.queue_of(body)?;
                let receipt = body["ReceiptHandle"].as_str().ok_or_else(|| {
                    err(
                        "MissingParameter",
                        "The request must contain the parameter ReceiptHandle.",
                    )
                })?;
                let mut queues = self.lock();
                let queue = queues.get_mut(&name).ok_or_else(|| {
                    err("QueueDoesNotExist", "The specified queue does not exist.")
                })?;
                queue
                    .messages
                    .retain(|m| m.receipt.as_deref() != Some(receipt));
                drop(queues);
                self.changed.notify_waiters();
                Ok(json!({}))
            }
            "GetQueueAttributes" => {
                let name = self.queue_of(body)?;
                let queues = self.lock();
                let queue = queues.get(&name).ok_or_else(|| {
                    err("QueueDoesNotExist", "The specified queue does not exist.")
                })?;
                let now = Instant::now();
                let visible = queue
                    .messages
                    .iter()
                    .filter(|m| m.visible_at <= now)
                    .count();
                let mut attributes: Map<String, Value> = queue
                    .attributes
                    .iter()
                    .map(|(k, v)| (k.clone(), json!(v)))
                    .collect();
                attributes.insert("QueueArn".into(), json!(Self::arn(&queue.name)));
                attributes.insert(
                    "ApproximateNumberOfMessages".into(),
                    json!(visible.to_string()),
                );
                attributes.insert(
                    "ApproximateNumberOfMessagesNotVisible".into(),
                    json!((queue.messages.len() - visible).to_string()),
                );
                Ok(json!({"Attributes": attributes}))
            }
            other => Err(err(
                "UnsupportedOperation",
                format!(
                    "the local queues answer CreateQueue, GetQueueUrl, SendMessage, SendMessageBatch, ReceiveMessage, DeleteMessage and GetQueueAttributes, not {other}"
                ),
            )),
        }
    }

    fn queue_of(&self, body: &Value) -> Result<String, SqsError> {
        let url = body["QueueUrl"].as_str().ok_or_else(|| {
            err(
                "MissingParameter",
                "The request must contain the parameter QueueUrl.",
            )
        })?;
        let name = Self::name_of(url);
        if self.lock().contains_key(&name) {
            Ok(name)
        } else {
            Err(err(
                "QueueDoesNotExist",
                "The specified queue does not exist.",
            ))
        }
    }

    fn create_queue(&self, body: &Value) -> Result<Value, SqsError> {
        let name = body["QueueName"].as_str().ok_or_else(|| {
            err(
                "MissingParameter",
                "The request must contain the parameter QueueName.",
            )
        })?;
        let valid = !name.is_empty()
            && name.len() <= 80
            && name
                .trim_end_matches(".fifo")
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(err(
                "InvalidParameterValue",
                "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
            ));
        }
        let attributes: BTreeMap<String, String> = body["Attributes"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let fifo = attributes.get("FifoQueue").is_some_and(|v| v == "true");
        if fifo != name.ends_with(".fifo") {
            return Err(err(
                "InvalidParameterValue",
                "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.",
            ));
        }
        let seconds = |key: &str, default: u64, max: u64| -> Result<Duration, SqsError> {
            match attributes.get(key) {
                None => Ok(Duration::from_secs(default)),
                Some(v) => v
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n <= max)
                    .map(Duration::from_secs)
                    .ok_or_else(|| {
                        err(
                            "InvalidAttributeValue",
                            format!("Invalid value for the parameter {key}."),
                        )
                    }),
            }
        };
        let visibility = seconds("VisibilityTimeout", 30, 43_200)?;
        let delay = seconds("DelaySeconds", 0, 900)?;
        let redrive = match attributes.get("RedrivePolicy") {
            None => None,
            Some(policy) => {
                let policy: Value = serde_json::from_str(policy)
                    .map_err(|_| err("InvalidAttributeValue", "Invalid value for the parameter RedrivePolicy. Reason: Redrive policy is not a valid JSON map."))?;
                let target = policy["deadLetterTargetArn"]
                    .as_str()
                    .and_then(|arn| arn.rsplit(':').next())
                    .ok_or_else(|| err("InvalidAttributeValue", "Invalid value for the parameter RedrivePolicy. Reason: Redrive policy does not contain mandatory attribute: deadLetterTargetArn."))?;
                let max = policy["maxReceiveCount"]
                    .as_u64()
                    .or_else(|| policy["maxReceiveCount"].as_str().and_then(|s| s.parse().ok()))
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| err("InvalidAttributeValue", "Invalid value for the parameter RedrivePolicy. Reason: Invalid value for maxReceiveCount: must be between 1 and 1000."))?;
                if !self.lock().contains_key(target) {
                    return Err(err(
                        "InvalidAttributeValue",
                        "Invalid value for the parameter RedrivePolicy. Reason: Dead letter target does not exist.",
                    ));
                }
                Some((target.to_owned(), max as u32))
            }
        };
        let mut queues = self.lock();
        if let Some(existing) = queues.get(name) {
            if existing.attributes != attributes {
                return Err(err(
                    "QueueNameExists",
                    "A queue already exists with the same name and a different value for attribute(s)",
                ));
            }
        } else {
            queues.insert(
                name.to_owned(),
                Queue {
                    name: name.to_owned(),
                    fifo,
                    visibility,
                    delay,
                    content_dedup: attributes
                        .get("ContentBasedDeduplication")
                        .is_some_and(|v| v == "true"),
                    redrive,
                    attributes,
                    messages: VecDeque::new(),
                    dedup: HashMap::new(),
                    sequence: 0,
                },
            );
        }
        drop(queues);
        self.changed.notify_waiters();
        Ok(json!({"QueueUrl": self.url(name)}))
    }

    fn send(&self, name: &str, entry: &Value) -> Result<Value, SqsError> {
        let body = entry["MessageBody"].as_str().ok_or_else(|| {
            err(
                "MissingParameter",
                "The request must contain the parameter MessageBody.",
            )
        })?;
        // The queue's own requirements are checked before the body, as SQS checks them.
        let (fifo, content_dedup) = self
            .lock()
            .get(name)
            .map(|q| (q.fifo, q.content_dedup))
            .ok_or_else(|| err("QueueDoesNotExist", "The specified queue does not exist."))?;
        if fifo && entry["MessageGroupId"].as_str().is_none() {
            return Err(err(
                "MissingParameter",
                "The request must contain the parameter MessageGroupId.",
            ));
        }
        if fifo && entry["MessageDeduplicationId"].as_str().is_none() && !content_dedup {
            return Err(err(
                "InvalidParameterValue",
                "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
            ));
        }
        if body.is_empty() {
            return Err(err(
                "MissingParameter",
                "The request must contain the parameter MessageBody.",
            ));
        }
        if body.len() > MAX_MESSAGE_BYTES {
            return Err(err(
                "InvalidParameterValue",
                "One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes.",
            ));
        }
        if !valid_body(body) {
            return Err(err(
                "InvalidMessageContents",
                "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF",
            ));
        }
        let attributes = entry["MessageAttributes"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let mut queues = self.lock();
        let queue = queues
            .get_mut(name)
            .ok_or_else(|| err("QueueDoesNotExist", "The specified queue does not exist."))?;
        let group = entry["MessageGroupId"].as_str().map(str::to_owned);
        let md5_of_body = md5_hex(body.as_bytes());
        let mut dedup = entry["MessageDeduplicationId"].as_str().map(str::to_owned);
        let mut sequence = None;
        let id = uuid::Uuid::new_v4().to_string();
        if queue.fifo {
            if group.is_none() {
                return Err(err(
                    "MissingParameter",
                    "The request must contain the parameter MessageGroupId.",
                ));
            }
            if dedup.is_none() && queue.content_dedup {
                use sha2::Digest as _;
                let hash = sha2::Sha256::digest(body.as_bytes());
                dedup = Some(hash.iter().map(|b| format!("{b:02x}")).collect());
            }
            let Some(key) = dedup.clone() else {
                return Err(err(
                    "InvalidParameterValue",
                    "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
                ));
            };
            let now = Instant::now();
            queue
                .dedup
                .retain(|_, (at, _)| now.duration_since(*at) < Duration::from_secs(300));
            if let Some((_, earlier)) = queue.dedup.get(&key) {
                // A duplicate within five minutes is accepted and not delivered again.
                return Ok(json!({"MessageId": earlier, "MD5OfMessageBody": md5_of_body}));
            }
            queue.dedup.insert(key, (now, id.clone()));
            queue.sequence += 1;
            sequence = Some(format!("{:020}", queue.sequence));
        } else {
            // Standard queues take a MessageGroupId (fair queues) and ignore a deduplication id
            // ("applies only to FIFO queues").
            dedup = None;
        }
        let delay = match entry["DelaySeconds"].as_u64() {
            Some(seconds) if queue.fifo && seconds > 0 => {
                return Err(err(
                    "InvalidParameterValue",
                    "Value for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.",
                ));
            }
            Some(seconds) if seconds <= 900 => Duration::from_secs(seconds),
            Some(_) => {
                return Err(err(
                    "InvalidParameterValue",
                    "Value for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.",
                ));
            }
            None => queue.delay,
        };
        let md5_of_attributes = md5_of_attributes(&attributes);
        queue.messages.push_back(Message {
            id: id.clone(),
            body: body.to_owned(),
            attributes,
            md5_of_body: md5_of_body.clone(),
            sent: SystemTime::now(),
            first_received: None,
            receive_count: 0,
            visible_at: Instant::now() + delay,
            receipt: None,
            group,
            dedup,
            sequence: sequence.clone(),
        });
        drop(queues);
        self.changed.notify_waiters();
        let mut out = json!({"MessageId": id, "MD5OfMessageBody": md5_of_body});
        if let Some(md5) = md5_of_attributes {
            out["MD5OfMessageAttributes"] = json!(md5);
        }
        if let Some(sequence) = sequence {
            out["SequenceNumber"] = json!(sequence);
        }
        Ok(out)
    }

    fn send_batch(&self, body: &Value) -> Result<Value, SqsError> {
        let name = self.queue_of(body)?;
        let entries = body["Entries"]
            .as_array()
            .filter(|e| !e.is_empty())
            .ok_or_else(|| {
                err(
                    "EmptyBatchRequest",
                    "There should be at least one SendMessageBatchRequestEntry in the request.",
                )
            })?;
        let ids: HashSet<&str> = entries.iter().filter_map(|e| e["Id"].as_str()).collect();
        if ids.len() != entries.len() {
            return Err(err(
                "BatchEntryIdsNotDistinct",
                "Two or more batch entries in the request have the same Id.",
            ));
        }
        if entries.len() > 10 {
            return Err(err(
                "TooManyEntriesInBatchRequest",
                format!(
                    "Maximum number of entries per request are 10. You have sent {}.",
                    entries.len()
                ),
            ));
        }
        let total: usize = entries
            .iter()
            .map(|e| e["MessageBody"].as_str().map_or(0, str::len))
            .sum();
        if total > MAX_MESSAGE_BYTES {
            return Err(err(
                "BatchRequestTooLong",
                "Batch requests cannot be longer than 1048576 bytes.",
            ));
        }
        let mut successful = Vec::new();
        let mut failed = Vec::new();
        for entry in entries {
            let id = entry["Id"].as_str().unwrap_or_default();
            match self.send(&name, entry) {
                Ok(mut out) => {
                    out["Id"] = json!(id);
                    successful.push(out);
                }
                Err(e) => failed.push(
                    json!({"Id": id, "SenderFault": true, "Code": e.code, "Message": e.message}),
                ),
            }
        }
        Ok(json!({"Successful": successful, "Failed": failed}))
    }

    /// Takes up to `max` visible messages (for a FIFO queue, in order, one group's messages
    /// only while none of that group is in flight), marks them in flight, and moves messages
    /// received too often to the dead-letter queue.
    fn take(&self, name: &str, max: usize, visibility: Option<Duration>) -> Vec<Message> {
        let mut queues = self.lock();
        let mut moved: Vec<(String, Message)> = Vec::new();
        let mut taken = Vec::new();
        if let Some(queue) = queues.get_mut(name) {
            let now = Instant::now();
            let visibility = visibility.unwrap_or(queue.visibility);
            let busy: HashSet<String> = if queue.fifo {
                queue
                    .messages
                    .iter()
                    .filter(|m| m.visible_at > now && m.receipt.is_some())
                    .filter_map(|m| m.group.clone())
                    .collect()
            } else {
                HashSet::new()
            };
            let mut blocked = busy;
            let mut keep = VecDeque::new();
            while let Some(mut message) = queue.messages.pop_front() {
                let visible = message.visible_at <= now;
                let group_free = message.group.as_ref().is_none_or(|g| !blocked.contains(g));
                if taken.len() < max && visible && group_free {
                    if let Some((dlq, max_receives)) = &queue.redrive
                        && message.receive_count >= *max_receives
                    {
                        moved.push((dlq.clone(), message));
                        continue;
                    }
                    message.receive_count += 1;
                    message.first_received.get_or_insert_with(SystemTime::now);
                    message.receipt = Some(uuid::Uuid::new_v4().to_string());
                    message.visible_at = now + visibility;
                    taken.push(message.clone());
                    keep.push_back(message);
                } else {
                    if let Some(group) = &message.group
                        && queue.fifo
                    {
                        // Later messages of a group wait for the earlier ones.
                        blocked.insert(group.clone());
                    }
                    keep.push_back(message);
                }
            }
            queue.messages = keep;
        }
        for (dlq, mut message) in moved {
            if let Some(target) = queues.get_mut(&dlq) {
                tracing::warn!(
                    message_id = message.id,
                    queue = name,
                    dead_letter_queue = dlq,
                    "a message was received too often: moved to the dead-letter queue"
                );
                message.receipt = None;
                message.visible_at = Instant::now();
                target.messages.push_back(message);
            }
        }
        taken
    }

    fn delete_ids(&self, name: &str, ids: &HashSet<String>) {
        if let Some(queue) = self.lock().get_mut(name) {
            queue.messages.retain(|m| !ids.contains(&m.id));
        }
        self.changed.notify_waiters();
    }

    /// The soonest instant a message of `name` becomes visible, if any waits.
    fn next_visible(&self, name: &str) -> Option<Instant> {
        self.lock()
            .get(name)
            .and_then(|q| q.messages.iter().map(|m| m.visible_at).min())
    }

    fn receive(&self, body: &Value) -> Result<Value, SqsError> {
        let name = self.queue_of(body)?;
        let max = body["MaxNumberOfMessages"].as_u64().unwrap_or(1);
        if !(1..=10).contains(&max) {
            return Err(err(
                "InvalidParameterValue",
                "Value for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.",
            ));
        }
        let visibility = body["VisibilityTimeout"].as_u64().map(Duration::from_secs);
        let messages = self.take(&name, max as usize, visibility);
        let messages: Vec<Value> = messages
            .iter()
            .map(|m| {
                let mut out = json!({
                    "MessageId": m.id,
                    "ReceiptHandle": m.receipt,
                    "MD5OfBody": m.md5_of_body,
                    "Body": m.body,
                    "Attributes": system_attributes(m),
                });
                if !m.attributes.is_empty() {
                    out["MessageAttributes"] = Value::Object(m.attributes.clone());
                    if let Some(md5) = md5_of_attributes(&m.attributes) {
                        out["MD5OfMessageAttributes"] = json!(md5);
                    }
                }
                out
            })
            .collect();
        Ok(json!({"Messages": messages}))
    }
}

fn system_attributes(m: &Message) -> Value {
    let mut attributes = json!({
        "ApproximateReceiveCount": m.receive_count.to_string(),
        "SentTimestamp": millis(m.sent),
        "SenderId": "AIDAIENQZJOLO23YVJ4VO",
        "ApproximateFirstReceiveTimestamp": millis(m.first_received.unwrap_or(m.sent)),
    });
    if let Some(group) = &m.group {
        attributes["MessageGroupId"] = json!(group);
    }
    if let Some(dedup) = &m.dedup {
        attributes["MessageDeduplicationId"] = json!(dedup);
    }
    if let Some(sequence) = &m.sequence {
        attributes["SequenceNumber"] = json!(sequence);
    }
    attributes
}

/// The record Lambda gives a handler for a message (the Lambda developer guide's example SQS
/// event).
fn record(queue: &str, m: &Message) -> Value {
    let attributes: Map<String, Value> = m
        .attributes
        .iter()
        .map(|(name, a)| {
            let mut value = json!({
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": a["DataType"],
            });
            if let Some(s) = a.get("StringValue") {
                value["stringValue"] = s.clone();
            }
            if let Some(b) = a.get("BinaryValue") {
                value["binaryValue"] = b.clone();
            }
            (name.clone(), value)
        })
        .collect();
    json!({
        "messageId": m.id,
        "receiptHandle": m.receipt,
        "body": m.body,
        "attributes": system_attributes(m),
        "messageAttributes": attributes,
        "md5OfBody": m.md5_of_body,
        "eventSource": "aws:sqs",
        "eventSourceARN": Queues::arn(queue),
        "awsRegion": "us-east-1",
    })
}

/// An SQS event source mapping's settings, with Lambda's names and defaults.
///
/// ```
/// let mapping = svless_local::sqs::SqsMapping::default();
/// assert_eq!(mapping.batch_size, 10);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct SqsMapping {
    /// `BatchSize` (10).
    pub batch_size: usize,
    /// `MaximumBatchingWindowInSeconds` (0).
    pub maximum_batching_window: Duration,
}

impl Default for SqsMapping {
    fn default() -> Self {
        Self {
            batch_size: 10,
            maximum_batching_window: Duration::ZERO,
        }
    }
}

/// Delivers the messages of every queue that is not a dead-letter queue to the app, until the
/// task is stopped. Queues created later are picked up.
pub(crate) async fn deliver<S: Send + Sync + 'static>(
    app: Arc<App<S>>,
    queues: Queues,
    mapping: SqsMapping,
) {
    let mut running: HashSet<String> = HashSet::new();
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let changed = queues.changed.notified();
        for name in queues.sources() {
            if running.insert(name.clone()) {
                tasks.spawn(poll(app.clone(), queues.clone(), name, mapping));
            }
        }
        changed.await;
    }
}

/// One queue's poller.
async fn poll<S: Send + Sync + 'static>(
    app: Arc<App<S>>,
    queues: Queues,
    name: String,
    mapping: SqsMapping,
) {
    loop {
        let changed = queues.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        if !mapping.maximum_batching_window.is_zero() {
            tokio::time::sleep(mapping.maximum_batching_window).await;
        }
        let batch = queues.take(&name, mapping.batch_size.max(1), None);
        if batch.is_empty() {
            let wake = queues.next_visible(&name).filter(|at| *at > Instant::now());
            match wake {
                Some(at) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at.into()) => {}
                        () = &mut changed => {}
                    }
                }
                None => changed.await,
            }
            continue;
        }
        let records: Vec<Value> = batch.iter().map(|m| record(&name, m)).collect();
        let payload = json!({ "Records": records }).to_string();
        let done: HashSet<String> = match app.dispatch(payload.as_bytes(), Context::local()).await {
            Ok(answer) => {
                let answer: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
                match answer["batchItemFailures"].as_array() {
                    None => batch.iter().map(|m| m.id.clone()).collect(),
                    Some(failures) => {
                        let failed: Option<HashSet<String>> = failures
                            .iter()
                            .map(|f| {
                                f["itemIdentifier"]
                                    .as_str()
                                    .filter(|id| batch.iter().any(|m| m.id == *id))
                                    .map(str::to_owned)
                            })
                            .collect();
                        match failed {
                            // An identifier that names no message of the batch fails it all.
                            None => HashSet::new(),
                            Some(failed) => {
                                if !failed.is_empty() {
                                    tracing::warn!(
                                        queue = name,
                                        failed = failed.len(),
                                        "messages failed: they come back after the visibility timeout"
                                    );
                                }
                                batch
                                    .iter()
                                    .filter(|m| !failed.contains(&m.id))
                                    .map(|m| m.id.clone())
                                    .collect()
                            }
                        }
                    }
                }
            }
            Err(error) => {
                tracing::warn!(
                    queue = name,
                    error_type = error.error_type(),
                    error = error.message(),
                    "the SQS handler failed: the batch comes back after the visibility timeout"
                );
                HashSet::new()
            }
        };
        queues.delete_ids(&name, &done);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The answers where moto differs and the SQS API reference decides (see
    /// `tests/tests/sqs_differential.rs`).
    #[test]
    fn the_documented_refusals_moto_does_not_make() {
        let queues = Queues::new("http://127.0.0.1:3001");
        let code = |op: &str, body: Value| queues.call(op, &body).map(|_| ()).map_err(|e| e.code);
        assert_eq!(
            code("CreateQueue", json!({"QueueName": "plain.fifo"})),
            Err("InvalidParameterValue")
        );
        assert_eq!(code("CreateQueue", json!({"QueueName": "q"})), Ok(()));
        assert_eq!(
            code(
                "CreateQueue",
                json!({"QueueName": "q", "Attributes": {"VisibilityTimeout": "5"}})
            ),
            Err("QueueNameExists")
        );
        let url = "http://127.0.0.1:3001/123456789012/q";
        assert_eq!(
            code("SendMessage", json!({"QueueUrl": url, "MessageBody": ""})),
            Err("MissingParameter")
        );
        assert_eq!(
            code(
                "SendMessage",
                json!({"QueueUrl": url, "MessageBody": "nul \u{1}"})
            ),
            Err("InvalidMessageContents")
        );
        assert_eq!(
            code(
                "CreateQueue",
                json!({"QueueName": "f.fifo", "Attributes": {"FifoQueue": "true", "ContentBasedDeduplication": "true"}})
            ),
            Ok(())
        );
        let fifo = "http://127.0.0.1:3001/123456789012/f.fifo";
        assert_eq!(
            code(
                "SendMessage",
                json!({"QueueUrl": fifo, "MessageBody": "x", "MessageGroupId": "g", "DelaySeconds": 5})
            ),
            Err("InvalidParameterValue")
        );
        // A duplicate within five minutes is accepted and kept once.
        for _ in 0..2 {
            assert_eq!(
                code(
                    "SendMessage",
                    json!({"QueueUrl": fifo, "MessageBody": "same", "MessageGroupId": "g"})
                ),
                Ok(())
            );
        }
        let received = queues
            .call(
                "ReceiveMessage",
                &json!({"QueueUrl": fifo, "MaxNumberOfMessages": 10}),
            )
            .expect("received");
        assert_eq!(received["Messages"].as_array().map(Vec::len), Some(1));
    }
}
