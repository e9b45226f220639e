//! WebSocket APIs: routing by route key, typed bodies, connection facts, refusing a connection.

use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use svless::source::websocket::WsMessage;
use svless::{App, Context, Error, State};
use svless_tests::{fixture, lambda_context};

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn push(&self, line: String) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(line);
    }
    fn all(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

#[svless::ws(route = "$connect")]
async fn connect(
    message: WsMessage<()>,
    ctx: Context,
    State(log): State<Log>,
) -> Result<(), Error> {
    if message.query.get("token").map(String::as_str) != Some("abc123") {
        return Err(Error::forbidden("a valid token is required"));
    }
    log.push(format!(
        "connect {} {:?} {:?}",
        message.connection_id, ctx.connection_id, ctx.stage
    ));
    Ok(())
}

#[derive(Debug, serde::Deserialize)]
struct Chat {
    text: String,
}

#[svless::ws(route = "sendmessage")]
async fn send(message: WsMessage<Chat>, State(log): State<Log>) -> String {
    log.push(format!("{:?} {}", message.event_type, message.body.text));
    format!("echo: {}", message.body.text)
}

#[svless::ws(route = "$default")]
async fn fallback(message: WsMessage<Value>) -> Result<(), Error> {
    Err(Error::bad_request(format!(
        "unknown action in {}",
        message.body
    )))
}

#[svless::ws(route = "$disconnect")]
async fn disconnect(message: WsMessage<()>, State(log): State<Log>) {
    log.push(format!("disconnect {:?}", message.disconnect));
}

fn app(log: &Log) -> App<Log> {
    App::new()
        .state(log.clone())
        .on(connect)
        .on(send)
        .on(fallback)
        .on(disconnect)
}

async fn dispatch(app: &App<Log>, payload: Vec<u8>) -> Value {
    let out = app
        .dispatch(&payload, lambda_context())
        .await
        .expect("handled");
    serde_json::from_slice(&out).expect("JSON")
}

#[tokio::test]
async fn a_connection_lives_through_its_routes() {
    let log = Log::default();
    let app = app(&log);
    assert_eq!(
        dispatch(&app, fixture("websocket-connect.json")).await,
        json!({"statusCode": 204})
    );
    let echoed = dispatch(&app, fixture("websocket-message.json")).await;
    assert_eq!(echoed["statusCode"], 200);
    assert_eq!(echoed["body"], "echo: hello, world");
    assert_eq!(
        dispatch(&app, fixture("websocket-disconnect.json")).await,
        json!({"statusCode": 204})
    );
    assert_eq!(
        log.all(),
        [
            "connect XAmrFdFXoAMCHBw= Some(\"XAmrFdFXoAMCHBw=\") Some(\"production\")",
            "Message hello, world",
            "disconnect Some((1001, \"Going away\"))"
        ]
    );
}

#[tokio::test]
async fn connect_can_refuse_a_connection() {
    let log = Log::default();
    let mut event: Value =
        serde_json::from_slice(&fixture("websocket-connect.json")).expect("JSON");
    event["queryStringParameters"]["token"] = json!("forged");
    event["multiValueQueryStringParameters"]["token"] = json!(["forged"]);
    let out = dispatch(&app(&log), serde_json::to_vec(&event).expect("JSON")).await;
    assert_eq!(out["statusCode"], 403);
    assert!(log.all().is_empty());
}

#[tokio::test]
async fn unknown_actions_go_to_default_and_bad_bodies_are_refused() {
    let log = Log::default();
    let mut event: Value =
        serde_json::from_slice(&fixture("websocket-message.json")).expect("JSON");
    event["requestContext"]["routeKey"] = json!("jump");
    let out = dispatch(&app(&log), serde_json::to_vec(&event).expect("JSON")).await;
    assert_eq!(out["statusCode"], 400);
    event["requestContext"]["routeKey"] = json!("sendmessage");
    event["body"] = json!("{\"text\": 5}");
    let out = dispatch(&app(&log), serde_json::to_vec(&event).expect("JSON")).await;
    assert_eq!(out["statusCode"], 422);
}

#[tokio::test]
async fn without_a_handler_for_the_route_the_event_is_a_named_error() {
    let app = App::new().state(Log::default()).on(send);
    let err = app
        .dispatch(&fixture("websocket-connect.json"), lambda_context())
        .await
        .expect_err("unhandled");
    assert_eq!(err.error_type(), "Svless.UnhandledEvent");
}

#[svless::ws(route = "$default")]
async fn plain(message: WsMessage<String>, State(log): State<Log>) -> String {
    log.push(format!("text {}", message.body));
    message.body
}

#[svless::ws(route = "$default")]
async fn binary(message: WsMessage<Vec<u8>>, State(log): State<Log>) {
    log.push(format!("bytes {:?}", message.body));
}

#[tokio::test]
async fn a_default_route_takes_plain_text_and_binary_frames() {
    let mut event: Value =
        serde_json::from_slice(&fixture("websocket-message.json")).expect("JSON");
    event["requestContext"]["routeKey"] = json!("$default");
    event["body"] = json!("hello, plain text");
    let log = Log::default();
    let app = App::new().state(log.clone()).on(plain);
    let out = dispatch(&app, serde_json::to_vec(&event).expect("JSON")).await;
    assert_eq!(out["statusCode"], 200, "{out}");
    assert_eq!(out["body"], "hello, plain text");
    // A frame that is JSON is still the text as sent.
    event["body"] = json!("\"quoted\"");
    dispatch(&app, serde_json::to_vec(&event).expect("JSON")).await;
    assert_eq!(log.all(), ["text hello, plain text", "text \"quoted\""]);

    // A binary frame arrives base64-encoded.
    event["body"] = json!("AAH/");
    event["isBase64Encoded"] = json!(true);
    let log = Log::default();
    let app = App::new().state(log.clone()).on(binary);
    let out = dispatch(&app, serde_json::to_vec(&event).expect("JSON")).await;
    assert_eq!(out["statusCode"], 204, "{out}");
    assert_eq!(log.all(), ["bytes [0, 1, 255]"]);
}
