//! S3 event notifications (directly, and through EventBridge).

use super::RecordHandler;
use crate::handler::BoxFuture;
use crate::invocation::Invocation;
use crate::named_error::NamedError;
use aws_lambda_events::s3::{S3Event, S3EventRecord};
use chrono::{DateTime, Utc};
use std::future::Future;
use std::sync::Arc;

/// What happened to an object, from the notification's `eventName`.
///
/// ```
/// use svless_core::source::s3::{Created, ObjectEvent};
/// assert_eq!(ObjectEvent::parse("ObjectCreated:CompleteMultipartUpload"), ObjectEvent::Created(Created::CompleteMultipartUpload));
/// assert_eq!(ObjectEvent::parse("ObjectCreated:Put").name(), "ObjectCreated:Put");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ObjectEvent {
    /// `ObjectCreated:*`.
    Created(Created),
    /// `ObjectRemoved:*`.
    Removed(Removed),
    /// `ObjectRestore:Post`, `:Completed` and `:Delete` (a restored copy expired).
    Restore(Restore),
    /// `LifecycleExpiration:Delete` and `:DeleteMarkerCreated`.
    LifecycleExpiration(Removed),
    /// `LifecycleTransition`: the object moved to another storage class.
    LifecycleTransition,
    /// `IntelligentTiering`: the object moved to an archive access tier.
    IntelligentTiering,
    /// `ReducedRedundancyLostObject`.
    ReducedRedundancyLostObject,
    /// Any other event name (tagging, ACL, replication, ...), as S3 wrote it.
    Other(String),
}

/// How an object was created.
///
/// ```
/// use svless_core::source::s3::{Created, ObjectEvent};
/// assert_eq!(ObjectEvent::parse("ObjectCreated:Copy"), ObjectEvent::Created(Created::Copy));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// `PUT`.
    Put,
    /// Browser `POST` upload.
    Post,
    /// `COPY`.
    Copy,
    /// A multipart upload completed.
    CompleteMultipartUpload,
}

/// How an object was removed.
///
/// ```
/// use svless_core::source::s3::{ObjectEvent, Removed};
/// assert_eq!(ObjectEvent::parse("ObjectRemoved:Delete"), ObjectEvent::Removed(Removed::Delete));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removed {
    /// Deleted (permanently, or a version of a versioned object).
    Delete,
    /// A delete marker was created in a versioned bucket.
    DeleteMarkerCreated,
}

/// A restore from an archive storage class.
///
/// ```
/// use svless_core::source::s3::{ObjectEvent, Restore};
/// assert_eq!(ObjectEvent::parse("ObjectRestore:Completed"), ObjectEvent::Restore(Restore::Completed));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restore {
    /// The restore was requested.
    Post,
    /// The restored copy is ready.
    Completed,
    /// The restored copy expired.
    Delete,
}

impl ObjectEvent {
    /// Reads an `eventName` such as `ObjectCreated:Put` (a leading `s3:` is accepted).
    ///
    /// ```
    /// use svless_core::source::s3::{ObjectEvent, Removed};
    /// assert_eq!(ObjectEvent::parse("s3:ObjectRemoved:DeleteMarkerCreated"), ObjectEvent::Removed(Removed::DeleteMarkerCreated));
    /// ```
    pub fn parse(name: &str) -> Self {
        let name = name.strip_prefix("s3:").unwrap_or(name);
        match name {
            "ObjectCreated:Put" => ObjectEvent::Created(Created::Put),
            "ObjectCreated:Post" => ObjectEvent::Created(Created::Post),
            "ObjectCreated:Copy" => ObjectEvent::Created(Created::Copy),
            "ObjectCreated:CompleteMultipartUpload" => {
                ObjectEvent::Created(Created::CompleteMultipartUpload)
            }
            "ObjectRemoved:Delete" => ObjectEvent::Removed(Removed::Delete),
            "ObjectRemoved:DeleteMarkerCreated" => {
                ObjectEvent::Removed(Removed::DeleteMarkerCreated)
            }
            "ObjectRestore:Post" => ObjectEvent::Restore(Restore::Post),
            "ObjectRestore:Completed" => ObjectEvent::Restore(Restore::Completed),
            "ObjectRestore:Delete" => ObjectEvent::Restore(Restore::Delete),
            "LifecycleExpiration:Delete" => ObjectEvent::LifecycleExpiration(Removed::Delete),
            "LifecycleExpiration:DeleteMarkerCreated" => {
                ObjectEvent::LifecycleExpiration(Removed::DeleteMarkerCreated)
            }
            "LifecycleTransition" => ObjectEvent::LifecycleTransition,
            "IntelligentTiering" => ObjectEvent::IntelligentTiering,
            "ReducedRedundancyLostObject" => ObjectEvent::ReducedRedundancyLostObject,
            other => ObjectEvent::Other(other.to_owned()),
        }
    }

