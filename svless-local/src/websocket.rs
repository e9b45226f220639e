//! The local WebSocket API: real WebSocket upgrades on loopback, turned into API Gateway
//! WebSocket events (`$connect`, the route a message selects, `$disconnect`) through
//! [`App::dispatch`], with API Gateway's limits; and the management API
//! (`POST`/`GET`/`DELETE /@connections/{id}`) that `aws-sdk-apigatewaymanagement` calls.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use futures_util::{SinkExt as _, StreamExt as _};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use svless_core::{App, Context};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};

/// API Gateway's WebSocket limits, which the local gateway applies.
///
/// ```
/// let limits = svless_local::websocket::Limits::default();
/// assert_eq!(limits.frame_bytes, 32 * 1024);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The largest frame (32 KB).
    pub frame_bytes: usize,
    /// The largest message (128 KB).
    pub message_bytes: usize,
    /// A connection with no message either way for this long is closed (10 minutes).
    pub idle: Duration,
    /// A connection is closed after this long whatever it does (2 hours).
    pub lifetime: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            frame_bytes: 32 * 1024,
            message_bytes: 128 * 1024,
            idle: Duration::from_secs(10 * 60),
            lifetime: Duration::from_secs(2 * 3600),
        }
    }
}

/// What a connection's writer is told.
enum Out {
    Send(Message),
    Close(CloseCode, &'static str),
}

struct Connection {
    tx: mpsc::UnboundedSender<Out>,
    connected_at: i64,
    last_active: Arc<Mutex<i64>>,
    source_ip: String,
    user_agent: String,
}

/// The open connections, shared by the gateway and the management API.
#[derive(Clone, Default)]
pub(crate) struct Connections(Arc<Mutex<HashMap<String, Connection>>>);

impl Connections {
    /// Closes every connection (the cloud is stopping): clients see 1001, handlers
    /// `$disconnect`.
    pub(crate) fn close_all(&self) {
        for connection in self.lock().values() {
            let _ = connection
                .tx
                .send(Out::Close(CloseCode::Away, "Going away"));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Connection>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A connection id in API Gateway's shape (12 bytes, base64: `L0SM9cOFvHcCIhw=`-like).
fn connection_id() -> String {
    let bytes: Vec<u8> = (0..10).map(|_| fastrand::u8(..)).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The gateway: its settings and the app it hands events to.
pub(crate) struct Gateway<S> {
    pub(crate) app: Arc<App<S>>,
    pub(crate) connections: Connections,
    pub(crate) limits: Limits,
    /// The route selection expression's body path: `action` for `$request.body.action`.
    pub(crate) selection: String,
    /// The route keys the app handles (actions, `$default`, `$connect`, `$disconnect`).
    pub(crate) routes: Vec<String>,
    /// The management endpoint's host, as events carry it in `domainName`.
    pub(crate) domain: String,
    pub(crate) stage: String,
    /// A Lambda authorizer on `$connect`.
    pub(crate) authorizer: Option<Arc<crate::authorize::Authorizing>>,
}

impl<S> Clone for Gateway<S> {
    fn clone(&self) -> Self {
        Self {
            app: self.app.clone(),
            connections: self.connections.clone(),
            limits: self.limits,
            selection: self.selection.clone(),
            routes: self.routes.clone(),
            domain: self.domain.clone(),
            stage: self.stage.clone(),
            authorizer: self.authorizer.clone(),
        }
    }
}

impl<S: Send + Sync + 'static> Gateway<S> {
    /// Serves upgrades on `listener` until `shutdown`.
    pub(crate) async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        crate::serve::serve(
            listener,
            shutdown,
            "WebSocket API",
            true,
            move |request, peer| {
                let gateway = self.clone();
                async move { gateway.upgrade(request, peer).await }
            },
        )
        .await;
    }

    fn event(
        &self,
        route: &str,
        event_type: &str,
        id: &str,
        connected_at: i64,
        source_ip: &str,
    ) -> Value {
        json!({
            "requestContext": {
                "routeKey": route,
                "eventType": event_type,
                "extendedRequestId": svless_core::local::request_id(),
                "requestTime": chrono::Utc::now().format("%d/%b/%Y:%H:%M:%S +0000").to_string(),
                "messageDirection": "IN",
                "stage": self.stage,
                "connectedAt": connected_at,
                "requestTimeEpoch": millis(),
                "identity": {"sourceIp": source_ip},
                "requestId": svless_core::local::request_id(),
                "domainName": self.domain,
                "connectionId": id,
                "apiId": "local",
            },
            "isBase64Encoded": false,
        })
    }

    async fn dispatch(&self, event: &Value) -> Result<Value, svless_core::NamedError> {
        let payload = serde_json::to_vec(event).unwrap_or_default();
        let out = self.app.dispatch(&payload, Context::local()).await?;
        Ok(serde_json::from_slice(&out).unwrap_or(Value::Null))
    }

    fn has(&self, route: &str) -> bool {
        self.routes.iter().any(|r| r == route)
    }

    /// The route a message selects: the action its JSON body names, if the app handles it;
    /// else `$default` (if the app has it).
    fn select(&self, text: &str) -> Option<String> {
        let selected = serde_json::from_str::<Value>(text).ok().and_then(|body| {
            let mut value = &body;
            for part in self.selection.split('.') {
                value = value.get(part)?;
            }
            value.as_str().map(str::to_owned)
        });
        match selected {
            Some(route) if self.has(&route) => Some(route),
            _ if self.has("$default") => Some("$default".to_owned()),
            _ => None,
        }
    }

    /// Answers an upgrade request: `$connect` decides, then the connection runs.
    pub(crate) async fn upgrade(
        &self,
        mut request: Request<Incoming>,
        peer: SocketAddr,
    ) -> Response<Full<Bytes>> {
        let Some(key) = request.headers().get(header::SEC_WEBSOCKET_KEY).cloned() else {
            return plain(
                StatusCode::UPGRADE_REQUIRED,
                "this is the WebSocket API: connect with a WebSocket client",
            );
        };
        let id = connection_id();
        let connected_at = millis();
        let source_ip = peer.ip().to_string();
        let mut authorized = Value::Null;
        if let Some(authorizer) = &self.authorizer {
            let query = request.uri().query().unwrap_or_default().to_owned();
            match authorizer
                .decide_connect(&self.app, &query, request.headers(), &id)
                .await
            {
                crate::authorize::Decision::Allow(context) => authorized = context,
                crate::authorize::Decision::Refuse(status, body) => {
                    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN);
                    return plain(status, &body.to_string());
                }
            }
        }
        if self.has("$connect") {
            let mut event = self.event("$connect", "CONNECT", &id, connected_at, &source_ip);
            if !authorized.is_null() {
                event["requestContext"]["authorizer"] = authorized.clone();
            }
            let mut headers = serde_json::Map::new();
            let mut multi = serde_json::Map::new();
            for (name, value) in request.headers() {
                if let Ok(value) = value.to_str() {
                    headers.insert(name.as_str().to_owned(), json!(value));
                    if let Some(values) = multi
                        .entry(name.as_str().to_owned())
                        .or_insert_with(|| json!([]))
                        .as_array_mut()
                    {
                        values.push(json!(value));
                    }
                }
            }
            event["headers"] = Value::Object(headers);
            event["multiValueHeaders"] = Value::Object(multi);
            if let Some(query) = request.uri().query() {
                let mut single = serde_json::Map::new();
                let mut multi = serde_json::Map::new();
                for (k, v) in form_urlencoded::parse(query.as_bytes()) {
                    single.insert(k.to_string(), json!(v));
                    if let Some(values) = multi
                        .entry(k.to_string())
                        .or_insert_with(|| json!([]))
                        .as_array_mut()
                    {
                        values.push(json!(v));
                    }
                }
                event["queryStringParameters"] = Value::Object(single);
                event["multiValueQueryStringParameters"] = Value::Object(multi);
            }
            match self.dispatch(&event).await {
                Ok(answer) => {
                    let status = answer["statusCode"].as_u64().unwrap_or(200);
                    if !(200..300).contains(&status) {
                        let status =
                            StatusCode::from_u16(status as u16).unwrap_or(StatusCode::FORBIDDEN);
                        return plain(status, answer["body"].as_str().unwrap_or("Forbidden"));
                    }
                }
                Err(error) => {
                    tracing::error!(
                        error_type = error.error_type(),
                        error = error.message(),
                        "the $connect handler failed"
                    );
                    return plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error");
                }
            }
        }
        let user_agent = request
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let upgrade = hyper::upgrade::on(&mut request);
        let gateway = self.clone();
        tokio::spawn(async move {
            match upgrade.await {
                Ok(upgraded) => {
                    let config = WebSocketConfig::default()
                        .max_frame_size(Some(gateway.limits.frame_bytes))
                        .max_message_size(Some(gateway.limits.message_bytes));
                    let socket = WebSocketStream::from_raw_socket(
                        TokioIo::new(upgraded),
                        Role::Server,
                        Some(config),
                    )
                    .await;
                    gateway
                        .run(socket, id, connected_at, source_ip, user_agent, authorized)
                        .await;
                }
                Err(err) => tracing::debug!(error = %err, "a WebSocket upgrade failed"),
            }
        });
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
            headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
        }
        response
    }

