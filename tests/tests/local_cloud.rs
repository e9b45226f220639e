//! The local cloud over real sockets: an upload to the local object store fires an
//! `#[svless::s3]` handler that writes a stream-enabled table, whose `#[svless::dynamodb_stream]`
//! handler sees the record; failures are retried as Lambda retries them and end in on-failure
//! records; a workflow started with `aws-sdk-sfn` runs the app's task in process; the HTTP API
//! answers, and stops on shutdown.
//!
//! The local stores are one per process, so this file holds one test that runs the scenarios
//! in turn against one cloud.

use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use svless::source::dynamodb::{Change, StreamRecord};
use svless::source::s3::S3Object;
use svless::{App, State};
use svless_local::cloud::Cloud;
use svless_store::delivery::{AsyncRetry, StreamMapping};
use svless_store::dynamo::{StreamView, Table, TableDef};
use svless_store::object::{Key, ObjectStoreExt};

#[derive(Debug, svless::IntoNamedError)]
enum Failure {
    #[error_type("Test.Refused")]
    Refused(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Refused(what) => write!(f, "refused {what}"),
        }
    }
}

#[derive(Clone)]
struct Shared {
    notes: Table,
    /// Every delivery the handlers saw, in order: `s3 <key>`, `stream <pk>`.
    seen: Arc<Mutex<Vec<String>>>,
}

impl Shared {
    fn push(&self, line: String) {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(line);
    }

    fn seen(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn count(&self, line: &str) -> usize {
        self.seen().iter().filter(|l| *l == line).count()
    }
}

#[svless::s3(prefix = "in/")]
async fn on_upload(object: S3Object, State(shared): State<Shared>) -> Result<(), Failure> {
    shared.push(format!("s3 {}", object.key));
    if object.key.starts_with("in/bad") {
        return Err(Failure::Refused(object.key));
    }
    let mut item = std::collections::HashMap::new();
    item.insert(
        "pk".to_owned(),
        serde_dynamo::AttributeValue::S(object.key.clone()),
    );
    shared
        .notes
        .put_item_if(serde_dynamo::Item::from(item), None)
        .await
        .map_err(|e| Failure::Refused(e.to_string()))
}

#[derive(Debug, Deserialize)]
struct Note {
    pk: String,
}

#[svless::dynamodb_stream]
async fn on_note(record: StreamRecord<Note>, State(shared): State<Shared>) -> Result<(), Failure> {
    let Change::Insert { new } = record.change else {
        return Ok(());
    };
    let line = format!("stream {}", new.pk);
    let before = shared.count(&line);
    shared.push(line);
    // `flaky` fails on its first delivery; `poison` always.
    if (new.pk.contains("flaky") && before == 0) || new.pk.contains("poison") {
        return Err(Failure::Refused(new.pk));
    }
    Ok(())
}

#[svless::task(name = "stamp")]
async fn stamp(input: Value) -> Value {
    json!({ "stamped": input })
}

async fn hello() -> &'static str {
    "hello"
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..400 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

fn failures(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON record per line"))
        .collect()
}

async fn notes_table() -> Table {
    let db = svless_store::local::tables().expect("the local tables open");
    let notes = Table::memory(
        TableDef::simple("notes", "pk").stream(StreamView::NewImage),
        &db,
    );
    notes.create().await.expect("the notes table");
    notes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_app_runs_on_the_local_cloud() {
    let dir = std::env::temp_dir().join(format!("svless-cloud-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    svless_store::local::set_data_dir(&dir).expect("a writable data directory");
    let shared = Shared {
        notes: notes_table().await,
        seen: Arc::default(),
    };
    let app = App::new()
        .state(shared.clone())
        .route_fn("GET", "/hello", hello)
        .on(on_upload)
        .on(on_note)
        .on(stamp);
    let running = Cloud::new(app)
        .http_addr(([127, 0, 0, 1], 0).into())
        .services_addr(([127, 0, 0, 1], 0).into())
        .state_machine(
            "stamper",
            r#"{"StartAt": "Stamp", "States": {"Stamp": {"Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "stamp", "Payload.$": "$"},
                "OutputPath": "$.Payload", "End": true}}}"#,
        )
        .object_retry(AsyncRetry {
            backoff: Duration::from_millis(20),
            ..AsyncRetry::default()
        })
        .stream_mapping(StreamMapping {
            maximum_retry_attempts: Some(2),
            retry_backoff: Duration::from_millis(20),
            ..StreamMapping::default()
        })
        .start()
        .await
        .expect("the cloud starts");

    // The HTTP API.
    let body = http_get(&format!("{}/hello", running.http_url())).await;
    assert_eq!(body, "hello");

    // An upload fires the S3 handler, whose write fires the stream handler.
    let uploads = svless_store::local::bucket("uploads")
        .await
        .expect("the bucket");
    uploads
        .put_bytes(&Key::new("in/cat.jpg").expect("a key"), "meow")
        .await
        .expect("uploaded");
    eventually("the stream record of the upload", || {
        shared.count("stream in/cat.jpg") == 1
    })
    .await;
    assert_eq!(shared.count("s3 in/cat.jpg"), 1);

    // A key outside the handler's prefix fires nothing.
    uploads
        .put_bytes(&Key::new("other/dog.jpg").expect("a key"), "woof")
        .await
        .expect("uploaded");

    // A failing S3 handler: the first attempt and two retries, then an on-failure record.
    uploads
        .put_bytes(&Key::new("in/bad.jpg").expect("a key"), "x")
        .await
        .expect("uploaded");
    eventually("the on-failure record of in/bad.jpg", || {
        failures(running.failures()).iter().any(|r| {
            r["requestContext"]["condition"] == "RetriesExhausted"
                && r["requestPayload"]["Records"][0]["s3"]["object"]["key"] == "in/bad.jpg"
        })
    })
    .await;
    assert_eq!(shared.count("s3 in/bad.jpg"), 3, "{:?}", shared.seen());
    let record = failures(running.failures())
        .into_iter()
        .find(|r| r["requestContext"]["condition"] == "RetriesExhausted")
        .expect("the record");
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 3);
    assert_eq!(record["responsePayload"]["errorType"], "Test.Refused");
    assert!(shared.count("s3 other/dog.jpg") == 0);