    /// The event name as S3 writes it (`ObjectCreated:Put`).
    ///
    /// ```
    /// use svless_core::source::s3::ObjectEvent;
    /// assert_eq!(ObjectEvent::LifecycleTransition.name(), "LifecycleTransition");
    /// ```
    pub fn name(&self) -> String {
        let removed = |r: &Removed| match r {
            Removed::Delete => "Delete",
            Removed::DeleteMarkerCreated => "DeleteMarkerCreated",
        };
        match self {
            ObjectEvent::Created(c) => format!("ObjectCreated:{c:?}"),
            ObjectEvent::Removed(r) => format!("ObjectRemoved:{}", removed(r)),
            ObjectEvent::Restore(r) => format!("ObjectRestore:{r:?}"),
            ObjectEvent::LifecycleExpiration(r) => format!("LifecycleExpiration:{}", removed(r)),
            ObjectEvent::LifecycleTransition => "LifecycleTransition".into(),
            ObjectEvent::IntelligentTiering => "IntelligentTiering".into(),
            ObjectEvent::ReducedRedundancyLostObject => "ReducedRedundancyLostObject".into(),
            ObjectEvent::Other(name) => name.clone(),
        }
    }
}

/// One object change, as an S3 handler receives it.
///
/// ```
/// use svless_core::source::s3::S3Object;
/// async fn on_upload(object: S3Object) {
///     println!("{} bytes at s3://{}/{}", object.size.unwrap_or(0), object.bucket, object.key);
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct S3Object {
    /// The bucket.
    pub bucket: String,
    /// The object key, decoded (S3 sends it form-encoded: `+` for spaces, `%XX` for the rest).
    pub key: String,
    /// The object size in bytes (absent for removals).
    pub size: Option<u64>,
    /// The ETag, without quotes.
    pub etag: Option<String>,
    /// The version id in a versioned bucket.
    pub version_id: Option<String>,
    /// Orders events for one key: compare as hexadecimal strings of equal length.
    pub sequencer: Option<String>,
    /// What happened.
    pub event: ObjectEvent,
    /// When it happened.
    pub event_time: Option<DateTime<Utc>>,
    /// The region of the bucket.
    pub region: Option<String>,
}

/// Decodes an S3 event key: `+` is a space, then percent-decoding.
///
/// ```
/// use svless_core::source::s3::decode_key;
/// assert_eq!(decode_key("photos/my+cat%2B1+%C3%A9t%C3%A9.jpg"), "photos/my cat+1 été.jpg");
/// ```
pub fn decode_key(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

impl S3Object {
    pub(crate) fn from_record(record: S3EventRecord) -> Option<Self> {
        let event = ObjectEvent::parse(record.event_name.as_deref()?);
        let object = record.s3.object;
        Some(S3Object {
            bucket: record.s3.bucket.name?,
            key: decode_key(object.key.as_deref()?),
            size: object.size.and_then(|s| u64::try_from(s).ok()),
            etag: object.e_tag.filter(|e| !e.is_empty()),
            version_id: object.version_id.filter(|v| !v.is_empty()),
            sequencer: object.sequencer,
            event,
            event_time: Some(record.event_time),
            region: record.aws_region,
        })
    }
}

/// Every event type an S3 notification configuration accepts, without the `s3:` prefix, the
/// documented wildcards included (Amazon S3 User Guide, "Supported event types for SQS, SNS and
/// Lambda"); the list `#[svless::s3]` checks at compile time. [`S3Filter::event`] takes these;
/// [`App::check`](crate::App::check) refuses others.
///
/// ```
/// use svless_core::source::s3::EVENT_TYPES;
/// assert!(EVENT_TYPES.contains(&"ObjectRemoved:DeleteMarkerCreated"));
/// assert!(!EVENT_TYPES.contains(&"ObjectCreated:Putt"));
/// ```
pub use svless_grammar::s3::EVENT_TYPES;

/// Which notifications a handler takes: key prefix and suffix (on the decoded key), event kinds.
///
/// ```
/// use svless_core::source::s3::{Created, ObjectEvent, S3Filter};
/// let filter = S3Filter::new().prefix("uploads/").suffix(".png").event("ObjectCreated:*");
/// assert!(filter.matches("uploads/a.png", &ObjectEvent::Created(Created::Put)));
/// assert!(!filter.matches("uploads/a.jpg", &ObjectEvent::Created(Created::Put)));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S3Filter {
    prefix: Option<String>,
    suffix: Option<String>,
    events: Vec<String>,
}

