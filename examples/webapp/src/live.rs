//! Live updates: a WebSocket API the browser connects to with its ID token, subscribes to the
//! albums it shows, and a DynamoDB stream handler that turns photo and comment changes into
//! messages to the album's subscribers.
//!
//! Messages the browser receives (JSON):
//! - `{"type": "subscribed", "album": ...}` or `{"type": "error", "message": ...}`, answers;
//! - `{"type": "photo", "album": ..., "photo": ..., "status": ...}` when a photo changes;
//! - `{"type": "photo-deleted", "album": ..., "photo": ...}`;
//! - `{"type": "comment", "album": ..., "comment": {...}}` for a new comment.

use crate::Services;
use crate::model::{Comment, Connection, Photo, Subscription};
use futures_util::TryStreamExt as _;
use serde::Deserialize;
use serde_json::{Value, json};
use svless::source::dynamodb::{Change, StreamRecord};
use svless::source::websocket::{PostError, WsMessage};
use svless::store::dynamo::{Entity as _, Error as DbError, Utc};
use svless::{App, Error, State};

/// How long a connection is remembered: API Gateway closes it after two hours.
pub const CONNECTION_LIFETIME_SECONDS: i64 = 2 * 60 * 60;

/// Adds the WebSocket routes and the stream handler.
pub fn handlers(app: App<Services>) -> App<Services> {
    app.on(connect).on(subscribe).on(disconnect).on(on_change)
}

/// `$connect?token=<ID token>`: refused with 401 without a valid token (browsers cannot set
/// headers on a WebSocket, so the token travels in the query string, over TLS on AWS).
#[svless::ws(route = "$connect")]
pub async fn connect(
    message: WsMessage<()>,
    State(services): State<Services>,
) -> Result<(), Error> {
    let Some(token) = message.query.get("token") else {
        return Err(Error::unauthorized("connect with ?token=<ID token>"));
    };
    let claims: svless::auth::Claims = services
        .verifier
        .verify(token)
        .await
        .map_err(|e| Error::unauthorized(e.to_string()))?;
    services
        .table
        .put(&Connection {
            connection: message.connection_id,
            user: claims.sub,
            expires_at: Utc::now().timestamp() + CONNECTION_LIFETIME_SECONDS,
        })
        .await?;
    Ok(())
}

/// The body of a `subscribe` message.
#[derive(Debug, Deserialize)]
pub struct Subscribe {
    /// The album to watch.
    pub album: String,
}

/// `{"action": "subscribe", "album": ...}`: watch an album (members only).
#[svless::ws(route = "subscribe")]
pub async fn subscribe(
    message: WsMessage<Subscribe>,
    State(services): State<Services>,
) -> Result<String, Error> {
    let connection: Option<Connection> = services
        .table
        .get_consistent(&Connection::key(&message.connection_id))
        .await?;
    let Some(connection) = connection else {
        return Ok(json!({"type": "error", "message": "connect again"}).to_string());
    };
    let album = message.body.album;
    if let Err(err) = crate::api::member_of(&services, &album, &connection.user).await {
        return Ok(json!({"type": "error", "album": album, "message": err.title()}).to_string());
    }
    services
        .table
        .put(&Subscription {
            album: album.clone(),
            connection: connection.connection,
            user: connection.user,
            expires_at: connection.expires_at,
        })
        .await?;
    Ok(json!({"type": "subscribed", "album": album}).to_string())
}

/// `$disconnect`: forgets the connection and its subscriptions.
#[svless::ws(route = "$disconnect")]
pub async fn disconnect(
    message: WsMessage<()>,
    State(services): State<Services>,
) -> Result<(), Error> {
    forget(&services, &message.connection_id).await?;
    Ok(())
}

async fn forget(services: &Services, connection: &str) -> Result<(), DbError> {
    let mut keys = vec![Connection::key(connection)];
    let mut pages = std::pin::pin!(
        services
            .table
            .query::<Subscription>(Subscription::gsi1_partition(connection))
            .pages()
    );
    while let Some(page) = pages.try_next().await? {
        keys.extend(
            page.items
                .iter()
                .map(|s| Subscription::key(&s.album, &s.connection)),
        );
    }
    services.table.batch_delete(&keys).await
}

/// Why a change could not be sent on: the record is reported in `batchItemFailures` and
/// retried from there.
#[derive(Debug, thiserror::Error, svless::IntoNamedError)]
pub enum LiveError {
    /// The table did not answer.
    #[error("the subscribers could not be read: {0}")]
    #[error_type("Live.StoreUnavailable")]
    Store(#[from] DbError),
    /// Posting to a connection failed for another reason than its being gone.
    #[error("a subscriber could not be told: {0}")]
    #[error_type("Live.PostFailed")]
    Post(String),
}

/// The message a change makes, if subscribers care about it.
pub fn message_for(change: &Change<Value>) -> Option<(String, Value)> {
    let (photo_type, comment_type) = (Photo::TYPE, Comment::TYPE);
    let kind = |item: &Value| item.get("type").and_then(Value::as_str).map(str::to_owned);
    let text = |item: &Value, field: &str| {
        item.get(field)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    match change {
        Change::Insert { new } | Change::Modify { new, .. }
            if kind(new).as_deref() == Some(photo_type) =>
        {
            if let Change::Modify { old, .. } = change
                && old.get("status") == new.get("status")
            {
                return None;
            }
            let album = text(new, "album");
            Some((
                album.clone(),
                json!({"type": "photo", "album": album, "photo": text(new, "id"), "status": text(new, "status"),
                       "reason": new.get("reason").cloned().unwrap_or(Value::Null)}),
            ))
        }
        Change::Remove { old, .. } if kind(old).as_deref() == Some(photo_type) => {
            let album = text(old, "album");
            Some((
                album.clone(),
                json!({"type": "photo-deleted", "album": album, "photo": text(old, "id")}),
            ))
        }
        Change::Insert { new } if kind(new).as_deref() == Some(comment_type) => {
            let album = text(new, "album");
            let comment = json!({
                "album": album, "id": text(new, "id"), "at": text(new, "at"),
                "author": text(new, "author"), "author_name": text(new, "author_name"),
                "text": text(new, "text"),
            });
            Some((
                album.clone(),
                json!({"type": "comment", "album": album, "comment": comment}),
            ))
        }
        _ => None,
    }
}

/// Sends photo and comment changes to the album's subscribers; a connection that is gone is
/// forgotten.
#[svless::dynamodb_stream]
pub async fn on_change(
    record: StreamRecord<Value>,
    State(services): State<Services>,
) -> Result<(), LiveError> {
    let Some((album, message)) = message_for(&record.change) else {
        return Ok(());
    };
    let message = message.to_string();
    let subscribers: Vec<Subscription> = services
        .table
        .query::<Subscription>(Subscription::partition(&album))
        .pages()
        .map_ok(|page| page.items)
        .try_concat()
        .await?;
    for subscriber in &subscribers {
        match services
            .connections()
            .post(&subscriber.connection, message.clone().into_bytes())
            .await
        {
            Ok(()) => {}
            Err(PostError::Gone(_)) => forget(&services, &subscriber.connection).await?,
            Err(other) => return Err(LiveError::Post(other.to_string())),
        }
    }
    Ok(())
}
