//! EventBridge events (custom, AWS service and scheduled), with a typed `detail`.

use super::RecordHandler;
use crate::handler::BoxFuture;
use crate::invocation::Invocation;
use crate::named_error::NamedError;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::future::Future;
use std::sync::Arc;

/// An EventBridge event whose `detail` is decoded into `T`.
///
/// ```
/// use svless_core::source::eventbridge::Event;
///
/// #[derive(serde::Deserialize)]
/// struct OrderPlaced { order_id: String }
///
/// async fn on_order(event: Event<OrderPlaced>) {
///     println!("order {} from {}", event.detail.order_id, event.source);
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Event<T> {
    /// The event id.
    pub id: String,
    /// `detail-type`.
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    /// `source`.
    pub source: String,
    /// The account.
    #[serde(default)]
    pub account: Option<String>,
    /// When the event happened.
    #[serde(default)]
    pub time: Option<DateTime<Utc>>,
    /// The region.
    #[serde(default)]
    pub region: Option<String>,
    /// The resources the event concerns (for scheduled events, the rule's ARN).
    #[serde(default)]
    pub resources: Vec<String>,
    /// The detail.
    pub detail: T,
}

/// A scheduled event (`source` `aws.events`, `detail-type` `Scheduled Event`).
pub type Scheduled = Event<Value>;

/// The envelope's routing members, read before the detail is decoded.
#[derive(Deserialize)]
pub(crate) struct Envelope {
    #[serde(rename = "detail-type")]
    pub(crate) detail_type: String,
    pub(crate) source: String,
    #[serde(default)]
    pub(crate) time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub(crate) region: Option<String>,
    #[serde(default)]
    pub(crate) detail: Value,
}

pub(crate) struct Subscription<S> {
    pub(crate) source: Option<String>,
    pub(crate) detail_type: Option<String>,
    pub(crate) handler: RecordHandler<Arc<[u8]>, S>,
}

impl<S> Clone for Subscription<S> {
    fn clone(&self) -> Self {
        Subscription {
            source: self.source.clone(),
            detail_type: self.detail_type.clone(),
            handler: self.handler.clone(),
        }
    }
}

impl<S> Subscription<S> {
    pub(crate) fn matches(&self, envelope: &Envelope) -> bool {
        self.source.as_deref().is_none_or(|s| s == envelope.source)
            && self
                .detail_type
                .as_deref()
                .is_none_or(|d| d == envelope.detail_type)
    }
}

/// Registers an EventBridge handler for a `source` and `detail-type` (either may be `None`: any).
///
/// ```
/// use svless_core::source::{Sources, Subscribe, eventbridge};
/// struct Nightly;
/// impl<S: Send + Sync + 'static> Subscribe<S> for Nightly {
///     fn subscribe(self, sources: &mut Sources<S>) {
///         eventbridge::subscribe(sources, Some("aws.events"), Some("Scheduled Event"), |event: eventbridge::Scheduled, _inv| async move {
///             println!("{:?}", event.resources);
///             Ok(())
///         });
///     }
/// }
/// let app = svless_core::App::new().on(Nightly);
/// ```
pub fn subscribe<S, T, F, Fut>(
    sources: &mut super::Sources<S>,
    source: Option<&str>,
    detail_type: Option<&str>,
    handler: F,
) where
    T: DeserializeOwned + Send + 'static,
    F: Fn(Event<T>, Invocation<S>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), NamedError>> + Send + 'static,
{
    let handler: RecordHandler<Arc<[u8]>, S> =
        Arc::new(move |payload: Arc<[u8]>, invocation| -> BoxFuture<_> {
            match serde_json::from_slice::<Event<T>>(&payload) {
                Ok(event) => super::guarded(handler(event, invocation)),
                Err(err) => Box::pin(std::future::ready(Err(NamedError::new(
                    "Svless.UndecodableEvent",
                    format!("the event's detail does not decode into the handler's type: {err}"),
                )))),
            }
        });
    sources.eventbridge.push(Subscription {
        source: source.map(str::to_owned),
        detail_type: detail_type.map(str::to_owned),
        handler,
    });
}

/// Handlers registered before the app had its state, for the stateful app.
pub(crate) fn rebind<S: 'static>(subscriptions: Vec<Subscription<()>>) -> Vec<Subscription<S>> {
    subscriptions
        .into_iter()
        .map(|s| Subscription {
            source: s.source,
            detail_type: s.detail_type,
            handler: super::stateless(s.handler),
        })
        .collect()
}

/// Whether EventBridge takes events of `kind`.
pub(crate) fn takes(kind: &super::SourceKind) -> bool {
    matches!(kind, super::SourceKind::EventBridge)
}

/// Runs an event through the handlers of its source and detail type; S3 events delivered
/// through EventBridge go to the S3 handlers.
pub(crate) async fn dispatch<S: Send + Sync + 'static>(
    sources: &super::Sources<S>,
    _kind: &super::SourceKind,
    payload: &[u8],
    invocation: Invocation<S>,
) -> Result<Vec<u8>, NamedError> {
    let envelope: Envelope = serde_json::from_slice(payload).map_err(|e| {
        NamedError::new(
            "Svless.MalformedEvent",
            format!("the EventBridge event is malformed: {e}"),
        )
    })?;
    if envelope.source == "aws.s3" && !sources.s3.is_empty() {
        let region = envelope.region.clone();
        if let Some(object) = super::s3::from_eventbridge(
            &envelope.detail_type,
            &envelope.detail,
            envelope.time,
            region,
        ) {
            super::s3::run(&sources.s3, vec![object], &invocation).await?;
            return Ok(b"null".to_vec());
        }
    }
    let matching: Vec<_> = sources
        .eventbridge
        .iter()
        .filter(|s| s.matches(&envelope))
        .collect();
    if matching.is_empty() {
        return Err(super::unhandled(&format!(
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