impl S3Filter {
    /// Everything.
    ///
    /// ```
    /// let any = svless_core::source::s3::S3Filter::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Only keys starting with `prefix`.
    ///
    /// ```
    /// let f = svless_core::source::s3::S3Filter::new().prefix("in/");
    /// ```
    pub fn prefix(mut self, prefix: &str) -> Self {
        self.prefix = Some(prefix.to_owned());
        self
    }

    /// Only keys ending with `suffix`.
    ///
    /// ```
    /// let f = svless_core::source::s3::S3Filter::new().suffix(".jpg");
    /// ```
    pub fn suffix(mut self, suffix: &str) -> Self {
        self.suffix = Some(suffix.to_owned());
        self
    }

    /// Only this event (`ObjectCreated:Put`) or family (`ObjectCreated:*`); repeat for several.
    ///
    /// ```
    /// let f = svless_core::source::s3::S3Filter::new().event("ObjectRemoved:*");
    /// ```
    pub fn event(mut self, pattern: &str) -> Self {
        self.events
            .push(pattern.strip_prefix("s3:").unwrap_or(pattern).to_owned());
        self
    }

    /// The event types of this filter that S3 does not have (see [`EVENT_TYPES`]): a handler
    /// filtered on one would never run, so [`App::check`](crate::App::check) refuses them.
    ///
    /// ```
    /// let f = svless_core::source::s3::S3Filter::new().event("ObjectCreated:Putt");
    /// assert_eq!(f.unknown_events(), ["ObjectCreated:Putt"]);
    /// ```
    pub fn unknown_events(&self) -> Vec<&str> {
        self.events
            .iter()
            .map(String::as_str)
            .filter(|e| !EVENT_TYPES.contains(e))
            .collect()
    }

    /// Whether a decoded key and event pass the filter.
    ///
    /// ```
    /// use svless_core::source::s3::{ObjectEvent, Removed, S3Filter};
    /// let f = S3Filter::new().event("ObjectRemoved:*");
    /// assert!(f.matches("a", &ObjectEvent::Removed(Removed::Delete)));
    /// ```
    pub fn matches(&self, key: &str, event: &ObjectEvent) -> bool {
        if self.prefix.as_deref().is_some_and(|p| !key.starts_with(p))
            || self.suffix.as_deref().is_some_and(|s| !key.ends_with(s))
        {
            return false;
        }
        if self.events.is_empty() {
            return true;
        }
        let name = event.name();
        self.events
            .iter()
            .any(|pattern| match pattern.strip_suffix('*') {
                Some(family) => name.starts_with(family),
                None => &name == pattern,
            })
    }
}

pub(crate) struct Subscription<S> {
    pub(crate) filter: S3Filter,
    pub(crate) handler: RecordHandler<S3Object, S>,
}

impl<S> Clone for Subscription<S> {
    fn clone(&self) -> Self {
        Subscription {
            filter: self.filter.clone(),
            handler: self.handler.clone(),
        }
    }
}

/// Registers an S3 handler on `sources` (what `#[svless::s3]` generates).
///
/// ```
/// use svless_core::source::{Sources, Subscribe, s3};
/// struct Uploads;
/// impl<S: Send + Sync + 'static> Subscribe<S> for Uploads {
///     fn subscribe(self, sources: &mut Sources<S>) {
///         s3::subscribe(sources, s3::S3Filter::new().prefix("uploads/"), |object: s3::S3Object, _inv| async move {
///             println!("{}", object.key);
///             Ok(())
///         });
///     }
/// }
/// let app = svless_core::App::new().on(Uploads);
/// ```
pub fn subscribe<S, F, Fut>(sources: &mut super::Sources<S>, filter: S3Filter, handler: F)
where
    F: Fn(S3Object, Invocation<S>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), NamedError>> + Send + 'static,
{
    let handler: RecordHandler<S3Object, S> = Arc::new(move |object, invocation| -> BoxFuture<_> {
        super::guarded(handler(object, invocation))
    });
    sources.s3.push(Subscription { filter, handler });
}

/// Runs every record of an S3 notification through the handlers whose filter takes it.
///
/// S3 has no partial batch response: the first failure fails the invocation with its named
/// error, and Lambda retries the event (records handled before it run again: be idempotent).
pub(crate) async fn run<S>(
    subscriptions: &[Subscription<S>],
    objects: Vec<S3Object>,
    invocation: &Invocation<S>,
) -> Result<(), NamedError> {
    for object in objects {
        let mut taken = false;
        for subscription in subscriptions
            .iter()
            .filter(|s| s.filter.matches(&object.key, &object.event))
        {
            taken = true;
            (subscription.handler)(object.clone(), invocation.clone()).await.inspect_err(|err| {
                tracing::error!(bucket = %object.bucket, key = %object.key, error = %err, "the S3 handler failed");
            })?;
        }
        if !taken {
            tracing::warn!(bucket = %object.bucket, key = %object.key, event = %object.event.name(), "no S3 handler takes this object; it is acknowledged unhandled");
        }
    }
    Ok(())
}