    /// One connection: messages in, posts out, limits, then `$disconnect`.
    async fn run<T>(
        &self,
        socket: WebSocketStream<T>,
        id: String,
        connected_at: i64,
        source_ip: String,
        user_agent: String,
        authorized: Value,
    ) where
        T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (mut sink, mut stream) = socket.split();
        let (tx, mut rx) = mpsc::unbounded_channel::<Out>();
        let last_active = Arc::new(Mutex::new(connected_at));
        self.connections.lock().insert(
            id.clone(),
            Connection {
                tx: tx.clone(),
                connected_at,
                last_active: last_active.clone(),
                source_ip: source_ip.clone(),
                user_agent,
            },
        );
        let writer = tokio::spawn(async move {
            while let Some(out) = rx.recv().await {
                match out {
                    Out::Send(message) => {
                        if sink.send(message).await.is_err() {
                            break;
                        }
                    }
                    Out::Close(code, reason) => {
                        let _ = sink
                            .send(Message::Close(Some(CloseFrame {
                                code,
                                reason: reason.into(),
                            })))
                            .await;
                        break;
                    }
                }
            }
            let _ = sink.close().await;
        });
        let started = Instant::now();
        let (status, reason) = loop {
            let idle = tokio::time::sleep(self.limits.idle);
            let left = self.limits.lifetime.saturating_sub(started.elapsed());
            let frame = tokio::select! {
                frame = stream.next() => frame,
                () = idle => {
                    let _ = tx.send(Out::Close(CloseCode::Away, "Going away"));
                    break (1001, "Idle timeout");
                }
                () = tokio::time::sleep(left) => {
                    let _ = tx.send(Out::Close(CloseCode::Away, "Going away"));
                    break (1001, "Connection duration exceeded");
                }
            };
            *last_active
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = millis();
            let (text, binary) = match frame {
                None => break (1006, "Connection closed"),
                Some(Err(err)) => {
                    let too_big = matches!(err, tokio_tungstenite::tungstenite::Error::Capacity(_));
                    if too_big {
                        let _ = tx.send(Out::Close(CloseCode::Size, "Message too big"));
                        break (1009, "Message too big");
                    }
                    let _ = tx.send(Out::Close(CloseCode::Protocol, "Protocol error"));
                    break (1002, "Protocol error");
                }
                Some(Ok(Message::Close(frame))) => {
                    let code = frame.as_ref().map_or(1005, |f| u16::from(f.code));
                    break (code, "Client closed the connection");
                }
                Some(Ok(Message::Text(text))) => (text.to_string(), false),
                Some(Ok(Message::Binary(bytes))) => (
                    base64::engine::general_purpose::STANDARD.encode(&bytes),
                    true,
                ),
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
            };
            let route = if binary {
                self.has("$default").then(|| "$default".to_owned())
            } else {
                self.select(&text)
            };
            let Some(route) = route else {
                let _ = tx.send(Out::Send(Message::text(
                    json!({"message": "Forbidden", "connectionId": id, "requestId": svless_core::local::request_id()}).to_string(),
                )));
                continue;
            };
            let mut event = self.event(&route, "MESSAGE", &id, connected_at, &source_ip);
            if !authorized.is_null() {
                event["requestContext"]["authorizer"] = authorized.clone();
            }
            event["body"] = json!(text);
            event["isBase64Encoded"] = json!(binary);
            match self.dispatch(&event).await {
                Ok(answer) => {
                    if let Some(body) = answer["body"].as_str().filter(|b| !b.is_empty()) {
                        let _ = tx.send(Out::Send(Message::text(body.to_owned())));
                    }
                }
                Err(error) => {
                    tracing::error!(
                        error_type = error.error_type(),
                        error = error.message(),
                        route,
                        "a WebSocket handler failed"
                    );
                    let _ = tx.send(Out::Send(Message::text(
                        json!({"message": "Internal server error", "connectionId": id, "requestId": svless_core::local::request_id()}).to_string(),
                    )));
                }
            }
        };
        self.connections.lock().remove(&id);
        drop(tx);
        let _ = writer.await;
        if self.has("$disconnect") {
            let mut event = self.event("$disconnect", "DISCONNECT", &id, connected_at, &source_ip);
            if !authorized.is_null() {
                event["requestContext"]["authorizer"] = authorized.clone();
            }
            event["requestContext"]["disconnectStatusCode"] = json!(status);
            event["requestContext"]["disconnectReason"] = json!(reason);
            if let Err(error) = self.dispatch(&event).await {
                tracing::error!(
                    error_type = error.error_type(),
                    error = error.message(),
                    "the $disconnect handler failed"
                );
            }
        }
    }
}

