//! One chain through the whole local cloud, over real sockets with real clients: a browser-
//! shaped upload through a presigned URL fires an `#[svless::s3]` handler, which starts a
//! workflow with `aws-sdk-sfn`; the workflow's task writes a stream-enabled table; the stream
//! handler posts to a WebSocket client through the management API; the client receives it.

use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use svless::source::dynamodb::{Change, StreamRecord};
use svless::source::s3::S3Object;
use svless::source::websocket::{Connections, WsMessage};
use svless::{App, State};
use svless_local::cloud::Cloud;
use svless_store::dynamo::{StreamView, Table, TableDef};
use svless_store::object::{Key, ObjectStore as _};

#[derive(Clone)]
struct Chain {
    photos: Table,
    sfn: Arc<OnceLock<(aws_sdk_sfn::Client, String)>>,
    connections: Arc<OnceLock<Connections>>,
    subscribers: Arc<Mutex<Vec<String>>>,
}

#[derive(Debug, svless::IntoNamedError)]
enum ChainError {
    #[error_type("Chain.NotReady")]
    NotReady,
    #[error_type("Chain.Failed")]
    Failed(String),
}

impl std::fmt::Display for ChainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainError::NotReady => f.write_str("the cloud is not started yet"),
            ChainError::Failed(why) => f.write_str(why),
        }
    }
}

/// An upload starts the workflow.
#[svless::s3(prefix = "uploads/")]
async fn on_upload(object: S3Object, State(chain): State<Chain>) -> Result<(), ChainError> {
    let (sfn, machine) = chain.sfn.get().ok_or(ChainError::NotReady)?;
    sfn.start_execution()
        .state_machine_arn(machine)
        .input(json!({ "key": object.key, "size": object.size }).to_string())
        .send()
        .await
        .map_err(|e| ChainError::Failed(format!("{e:?}")))?;
    Ok(())
}

#[derive(Debug, Deserialize)]
struct Photo {
    key: String,
}

/// The workflow's task writes the table.
#[svless::task(name = "record")]
async fn record_photo(photo: Photo, State(chain): State<Chain>) -> Result<Value, ChainError> {
    let mut item = std::collections::HashMap::new();
    item.insert(
        "pk".to_owned(),
        serde_dynamo::AttributeValue::S(photo.key.clone()),
    );
    item.insert(
        "status".to_owned(),
        serde_dynamo::AttributeValue::S("ready".into()),
    );
    chain
        .photos
        .put_item_if(serde_dynamo::Item::from(item), None)
        .await
        .map_err(|e| ChainError::Failed(e.to_string()))?;
    Ok(json!({ "recorded": photo.key }))
}

#[derive(Debug, Deserialize)]
struct Row {
    pk: String,
    status: String,
}

/// The stream tells every WebSocket subscriber.
#[svless::dynamodb_stream]
async fn on_photo(record: StreamRecord<Row>, State(chain): State<Chain>) -> Result<(), ChainError> {
    let Change::Insert { new } = record.change else {
        return Ok(());
    };
    let connections = chain.connections.get().ok_or(ChainError::NotReady)?;
    let subscribers = chain
        .subscribers
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let message = json!({ "photo": new.pk, "status": new.status }).to_string();
    for id in subscribers {
        connections
            .post(&id, message.clone())
            .await
            .map_err(|e| ChainError::Failed(e.to_string()))?;
    }
    Ok(())
}

#[svless::ws(route = "$connect")]
async fn subscribe(message: WsMessage<()>, State(chain): State<Chain>) {
    chain
        .subscribers
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(message.connection_id);
}

const WORKFLOW: &str = r#"{
  "StartAt": "Record",
  "States": {
    "Record": {
      "Type": "Task",
      "Resource": "arn:aws:states:::lambda:invoke",
      "Parameters": {"FunctionName": "record", "Payload.$": "$"},
      "Retry": [{"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 2, "IntervalSeconds": 1}],
      "OutputPath": "$.Payload",
      "End": true
    }
  }
}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_reaches_a_websocket_client_through_a_workflow_and_a_stream() {
    use futures_util::StreamExt as _;
    let dir = std::env::temp_dir().join(format!("svless-chain-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    svless_store::local::set_data_dir(&dir).expect("a writable data directory");
    let photos = Table::memory(
        TableDef::simple("photos", "pk").stream(StreamView::NewImage),
        &svless_store::local::tables().expect("the tables"),
    );
    photos.create().await.expect("the photos table");
    let chain = Chain {
        photos,
        sfn: Arc::default(),
        connections: Arc::default(),
        subscribers: Arc::default(),
    };
    let app = App::new()
        .state(chain.clone())
        .on(on_upload)
        .on(record_photo)
        .on(on_photo)
        .on(subscribe);
    let running = Cloud::new(app)
        .http_addr(([127, 0, 0, 1], 0).into())
        .services_addr(([127, 0, 0, 1], 0).into())
        .websocket_addr(([127, 0, 0, 1], 0).into())
        .state_machine("photos", WORKFLOW)
        .start()
        .await
        .expect("the cloud starts");
    let config = svless_tests::config_for(running.services_url()).await;
    let machine = running.state_machines()[0].1.clone();
    let _ = chain
        .sfn
        .set((aws_sdk_sfn::Client::new(&config), machine.clone()));
    let _ = chain.connections.set(Connections::with_endpoint(
        &config,
        &format!("{}/local", running.services_url()),
    ));

    // A browser-like client is connected to the WebSocket API.
    let url = running
        .websocket_url()
        .expect("the app has WebSocket routes");
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connected");

    // The browser uploads through a presigned URL, with nothing but the URL and its headers.
    let uploads = svless_store::local::bucket("photos")
        .await
        .expect("the bucket");
    let put = uploads
        .presign_put(
            &Key::new("uploads/cat.jpg").expect("a key"),
            "image/jpeg",
            Duration::from_secs(300),
        )
        .await
        .expect("a presigned PUT");
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let mut request = hyper::Request::put(put.url.as_str());
    for (name, value) in &put.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let response = client
        .request(
            request
                .body(http_body_util::Full::new(bytes::Bytes::from_static(
                    b"\xff\xd8\xff\xe0 a JPEG",
                )))
                .expect("a request"),
        )
        .await
        .expect("uploaded");
    assert_eq!(response.status(), 200);

    // … and the message arrives on the WebSocket.
    let message = loop {
        let frame = tokio::time::timeout(Duration::from_secs(20), socket.next())
            .await
            .expect("a message within 20 s")
            .expect("the connection is open")
            .expect("a frame");
        if let tokio_tungstenite::tungstenite::Message::Text(text) = frame {
            break text.to_string();
        }
    };
    let message: Value = serde_json::from_str(&message).expect("JSON");
    assert_eq!(
        message,
        json!({"photo": "uploads/cat.jpg", "status": "ready"})
    );

    // The workflow that carried it succeeded.
    let sfn = &chain.sfn.get().expect("set above").0;
    let executions = sfn
        .list_executions()
        .state_machine_arn(&machine)
        .send()
        .await
        .expect("listed");
    assert_eq!(executions.executions().len(), 1);
    assert_eq!(
        executions.executions()[0].status(),
        &aws_sdk_sfn::types::ExecutionStatus::Succeeded
    );
    let failures = std::fs::read_to_string(running.failures()).unwrap_or_default();
    assert!(failures.is_empty(), "nothing failed on the way: {failures}");
    running.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