/// Decodes an S3 notification into objects.
pub(crate) fn decode(payload: &[u8]) -> Result<Vec<S3Object>, NamedError> {
    let event: S3Event = serde_json::from_slice(payload).map_err(|e| {
        NamedError::new(
            "Svless.MalformedEvent",
            format!("the S3 notification is malformed: {e}"),
        )
    })?;
    event
        .records
        .into_iter()
        .map(|record| {
            S3Object::from_record(record).ok_or_else(|| {
                NamedError::new(
                    "Svless.MalformedEvent",
                    "an S3 record lacks its event name, bucket or key",
                )
            })
        })
        .collect()
}

/// Reads an S3 event delivered by EventBridge (`Object Created`, `Object Deleted`, ...).
pub(crate) fn from_eventbridge(
    detail_type: &str,
    detail: &serde_json::Value,
    time: Option<DateTime<Utc>>,
    region: Option<String>,
) -> Option<S3Object> {
    let reason = detail.get("reason").and_then(|r| r.as_str()).unwrap_or("");
    let event = match detail_type {
        "Object Created" => ObjectEvent::Created(match reason {
            "PostObject" => Created::Post,
            "CopyObject" => Created::Copy,
            "CompleteMultipartUpload" => Created::CompleteMultipartUpload,
            _ => Created::Put,
        }),
        "Object Deleted" => {
            let marker = detail.get("deletion-type").and_then(|d| d.as_str())
                == Some("Delete Marker Created");
            let removed = if marker {
                Removed::DeleteMarkerCreated
            } else {
                Removed::Delete
            };
            if reason == "Lifecycle Expiration" {
                ObjectEvent::LifecycleExpiration(removed)
            } else {
                ObjectEvent::Removed(removed)
            }
        }
        "Object Restore Initiated" => ObjectEvent::Restore(Restore::Post),
        "Object Restore Completed" => ObjectEvent::Restore(Restore::Completed),
        "Object Restore Expired" => ObjectEvent::Restore(Restore::Delete),
        "Object Storage Class Changed" => ObjectEvent::LifecycleTransition,
        "Object Access Tier Changed" => ObjectEvent::IntelligentTiering,
        _ => return None,
    };
    let object = detail.get("object")?;
    let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_owned);
    Some(S3Object {
        bucket: text(detail.get("bucket").and_then(|b| b.get("name")))?,
        // EventBridge carries the key as written (a `:` stays `:` where notifications send `%3A`).
        key: text(object.get("key"))?,
        size: object.get("size").and_then(|s| s.as_u64()),
        etag: text(object.get("etag")),
        version_id: text(object.get("version-id")),
        sequencer: text(object.get("sequencer")),
        event,
        event_time: time,
        region,
    })
}

/// Handlers registered before the app had its state, for the stateful app.
pub(crate) fn rebind<S: 'static>(subscriptions: Vec<Subscription<()>>) -> Vec<Subscription<S>> {
    subscriptions
        .into_iter()
        .map(|s| Subscription {
            filter: s.filter,
            handler: super::stateless(s.handler),
        })
        .collect()
}

/// Filters on event types S3 does not have: their handlers would never run.
pub(crate) fn problems<S>(subscriptions: &[Subscription<S>]) -> Vec<String> {
    subscriptions
        .iter()
        .flat_map(|s| s.filter.unknown_events())
        .map(|unknown| format!(
            "an S3 handler is filtered on `{unknown}`, which is no S3 event type (see `svless::source::s3::EVENT_TYPES`): it would never run"
        ))
        .collect()
}

/// Whether S3 takes events of `kind`.
pub(crate) fn takes(kind: &super::SourceKind) -> bool {
    matches!(kind, super::SourceKind::S3)
}

/// Runs a notification through the S3 handlers (S3 has no partial batch response: `null`).
pub(crate) async fn dispatch<S: Send + Sync + 'static>(
    sources: &super::Sources<S>,
    _kind: &super::SourceKind,
    payload: &[u8],
    invocation: Invocation<S>,
) -> Result<Vec<u8>, NamedError> {
    if sources.s3.is_empty() {
        return Err(super::unhandled("S3 notifications"));
    }
    run(&sources.s3, decode(payload)?, &invocation).await?;
    Ok(b"null".to_vec())
}
