//! A real stream: items written to a table on the moto server (started by the README's test
//! command, `SVLESS_MOTO_ENDPOINT`), read back with DynamoDB Streams' GetRecords, delivered to a
//! stream handler in the shape Lambda's event source mapping gives them.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, StreamSpecification, StreamViewType,
};
use aws_sdk_dynamodbstreams::types::{AttributeValue as StreamValue, ShardIteratorType};
use serde_json::{Map, Value, json};
use std::sync::{Arc, Mutex};
use svless::source::dynamodb::{Change, StreamRecord};
use svless::{App, State};

async fn sdk_config() -> aws_config::SdkConfig {
    svless_tests::moto_config().await
}

/// A stream attribute value as DynamoDB JSON, as Lambda writes it in stream events.
fn to_json(value: &StreamValue) -> Value {
    use base64::Engine as _;
    let b64 = |b: &aws_sdk_dynamodbstreams::primitives::Blob| {
        Value::String(base64::engine::general_purpose::STANDARD.encode(b.as_ref()))
    };
    match value {
        StreamValue::S(s) => json!({ "S": s }),
        StreamValue::N(n) => json!({ "N": n }),
        StreamValue::B(b) => json!({ "B": b64(b) }),
        StreamValue::Bool(b) => json!({ "BOOL": b }),
        StreamValue::Null(n) => json!({ "NULL": n }),
        StreamValue::Ss(v) => json!({ "SS": v }),
        StreamValue::Ns(v) => json!({ "NS": v }),
        StreamValue::Bs(v) => json!({ "BS": v.iter().map(b64).collect::<Vec<_>>() }),
        StreamValue::L(items) => json!({ "L": items.iter().map(to_json).collect::<Vec<_>>() }),
        StreamValue::M(map) => json!({ "M": image(map) }),
        other => panic!("an attribute type this test does not expect: {other:?}"),
    }
}

fn image(map: &std::collections::HashMap<String, StreamValue>) -> Value {
    Value::Object(
        map.iter()
            .map(|(k, v)| (k.clone(), to_json(v)))
            .collect::<Map<_, _>>(),
    )
}

#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
struct Todo {
    id: String,
    title: String,
    done: bool,
    tags: Vec<String>,
}

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Change<Todo>>>>);

#[svless::dynamodb_stream]
async fn on_todo(record: StreamRecord<Todo>, State(seen): State<Seen>) {
    seen.0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(record.change);
}

#[tokio::test]
async fn writes_to_a_real_table_reach_the_stream_handler_typed() {
    let config = sdk_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let streams = aws_sdk_dynamodbstreams::Client::new(&config);
    let table = format!("todos-{}", std::process::id());

    dynamodb
        .create_table()
        .table_name(&table)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("a definition"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .expect("a key"),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .expect("a stream"),
        )
        .send()
        .await
        .expect("the table is created");

    let item = |title: &str, done: bool| {
        [
            ("id", AttributeValue::S("t1".into())),
            ("title", AttributeValue::S(title.into())),
            ("done", AttributeValue::Bool(done)),
            (
                "tags",
                AttributeValue::L(vec![AttributeValue::S("home".into())]),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect::<std::collections::HashMap<_, _>>()
    };
    dynamodb
        .put_item()
        .table_name(&table)
        .set_item(Some(item("buy milk", false)))
        .send()
        .await
        .expect("put");
    dynamodb
        .update_item()
        .table_name(&table)
        .key("id", AttributeValue::S("t1".into()))
        .update_expression("SET done = :d")
        .expression_attribute_values(":d", AttributeValue::Bool(true))
        .send()
        .await
        .expect("update");
    dynamodb
        .delete_item()
        .table_name(&table)
        .key("id", AttributeValue::S("t1".into()))
        .send()
        .await
        .expect("delete");

    let described = dynamodb
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .expect("describe");
    let stream_arn = described
        .table()
        .and_then(|t| t.latest_stream_arn())
        .expect("a stream ARN")
        .to_owned();
    let stream = streams
        .describe_stream()
        .stream_arn(&stream_arn)
        .send()
        .await
        .expect("describe stream");
    let shard = stream
        .stream_description()
        .and_then(|d| d.shards().first())
        .and_then(|s| s.shard_id())
        .expect("a shard")
        .to_owned();
    let iterator = streams
        .get_shard_iterator()
        .stream_arn(&stream_arn)
        .shard_id(shard)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .expect("an iterator");
    let records = streams
        .get_records()
        .shard_iterator(iterator.shard_iterator().expect("an iterator"))
        .send()
        .await
        .expect("records");

    // The event source mapping's shape: what Lambda hands the function.
    let event_records: Vec<Value> = records
        .records()
        .iter()
        .map(|r| {
            let s = r.dynamodb().expect("a stream record");
            let mut dynamodb = Map::new();
            dynamodb.insert("Keys".into(), image(s.keys().expect("keys")));
            if let Some(new) = s.new_image() {
                dynamodb.insert("NewImage".into(), image(new));
            }
            if let Some(old) = s.old_image() {
                dynamodb.insert("OldImage".into(), image(old));
            }
            dynamodb.insert("SequenceNumber".into(), json!(s.sequence_number()));
            dynamodb.insert("SizeBytes".into(), json!(s.size_bytes()));
            dynamodb.insert(
                "StreamViewType".into(),
                json!(s.stream_view_type().map(|v| v.as_str())),
            );
            if let Some(t) = s.approximate_creation_date_time() {
                dynamodb.insert("ApproximateCreationDateTime".into(), json!(t.secs()));
            }
            json!({
                "eventID": r.event_id(),
                "eventName": r.event_name().map(|n| n.as_str()),
                "eventVersion": r.event_version(),
                "eventSource": "aws:dynamodb",
                "awsRegion": r.aws_region(),
                "dynamodb": dynamodb,
                "eventSourceARN": stream_arn,
            })
        })
        .collect();
    assert_eq!(event_records.len(), 3, "{event_records:?}");
    let payload = serde_json::to_vec(&json!({ "Records": event_records })).expect("JSON");

    let seen = Seen::default();
    let app = App::new().state(seen.clone()).on(on_todo);
    let out = app
        .dispatch(&payload, svless_tests::lambda_context())
        .await
        .expect("handled");
    assert_eq!(
        serde_json::from_slice::<Value>(&out).expect("JSON"),
        json!({"batchItemFailures": []})
    );

    let todo = |done: bool| Todo {
        id: "t1".into(),
        title: "buy milk".into(),
        done,
        tags: vec!["home".into()],
    };
    let changes = seen
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    assert_eq!(
        changes,
        [
            Change::Insert { new: todo(false) },
            Change::Modify {
                old: todo(false),
                new: todo(true)
            },
            Change::Remove {
                old: todo(true),
                expired: false
            },
        ]
    );

    dynamodb
        .delete_table()
        .table_name(&table)
        .send()
        .await
        .expect("the table is deleted");
}
