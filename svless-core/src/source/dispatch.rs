//! Events on their way to their handlers: the request event layers wrap, and the hand-over to
//! the source each event belongs to.

use super::{Sources, dynamodb, eventbridge, s3, sqs, websocket};
use crate::context::Context;
use crate::error::BoxError;
use crate::handler::BoxFuture;
use crate::invocation::Invocation;
use crate::named_error::NamedError;
use bytes::Bytes;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use tower::util::BoxCloneSyncService;

/// The source an event belongs to, as event layers see it.
///
/// ```
/// use svless_core::source::SourceKind;
/// assert_eq!(SourceKind::Task("resize".into()).to_string(), "task `resize`");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourceKind {
    /// An S3 event notification (or S3 event through EventBridge).
    S3,
    /// A DynamoDB Streams batch.
    DynamoDbStreams,
    /// An SQS batch.
    Sqs,
    /// An EventBridge event.
    EventBridge,
    /// An API Gateway WebSocket event.
    WebSocket,
    /// A Step Functions task (or a Lambda authorizer), by the task's name.
    Task(String),
}

impl std::fmt::Display for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceKind::S3 => f.write_str("S3 notifications"),
            SourceKind::DynamoDbStreams => f.write_str("DynamoDB stream records"),
            SourceKind::Sqs => f.write_str("SQS messages"),
            SourceKind::EventBridge => f.write_str("EventBridge events"),
            SourceKind::WebSocket => f.write_str("WebSocket events"),
            SourceKind::Task(name) => write!(f, "task `{name}`"),
        }
    }
}

/// One event on its way to its handlers: what [`App::event_layer`](crate::App::event_layer)
/// layers wrap, and what they answer with the response payload (a partial batch response, a
/// task's output, `null`, …) or an error (a [`NamedError`] keeps its name).
///
/// ```
/// use svless_core::source::{EventRequest, SourceKind};
/// let request = EventRequest::new(SourceKind::Sqs, br#"{"Records":[]}"#.to_vec(), svless_core::Context::default());
/// assert_eq!(request.source, SourceKind::Sqs);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EventRequest {
    /// The source it belongs to.
    pub source: SourceKind,
    /// The Lambda payload.
    pub payload: Bytes,
    /// The invocation's context.
    pub context: Context,
}

impl EventRequest {
    /// An event of `source`.
    pub fn new(source: SourceKind, payload: impl Into<Bytes>, context: Context) -> Self {
        EventRequest {
            source,
            payload: payload.into(),
            context,
        }
    }
}

/// The event handlers of an app as one `tower::Service`, for layers to wrap.
pub type EventService = BoxCloneSyncService<EventRequest, Vec<u8>, BoxError>;

/// The innermost event service: hands each event to its source.
pub(crate) struct SourcesService<S> {
    pub(crate) sources: Arc<Sources<S>>,
    pub(crate) state: Arc<S>,
}

impl<S> Clone for SourcesService<S> {
    fn clone(&self) -> Self {
        SourcesService {
            sources: self.sources.clone(),
            state: self.state.clone(),
        }
    }
}

impl<S: Send + Sync + 'static> tower::Service<EventRequest> for SourcesService<S> {
    type Response = Vec<u8>;
    type Error = BoxError;
    type Future = BoxFuture<Result<Vec<u8>, BoxError>>;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: EventRequest) -> Self::Future {
        let sources = self.sources.clone();
        let state = self.state.clone();
        Box::pin(async move {
            sources
                .dispatch(state, request.source, &request.payload, request.context)
                .await
                .map_err(BoxError::from)
        })
    }
}

/// A partial batch response: the items Lambda should retry.
fn batch_response<'a>(failed: impl Iterator<Item = &'a String>) -> Vec<u8> {
    let items: Vec<serde_json::Value> = failed
        .map(|id| serde_json::json!({ "itemIdentifier": id }))
        .collect();
    serde_json::to_vec(&serde_json::json!({ "batchItemFailures": items })).unwrap_or_default()
}

impl<S: Send + Sync + 'static> Sources<S> {
    /// Runs an event through the handlers of its source, with that source's delivery semantics.
    pub(crate) async fn dispatch(
        &self,
        state: Arc<S>,
        source: SourceKind,
        payload: &[u8],
        context: Context,
    ) -> Result<Vec<u8>, NamedError> {
        let invocation = Invocation::new(state.clone(), context);
        let unhandled = |what: &str| {
            NamedError::new(
                "Svless.UnhandledEvent",
                format!("the app has no handler for {what}; register one with `App::on`"),
            )
        };
        match source {
            SourceKind::Task(name) => {
                let Some(task) = self.tasks.iter().find(|t| t.name == name) else {
                    return Err(NamedError::new(
                        "Svless.UnknownTask",
                        format!("the handler `{name}` is no task of this app"),
                    ));
                };
                (task.handler)(payload, invocation).await.inspect_err(|err| {
                    tracing::error!(task = %task.name, error_type = %err.error_type(), error = %err.message(), "the task failed");
                })
            }
            SourceKind::S3 => {
                if self.s3.is_empty() {
                    return Err(unhandled("S3 notifications"));
                }
                s3::run(&self.s3, s3::decode(payload)?, &invocation).await?;
                Ok(b"null".to_vec())
            }
            SourceKind::DynamoDbStreams => {
                if self.dynamodb.is_empty() {
                    return Err(unhandled("DynamoDB stream records"));
                }
                let failed = dynamodb::run(&self.dynamodb, payload, &invocation).await?;
                Ok(batch_response(failed.iter()))
            }
            SourceKind::Sqs => {
                if self.sqs.is_empty() {
                    return Err(unhandled("SQS messages"));
                }
                let failed = sqs::run(&self.sqs, payload, &invocation).await?;
                Ok(batch_response(failed.iter()))
            }
            SourceKind::EventBridge => {
                let envelope: eventbridge::Envelope =
                    serde_json::from_slice(payload).map_err(|e| {
                        NamedError::new(
                            "Svless.MalformedEvent",
                            format!("the EventBridge event is malformed: {e}"),
                        )
                    })?;
                if envelope.source == "aws.s3" && !self.s3.is_empty() {
                    let region = envelope.region.clone();
                    if let Some(object) = s3::from_eventbridge(
                        &envelope.detail_type,
                        &envelope.detail,
                        envelope.time,
                        region,
                    ) {
                        s3::run(&self.s3, vec![object], &invocation).await?;
                        return Ok(b"null".to_vec());
                    }
                }
                let matching: Vec<_> = self
                    .eventbridge
                    .iter()
                    .filter(|s| s.matches(&envelope))
                    .collect();
                if matching.is_empty() {
                    return Err(unhandled(&format!(
                        "EventBridge events of source `{}` and detail-type `{}`",
                        envelope.source, envelope.detail_type
                    )));
                }
                let payload: Arc<[u8]> = Arc::from(payload);
                for subscription in matching {
                    (subscription.handler)(payload.clone(), invocation.clone()).await?;
                }
                Ok(b"null".to_vec())
            }
            SourceKind::WebSocket => {
                if self.websocket.is_empty() {
                    return Err(unhandled("WebSocket events"));
                }
                websocket::run(
                    &self.websocket,
                    payload,
                    state,
                    invocation.context().clone(),
                )
                .await
            }
        }
    }
}
