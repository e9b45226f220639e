//! Event sources end to end: real payloads -> App::dispatch -> typed handlers -> Lambda's answer.

use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use svless::source::dynamodb::{Change, StreamRecord};
use svless::source::eventbridge::{Event, Scheduled};
use svless::source::s3::{ObjectEvent, Removed, S3Object};
use svless::source::sqs::Message;
use svless::{App, Context, NamedError, State};
use svless_tests::{fixture, lambda_context};

/// What the handlers saw, in order.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    fn push(&self, entry: impl Into<String>) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(entry.into());
    }
    fn all(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

async fn dispatch<S: Send + Sync + 'static>(
    app: &App<S>,
    payload: &[u8],
) -> Result<Value, NamedError> {
    let out = app.dispatch(payload, lambda_context()).await?;
    Ok(serde_json::from_slice(&out).expect("a JSON answer"))
}

#[derive(Debug, svless::IntoNamedError)]
enum UploadError {
    #[error_type("Upload.Rejected")]
    Rejected(String),
}

impl std::fmt::Display for UploadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UploadError::Rejected(key) => write!(f, "{key} is not accepted"),
        }
    }
}

#[svless::s3(prefix = "uploads/", suffix = ".png", events = "ObjectCreated:*")]
async fn on_png(
    object: S3Object,
    State(seen): State<Seen>,
    ctx: Context,
) -> Result<(), UploadError> {
    if object.key.contains("reject") {
        return Err(UploadError::Rejected(object.key));
    }
    seen.push(format!(
        "png {} {} {:?} {:?} {:?} {}",
        object.bucket, object.key, object.size, object.event, object.etag, ctx.request_id
    ));
    Ok(())
}

#[svless::s3(events = ["ObjectRemoved:*", "ObjectCreated:Copy"])]
async fn on_other(object: S3Object, State(seen): State<Seen>) {
    seen.push(format!(
        "other {} {:?} {:?} {:?}",
        object.key, object.event, object.size, object.version_id
    ));
}

fn s3_app(seen: &Seen) -> App<Seen> {
    App::new().state(seen.clone()).on(on_png).on(on_other)
}

#[tokio::test]
async fn s3_keys_are_decoded_and_filters_apply() {
    let seen = Seen::default();
    let out = dispatch(&s3_app(&seen), &fixture("s3-put-encoded-key.json"))
        .await
        .expect("handled");
    assert_eq!(out, Value::Null);
    assert_eq!(
        seen.all(),
        [format!(
            "png DOC-EXAMPLE-BUCKET uploads/my cat+1 été.png Some(1305107) Created(Put) Some(\"b21b84d653bb07b05b1e6b33684dc11b\") {}",
            lambda_context().request_id
        )]
    );
}

#[tokio::test]
async fn s3_copies_and_delete_markers_are_typed() {
    let seen = Seen::default();
    dispatch(&s3_app(&seen), &fixture("s3-copy-and-delete.json"))
        .await
        .expect("handled");
    assert_eq!(
        seen.all(),
        [
            "other archive/report:2019.pdf Created(Copy) Some(2048) Some(\"096fKKXTRTtl3on89fVO.nfljtsv6qko\")",
            "other uploads/my cat+1 été.png Removed(DeleteMarkerCreated) None Some(\"3HL4kqtJlcpXroDTDmjVBH40Nrjfkd\")",
        ]
    );
    assert_eq!(
        ObjectEvent::parse("ObjectRemoved:DeleteMarkerCreated"),
        ObjectEvent::Removed(Removed::DeleteMarkerCreated)
    );
}

#[tokio::test]
async fn s3_events_through_eventbridge_reach_the_same_handler() {
    let seen = Seen::default();
    let out = dispatch(&s3_app(&seen), &fixture("s3-via-eventbridge.json"))
        .await
        .expect("handled");
    assert_eq!(out, Value::Null);
    let all = seen.all();
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(
        all[0].starts_with("png DOC-EXAMPLE-BUCKET1 uploads/example-key.png Some(5) Created(Put)"),
        "{all:?}"
    );
}

