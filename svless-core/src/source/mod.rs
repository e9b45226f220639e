//! Event sources beside HTTP: S3 notifications, DynamoDB Streams, SQS and EventBridge.
//!
//! Each source is one module: its typed view of a record, how a batch is run (per-record
//! results, partial batch responses) and how a handler is registered on an [`App`](crate::App).

mod dispatch;
pub mod dynamodb;
pub mod eventbridge;
pub mod s3;
pub mod sqs;
pub mod task;
pub mod websocket;

pub(crate) use dispatch::SourcesService;
pub use dispatch::{EventRequest, EventService, SourceKind};

use crate::handler::BoxFuture;
use crate::invocation::Invocation;
use crate::named_error::NamedError;
use std::sync::Arc;

/// A registered record handler: a record and the invocation in, a named outcome out.
pub(crate) type RecordHandler<R, S> =
    Arc<dyn Fn(R, Invocation<S>) -> BoxFuture<Result<(), NamedError>> + Send + Sync>;

/// The event handlers of an app, by source.
///
/// ```
/// use svless_core::source::{Sources, Subscribe};
/// struct Nothing;
/// impl<S> Subscribe<S> for Nothing {
///     fn subscribe(self, _sources: &mut Sources<S>) {}
/// }
/// let app = svless_core::App::new().on(Nothing);
/// ```
pub struct Sources<S> {
    pub(crate) s3: Vec<s3::Subscription<S>>,
    pub(crate) dynamodb: Vec<dynamodb::Subscription<S>>,
    pub(crate) sqs: Vec<sqs::Subscription<S>>,
    pub(crate) eventbridge: Vec<eventbridge::Subscription<S>>,
    pub(crate) tasks: Vec<task::Subscription<S>>,
    pub(crate) websocket: Vec<websocket::Subscription<S>>,
}

impl<S> Clone for Sources<S> {
    fn clone(&self) -> Self {
        Self {
            s3: self.s3.clone(),
            dynamodb: self.dynamodb.clone(),
            sqs: self.sqs.clone(),
            eventbridge: self.eventbridge.clone(),
            tasks: self.tasks.clone(),
            websocket: self.websocket.clone(),
        }
    }
}

impl<S> Default for Sources<S> {
    fn default() -> Self {
        Self {
            s3: Vec::new(),
            dynamodb: Vec::new(),
            sqs: Vec::new(),
            eventbridge: Vec::new(),
            tasks: Vec::new(),
            websocket: Vec::new(),
        }
    }
}

impl<S> Sources<S> {
    /// What a source finds wrong with its handlers, one sentence each (for `App::check`).
    pub(crate) fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for subscription in &self.s3 {
            for unknown in subscription.filter.unknown_events() {
                problems.push(format!(
                    "an S3 handler is filtered on `{unknown}`, which is no S3 event type (see `svless::source::s3::EVENT_TYPES`): it would never run"
                ));
            }
        }
        problems
    }
}

/// Handlers registered before the app had its state take none: they keep running with `()`.
fn stateless<R: 'static, S: 'static>(handler: RecordHandler<R, ()>) -> RecordHandler<R, S> {
    Arc::new(move |record, invocation: Invocation<S>| {
        handler(
            record,
            Invocation::new(Arc::new(()), invocation.context().clone()),
        )
    })
}

