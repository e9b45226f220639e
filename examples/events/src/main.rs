//! One binary for many functions: every kind of event handler in one `App`.
//!
//! On Lambda it serves whatever event source invokes it. Locally, give it event files and it
//! invokes itself with each, printing Lambda's answer:
//!
//! ```text
//! cargo run -p events-demo -- tests/fixtures/sqs-standard.json tests/fixtures/dynamodb-stream.json
//! ```

use serde::{Deserialize, Serialize};
use svless::source::dynamodb::{Change, StreamRecord};
use svless::source::eventbridge::{Event, Scheduled};
use svless::source::s3::S3Object;
use svless::source::sqs::Message;
use svless::source::websocket::WsMessage;
use svless::{App, Context, Metrics, NamedError};

/// Failures with the names Lambda and Step Functions report.
#[derive(Debug, svless::IntoNamedError)]
pub enum DemoError {
    /// The image is too wide.
    #[error_type("Image.TooLarge")]
    TooLarge(u32),
}

impl std::fmt::Display for DemoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DemoError::TooLarge(width) => write!(f, "{width} pixels is too wide"),
        }
    }
}

/// New uploads.
#[svless::s3(prefix = "uploads/", events = "ObjectCreated:*")]
async fn on_upload(object: S3Object, metrics: Metrics) {
    metrics.count("Uploads", 1.0);
    println!(
        "upload: s3://{}/{} ({:?} bytes)",
        object.bucket, object.key, object.size
    );
}

/// A note in the example table.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Note {
    message: String,
}

/// Table changes.
#[svless::dynamodb_stream]
async fn on_note(record: StreamRecord<Note>) {
    match record.change {
        Change::Insert { new } => println!("note added: {}", new.message),
        Change::Modify { old, new } => println!("note changed: {} -> {}", old.message, new.message),
        Change::Remove { old, expired } => {
            println!("note removed: {} (expired: {expired})", old.message)
        }
    }
}

/// Queue messages, whatever their body.
#[svless::sqs]
async fn on_message(message: Message<String>) {
    println!("message {}: {}", message.message_id, message.body);
}

/// A resize request from a state machine.
#[derive(Debug, Deserialize)]
struct Resize {
    key: String,
    width: u32,
}

/// The resize task's result.
#[derive(Debug, Serialize)]
struct Resized {
    key: String,
}

/// A Step Functions task.
#[svless::task(name = "resize")]
async fn resize(input: Resize, ctx: Context) -> Result<Resized, DemoError> {
    if input.width > 4096 {
        return Err(DemoError::TooLarge(input.width));
    }
    println!("resizing {} with {:?} left", input.key, ctx.remaining());
    Ok(Resized {
        key: format!("small/{}", input.key),
    })
}

/// An order placed somewhere else.
#[derive(Debug, Deserialize)]
struct OrderPlaced {
    order_id: String,
}

/// Custom events.
#[svless::event(source = "com.example.orders", detail_type = "Order Placed")]
async fn on_order(event: Event<OrderPlaced>) {
    println!("order {}", event.detail.order_id);
}

/// A schedule.
#[svless::event(source = "aws.events", detail_type = "Scheduled Event")]
async fn nightly(event: Scheduled) {
    println!("scheduled by {:?}", event.resources);
}

/// A chat message on the WebSocket API.
#[derive(Debug, Deserialize)]
struct Chat {
    text: String,
}

/// WebSocket messages.
#[svless::ws(route = "sendmessage")]
async fn chat(message: WsMessage<Chat>) -> String {
    format!("{} said {}", message.connection_id, message.body.text)
}

fn app() -> App {
    App::new()
        .metrics_namespace("EventsDemo")
        .on(on_upload)
        .on(on_note)
        .on(on_message)
        .on(resize)
        .on(on_order)
        .on(nightly)
        .on(chat)
}

#[tokio::main]
async fn main() -> Result<(), svless::BoxError> {
    if svless::runtime::on_lambda() {
        return svless::runtime::run(app()).await;
    }
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: events-demo EVENT.json...  (on Lambda it serves invocations instead)");
        return Err("no event files given".into());
    }
    let app = app();
    for file in files {
        let payload = std::fs::read(&file).map_err(|e| format!("cannot read {file}: {e}"))?;
        let answer = match app.dispatch(&payload, Context::local()).await {
            Ok(out) => String::from_utf8_lossy(&out).into_owned(),
            Err(err) => format_error(&err),
        };
        println!("{file} -> {answer}");
    }
    Ok(())
}

fn format_error(err: &NamedError) -> String {
    serde_json::json!({ "errorType": err.error_type(), "errorMessage": err.message() }).to_string()
}
