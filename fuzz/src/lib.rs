//! What the fuzz targets share: an app with a handler for every kind of event and routes with
//! every extractor, and a runtime to drive it.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::OnceLock;
use svless::source::dynamodb::StreamRecord;
use svless::source::eventbridge::{Event, Scheduled};
use svless::source::s3::S3Object;
use svless::source::sqs::Message;
use svless::source::websocket::WsMessage;
use svless::{App, Context, Json, NamedError, Path, Query, api};

#[derive(Debug, Serialize, Deserialize)]
pub struct Todo {
    pub title: String,
    pub done: Option<bool>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub priority: Option<i8>,
}

#[derive(Debug, Deserialize)]
pub struct Page {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    #[serde(default)]
    pub tag: Vec<String>,
}

#[api(GET "/todos/{id}")]
async fn get_todo(Path(id): Path<u64>) -> String {
    id.to_string()
}

#[api(POST "/todos")]
async fn create_todo(Json(todo): Json<Todo>) -> Json<Todo> {
    Json(todo)
}

#[api(GET "/todos")]
async fn list_todos(Query(page): Query<Page>) -> String {
    format!("{:?} {:?} {}", page.limit, page.cursor, page.tag.len())
}

#[api(PUT "/users/{user}/todos/{id}")]
async fn put_todo(Path((user, id)): Path<(String, i64)>, Json(todo): Json<Todo>) -> String {
    format!("{user} {id} {}", todo.title)
}

#[api(GET "/files/{proxy+}")]
async fn file(Path(path): Path<String>) -> String {
    path
}

#[svless::s3]
async fn on_object(object: S3Object) -> Result<(), NamedError> {
    if object.key.is_empty() {
        return Err(NamedError::new("Fuzz.EmptyKey", "an empty key"));
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
pub struct Row {
    pub pk: String,
    pub n: Option<i64>,
    #[serde(default)]
    pub tags: Vec<String>,
}

#[svless::dynamodb_stream]
async fn on_row(record: StreamRecord<Row>) {
    let _ = record.change;
}

#[derive(Debug, Deserialize)]
pub struct Order {
    pub id: String,
    pub items: Option<u32>,
}

#[svless::sqs]
async fn on_message(message: Message<Order>) {
    let _ = message.body.id;
}

#[svless::event(source = "com.example.orders", detail_type = "Order Placed")]
async fn on_order(event: Event<Order>) {
    let _ = event.detail.id;
}

#[svless::event(source = "aws.events", detail_type = "Scheduled Event")]
async fn on_schedule(event: Scheduled) {
    let _ = event.resources;
}

#[svless::kinesis]
async fn on_record(record: svless::source::kinesis::Record<String>) {
    let _ = record.data;
}

#[svless::ws(route = "$connect")]
async fn on_connect(message: WsMessage<()>) {
    let _ = message.query;
}

#[svless::ws(route = "$default")]
async fn on_ws(message: WsMessage<Value>) -> String {
    message.body.to_string()
}

#[derive(Debug, Deserialize)]
pub struct Resize {
    pub key: String,
    pub width: u32,
}

#[svless::task(name = "resize")]
async fn resize(input: Resize) -> Result<Value, NamedError> {
    Ok(serde_json::json!({"key": input.key, "width": input.width}))
}

/// The app every payload goes to.
pub fn app() -> &'static App {
    static APP: OnceLock<App> = OnceLock::new();
    APP.get_or_init(app_with_state)
}

/// A fresh copy of the app (the local cloud takes one by value).
pub fn app_with_state() -> App {
    App::new()
        .metrics_sink(|_| {})
        .route(get_todo)
        .route(create_todo)
        .route(list_todos)
        .route(put_todo)
        .route(file)
        .on(on_object)
        .on(on_row)
        .on(on_message)
        .on(on_order)
        .on(on_schedule)
        .on(on_record)
        .on(on_connect)
        .on(on_ws)
        .on(resize)
}

/// One runtime for every input.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

/// Dispatches a payload; whatever it is, the answer is bytes or a named error — never a panic
/// (libFuzzer reports one as a crash).
pub fn dispatch(payload: &[u8]) {
    let out = runtime().block_on(app().dispatch(payload, Context::default()));
    if let Ok(bytes) = out {
        // An HTTP answer is JSON Lambda can send back.
        assert!(serde_json::from_slice::<Value>(&bytes).is_ok() || bytes.is_empty());
    }
}