#[tokio::test]
async fn a_failing_s3_handler_fails_the_invocation_with_its_name() {
    let seen = Seen::default();
    let mut event: Value =
        serde_json::from_slice(&fixture("s3-put-encoded-key.json")).expect("JSON");
    event["Records"][0]["s3"]["object"]["key"] = json!("uploads/reject+me.png");
    let err = dispatch(&s3_app(&seen), &serde_json::to_vec(&event).expect("JSON"))
        .await
        .expect_err("fails");
    assert_eq!(err.error_type(), "Upload.Rejected");
    assert_eq!(err.message(), "uploads/reject me.png is not accepted");
}

#[tokio::test]
async fn an_event_no_handler_takes_is_a_named_error_not_a_silent_success() {
    let app = App::new();
    for name in [
        "s3-put-encoded-key.json",
        "dynamodb-stream.json",
        "sqs-standard.json",
        "eventbridge-scheduled.json",
    ] {
        let err = dispatch(&app, &fixture(name)).await.expect_err("unhandled");
        assert_eq!(err.error_type(), "Svless.UnhandledEvent", "{name}");
    }
}

#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Note {
    id: u32,
    message: String,
}

#[svless::dynamodb_stream]
async fn on_note(record: StreamRecord<Note>, State(seen): State<Seen>) -> Result<(), NamedError> {
    let entry = match &record.change {
        Change::Insert { new } => format!("insert {}", new.message),
        Change::Modify { old, new } => format!("modify {} -> {}", old.message, new.message),
        Change::Remove { old, expired } => format!("remove {} expired={expired}", old.message),
    };
    if entry.contains("fail") {
        return Err(NamedError::new("Note.Failed", "asked to fail"));
    }
    seen.push(format!("{} {}", record.sequence_number, entry));
    Ok(())
}

#[tokio::test]
async fn stream_records_are_typed_changes() {
    let seen = Seen::default();
    let app = App::new().state(seen.clone()).on(on_note);
    let out = dispatch(&app, &fixture("dynamodb-stream.json"))
        .await
        .expect("handled");
    assert_eq!(out, json!({"batchItemFailures": []}));
    assert_eq!(
        seen.all(),
        [
            "111 insert New item!",
            "222 modify New item! -> This item has changed",
            "333 remove This item has changed expired=false"
        ]
    );
}

#[tokio::test]
async fn ttl_removals_are_told_apart() {
    let seen = Seen::default();
    let app = App::new().state(seen.clone()).on(on_note);
    dispatch(&app, &fixture("dynamodb-stream-ttl-remove.json"))
        .await
        .expect("handled");
    assert_eq!(
        seen.all(),
        ["700000000000000000001 remove Expires soon expired=true"]
    );
}

#[tokio::test]
async fn a_failing_record_stops_the_stream_batch_and_is_reported_alone() {
    let seen = Seen::default();
    let app = App::new().state(seen.clone()).on(on_note);
    let mut event: Value = serde_json::from_slice(&fixture("dynamodb-stream.json")).expect("JSON");
    event["Records"][1]["dynamodb"]["NewImage"]["Message"]["S"] = json!("please fail");
    let out = dispatch(&app, &serde_json::to_vec(&event).expect("JSON"))
        .await
        .expect("handled");
    assert_eq!(
        out,
        json!({"batchItemFailures": [{"itemIdentifier": "222"}]})
    );
    assert_eq!(
        seen.all(),
        ["111 insert New item!"],
        "nothing after the failure is applied"
    );
}

#[tokio::test]
async fn a_record_that_does_not_decode_is_its_own_failure() {
    let seen = Seen::default();
    let app = App::new().state(seen.clone()).on(on_note);
    let mut event: Value = serde_json::from_slice(&fixture("dynamodb-stream.json")).expect("JSON");
    event["Records"][1]["dynamodb"]["NewImage"]["Id"] = json!({"S": "not a number"});
    let out = dispatch(&app, &serde_json::to_vec(&event).expect("JSON"))
        .await
        .expect("handled");
    assert_eq!(
        out,
        json!({"batchItemFailures": [{"itemIdentifier": "222"}]})
    );
    assert_eq!(seen.all(), ["111 insert New item!"]);

    // A record that is not even a stream record is reported by its sequence number too.
    let mut event: Value = serde_json::from_slice(&fixture("dynamodb-stream.json")).expect("JSON");
    event["Records"][2]["eventName"] = json!(17);
    let out = dispatch(&app, &serde_json::to_vec(&event).expect("JSON"))
        .await
        .expect("handled");
    assert_eq!(
        out,
        json!({"batchItemFailures": [{"itemIdentifier": "333"}]})
    );
}

