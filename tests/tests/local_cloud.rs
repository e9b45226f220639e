//! The local cloud over real sockets: an upload to the local object store fires an
//! `#[svless::s3]` handler that writes a stream-enabled table, whose `#[svless::dynamodb_stream]`
//! handler sees the record; failures are retried as Lambda retries them and end in on-failure
//! records; a workflow started with `aws-sdk-sfn` runs the app's task in process; the HTTP API
//! answers, and stops on shutdown.
//!
//! The local stores are one per process, so this file holds one test that runs the scenarios
//! in turn against one cloud.

use md5::Digest as _;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use svless::source::dynamodb::{Change, StreamRecord};
use svless::source::eventbridge::{Event, Scheduled};
use svless::source::s3::S3Object;
use svless::source::sqs::Message;
use svless::source::websocket::WsMessage;
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
    if object.key.starts_with("in/hang") {
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
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

#[svless::ws(route = "$connect")]
async fn ws_connect(
    message: WsMessage<()>,
    State(shared): State<Shared>,
) -> Result<(), svless::Error> {
    if message.query.get("token").map(String::as_str) != Some("letmein") {
        return Err(svless::Error::forbidden("a token is required"));
    }
    shared.push(format!("connect {}", message.connection_id));
    Ok(())
}

#[derive(Debug, Deserialize)]
struct Echo {
    text: String,
}

#[svless::ws(route = "echo")]
async fn ws_echo(message: WsMessage<Echo>) -> String {
    format!("echo: {}", message.body.text)
}

#[svless::ws(route = "$default")]
async fn ws_default(message: WsMessage<String>) -> String {
    format!("default: {}", message.body)
}

#[svless::ws(route = "$disconnect")]
async fn ws_disconnect(message: WsMessage<()>, State(shared): State<Shared>) {
    shared.push(format!("disconnect {}", message.connection_id));
}

#[derive(Debug, Deserialize)]
struct Order {
    id: String,
}

#[svless::event(source = "shop", detail_type = "Order Placed")]
async fn on_order(event: Event<Order>, State(shared): State<Shared>) {
    shared.push(format!("order {}", event.detail.id));
}

#[svless::event(source = "aws.events", detail_type = "Scheduled Event")]
async fn nightly(event: Scheduled, State(shared): State<Shared>) {
    shared.push(format!("scheduled {}", event.resources.join(",")));
}

#[svless::sqs]
async fn on_job(message: Message<String>, State(shared): State<Shared>) -> Result<(), Failure> {
    shared.push(format!("job {}", message.body));
    if message.body.starts_with("fail") {
        return Err(Failure::Refused(message.body));
    }
    Ok(())
}

#[svless::kinesis]
async fn on_click(
    record: svless::source::kinesis::Record<String>,
    State(shared): State<Shared>,
) -> Result<(), Failure> {
    let line = format!("click {} {}", record.partition_key, record.data);
    let before = shared.count(&line);
    shared.push(line);
    if record.data.starts_with("flaky") && before == 0 {
        return Err(Failure::Refused(record.data));
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

/// What the gateway's JWT authorizer passed on.
async fn me(ctx: svless::Context) -> svless::Json<Value> {
    svless::Json(json!({
        "claims": ctx.claims().cloned(),
        "scopes": ctx.authorizer.get("jwt").and_then(|j| j.get("scopes")).cloned(),
    }))
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(3)).await;
    "late"
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
        .route_fn("GET", "/me", me)
        .route_fn("GET", "/slow", slow)
        .on(on_upload)
        .on(on_note)
        .on(stamp)
        .on(ws_connect)
        .on(ws_echo)
        .on(ws_default)
        .on(ws_disconnect)
        .on(on_order)
        .on(nightly)
        .on(on_job)
        .on(on_click);
    let running = Cloud::new(app)
        .http_addr(([127, 0, 0, 1], 0).into())
        .services_addr(([127, 0, 0, 1], 0).into())
        .websocket_addr(([127, 0, 0, 1], 0).into())
        .user_pool(svless_local::cognito::PoolConfig {
            groups: vec!["admin".into()],
            ..svless_local::cognito::PoolConfig::default()
        })
        .jwt_authorizer(
            svless_local::gateway::JwtAuthorizer::local_pool(
                &svless_local::cognito::PoolConfig::default(),
            )
            .public(["GET /hello", "GET /slow"]),
        )
        .integration_timeout(Duration::from_millis(500))
        .function_timeout(Duration::from_millis(500))
        .schedule("nightly", "cron(0 3 * * ? *)")
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

    // A handler that hangs meets the function timeout, each attempt, and ends in an on-failure
    // record named as Lambda names a timeout.
    uploads
        .put_bytes(&Key::new("in/hang.jpg").expect("a key"), "x")
        .await
        .expect("uploaded");
    eventually("the on-failure record of the hanging handler", || {
        failures(running.failures()).iter().any(|r| {
            r["responsePayload"]["errorType"] == "Sandbox.Timedout"
                && r["requestPayload"]["Records"][0]["s3"]["object"]["key"] == "in/hang.jpg"
        })
    })
    .await;
    assert_eq!(shared.count("s3 in/hang.jpg"), 3);

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
        "DynamoDB_20120810.PutItem",
        r#"{"TableName":"notes","Item":{}}"#,
    )
    .await;
    assert!(refused.contains("UnknownOperationException"), "{refused}");

    presigned_urls(&running, &shared).await;
    let token = user_pool(&running).await;
    authorizer(&running, &token).await;
    websocket(&running, &shared).await;
    eventbridge(&running, &shared).await;
    queues(&running, &shared).await;
    kinesis(&running, &shared).await;

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
    let config = svless_tests::config_for(url).await;
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

/// A browser-shaped upload through a presigned URL fires the S3 handler; a GET reads it back;
/// expired, tampered and wrongly typed requests are refused with S3's error XML.
async fn presigned_urls(running: &svless_local::cloud::Running, shared: &Shared) {
    use svless_store::object::ObjectStore as _;
    let uploads = svless_store::local::bucket("uploads")
        .await
        .expect("the bucket");
    let key = Key::new("in/from browser.jpg").expect("a key");
    let put = uploads
        .presign_put(&key, "image/jpeg", Duration::from_secs(300))
        .await
        .expect("a presigned PUT");
    assert!(put.url.starts_with(&running.services_url()), "{}", put.url);
    // The CORS preflight a browser sends first.
    let (status, headers, _) = request(
        "OPTIONS",
        &put.url,
        &[
            ("origin", "http://127.0.0.1:3000"),
            ("access-control-request-method", "PUT"),
            ("access-control-request-headers", "content-type"),
        ],
        "",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        headers
            .get("access-control-allow-origin")
            .map(String::as_str),
        Some("*")
    );
    // The wrong content type does not match the signature.
    let (status, _, body) = request("PUT", &put.url, &[("content-type", "image/png")], "x").await;
    assert_eq!(status, 403);
    assert!(
        body.contains("<Code>SignatureDoesNotMatch</Code>"),
        "{body}"
    );
    let (status, headers, _) = request(
        "PUT",
        &put.url,
        &[("content-type", "image/jpeg")],
        "JPEG bytes",
    )
    .await;
    assert_eq!(status, 200);
    assert!(headers.contains_key("etag"));
    eventually("the S3 handler of the presigned upload", || {
        shared.count("s3 in/from browser.jpg") == 1
    })
    .await;
    let get = uploads
        .presign_get(&key, Duration::from_secs(300))
        .await
        .expect("a presigned GET");
    let (status, headers, body) = request("GET", &get.url, &[], "").await;
    assert_eq!((status, body.as_str()), (200, "JPEG bytes"));
    assert_eq!(
        headers.get("content-type").map(String::as_str),
        Some("image/jpeg")
    );
    // Tampered: another key under the same signature.
    let tampered = get.url.replace("from%20browser.jpg", "cat.jpg");
    let (status, _, body) = request("GET", &tampered, &[], "").await;
    assert_eq!(status, 403);
    assert!(
        body.contains("<Code>SignatureDoesNotMatch</Code>"),
        "{body}"
    );
    // Expired: signed two minutes ago for one.
    let signer = svless_store::local::presigner().expect("the cloud set a signer");
    let old = signer.presign(
        "GET",
        "uploads",
        "in/from browser.jpg",
        None,
        Duration::from_secs(60),
        std::time::SystemTime::now() - Duration::from_secs(120),
    );
    let (status, _, body) = request("GET", &old.url, &[], "").await;
    assert_eq!(status, 403);
    assert!(
        body.contains("<Code>AccessDenied</Code><Message>Request has expired</Message>"),
        "{body}"
    );
}

/// The local user pool through aws-sdk-cognitoidentityprovider, its tokens checked by
/// svless-auth's verifier against the pool's key set on the services port.
async fn user_pool(running: &svless_local::cloud::Running) -> String {
    use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata as _;
    use aws_sdk_cognitoidentityprovider::types::{AttributeType, AuthFlowType};
    let config = svless_tests::config_for(running.services_url()).await;
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&config);
    let pool = running.user_pool();
    let email = AttributeType::builder()
        .name("email")
        .value("ann@example.com")
        .build()
        .expect("an attribute");
    let weak = cognito
        .sign_up()
        .client_id(pool.client_id())
        .username("ann")
        .password("short")
        .user_attributes(email.clone())
        .send()
        .await
        .expect_err("a weak password");
    assert_eq!(weak.code(), Some("InvalidPasswordException"));
    let signed_up = cognito
        .sign_up()
        .client_id(pool.client_id())
        .username("ann")
        .password("Correct-Horse-9!")
        .user_attributes(email)
        .send()
        .await
        .expect("signed up");
    assert!(!signed_up.user_confirmed());
    let unconfirmed = cognito
        .initiate_auth()
        .client_id(pool.client_id())
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", "ann")
        .auth_parameters("PASSWORD", "Correct-Horse-9!")
        .send()
        .await
        .expect_err("not confirmed yet");
    assert_eq!(unconfirmed.code(), Some("UserNotConfirmedException"));
    let wrong_code = cognito
        .confirm_sign_up()
        .client_id(pool.client_id())
        .username("ann")
        .confirmation_code("000000x")
        .send()
        .await
        .expect_err("a wrong code");
    assert_eq!(wrong_code.code(), Some("CodeMismatchException"));
    let code = pool.confirmation_code("ann").expect("a code waits");
    cognito
        .confirm_sign_up()
        .client_id(pool.client_id())
        .username("ann")
        .confirmation_code(code)
        .send()
        .await
        .expect("confirmed");
    let wrong = cognito
        .initiate_auth()
        .client_id(pool.client_id())
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", "ann")
        .auth_parameters("PASSWORD", "Wrong-Horse-9!")
        .send()
        .await
        .expect_err("a wrong password");
    assert_eq!(wrong.code(), Some("NotAuthorizedException"));
    let ann = cognito
        .initiate_auth()
        .client_id(pool.client_id())
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", "ann")
        .auth_parameters("PASSWORD", "Correct-Horse-9!")
        .send()
        .await
        .expect("ann signs in");
    let ann_token = ann
        .authentication_result()
        .and_then(|r| r.id_token())
        .expect("an ID token")
        .to_owned();

    // An administrator in the admin group, through svless-auth's CognitoUsers.
    let users = svless_auth::users::CognitoUsers::new(&config, pool.pool_id(), pool.client_id());
    users
        .create("root", "root@example.com")
        .await
        .expect("created");
    users
        .set_password("root", "Admin-Pass-1!")
        .await
        .expect("a password");
    users
        .add_to_group("root", "admin")
        .await
        .expect("in the group");
    assert_eq!(users.list_group("admin").await.expect("listed"), ["root"]);
    let tokens = users
        .sign_in("root", "Admin-Pass-1!")
        .await
        .expect("signed in");

    let keys = svless_auth::JwksCache::new(&running.jwks_url()).expect("a key-set client");
    let verifier = svless_auth::CognitoVerifier::with_keys(
        &pool.issuer(),
        keys,
        svless_auth::TokenUse::Id,
        [pool.client_id()],
    );
    let claims: svless_auth::Claims = verifier
        .verify(&tokens.id_token)
        .await
        .expect("a valid ID token");
    assert_eq!(claims.groups, ["admin"]);
    assert_eq!(claims.email.as_deref(), Some("root@example.com"));
    let access = svless_auth::CognitoVerifier::with_keys(
        &pool.issuer(),
        svless_auth::JwksCache::new(&running.jwks_url()).expect("a key-set client"),
        svless_auth::TokenUse::Access,
        [pool.client_id()],
    );
    access
        .verify::<serde_json::Map<String, Value>>(&tokens.access_token)
        .await
        .expect("a valid access token");
    let refreshed = users
        .refresh(tokens.refresh_token.as_deref().expect("a refresh token"))
        .await
        .expect("refreshed");
    verifier
        .verify::<serde_json::Map<String, Value>>(&refreshed.id_token)
        .await
        .expect("a valid refreshed token");
    let me = cognito
        .get_user()
        .access_token(&tokens.access_token)
        .send()
        .await
        .expect("the user");
    assert_eq!(me.username(), "root");

    // Signing out everywhere revokes the access token and the refresh token.
    cognito
        .global_sign_out()
        .access_token(&tokens.access_token)
        .send()
        .await
        .expect("signed out");
    let revoked = cognito
        .get_user()
        .access_token(&tokens.access_token)
        .send()
        .await
        .expect_err("revoked");
    assert_eq!(revoked.code(), Some("NotAuthorizedException"));
    assert!(
        users
            .refresh(tokens.refresh_token.as_deref().unwrap_or_default())
            .await
            .is_err()
    );
    // A disabled user cannot sign in.
    users.disable("root").await.expect("disabled");
    assert!(users.sign_in("root", "Admin-Pass-1!").await.is_err());
    ann_token
}

/// The gateway's JWT authorizer: guarded routes need a valid token and get its claims as HTTP
/// APIs pass them (every value a string); public routes do not; a slow handler meets the
/// integration timeout.
async fn authorizer(running: &svless_local::cloud::Running, token: &str) {
    let url = format!("{}/me", running.http_url());
    let (status, _, body) = request("GET", &url, &[], "").await;
    assert_eq!(
        (status, body.as_str()),
        (401, r#"{"message":"Unauthorized"}"#)
    );
    let (status, _, _) = request("GET", &url, &[("authorization", "Bearer not.a.token")], "").await;
    assert_eq!(status, 401);
    let mut tampered = token.to_owned();
    tampered.pop();
    let (status, _, _) = request("GET", &url, &[("authorization", &tampered)], "").await;
    assert_eq!(status, 401);
    let (status, _, body) = request(
        "GET",
        &url,
        &[("authorization", &format!("Bearer {token}"))],
        "",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(body["claims"]["cognito:username"], "ann");
    assert_eq!(body["claims"]["email_verified"], "true");
    assert!(body["claims"]["exp"].is_string(), "{body}");
    assert_eq!(body["claims"]["aud"], running.user_pool().client_id());
    // Public routes pass without a token.
    let (status, _, _) = request("GET", &format!("{}/hello", running.http_url()), &[], "").await;
    assert_eq!(status, 200);
    // API Gateway stops waiting: an HTTP API answers 503.
    let (status, _, body) = request("GET", &format!("{}/slow", running.http_url()), &[], "").await;
    assert_eq!(
        (status, body.as_str()),
        (503, r#"{"message":"Service Unavailable"}"#)
    );
}

/// A real WebSocket client: `$connect` refuses without the token; messages select their route
/// by `action`, non-JSON goes to `$default`; the management API posts to the connection through
/// aws-sdk-apigatewaymanagement, and answers 410 once it is gone; `$disconnect` runs.
async fn websocket(running: &svless_local::cloud::Running, shared: &Shared) {
    use futures_util::SinkExt as _;
    use tokio_tungstenite::tungstenite::Message;
    let url = running
        .websocket_url()
        .expect("the app has WebSocket routes");
    let refused = tokio_tungstenite::connect_async(format!("{url}/?token=wrong")).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!("expected a 403 refusal, got {other:?}"),
    }
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("{url}/?token=letmein"))
        .await
        .expect("connected");
    socket
        .send(Message::text(r#"{"action": "echo", "text": "hi"}"#))
        .await
        .expect("sent");
    let reply = next_text(&mut socket).await;
    assert_eq!(reply, "echo: hi");
    socket
        .send(Message::text("plain words"))
        .await
        .expect("sent");
    assert_eq!(next_text(&mut socket).await, "default: plain words");

    let id = shared
        .seen()
        .iter()
        .find_map(|l| l.strip_prefix("connect ").map(str::to_owned))
        .expect("the $connect handler saw the connection");
    let config = svless_tests::config_for(format!("{}/local", running.services_url())).await;
    let management = aws_sdk_apigatewaymanagement::Client::new(&config);
    management
        .post_to_connection()
        .connection_id(&id)
        .data(aws_smithy_types::Blob::new("pushed"))
        .send()
        .await
        .expect("posted");
    assert_eq!(next_text(&mut socket).await, "pushed");
    let described = management
        .get_connection()
        .connection_id(&id)
        .send()
        .await
        .expect("described");
    assert!(described.connected_at().is_some());

    socket.close(None).await.expect("closed");
    eventually("the $disconnect handler", || {
        shared.count(&format!("disconnect {id}")) == 1
    })
    .await;
    let gone = management
        .post_to_connection()
        .connection_id(&id)
        .data(aws_smithy_types::Blob::new("late"))
        .send()
        .await
        .expect_err("the connection is gone");
    assert!(
        gone.as_service_error()
            .is_some_and(|e| e.is_gone_exception()),
        "{gone:?}"
    );
}

async fn next_text<S>(socket: &mut S) -> String
where
    S: futures_util::Stream<
            Item = Result<
                tokio_tungstenite::tungstenite::Message,
                tokio_tungstenite::tungstenite::Error,
            >,
        > + Unpin,
{
    use futures_util::StreamExt as _;
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message in time")
            .expect("the connection is open")
            .expect("a frame");
        if let tokio_tungstenite::tungstenite::Message::Text(text) = message {
            return text.to_string();
        }
    }
}

async fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, std::collections::HashMap<String, String>, String) {
    use http_body_util::BodyExt;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let mut builder = hyper::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder
        .body(http_body_util::Full::new(bytes::Bytes::from(
            body.to_owned(),
        )))
        .expect("a request");
    let response = client.request(request).await.expect("an answer");
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let body = response.into_body().collect().await.expect("a body");
    (
        status,
        headers,
        String::from_utf8_lossy(&body.to_bytes()).into_owned(),
    )
}

/// `PutEvents` through aws-sdk-eventbridge: entries the app's rules match reach its handler,
/// others do not, malformed ones are refused by entry; a schedule fires on demand.
async fn eventbridge(running: &svless_local::cloud::Running, shared: &Shared) {
    use aws_sdk_eventbridge::types::PutEventsRequestEntry;
    let config = svless_tests::config_for(running.services_url()).await;
    let events = aws_sdk_eventbridge::Client::new(&config);
    let entry = |source: &str, detail: &str| {
        PutEventsRequestEntry::builder()
            .source(source)
            .detail_type("Order Placed")
            .detail(detail)
            .build()
    };
    let out = events
        .put_events()
        .entries(entry("shop", r#"{"id": "o-1"}"#))
        .entries(entry("elsewhere", r#"{"id": "o-2"}"#))
        .entries(entry("shop", "not json"))
        .send()
        .await
        .expect("put");
    assert_eq!(out.failed_entry_count(), 1);
    assert_eq!(out.entries()[2].error_code(), Some("MalformedDetail"));
    assert!(out.entries()[0].event_id().is_some());
    eventually("the order event", || shared.count("order o-1") == 1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        shared.count("order o-2"),
        0,
        "an event no rule matches reached the app"
    );

    assert!(running.fire("nightly").await.expect("a schedule"));
    assert_eq!(
        shared.count("scheduled arn:aws:events:us-east-1:123456789012:rule/nightly"),
        1
    );
    assert!(running.fire("weekly").await.is_err());
}

#[tokio::test]
async fn a_schedule_expression_eventbridge_refuses_stops_the_start() {
    let err = match Cloud::new(App::new())
        .schedule("broken", "cron(0 12 * * * *)")
        .start()
        .await
    {
        Ok(_) => panic!("a cloud with an invalid schedule started"),
        Err(err) => err.to_string(),
    };
    assert!(err.contains("the schedule `broken` is invalid"), "{err}");
}

/// SQS through aws-sdk-sqs: messages reach the handler; one that keeps failing comes back after
/// the visibility timeout and goes to the dead-letter queue after `maxReceiveCount` receives;
/// a FIFO queue keeps each group in order and drops duplicates.
async fn queues(running: &svless_local::cloud::Running, shared: &Shared) {
    use aws_sdk_sqs::error::ProvideErrorMetadata as _;
    use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
    let config = svless_tests::config_for(running.services_url()).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let missing = sqs
        .get_queue_url()
        .queue_name("nope")
        .send()
        .await
        .expect_err("no queue");
    // The query-protocol code SQS sends, as the SDK reports it; the typed error matches too.
    assert_eq!(
        missing.code(),
        Some("AWS.SimpleQueueService.NonExistentQueue")
    );
    assert!(
        missing
            .as_service_error()
            .is_some_and(|e| e.is_queue_does_not_exist())
    );
    let dlq = sqs
        .create_queue()
        .queue_name("jobs-dlq")
        .send()
        .await
        .expect("created");
    let dlq_url = dlq.queue_url().expect("a URL").to_owned();
    let jobs = sqs
        .create_queue()
        .queue_name("jobs")
        .attributes(QueueAttributeName::VisibilityTimeout, "1")
        .attributes(
            QueueAttributeName::RedrivePolicy,
            json!({"deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:jobs-dlq", "maxReceiveCount": 2}).to_string(),
        )
        .send()
        .await
        .expect("created");
    let jobs_url = jobs.queue_url().expect("a URL").to_owned();
    assert_eq!(
        sqs.get_queue_url()
            .queue_name("jobs")
            .send()
            .await
            .expect("found")
            .queue_url(),
        Some(jobs_url.as_str())
    );
    let sent = sqs
        .send_message()
        .queue_url(&jobs_url)
        .message_body("ok-1")
        .send()
        .await
        .expect("sent");
    // MD5 of "ok-1", as SQS reports it.
    assert_eq!(
        sent.md5_of_message_body(),
        Some(format!("{:x}", md5::Md5::digest(b"ok-1")).as_str())
    );
    let batch = sqs
        .send_message_batch()
        .queue_url(&jobs_url)
        .entries(
            aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                .id("a")
                .message_body("ok-2")
                .build()
                .expect("an entry"),
        )
        .entries(
            aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                .id("b")
                .message_body("fail-1")
                .build()
                .expect("an entry"),
        )
        .send()
        .await
        .expect("sent");
    assert_eq!(batch.successful().len(), 2);
    eventually("the failing message in the dead-letter queue", || {
        shared.count("job fail-1") == 2
    })
    .await;
    assert_eq!(shared.count("job ok-1"), 1);
    assert_eq!(shared.count("job ok-2"), 1);
    let mut dead = Vec::new();
    for _ in 0..100 {
        let received = sqs
            .receive_message()
            .queue_url(&dlq_url)
            .max_number_of_messages(10)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .expect("received");
        dead.extend(received.messages().to_vec());
        if !dead.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body(), Some("fail-1"));
    assert_eq!(
        shared.count("job fail-1"),
        2,
        "delivered after it went to the dead-letter queue"
    );

    // FIFO: groups in order, duplicates dropped.
    let fifo = sqs
        .create_queue()
        .queue_name("orders.fifo")
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(QueueAttributeName::ContentBasedDeduplication, "true")
        .send()
        .await
        .expect("created");
    let fifo_url = fifo.queue_url().expect("a URL").to_owned();
    for (group, body) in [
        ("g1", "f-a1"),
        ("g2", "f-b1"),
        ("g1", "f-a2"),
        ("g1", "f-a1"),
        ("g1", "f-a3"),
    ] {
        sqs.send_message()
            .queue_url(&fifo_url)
            .message_group_id(group)
            .message_body(body)
            .send()
            .await
            .expect("sent");
    }
    let no_group = sqs
        .send_message()
        .queue_url(&fifo_url)
        .message_body("x")
        .send()
        .await
        .expect_err("a group is required");
    assert_eq!(no_group.code(), Some("MissingParameter"));
    eventually("the FIFO messages", || {
        shared.count("job f-a3") == 1 && shared.count("job f-b1") == 1
    })
    .await;
    let order: Vec<String> = shared
        .seen()
        .into_iter()
        .filter(|l| l.starts_with("job f-a"))
        .collect();
    assert_eq!(order, ["job f-a1", "job f-a2", "job f-a3"]);
}

/// Kinesis through aws-sdk-kinesis: records reach the handler shard by shard in order; one that
/// fails once is retried from its own sequence number.
async fn kinesis(running: &svless_local::cloud::Running, shared: &Shared) {
    use aws_sdk_kinesis::primitives::Blob;
    use aws_sdk_kinesis::types::PutRecordsRequestEntry;
    let config = svless_tests::config_for(running.services_url()).await;
    let kinesis = aws_sdk_kinesis::Client::new(&config);
    kinesis
        .create_stream()
        .stream_name("clicks")
        .shard_count(2)
        .send()
        .await
        .expect("created");
    let entry = |key: &str, data: &str| {
        PutRecordsRequestEntry::builder()
            .partition_key(key)
            .data(Blob::new(data))
            .build()
            .expect("an entry")
    };
    let out = kinesis
        .put_records()
        .stream_name("clicks")
        .records(entry("u1", "a1"))
        .records(entry("u1", "flaky-a2"))
        .records(entry("u1", "a3"))
        .records(entry("u2", "b1"))
        .send()
        .await
        .expect("put");
    assert_eq!(out.failed_record_count(), Some(0));
    eventually("the Kinesis records", || {
        shared.count("click u1 a3") == 1 && shared.count("click u2 b1") == 1
    })
    .await;
    // Retried from the failed record: a1 once, flaky-a2 twice, then a3.
    assert_eq!(shared.count("click u1 a1"), 1);
    assert_eq!(shared.count("click u1 flaky-a2"), 2);
    let u1: Vec<String> = shared
        .seen()
        .into_iter()
        .filter(|l| l.starts_with("click u1"))
        .collect();
    assert_eq!(
        u1,
        [
            "click u1 a1",
            "click u1 flaky-a2",
            "click u1 flaky-a2",
            "click u1 a3"
        ]
    );
    let missing = kinesis
        .put_record()
        .stream_name("nope")
        .partition_key("k")
        .data(Blob::new("x"))
        .send()
        .await
        .expect_err("no such stream");
    assert!(
        missing
            .as_service_error()
            .is_some_and(|e| e.is_resource_not_found_exception()),
        "{missing:?}"
    );
}
