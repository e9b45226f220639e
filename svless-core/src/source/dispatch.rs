//! Events on their way to their handlers: the request event layers wrap, and the hand-over to
//! the source each event belongs to.

use super::Sources;
use crate::context::Context;
use crate::error::BoxError;
use crate::handler::BoxFuture;
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
    /// A Kinesis Data Streams batch.
    Kinesis,
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
            SourceKind::Kinesis => f.write_str("Kinesis records"),
            SourceKind::Task(name) => write!(f, "task `{name}`"),
        }
    }
}

/// One event on its way to its handlers: what [`App::event_layer`](crate::App::event_layer)
/// layers wrap, and what they answer with the response payload (a partial batch response, a
/// task's output, `null`, …) or an error (a [`NamedError`](crate::NamedError) keeps its name).
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
