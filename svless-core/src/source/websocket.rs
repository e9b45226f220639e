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
/// that carry none, such as `$connect`).
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

fn decode_body<T: DeserializeOwned>(body: Option<&str>) -> Result<T, Error> {
    match body.filter(|b| !b.is_empty()) {
        Some(text) => crate::Json::<T>::from_bytes(text.as_bytes()).map(|json| json.0),
        None => {
            T::deserialize(serde::de::value::UnitDeserializer::<serde::de::value::Error>::new())
                .map_err(|_| Error::missing("the message has no body"))
        }
    }
}

impl<T: DeserializeOwned> WsMessage<T> {
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
    /// let message = WsMessage::<serde_json::Value>::from_event(raw).expect("decodes");
    /// assert_eq!((message.event_type, message.body["text"].as_str()), (WsEventType::Message, Some("hi")));
    /// ```
    pub fn from_event(event: ApiGatewayWebsocketProxyRequest) -> Result<Self, Error> {
        let rc = event.request_context;
        let event_type = match rc.event_type.as_deref() {
            Some("CONNECT") => WsEventType::Connect,
            Some("DISCONNECT") => WsEventType::Disconnect,
            _ => WsEventType::Message,
        };
        let body = if event.is_base64_encoded {
            let decoded = crate::event::decode_body(event.body, true)
                .map_err(|e| Error::bad_request(e.to_string()))?;
            decode_body(std::str::from_utf8(decoded.as_bytes()).ok())?
        } else {
            decode_body(event.body.as_deref())?
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
            query: event
                .query_string_parameters
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
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

/// Registers a handler for a route key (what `#[svless::ws]` generates).
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
        let message = match WsMessage::<T>::from_event(event) {
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