fn plain(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(text.to_owned())));
    *response.status_mut() = status;
    response
}

/// The most a post to a connection may carry (API Gateway: 128 KB).
const MAX_POST_BYTES: usize = 128 * 1024;

fn gone(id: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(
        json!({"message": format!("the connection {id} is gone")}).to_string(),
    )));
    *response.status_mut() = StatusCode::GONE;
    response.headers_mut().insert(
        "x-amzn-errortype",
        HeaderValue::from_static("GoneException"),
    );
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The connection id a management request names: `[/<stage>]/@connections/<id>`.
pub(crate) fn management_target(path: &str) -> Option<String> {
    let (_, rest) = path.split_once("/@connections/")?;
    let id = percent_encoding::percent_decode_str(rest)
        .decode_utf8_lossy()
        .into_owned();
    (!id.is_empty()).then_some(id)
}

/// Answers the management API: post to, describe, or close a connection.
pub(crate) async fn manage(
    connections: &Connections,
    id: &str,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    match request.method().as_str() {
        "POST" => {
            let body = match Limited::new(request.into_body(), MAX_POST_BYTES)
                .collect()
                .await
            {
                Ok(body) => body.to_bytes(),
                Err(_) => {
                    let mut response = Response::new(Full::new(Bytes::from(
                        json!({"message": "the data is over 128 KB"}).to_string(),
                    )));
                    *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
                    response.headers_mut().insert(
                        "x-amzn-errortype",
                        HeaderValue::from_static("PayloadTooLargeException"),
                    );
                    return response;
                }
            };
            let message = match String::from_utf8(body.to_vec()) {
                Ok(text) => Message::text(text),
                Err(_) => Message::binary(body),
            };
            let sent = connections
                .lock()
                .get(id)
                .is_some_and(|c| c.tx.send(Out::Send(message)).is_ok());
            if sent {
                Response::new(Full::new(Bytes::new()))
            } else {
                gone(id)
            }
        }
        "GET" => {
            let connections = connections.lock();
            let Some(connection) = connections.get(id) else {
                return gone(id);
            };
            let at = |ms: i64| {
                chrono::DateTime::from_timestamp_millis(ms)
                    .unwrap_or_default()
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            };
            let last = *connection
                .last_active
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let body = json!({
                "connectedAt": at(connection.connected_at),
                "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent},
                "lastActiveAt": at(last),
            });
            let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
        "DELETE" => {
            let closed = connections
                .lock()
                .get(id)
                .is_some_and(|c| c.tx.send(Out::Close(CloseCode::Normal, "")).is_ok());
            if closed {
                let mut response = Response::new(Full::new(Bytes::new()));
                *response.status_mut() = StatusCode::NO_CONTENT;
                response
            } else {
                gone(id)
            }
        }
        _ => plain(StatusCode::METHOD_NOT_ALLOWED, "use POST, GET or DELETE"),
    }
}