    // A stream record that fails once is retried from its own sequence number: the records
    // before it in the batch are not delivered again.
    for key in ["in/a1", "in/flaky", "in/a3"] {
        shared
            .notes
            .put_item_if(item(key), None)
            .await
            .expect("written");
    }
    eventually("the retried flaky record", || {
        shared.count("stream in/a3") == 1 && shared.count("stream in/flaky") == 2
    })
    .await;
    assert_eq!(shared.count("stream in/a1"), 1, "{:?}", shared.seen());

    // A record that always fails: two retries, then an on-failure record with the batch.
    shared
        .notes
        .put_item_if(item("in/poison"), None)
        .await
        .expect("written");
    eventually("the stream's on-failure record", || {
        failures(running.failures())
            .iter()
            .any(|r| r["requestContext"]["condition"] == "RetryAttemptsExhausted")
    })
    .await;
    assert_eq!(shared.count("stream in/poison"), 3);
    let record = failures(running.failures())
        .into_iter()
        .find(|r| r["requestContext"]["condition"] == "RetryAttemptsExhausted")
        .expect("the record");
    assert_eq!(record["DDBStreamBatchInfo"]["batchSize"], 1);
    // The stream goes on after the record given up on.
    shared
        .notes
        .put_item_if(item("in/after"), None)
        .await
        .expect("written");
    eventually("the record after the poison one", || {
        shared.count("stream in/after") == 1
    })
    .await;

    // A workflow started through aws-sdk-sfn runs the app's task in process.
    let sfn = sfn_client(&running.services_url()).await;
    let (_, arn) = running.state_machines()[0].clone();
    let started = sfn
        .start_execution()
        .state_machine_arn(&arn)
        .input(r#"{"n": 1}"#)
        .send()
        .await
        .expect("started");
    let mut output = None;
    for _ in 0..200 {
        let described = sfn
            .describe_execution()
            .execution_arn(started.execution_arn())
            .send()
            .await
            .expect("described");
        if described.status() == &aws_sdk_sfn::types::ExecutionStatus::Succeeded {
            output = described.output().map(str::to_owned);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let output: Value =
        serde_json::from_str(&output.expect("the execution succeeded")).expect("JSON output");
    assert_eq!(output, json!({"stamped": {"n": 1}}));

    // Another service's operation is refused by name.
    let refused = raw_post(
        &running.services_url(),
        "AmazonSQS.SendMessage",
        r#"{"QueueUrl":"x","MessageBody":"y"}"#,
    )
    .await;
    assert!(refused.contains("UnknownOperationException"), "{refused}");

    let http = running.http_url();
    running.shutdown().await;
    let address = http.trim_start_matches("http://").to_owned();
    assert!(
        tokio::net::TcpStream::connect(address).await.is_err(),
        "the HTTP API still accepts connections after shutdown"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_data_directory_that_is_not_writable_is_named_at_start() {
    let err = match Cloud::new(App::new())
        .data_dir("/proc/svless-cannot-write-here")
        .http_addr(([127, 0, 0, 1], 0).into())
        .services_addr(([127, 0, 0, 1], 0).into())
        .start()
        .await
    {
        Ok(_) => panic!("a cloud on an unwritable directory started"),
        Err(err) => err.to_string(),
    };
    assert!(
        err.contains("/proc/svless-cannot-write-here") && err.contains("not writable"),
        "{err}"
    );
}

fn item(pk: &str) -> serde_dynamo::Item {
    let mut item = std::collections::HashMap::new();
    item.insert("pk".to_owned(), serde_dynamo::AttributeValue::S(pk.into()));
    serde_dynamo::Item::from(item)
}

async fn sfn_client(url: &str) -> aws_sdk_sfn::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "a", "b", None, None, "test",
        ))
        .load()
        .await;
    aws_sdk_sfn::Client::new(&config)
}

async fn http_get(url: &str) -> String {
    use http_body_util::BodyExt;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let response = client
        .get(url.parse().expect("a URL"))
        .await
        .expect("an answer");
    let body = response.into_body().collect().await.expect("a body");
    String::from_utf8_lossy(&body.to_bytes()).into_owned()
}

async fn raw_post(url: &str, target: &str, body: &str) -> String {
    use http_body_util::BodyExt;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let request = hyper::Request::post(url)
        .header("x-amz-target", target)
        .header("content-type", "application/x-amz-json-1.0")
        .body(http_body_util::Full::new(bytes::Bytes::from(
            body.to_owned(),
        )))
        .expect("a request");
    let response = client.request(request).await.expect("an answer");
    let body = response.into_body().collect().await.expect("a body");
    String::from_utf8_lossy(&body.to_bytes()).into_owned()
}
