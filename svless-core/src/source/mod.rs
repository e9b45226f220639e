//! Event sources beside HTTP: S3 notifications, DynamoDB Streams, SQS, EventBridge, Step
//! Functions tasks and WebSocket APIs.
//!
//! Each source is one module: its typed view of a record, how a batch is run (per-record
//! results, partial batch responses), how a handler is registered on an [`App`](crate::App), and
//! how an event is handed to its handlers (`dispatch`).

mod batch;
mod dispatch;
pub mod dynamodb;
pub mod eventbridge;
pub mod kinesis;
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

/// The event sources of an app: each is one module (`s3`, `dynamodb`, …) holding its handlers'
/// subscriptions and three functions — `rebind` (handlers registered before the app had its
/// state), `takes` (which [`SourceKind`]s are its) and `dispatch` (run an event through its
/// handlers with its delivery semantics). Adding a source is its module, one line here, a
/// [`SourceKind`] variant and the classifier's arm (`payload::classify`).
macro_rules! sources {
    ($($field:ident: $module:ident,)*) => {
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
            $(pub(crate) $field: Vec<$module::Subscription<S>>,)*
        }

        impl<S> Default for Sources<S> {
            fn default() -> Self {
                Self { $($field: Vec::new(),)* }
            }
        }

        impl<S> Clone for Sources<S> {
            fn clone(&self) -> Self {
                Self { $($field: self.$field.clone(),)* }
            }
        }

        impl Sources<()> {
            /// The handlers registered before the app had its state, for the stateful app:
            /// they keep running, with `()`.
            pub(crate) fn with_state<S: 'static>(self) -> Sources<S> {
                Sources { $($field: $module::rebind(self.$field),)* }
            }
        }

        impl<S: Send + Sync + 'static> Sources<S> {
            /// Runs an event through the handlers of the source it belongs to.
            pub(crate) async fn dispatch(
                &self,
                state: Arc<S>,
                kind: SourceKind,
                payload: &[u8],
                context: crate::Context,
            ) -> Result<Vec<u8>, NamedError> {
                let invocation = Invocation::new(state, context);
                $(
                    if $module::takes(&kind) {
                        return $module::dispatch(self, &kind, payload, invocation).await;
                    }
                )*
                Err(unhandled(&kind.to_string()))
            }

            /// Whether any handler takes events of `kind`.
            pub(crate) fn takes(&self, kind: &SourceKind) -> bool {
                $(
                    if $module::takes(kind) {
                        return !self.$field.is_empty();
                    }
                )*
                false
            }
        }
    };
}

sources! {
    s3: s3,
    dynamodb: dynamodb,
    sqs: sqs,
    eventbridge: eventbridge,
    tasks: task,
    websocket: websocket,
    kinesis: kinesis,
}

impl<S> Sources<S> {
    /// The `source` and `detail-type` of each EventBridge handler (`None`: any).
    pub(crate) fn event_filters(&self) -> Vec<(Option<String>, Option<String>)> {
        self.eventbridge
            .iter()
            .map(|e| (e.source.clone(), e.detail_type.clone()))
            .collect()
    }

    /// Whether an `#[svless::s3]` handler's filter takes this object change.
    pub(crate) fn takes_object(&self, key: &str, event: &str) -> bool {
        let event = s3::ObjectEvent::parse(event);
        self.s3.iter().any(|s| s.filter.matches(key, &event))
    }

    /// The route keys of the WebSocket handlers.
    pub(crate) fn websocket_routes(&self) -> Vec<String> {
        self.websocket.iter().map(|w| w.route.clone()).collect()
    }

    /// What a source finds wrong with its handlers, one sentence each (for `App::check`).
    pub(crate) fn problems(&self) -> Vec<String> {
        s3::problems(&self.s3)
    }
}

/// The error of an event that no handler takes.
pub(crate) fn unhandled(what: &str) -> NamedError {
    NamedError::new(
        "Svless.UnhandledEvent",
        format!("the app has no handler for {what}; register one with `App::on`"),
    )
}

/// Handlers registered before the app had its state take none: they keep running with `()`.
pub(crate) fn stateless<R: 'static, S: 'static>(
    handler: RecordHandler<R, ()>,
) -> RecordHandler<R, S> {
    Arc::new(move |record, invocation: Invocation<S>| {
        handler(
            record,
            Invocation::new(Arc::new(()), invocation.context().clone()),
        )
    })
}

/// A handler of typed records: `decode` turns the raw record into the handler's type first; a
/// record that does not decode fails as `Svless.UndecodableRecord` without running the handler.
pub(crate) fn typed<R, T, S, F, Fut>(
    decode: fn(R) -> Result<T, String>,
    handler: F,
) -> RecordHandler<R, S>
where
    R: 'static,
    T: Send + 'static,
    F: Fn(T, Invocation<S>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), NamedError>> + Send + 'static,
{
    Arc::new(move |record, invocation| -> BoxFuture<_> {
        match decode(record) {
            Ok(typed) => guarded(handler(typed, invocation)),
            Err(reason) => Box::pin(std::future::ready(Err(NamedError::new(
                "Svless.UndecodableRecord",
                reason,
            )))),
        }
    })
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
    /// Kinesis Data Streams.
    #[derive(Debug)]
    pub enum Kinesis {}
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
    note = "an S3 handler takes `S3Object`; a DynamoDB Streams handler `StreamRecord<T>`; an SQS handler `Message<T>`; a Kinesis handler `kinesis::Record<T>`; an EventBridge handler `Event<T>` or `Scheduled`; a WebSocket handler `WsMessage<T>`; an authorizer `AuthorizerRequest`"
)]
pub trait Record<K> {}

impl Record<kind::S3> for s3::S3Object {}
impl<T> Record<kind::DynamoDbStreams> for dynamodb::StreamRecord<T> {}
impl<T> Record<kind::Sqs> for sqs::Message<T> {}
/// `Scheduled` is `Event<serde_json::Value>`: it is a record by this impl.
impl<T> Record<kind::EventBridge> for eventbridge::Event<T> {}
impl<T> Record<kind::WebSocket> for websocket::WsMessage<T> {}
impl<T> Record<kind::Kinesis> for kinesis::Record<T> {}

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