impl Sources<()> {
    pub(crate) fn with_state<S: 'static>(self) -> Sources<S> {
        Sources {
            s3: self
                .s3
                .into_iter()
                .map(|s| s3::Subscription {
                    filter: s.filter,
                    handler: stateless(s.handler),
                })
                .collect(),
            dynamodb: self
                .dynamodb
                .into_iter()
                .map(|s| dynamodb::Subscription {
                    handler: stateless(s.handler),
                })
                .collect(),
            sqs: self
                .sqs
                .into_iter()
                .map(|s| sqs::Subscription {
                    handler: stateless(s.handler),
                })
                .collect(),
            eventbridge: self
                .eventbridge
                .into_iter()
                .map(|s| eventbridge::Subscription {
                    source: s.source,
                    detail_type: s.detail_type,
                    handler: stateless(s.handler),
                })
                .collect(),
            tasks: self
                .tasks
                .into_iter()
                .map(|t| {
                    let handler = t.handler;
                    task::Subscription {
                        name: t.name,
                        errors: t.errors,
                        handler: Arc::new(move |payload: &[u8], invocation: Invocation<S>| {
                            handler(payload, invocation.without_state())
                        }),
                    }
                })
                .collect(),
            websocket: self
                .websocket
                .into_iter()
                .map(|w| {
                    let handler = w.handler;
                    websocket::Subscription {
                        route: w.route,
                        handler: Arc::new(move |event, invocation: Invocation<S>| {
                            handler(event, invocation.without_state())
                        }),
                    }
                })
                .collect(),
        }
    }
}

/// Runs a handler's future, turning a panic into the named error `Svless.Panic`.
pub(crate) fn guarded<T, F>(future: F) -> BoxFuture<Result<T, NamedError>>
where
    F: std::future::Future<Output = Result<T, NamedError>> + Send + 'static,
{
    use futures_util::FutureExt as _;
    Box::pin(
        std::panic::AssertUnwindSafe(future)
            .catch_unwind()
            .map(|outcome| {
                outcome.unwrap_or_else(|_| {
                    tracing::error!("an event handler panicked");
                    Err(NamedError::new(
                        "Svless.Panic",
                        "the handler failed unexpectedly",
                    ))
                })
            }),
    )
}

/// The event sources, as markers for [`Record`].
pub mod kind {
    /// S3 event notifications.
    #[derive(Debug)]
    pub enum S3 {}
    /// DynamoDB Streams.
    #[derive(Debug)]
    pub enum DynamoDbStreams {}
    /// SQS.
    #[derive(Debug)]
    pub enum Sqs {}
    /// EventBridge.
    #[derive(Debug)]
    pub enum EventBridge {}
    /// API Gateway WebSocket APIs.
    #[derive(Debug)]
    pub enum WebSocket {}
    /// Lambda authorizers.
    #[derive(Debug)]
    pub enum Authorizer {}
}

/// What a handler of the source `K` takes first: the record type of that source (a type alias
/// of it, too). The event macros check the first argument with it.
///
/// ```
/// use svless_core::source::{Record, kind, s3::S3Object};
/// fn takes<R: Record<kind::S3>>() {}
/// type Upload = S3Object;
/// takes::<Upload>();
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not the record of {K} handlers",
    label = "the first argument is the event's record",
    note = "an S3 handler takes `S3Object`; a DynamoDB Streams handler `StreamRecord<T>`; an SQS handler `Message<T>`; an EventBridge handler `Event<T>` or `Scheduled`; a WebSocket handler `WsMessage<T>`; an authorizer `AuthorizerRequest`"
)]
pub trait Record<K> {}

impl Record<kind::S3> for s3::S3Object {}
impl<T> Record<kind::DynamoDbStreams> for dynamodb::StreamRecord<T> {}
impl<T> Record<kind::Sqs> for sqs::Message<T> {}
/// `Scheduled` is `Event<serde_json::Value>`: it is a record by this impl.
impl<T> Record<kind::EventBridge> for eventbridge::Event<T> {}
impl<T> Record<kind::WebSocket> for websocket::WsMessage<T> {}

/// An event handler declared with `#[svless::s3]`, `#[svless::dynamodb_stream]`, `#[svless::sqs]`
/// or `#[svless::event]`: it knows how to add itself to an app's [`Sources`].
///
/// Pass it to [`App::on`](crate::App::on).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an event handler for an app whose state is `{S}`",
    note = "declare it with `#[svless::s3]`, `#[svless::dynamodb_stream]`, `#[svless::sqs]`, `#[svless::event]` or `#[svless::task]`, and check that its `State<T>` arguments match the app's state"
)]
pub trait Subscribe<S> {
    /// Adds the handler to `sources`.
    fn subscribe(self, sources: &mut Sources<S>);
}