#[svless::dynamodb_stream]
async fn on_keys_only(record: StreamRecord<Option<Note>>, State(seen): State<Seen>) {
    let has_image = match record.change {
        Change::Insert { new } => new.is_some(),
        Change::Modify { new, .. } => new.is_some(),
        Change::Remove { old, .. } => old.is_some(),
    };
    #[derive(serde::Deserialize)]
    struct Key {
        #[serde(rename = "Id")]
        id: u32,
    }
    let key: Key = serde_dynamo::from_item(record.keys).expect("the key decodes");
    seen.push(format!(
        "{} {} image={has_image}",
        record.sequence_number, key.id
    ));
}

#[tokio::test]
async fn stream_view_types_without_images_are_typed_not_panics() {
    let mut event: Value = serde_json::from_slice(&fixture("dynamodb-stream.json")).expect("JSON");
    for record in event["Records"].as_array_mut().expect("records") {
        let stream = record["dynamodb"].as_object_mut().expect("a stream record");
        stream.remove("NewImage");
        stream.remove("OldImage");
        stream.insert("StreamViewType".into(), json!("KEYS_ONLY"));
    }
    let payload = serde_json::to_vec(&event).expect("JSON");

    let seen = Seen::default();
    let app = App::new().state(seen.clone()).on(on_keys_only);
    dispatch(&app, &payload).await.expect("handled");
    assert_eq!(
        seen.all(),
        [
            "111 101 image=false",
            "222 101 image=false",
            "333 101 image=false"
        ]
    );

    // A handler that needs images reports the first record, naming the view type.
    let app = App::new().state(Seen::default()).on(on_note);
    let out = dispatch(&app, &payload).await.expect("handled");
    assert_eq!(
        out,
        json!({"batchItemFailures": [{"itemIdentifier": "111"}]})
    );
}

#[derive(Debug, serde::Deserialize)]
struct Resize {
    image: String,
    width: u32,
}

#[svless::sqs]
async fn on_resize(message: Message<Resize>, State(seen): State<Seen>) {
    seen.push(format!(
        "{} {} {}",
        message.message_id, message.body.image, message.body.width
    ));
}

#[svless::sqs]
async fn on_text(message: Message<String>, State(seen): State<Seen>) {
    seen.push(format!(
        "text {} x{}",
        message.body.len(),
        message.receive_count
    ));
}

#[tokio::test]
async fn sqs_bodies_are_typed_and_failures_are_reported_per_message() {
    let seen = Seen::default();
    let app = App::new().state(seen.clone()).on(on_resize);
    let out = dispatch(&app, &fixture("sqs-standard.json"))
        .await
        .expect("handled");
    assert_eq!(
        out,
        json!({"batchItemFailures": [{"itemIdentifier": "2e1424d4-f796-459a-8184-9c92662be6da"}]})
    );
    assert_eq!(
        seen.all(),
        ["059f36b4-87a3-44ab-83d2-661975830a7d uploads/cat.png 200"]
    );

    let seen = Seen::default();
    let app = App::new().state(seen.clone()).on(on_text);
    let out = dispatch(&app, &fixture("sqs-standard.json"))
        .await
        .expect("handled");
    assert_eq!(out, json!({"batchItemFailures": []}));
    assert_eq!(seen.all(), ["text 42 x1", "text 13 x3"]);
}

#[derive(Debug, serde::Deserialize)]
struct Step {
    step: u32,
}

#[svless::sqs]
async fn on_step(message: Message<Step>, State(seen): State<Seen>) -> Result<(), NamedError> {
    let group = message.group_id.clone().unwrap_or_default();
    if group == "g1" && message.body.step == 1 {
        return Err(NamedError::new("Step.Failed", "g1 cannot take step 1"));
    }
    seen.push(format!("{group}:{}", message.body.step));
    Ok(())
}

