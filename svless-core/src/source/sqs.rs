//! SQS: typed message bodies, partial batch responses with queue (and FIFO group) semantics.

use super::RecordHandler;
use crate::invocation::Invocation;
use crate::named_error::NamedError;
use aws_lambda_events::sqs::SqsMessage;
use serde::de::DeserializeOwned;
use std::collections::{HashMap, HashSet};
use std::future::Future;

/// One SQS message with its body decoded from JSON into `T` (`String` takes the raw text).
///
/// ```
/// use svless_core::source::sqs::Message;
///
/// #[derive(serde::Deserialize)]
/// struct Job { image: String }
///
/// async fn on_job(message: Message<Job>) {
///     println!("{} asks to resize {}", message.message_id, message.body.image);
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Message<T> {
    /// The body.
    pub body: T,
    /// The message id (what a partial batch response reports).
    pub message_id: String,
    /// The FIFO message group, if the queue is FIFO.
    pub group_id: Option<String>,
    /// How many times the message has been received (`ApproximateReceiveCount`).
    pub receive_count: u32,
    /// System attributes (`SentTimestamp`, `SenderId`, ...).
    pub attributes: HashMap<String, String>,
    /// Message attributes' string values.
    pub message_attributes: HashMap<String, String>,
    /// The queue's ARN.
    pub queue_arn: Option<String>,
}

/// How a body becomes the handler's type: JSON, or the raw text for `String`.
///
/// ```
/// use svless_core::source::sqs::FromBody;
/// assert_eq!(String::from_body("plain text").expect("raw text"), "plain text");
/// assert_eq!(String::from_body("\"quoted\"").expect("raw text"), "\"quoted\"");
/// assert_eq!(u32::from_body("7").expect("JSON"), 7);
/// ```
pub trait FromBody: Sized {
    /// Decodes the body.
    fn from_body(body: &str) -> Result<Self, String>;
}

impl<T: DeserializeOwned + 'static> FromBody for T {
    fn from_body(body: &str) -> Result<Self, String> {
        let as_text = || {
            T::deserialize(serde::de::value::StrDeserializer::<serde::de::value::Error>::new(body))
        };
        // `String` takes the body exactly as sent, even when it happens to be valid JSON (a
        // quoted `"text"` keeps its quotes).
        if std::any::TypeId::of::<T>() == std::any::TypeId::of::<String>() {
            return as_text().map_err(|e| e.to_string());
        }
        // Other types read JSON; a plain-text body can still be a unit enum variant's name.
        match serde_json::from_str(body) {
            Ok(value) => Ok(value),
            Err(err) => as_text().map_err(|_| {
                format!("the message body does not decode into the handler's type: {err}")
            }),
        }
    }
}

impl<T: FromBody> Message<T> {
    /// Decodes a message of an `aws_lambda_events` SQS event.
    ///
    /// ```
    /// use svless_core::source::sqs::Message;
    /// let raw: aws_lambda_events::sqs::SqsMessage = serde_json::from_value(serde_json::json!({
    ///     "messageId": "m1", "body": "{\"n\": 3}", "attributes": {"ApproximateReceiveCount": "2"},
    ///     "messageAttributes": {}, "eventSource": "aws:sqs"
    /// })).expect("a message");
    /// let message = Message::<serde_json::Value>::from_record(raw).expect("decodes");
    /// assert_eq!((message.body["n"].as_u64(), message.receive_count), (Some(3), 2));
    /// ```
    pub fn from_record(message: SqsMessage) -> Result<Self, String> {
        let body = T::from_body(message.body.as_deref().unwrap_or(""))?;
        let receive_count = message
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|c| c.parse().ok())
            .unwrap_or(1);
        Ok(Message {
            body,
            message_id: message.message_id.unwrap_or_default(),
            group_id: message.attributes.get("MessageGroupId").cloned(),
            receive_count,
            message_attributes: message
                .message_attributes
                .into_iter()
                .filter_map(|(k, v)| v.string_value.map(|s| (k, s)))
                .collect(),
            attributes: message.attributes,
            queue_arn: message.event_source_arn,
        })
    }
}

pub(crate) struct Subscription<S> {
    pub(crate) handler: RecordHandler<SqsMessage, S>,
}

impl<S> Clone for Subscription<S> {
    fn clone(&self) -> Self {
        Subscription {
            handler: self.handler.clone(),
        }
    }
}

/// Registers an SQS handler on `sources` (what `#[svless::sqs]` generates).
///
/// ```
/// use svless_core::source::{Sources, Subscribe, sqs};
/// struct Jobs;
/// impl<S: Send + Sync + 'static> Subscribe<S> for Jobs {
///     fn subscribe(self, sources: &mut Sources<S>) {
///         sqs::subscribe(sources, |message: sqs::Message<String>, _inv| async move {
///             println!("{}", message.body);
///             Ok(())
///         });
///     }
/// }
/// let app = svless_core::App::new().on(Jobs);
/// ```
pub fn subscribe<S, T, F, Fut>(sources: &mut super::Sources<S>, handler: F)
where
    T: FromBody + Send + 'static,
    F: Fn(Message<T>, Invocation<S>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), NamedError>> + Send + 'static,
{
    let handler = super::typed(Message::<T>::from_record, handler);
    sources.sqs.push(Subscription { handler });
}

/// Runs a batch; the ids of the messages that failed (or were not tried because an earlier
/// message of their FIFO group failed).
pub(crate) async fn run<S>(
    subscriptions: &[Subscription<S>],
    payload: &[u8],
    invocation: &Invocation<S>,
) -> Result<Vec<String>, NamedError> {
    let event: aws_lambda_events::sqs::SqsEvent = serde_json::from_slice(payload).map_err(|e| {
        NamedError::new(
            "Svless.MalformedEvent",
            format!("the SQS event is malformed: {e}"),
        )
    })?;
    let mut failed = Vec::new();
    let mut stopped_groups: HashSet<String> = HashSet::new();
    for message in event.records {
        let id = message.message_id.clone().unwrap_or_default();
        let group = message.attributes.get("MessageGroupId").cloned();
        if let Some(group) = &group
            && stopped_groups.contains(group)
        {
            // FIFO: a group stops at its first failure, so later messages keep their order.
            failed.push(id);
            continue;
        }
        for subscription in subscriptions {
            if let Err(err) = (subscription.handler)(message.clone(), invocation.clone()).await {
                tracing::error!(message_id = %id, error_type = %err.error_type(), error = %err.message(), "an SQS message failed");
                failed.push(id.clone());
                if let Some(group) = &group {
                    stopped_groups.insert(group.clone());
                }
                break;
            }
        }
    }
    Ok(failed)
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

/// Whether SQS takes events of `kind`.
pub(crate) fn takes(kind: &super::SourceKind) -> bool {
    matches!(kind, super::SourceKind::Sqs)
}

/// Runs a batch; each failed message is reported, FIFO groups stop at their first failure.
pub(crate) async fn dispatch<S: Send + Sync + 'static>(
    sources: &super::Sources<S>,
    _kind: &super::SourceKind,
    payload: &[u8],
    invocation: Invocation<S>,
) -> Result<Vec<u8>, NamedError> {
    super::batch::answer(
        sources.sqs.is_empty(),
        "SQS messages",
        run(&sources.sqs, payload, &invocation),
    )
    .await
}
