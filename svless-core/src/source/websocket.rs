//! API Gateway WebSocket APIs: routes by route key, typed message bodies, `$connect` refusal.

use crate::body::Response;
use crate::error::Error;
use crate::handler::BoxFuture;
use crate::invocation::Invocation;
use crate::named_error::NamedError;
use crate::response::IntoResponse;
use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use http::HeaderMap;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

/// Which part of a connection's life an event is.
///
/// ```
/// use svless_core::source::websocket::{WsEventType, WsMessage};
/// fn is_connect(m: &WsMessage<()>) -> bool { m.event_type == WsEventType::Connect }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WsEventType {
    /// `$connect`: answer with a non-2xx status to refuse the connection.
    Connect,
    /// A message on a route (an action, or `$default`).
    Message,
    /// `$disconnect`.
    Disconnect,
}

/// A WebSocket event with its body decoded from JSON into `T` (`()` or `Option<T>` for events
/// that carry none, such as `$connect`). `WsMessage<String>` takes the frame's text as sent and
/// `WsMessage<Vec<u8>>` its bytes — what a `$default` route receives from clients that send
/// plain text or binary frames.
///
/// ```
/// use svless_core::source::websocket::WsMessage;
///
/// #[derive(serde::Deserialize)]
/// struct Chat { text: String }
///
/// async fn on_chat(message: WsMessage<Chat>) -> Result<(), svless_core::Error> {
///     println!("{} says {}", message.connection_id, message.body.text);
///     Ok(())
/// }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WsMessage<T> {
    /// The body.
    pub body: T,
    /// The connection id, to post back to it.
    pub connection_id: String,
    /// The route key: `$connect`, `$disconnect`, `$default` or an action.
    pub route_key: String,
    /// Connect, message or disconnect.
    pub event_type: WsEventType,
    /// The API's domain name (with the stage, what the connections client needs).
    pub domain_name: Option<String>,
    /// The stage.
    pub stage: Option<String>,
    /// API Gateway's request id.
    pub request_id: Option<String>,
    /// Headers (sent with `$connect` only).
    pub headers: HeaderMap,
    /// Query string parameters (sent with `$connect` only).
    pub query: HashMap<String, String>,
    /// What an authorizer attached (on `$connect`).
    pub authorizer: serde_json::Map<String, serde_json::Value>,
    /// On `$disconnect`: the close status code and reason, when the client sent them.
    pub disconnect: Option<(i64, String)>,
}

/// The frame as the handler's type: `String` (the text as sent) and `Vec<u8>` (the bytes as
/// sent) take any frame; other types read JSON.
fn decode_body<T: DeserializeOwned + 'static>(body: Option<&[u8]>) -> Result<T, Error> {
    use std::any::{Any, TypeId};
    let raw = body.unwrap_or_default();
    let take = |value: Box<dyn Any>| {
        value
            .downcast::<T>()
            .map(|v| *v)
            .map_err(|_| Error::internal("the frame's type changed while it was decoded"))
    };
    if TypeId::of::<T>() == TypeId::of::<String>() {
        let text = std::str::from_utf8(raw)
            .map_err(|_| Error::bad_request("the message is not UTF-8 text"))?;
        return take(Box::new(text.to_owned()));
    }
    if TypeId::of::<T>() == TypeId::of::<Vec<u8>>() {
        return take(Box::new(raw.to_vec()));
    }
    if raw.is_empty() {
        return T::deserialize(
            serde::de::value::UnitDeserializer::<serde::de::value::Error>::new(),
        )
        .map_err(|_| Error::missing("the message has no body"));
    }
    crate::Json::<T>::from_bytes(raw).map(|json| json.0)
}