#[tokio::test]
async fn fifo_groups_stop_at_their_first_failure() {
    let seen = Seen::default();
    let app = App::new().state(seen.clone()).on(on_step);
    let out = dispatch(&app, &fixture("sqs-fifo.json"))
        .await
        .expect("handled");
    let failed: Vec<&str> = out["batchItemFailures"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|f| f["itemIdentifier"].as_str())
        .collect();
    assert_eq!(
        failed,
        [
            "11d6ee51-4cc7-4302-9e22-7cd8afdaadf0",
            "11d6ee51-4cc7-4302-9e22-7cd8afdaadf2",
            "11d6ee51-4cc7-4302-9e22-7cd8afdaadf4"
        ]
    );
    assert_eq!(seen.all(), ["g2:1", "g2:2"], "group g1 stops; g2 goes on");
}

#[derive(Debug, serde::Deserialize)]
struct OrderPlaced {
    order_id: String,
    items: u32,
}

#[svless::event(source = "com.example.orders", detail_type = "Order Placed")]
async fn on_order(event: Event<OrderPlaced>, State(seen): State<Seen>) {
    seen.push(format!(
        "order {} x{} in {:?}",
        event.detail.order_id, event.detail.items, event.region
    ));
}

#[svless::event(source = "aws.events", detail_type = "Scheduled Event")]
async fn nightly(event: Scheduled, State(seen): State<Seen>) {
    seen.push(format!("scheduled by {}", event.resources.join(",")));
}

#[tokio::test]
async fn eventbridge_events_reach_the_handler_of_their_source_and_detail_type() {
    let seen = Seen::default();
    let app = App::new().state(seen.clone()).on(on_order).on(nightly);
    dispatch(&app, &fixture("eventbridge-custom.json"))
        .await
        .expect("handled");
    dispatch(&app, &fixture("eventbridge-scheduled.json"))
        .await
        .expect("handled");
    assert_eq!(
        seen.all(),
        [
            "order o-123 x3 in Some(\"us-west-1\")",
            "scheduled by arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule"
        ]
    );
    let mut other: Value =
        serde_json::from_slice(&fixture("eventbridge-custom.json")).expect("JSON");
    other["detail-type"] = json!("Order Cancelled");
    let err = dispatch(&app, &serde_json::to_vec(&other).expect("JSON"))
        .await
        .expect_err("unhandled");
    assert_eq!(err.error_type(), "Svless.UnhandledEvent");
    let mut bad: Value = serde_json::from_slice(&fixture("eventbridge-custom.json")).expect("JSON");
    bad["detail"]["items"] = json!("three");
    let err = dispatch(&app, &serde_json::to_vec(&bad).expect("JSON"))
        .await
        .expect_err("undecodable");
    assert_eq!(err.error_type(), "Svless.UndecodableEvent");
}

#[svless::sqs]
async fn panics(_message: Message<String>) {
    panic!("boom")
}

