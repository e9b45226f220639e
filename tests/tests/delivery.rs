//! Lambda's delivery semantics for the local stores' change feeds: a stream batch whose
//! invocation fails is split in two until the failing record is alone (bisect on function
//! error), and only that record ends in the on-failure record; S3 events run concurrently.

use serde::Deserialize;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use svless::source::dynamodb::{Change, StreamRecord};
use svless::source::{EventRequest, EventService};
use svless::{App, BoxError};
use svless_store::delivery::{FailureSink, StreamMapping};
use svless_store::dynamo::{MemoryDb, StreamView, Table, TableDef, deliver_stream_with};
use tower::ServiceExt as _;

#[derive(Debug, Deserialize)]
struct Row {
    pk: String,
}

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

#[svless::dynamodb_stream]
async fn on_row(record: StreamRecord<Row>, svless::State(log): svless::State<Log>) {
    if let Change::Insert { new } = record.change {
        log.push(new.pk);
    }
}

fn row(pk: &str) -> serde_dynamo::Item {
    let mut item = std::collections::HashMap::new();
    item.insert("pk".to_owned(), serde_dynamo::AttributeValue::S(pk.into()));
    serde_dynamo::Item::from(item)
}

#[tokio::test]
async fn a_failing_batch_is_bisected_until_the_poison_record_is_alone() {
    let log = Log::default();
    let batches = Log::default();
    let seen_batches = batches.clone();
    // The whole invocation fails when its batch holds the poison record (as a crash or a
    // timeout would); the outer layer records every invocation's batch.
    let app = App::new()
        .state(log.clone())
        .on(on_row)
        .event_layer(tower::layer::layer_fn(|inner: EventService| {
            tower::util::BoxCloneSyncService::new(tower::service_fn(
                move |request: EventRequest| {
                    let inner = inner.clone();
                    async move {
                        if String::from_utf8_lossy(&request.payload).contains("poison") {
                            return Err::<Vec<u8>, BoxError>("the function crashed".into());
                        }
                        inner.oneshot(request).await
                    }
                },
            ))
        }))
        .event_layer(tower::layer::layer_fn(move |inner: EventService| {
            let batches = seen_batches.clone();
            tower::util::BoxCloneSyncService::new(
                inner
                    .and_then(move |out: Vec<u8>| async move { Ok::<_, BoxError>(out) })
                    .map_request(move |request: EventRequest| {
                        let payload: Value =
                            serde_json::from_slice(&request.payload).unwrap_or_default();
                        let keys: Vec<String> = payload["Records"]
                            .as_array()
                            .map(|records| {
                                records
                                    .iter()
                                    .map(|r| {
                                        r["dynamodb"]["NewImage"]["pk"]["S"]
                                            .as_str()
                                            .unwrap_or("?")
                                            .to_owned()
                                    })
                                    .collect()
                            })
                            .unwrap_or_default();
                        batches.push(keys.join(","));
                        request
                    }),
            )
        }));
    let db = MemoryDb::new();
    let table = Table::memory(
        TableDef::simple("rows", "pk").stream(StreamView::NewImage),
        &db,
    );
    table.create().await.expect("created");
    let changes = db.subscribe("rows");
    for pk in ["r1", "r2", "poison", "r4"] {
        table.put_item_if(row(pk), None).await.expect("written");
    }
    drop(table);
    let given_up = Arc::new(Mutex::new(Vec::<Value>::new()));
    let sink: FailureSink = {
        let given_up = given_up.clone();
        Arc::new(move |record| {
            given_up
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(record)
        })
    };
    let mapping = StreamMapping {
        maximum_retry_attempts: Some(1),
        bisect_batch_on_function_error: true,
        retry_backoff: Duration::from_millis(1),
        on_failure: Some(sink),
        ..StreamMapping::default()
    };
    let delivery = tokio::spawn(async move { deliver_stream_with(&app, changes, &mapping).await });
    for _ in 0..200 {
        if !given_up
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_empty()
            && log.all().contains(&"r4".to_owned())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(db);
    let _ = tokio::time::timeout(Duration::from_secs(5), delivery).await;
    // r1..r4 in one batch; its halves; the poison half's halves; the poison record once more
    // (one retry), then given up.
    assert_eq!(
        batches.all(),
        [
            "r1,r2,poison,r4",
            "r1,r2",
            "poison,r4",
            "poison",
            "poison",
            "r4"
        ]
    );
    assert_eq!(log.all(), ["r1", "r2", "r4"]);
    let given_up = given_up
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    assert_eq!(given_up.len(), 1);
    assert_eq!(given_up[0]["DDBStreamBatchInfo"]["batchSize"], 1);
    assert_eq!(
        given_up[0]["requestContext"]["condition"],
        "RetryAttemptsExhausted"
    );
}