impl<T: DeserializeOwned + 'static> WsMessage<T> {
    /// Decodes an `aws_lambda_events` WebSocket event; a body that does not decode is a 400/422
    /// problem naming the field.
    ///
    /// ```
    /// use svless_core::source::websocket::{WsEventType, WsMessage};
    /// let raw: aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest = serde_json::from_value(serde_json::json!({
    ///     "requestContext": {"routeKey": "sendmessage", "eventType": "MESSAGE", "connectionId": "abc=",
    ///                        "connectedAt": 0, "requestTimeEpoch": 0},
    ///     "body": "{\"text\": \"hi\"}", "isBase64Encoded": false
    /// })).expect("an event");
    /// let message = WsMessage::<serde_json::Value>::from_record(raw).expect("decodes");
    /// assert_eq!((message.event_type, message.body["text"].as_str()), (WsEventType::Message, Some("hi")));
    /// ```
    pub fn from_record(event: ApiGatewayWebsocketProxyRequest) -> Result<Self, Error> {
        let rc = event.request_context;
        let event_type = match rc.event_type.as_deref() {
            Some("CONNECT") => WsEventType::Connect,
            Some("DISCONNECT") => WsEventType::Disconnect,
            _ => WsEventType::Message,
        };
        let body = if event.is_base64_encoded {
            let decoded = crate::payload::decode_body(event.body, true)
                .map_err(|e| Error::bad_request(e.to_string()))?;
            decode_body(Some(decoded.as_bytes()))?
        } else {
            decode_body(event.body.as_deref().map(str::as_bytes))?
        };
        Ok(WsMessage {
            body,
            connection_id: rc.connection_id.unwrap_or_default(),
            route_key: rc.route_key.unwrap_or_default(),
            event_type,
            domain_name: rc.domain_name,
            stage: rc.stage,
            request_id: rc.request_id,
            headers: event.headers,
            query: crate::payload::query_pairs(&event.query_string_parameters)
                .into_iter()
                .collect(),
            authorizer: rc.authorizer.fields.into_iter().collect(),
            disconnect: rc
                .disconnect_status_code
                .map(|code| (code, rc.disconnect_reason.unwrap_or_default())),
        })
    }
}

type WsHandler<S> = Arc<
    dyn Fn(ApiGatewayWebsocketProxyRequest, Invocation<S>) -> BoxFuture<Response> + Send + Sync,
>;

pub(crate) struct Subscription<S> {
    pub(crate) route: String,
    pub(crate) handler: WsHandler<S>,
}

impl<S> Clone for Subscription<S> {
    fn clone(&self) -> Self {
        Subscription {
            route: self.route.clone(),
            handler: self.handler.clone(),
        }
    }
}