#[tokio::test]
async fn a_panicking_event_handler_is_a_failure_not_a_crash() {
    let app = App::new().on(panics);
    let out = dispatch(&app, &fixture("sqs-standard.json"))
        .await
        .expect("handled");
    assert_eq!(out["batchItemFailures"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn handlers_registered_before_the_state_keep_working() {
    #[svless::sqs]
    async fn stateless(message: Message<String>) -> Result<(), NamedError> {
        if message.body.starts_with('{') {
            Ok(())
        } else {
            Err(NamedError::new("Text.Refused", "plain text"))
        }
    }
    let app = App::new().on(stateless).state(Seen::default());
    let out = dispatch(&app, &fixture("sqs-standard.json"))
        .await
        .expect("handled");
    assert_eq!(
        out,
        json!({"batchItemFailures": [{"itemIdentifier": "2e1424d4-f796-459a-8184-9c92662be6da"}]})
    );
}

#[test]
fn a_misspelt_s3_event_type_fails_the_app_check() {
    use svless::source::{Sources, Subscribe, s3};
    struct Typo(&'static str);
    impl<S: Send + Sync + 'static> Subscribe<S> for Typo {
        fn subscribe(self, sources: &mut Sources<S>) {
            s3::subscribe(
                sources,
                s3::S3Filter::new().event(self.0),
                |_object: s3::S3Object, _inv| async move { Ok(()) },
            );
        }
    }
    for typo in [
        "ObjectCreated:Putt",
        "ObjectRemoved:DeleteMarker",
        "s3:Object*",
    ] {
        let err = svless::App::new()
            .on(Typo(typo))
            .check()
            .expect_err("refused");
        assert!(
            err.to_string().contains("no S3 event type"),
            "{typo}: {err}"
        );
    }
    for known in ["ObjectCreated:Put", "s3:ObjectRemoved:*", "ObjectAcl:Put"] {
        svless::App::new()
            .on(Typo(known))
            .check()
            .unwrap_or_else(|e| panic!("{known}: {e}"));
    }
}

/// The fixture's records with every attribute type DynamoDB has in their new images (Amazon
/// DynamoDB Developer Guide, "Data types" and the `AttributeValue` reference), among them a
/// 38-digit number no 64-bit type holds.
fn stream_with_every_attribute_type() -> Vec<u8> {
    let mut event: Value = serde_json::from_slice(&fixture("dynamodb-stream.json")).expect("JSON");
    let records = event["Records"].as_array_mut().expect("records");
    records.truncate(1);
    let image = &mut records[0]["dynamodb"]["NewImage"];
    image["Blob"] = json!({"B": "AAH/"});
    image["Blobs"] = json!({"BS": ["AAE=", "/w=="]});
    image["Big"] = json!({"N": "12345678901234567890123456789012345678"});
    image["Tiny"] = json!({"N": "0.000000000000000000000000000001"});
    image["Ratios"] = json!({"NS": ["0.1", "18446744073709551617"]});
    image["Tags"] = json!({"SS": ["a", "b"]});
    image["List"] = json!({"L": [{"S": "x"}, {"N": "1"}, {"NULL": true}]});
    image["Map"] = json!({"M": {"inner": {"BOOL": true}}});
    image["Nothing"] = json!({"NULL": true});
    image["Flag"] = json!({"BOOL": false});
    serde_json::to_vec(&event).expect("JSON")
}

#[svless::dynamodb_stream]
async fn on_any_image(
    record: StreamRecord<svless::attribute::Image>,
    State(seen): State<Seen>,
) -> Result<(), NamedError> {
    use svless::attribute::AttributeValue;
    let Change::Insert { new } = record.change else {
        return Err(NamedError::new("Test.Unexpected", "not an insert"));
    };
    assert_eq!(new.get("Blob"), Some(&AttributeValue::B(vec![0, 1, 255])));
    assert_eq!(
        new.get("Blobs"),
        Some(&AttributeValue::Bs(vec![vec![0, 1], vec![255]]))
    );
    let big = new.number("Big").expect("a number");
    seen.push(format!("big {big}"));
    seen.push(format!("tiny {}", new.number("Tiny").expect("a number")));
    Ok(())
}

#[tokio::test]
async fn generic_stream_images_read_every_attribute_type() {
    let seen = Seen::default();
    let app = App::new().state(seen.clone()).on(on_any_image);
    let out = dispatch(&app, &stream_with_every_attribute_type())
        .await
        .expect("handled");
    assert_eq!(out, json!({"batchItemFailures": []}));
    assert_eq!(
        seen.all(),
        [
            "big 12345678901234567890123456789012345678",
            "tiny 0.000000000000000000000000000001"
        ]
    );
}

#[svless::dynamodb_stream]
async fn on_json_image(record: StreamRecord<Value>, State(seen): State<Seen>) {
    if let Change::Insert { new } = record.change {
        seen.push(new.to_string());
    }
}

#[tokio::test]
async fn json_stream_images_keep_binary_and_wide_numbers() {
    let seen = Seen::default();
    let app = App::new().state(seen.clone()).on(on_json_image);
    let out = dispatch(&app, &stream_with_every_attribute_type())
        .await
        .expect("handled");
    assert_eq!(out, json!({"batchItemFailures": []}));
    let image: Value = serde_json::from_str(&seen.all()[0]).expect("JSON");
    assert_eq!(image["Blob"], "AAH/", "binary as base64 text");
    assert_eq!(image["Blobs"], json!(["AAE=", "/w=="]));
    assert_eq!(image["Big"], "12345678901234567890123456789012345678");
    assert_eq!(image["Ratios"], json!([0.1, "18446744073709551617"]));
    assert_eq!(image["Id"], 101);
    assert_eq!(image["List"], json!(["x", 1, null]));
    assert_eq!(image["Map"], json!({"inner": true}));
    assert_eq!(image["Nothing"], Value::Null);
}

#[derive(Debug, serde::Deserialize)]
struct Exact {
    #[serde(rename = "Big")]
    big: svless::attribute::Number,
    #[serde(rename = "Ratios")]
    ratios: Vec<svless::attribute::Number>,
    #[serde(rename = "Tiny")]
    tiny_text: String,
}

#[svless::dynamodb_stream]
async fn on_exact(record: StreamRecord<Exact>, State(seen): State<Seen>) {
    if let Change::Insert { new } = record.change {
        seen.push(format!("{} {:?} {}", new.big, new.ratios, new.tiny_text));
    }
}

#[tokio::test]
async fn numbers_beyond_64_bits_arrive_exactly() {
    let seen = Seen::default();
    let app = App::new().state(seen.clone()).on(on_exact);
    dispatch(&app, &stream_with_every_attribute_type())
        .await
        .expect("handled");
    assert_eq!(
        seen.all(),
        [
            "12345678901234567890123456789012345678 [Number(0.1), Number(18446744073709551617)] 0.000000000000000000000000000001"
        ]
    );
    // u128 and i128 take integers beyond 64 bits.
    let item: svless::attribute::Item = std::collections::HashMap::from([(
        "Big".to_string(),
        svless::attribute::AttributeValue::N("18446744073709551617".into()),
    )])
    .into();
    #[derive(serde::Deserialize)]
    struct Row {
        #[serde(rename = "Big")]
        big: u128,
    }
    let row: Row = svless::attribute::from_item(item).expect("a u128");
    assert_eq!(row.big, 18_446_744_073_709_551_617);
}

#[tokio::test]
async fn a_missing_image_names_the_view_type_as_aws_does() {
    let mut event: Value = serde_json::from_slice(&fixture("dynamodb-stream.json")).expect("JSON");
    let records = event["Records"].as_array_mut().expect("records");
    let modify = &mut records[1]["dynamodb"];
    modify.as_object_mut().expect("a record").remove("OldImage");
    modify["StreamViewType"] = json!("NEW_IMAGE");
    let record: aws_lambda_events::dynamodb::EventRecord =
        serde_json::from_value(records[1].clone()).expect("a record");
    let err = StreamRecord::<Note>::from_record(record).expect_err("no old image");
    assert!(err.contains("NEW_IMAGE"), "{err}");
}

#[svless::sqs]
async fn on_raw(message: Message<String>, State(seen): State<Seen>) {
    seen.push(message.body);
}

#[tokio::test]
async fn a_string_message_is_the_raw_body_even_when_it_looks_like_json() {
    let mut event: Value = serde_json::from_slice(&fixture("sqs-standard.json")).expect("JSON");
    let bodies = ["\"quoted\"", "{\"a\": 1}", "plain text", "42"];
    let records = event["Records"].as_array_mut().expect("records");
    records.truncate(1);
    let template = records[0].clone();
    records.clear();
    for (i, body) in bodies.iter().enumerate() {
        let mut record = template.clone();
        record["body"] = json!(body);
        record["messageId"] = json!(format!("m{i}"));
        records.push(record);
    }
    let seen = Seen::default();
    let app = App::new().state(seen.clone()).on(on_raw);
    dispatch(&app, &serde_json::to_vec(&event).expect("JSON"))
        .await
        .expect("handled");
    assert_eq!(seen.all(), bodies);
}

#[svless::sqs]
async fn slow_job(message: Message<String>) -> Result<(), NamedError> {
    if message.body.contains("slow") {
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
    }
    Ok(())
}

#[svless::task(name = "slow-task")]
async fn slow_task(input: Value) -> Result<Value, NamedError> {
    if input["slow"] == true {
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
    }
    Ok(json!({"done": true}))
}

#[tokio::test]
async fn event_layers_wrap_sqs_and_task_handlers() {
    use svless::source::{EventRequest, EventService};
    use tower::ServiceExt as _;
    let seen = Seen::default();
    let log = seen.clone();
    let app = App::new()
        .on(slow_job)
        .on(slow_task)
        .task("slow-task")
        .event_layer(tower::timeout::TimeoutLayer::new(
            std::time::Duration::from_secs(1),
        ))
        .event_layer(tower::layer::layer_fn(move |inner: EventService| {
            let log = log.clone();
            tower::util::BoxCloneSyncService::new(inner.map_request(
                move |request: EventRequest| {
                    log.push(request.source.to_string());
                    request
                },
            ))
        }));
    // The task: on time, then too slow.
    let quick = app
        .dispatch(br#"{"slow": false}"#, lambda_context())
        .await
        .expect("on time");
    assert_eq!(
        serde_json::from_slice::<Value>(&quick).expect("JSON"),
        json!({"done": true})
    );
    let late = app
        .dispatch(br#"{"slow": true}"#, lambda_context())
        .await
        .expect_err("timed out");
    assert_eq!(late.error_type(), "Svless.LayerError");
    assert!(late.message().contains("timed out"), "{}", late.message());

    // An SQS batch, through the same layers.
    let app = App::new()
        .on(slow_job)
        .event_layer(tower::timeout::TimeoutLayer::new(
            std::time::Duration::from_secs(1),
        ));
    let mut event: Value = serde_json::from_slice(&fixture("sqs-standard.json")).expect("JSON");
    let records = event["Records"].as_array_mut().expect("records");
    records.truncate(1);
    records[0]["body"] = json!("quick");
    let payload = serde_json::to_vec(&event).expect("JSON");
    assert_eq!(
        dispatch(&app, &payload).await.expect("on time"),
        json!({"batchItemFailures": []})
    );
    event["Records"][0]["body"] = json!("slow");
    let payload = serde_json::to_vec(&event).expect("JSON");
    let late = app
        .dispatch(&payload, lambda_context())
        .await
        .expect_err("timed out");
    assert_eq!(late.error_type(), "Svless.LayerError");
    assert_eq!(seen.all(), ["task `slow-task`", "task `slow-task`"]);
}

#[svless::kinesis]
async fn on_kinesis(
    record: svless::source::kinesis::Record<String>,
    State(seen): State<Seen>,
) -> Result<(), NamedError> {
    seen.push(format!("{} {}", record.partition_key, record.data));
    if record.data.contains("only") {
        return Err(NamedError::new("Test.Refused", "this record is refused"));
    }
    Ok(())
}

#[tokio::test]
async fn kinesis_records_run_in_order_and_report_the_first_failure() {
    let seen = Seen::default();
    let app = App::new().state(seen.clone()).on(on_kinesis);
    let out = dispatch(&app, &fixture("kinesis.json"))
        .await
        .expect("handled");
    assert_eq!(
        out,
        json!({"batchItemFailures": [{"itemIdentifier": "49590338271490256608559692540925702759324208523137515618"}]})
    );
    assert_eq!(
        seen.all(),
        ["1 Hello, this is a test.", "1 This is only a test."]
    );

    // A failure in the middle stops the batch: nothing after it runs.
    let mut event: Value = serde_json::from_slice(&fixture("kinesis.json")).expect("JSON");
    let records = event["Records"].as_array_mut().expect("records");
    let first = records[0].clone();
    records.push(first);
    let seen = Seen::default();
    let app = App::new().state(seen.clone()).on(on_kinesis);
    let out = dispatch(&app, &serde_json::to_vec(&event).expect("JSON"))
        .await
        .expect("handled");
    assert_eq!(out["batchItemFailures"].as_array().map(Vec::len), Some(1));
    assert_eq!(seen.all().len(), 2, "the third record did not run");

    // Data that does not decode is its record's failure, by sequence number.
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Click {
        page: String,
    }
    #[svless::kinesis]
    async fn on_click(record: svless::source::kinesis::Record<Click>) {
        let _ = record.data;
    }
    let out = dispatch(&App::new().on(on_click), &fixture("kinesis.json"))
        .await
        .expect("handled");
    assert_eq!(
        out,
        json!({"batchItemFailures": [{"itemIdentifier": "49590338271490256608559692538361571095921575989136588898"}]})
    );
}