/// Registers a handler for a route key (what `#[svless::ws]` generates).
///
/// ```
/// use svless_core::source::{Sources, Subscribe, websocket};
/// struct Echo;
/// impl<S: Send + Sync + 'static> Subscribe<S> for Echo {
///     fn subscribe(self, sources: &mut Sources<S>) {
///         websocket::subscribe(sources, "$default", |message: websocket::WsMessage<serde_json::Value>, _inv| async move {
///             message.body.to_string()
///         });
///     }
/// }
/// let app = svless_core::App::new().on(Echo);
/// ```
pub fn subscribe<S, T, R, F, Fut>(sources: &mut super::Sources<S>, route: &str, handler: F)
where
    S: Send + Sync + 'static,
    T: DeserializeOwned + Send + 'static,
    R: IntoResponse,
    F: Fn(WsMessage<T>, Invocation<S>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
{
    let handler = Arc::new(handler);
    let ws: WsHandler<S> = Arc::new(move |event, invocation| -> BoxFuture<Response> {
        let message = match WsMessage::<T>::from_record(event) {
            Ok(message) => message,
            Err(rejection) => return Box::pin(std::future::ready(rejection.into_response())),
        };
        let handler = handler.clone();
        Box::pin(async move {
            use futures_util::FutureExt as _;
            match std::panic::AssertUnwindSafe(handler(message, invocation))
                .catch_unwind()
                .await
            {
                Ok(result) => result.into_response(),
                Err(_) => {
                    tracing::error!("a WebSocket handler panicked");
                    Error::new(http::StatusCode::INTERNAL_SERVER_ERROR).into_response()
                }
            }
        })
    });
    sources.websocket.push(Subscription {
        route: route.to_owned(),
        handler: ws,
    });
}

/// Routes a WebSocket event to the handler of its route key, else `$default`.
pub(crate) async fn run<S>(
    subscriptions: &[Subscription<S>],
    payload: &[u8],
    state: Arc<S>,
    mut context: crate::Context,
) -> Result<Vec<u8>, NamedError> {
    let event: ApiGatewayWebsocketProxyRequest = serde_json::from_slice(payload).map_err(|e| {
        NamedError::new(
            "Svless.MalformedEvent",
            format!("the WebSocket event is malformed: {e}"),
        )
    })?;
    let rc = &event.request_context;
    context.connection_id = rc.connection_id.clone();
    context.domain_name = rc.domain_name.clone();
    context.stage = rc.stage.clone();
    context.api_request_id = rc.request_id.clone();
    context.source_ip = rc.identity.source_ip.clone();
    context.user_agent = rc.identity.user_agent.clone();
    let invocation = Invocation::new(state, context);
    let route = event.request_context.route_key.clone().unwrap_or_default();
    let subscription = subscriptions
        .iter()
        .find(|s| s.route == route)
        .or_else(|| if route.starts_with('$') && route != "$default" { None } else { subscriptions.iter().find(|s| s.route == "$default") })
        .ok_or_else(|| {
            NamedError::new(
                "Svless.UnhandledEvent",
                format!("the app has no WebSocket handler for the route `{route}` and no `$default` handler"),
            )
        })?;
    let response = (subscription.handler)(event, invocation).await;
    Ok(encode(response))
}

fn encode(response: Response) -> Vec<u8> {
    let (parts, body) = response.into_parts();
    let mut out = serde_json::json!({ "statusCode": parts.status.as_u16() });
    if !body.is_empty() {
        out["body"] =
            serde_json::Value::String(String::from_utf8_lossy(body.as_bytes()).into_owned());
    }
    let headers: serde_json::Map<String, serde_json::Value> = parts
        .headers
        .iter()
        .filter_map(|(k, v)| {
            v.to_str().ok().map(|v| {
                (
                    k.as_str().to_owned(),
                    serde_json::Value::String(v.to_owned()),
                )
            })
        })
        .collect();
    if !headers.is_empty() {
        out["headers"] = serde_json::Value::Object(headers);
    }
    serde_json::to_vec(&out).unwrap_or_default()
}

#[cfg(feature = "websocket-client")]
mod connections {
    use aws_sdk_apigatewaymanagement::error::SdkError;
    use aws_sdk_apigatewaymanagement::operation::post_to_connection::PostToConnectionError;
    use aws_sdk_apigatewaymanagement::primitives::Blob;

    /// Why a message did not reach a connection.
    ///
    /// ```no_run
    /// # async fn doc(connections: svless_core::source::websocket::Connections) {
    /// match connections.post("abc=", b"hi".to_vec()).await {
    ///     Err(svless_core::source::websocket::PostError::Gone(id)) => println!("forget {id}"),
    ///     other => println!("{other:?}"),
    /// }
    /// # }
    /// ```
    #[derive(Debug, thiserror::Error)]
    #[non_exhaustive]
    pub enum PostError {
        /// The client has disconnected (410 Gone): forget the connection.
        #[error("the connection {0} is gone")]
        Gone(String),
        /// Too many messages: try again later.
        #[error("posting to the connection was throttled")]
        Throttled(#[source] Box<SdkError<PostToConnectionError>>),
        /// Any other failure.
        #[error("posting to the connection failed: {0}")]
        Service(#[source] Box<SdkError<PostToConnectionError>>),
    }

    /// Sends messages to the connections of a WebSocket API stage (API Gateway's management API).
    ///
    /// ```no_run
    /// # async fn doc(message: svless_core::source::websocket::WsMessage<()>) -> Result<(), Box<dyn std::error::Error>> {
    /// use svless_core::source::websocket::{Connections, PostError};
    /// let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    /// let connections = Connections::for_stage(&config, message.domain_name.as_deref().unwrap_or(""), message.stage.as_deref().unwrap_or(""));
    /// match connections.post(&message.connection_id, b"hello").await {
    ///     Ok(()) => {}
    ///     Err(PostError::Gone(id)) => println!("forget {id}"),
    ///     Err(other) => return Err(other.into()),
    /// }
    /// # Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct Connections {
        client: aws_sdk_apigatewaymanagement::Client,
    }

    impl Connections {
        /// The connections of the stage served at `https://{domain}/{stage}` — or, when
        /// `AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI` is set (the local cloud sets it), at
        /// `{that endpoint}/{stage}`, as the SDK's service-specific endpoint variable says.
        ///
        /// ```no_run
        /// # async fn doc() {
        /// let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        /// let connections = svless_core::source::websocket::Connections::for_stage(
        ///     &config, "abcd1234.execute-api.us-east-1.amazonaws.com", "production");
        /// # }
        /// ```
        pub fn for_stage(config: &aws_config::SdkConfig, domain: &str, stage: &str) -> Self {
            let endpoint = match std::env::var("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI") {
                Ok(local) if !local.is_empty() => {
                    format!("{}/{stage}", local.trim_end_matches('/'))
                }
                _ => format!("https://{domain}/{stage}"),
            };
            Self::with_endpoint(config, &endpoint)
        }

        /// The connections behind an explicit management endpoint (a custom domain, a local server).
        ///
        /// ```no_run
        /// # async fn doc() {
        /// let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        /// let connections = svless_core::source::websocket::Connections::with_endpoint(
        ///     &config, "https://ws.example.com/production");
        /// # }
        /// ```
        pub fn with_endpoint(config: &aws_config::SdkConfig, endpoint: &str) -> Self {
            let conf = aws_sdk_apigatewaymanagement::config::Builder::from(config)
                .endpoint_url(endpoint)
                .build();
            Self {
                client: aws_sdk_apigatewaymanagement::Client::from_conf(conf),
            }
        }

        /// Posts `data` to the connection; a client that has left is [`PostError::Gone`].
        ///
        /// ```no_run
        /// # async fn doc(connections: svless_core::source::websocket::Connections) {
        /// if let Err(svless_core::source::websocket::PostError::Gone(id)) = connections.post("abc=", b"hi".to_vec()).await {
        ///     println!("forget {id}");
        /// }
        /// # }
        /// ```
        pub async fn post(
            &self,
            connection_id: &str,
            data: impl Into<Vec<u8>>,
        ) -> Result<(), PostError> {
            self.client
                .post_to_connection()
                .connection_id(connection_id)
                .data(Blob::new(data.into()))
                .send()
                .await
                .map(|_| ())
                .map_err(|err| post_error(connection_id, err))
        }
    }

    /// Sorts a management API error into what the caller should do: gone, throttled, or other.
    ///
    /// ```no_run
    /// # fn doc(err: aws_sdk_apigatewaymanagement::error::SdkError<aws_sdk_apigatewaymanagement::operation::post_to_connection::PostToConnectionError>) {
    /// match svless_core::source::websocket::post_error("abc=", err) {
    ///     svless_core::source::websocket::PostError::Gone(id) => println!("forget {id}"),
    ///     other => println!("{other}"),
    /// }
    /// # }
    /// ```
    pub fn post_error(connection_id: &str, err: SdkError<PostToConnectionError>) -> PostError {
        match err.as_service_error() {
            Some(PostToConnectionError::GoneException(_)) => {
                PostError::Gone(connection_id.to_owned())
            }
            Some(PostToConnectionError::LimitExceededException(_)) => {
                PostError::Throttled(Box::new(err))
            }
            _ => PostError::Service(Box::new(err)),
        }
    }
}

#[cfg(feature = "websocket-client")]
pub use connections::{Connections, PostError, post_error};

/// Handlers registered before the app had its state, for the stateful app.
pub(crate) fn rebind<S: 'static>(subscriptions: Vec<Subscription<()>>) -> Vec<Subscription<S>> {
    subscriptions
        .into_iter()
        .map(|w| {
            let handler = w.handler;
            Subscription {
                route: w.route,
                handler: Arc::new(move |event, invocation: Invocation<S>| {
                    handler(event, invocation.without_state())
                }),
            }
        })
        .collect()
}

/// Whether WebSocket routes take events of `kind`.
pub(crate) fn takes(kind: &super::SourceKind) -> bool {
    matches!(kind, super::SourceKind::WebSocket)
}

/// Routes the event by its route key (`$default` for unknown actions).
pub(crate) async fn dispatch<S: Send + Sync + 'static>(
    sources: &super::Sources<S>,
    _kind: &super::SourceKind,
    payload: &[u8],
    invocation: Invocation<S>,
) -> Result<Vec<u8>, NamedError> {
    if sources.websocket.is_empty() {
        return Err(super::unhandled("WebSocket events"));
    }
    run(
        &sources.websocket,
        payload,
        invocation.state_arc(),
        invocation.context().clone(),
    )
    .await
}
