//! One HTTP invocation three ways, for the `invocation` benchmark and its tests: the same
//! event, 50 routes, the same handler (path parameter + JSON body in, JSON out).
//!
//! - [`svless_app`]: svless, through `App::dispatch` (bytes in, bytes out).
//! - [`lambda_http_axum`]: `lambda_http`'s adapter around an `axum` router, as `lambda_http::run` does it.
//! - [`floor`]: a hand-written `lambda_runtime` handler: serde into `ApiGatewayV2httpRequest`,
//!   routing by hand, the response built by hand.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body as EventBody;
use futures_util::FutureExt as _;
use serde::{Deserialize, Serialize};
use tower::Service as _;

/// The number of routes each app has.
pub const ROUTES: usize = 50;

/// The body both ways: a todo.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Todo {
    /// Its id, from the path.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Free text.
    pub notes: String,
}

/// An HTTP API (2.0) event, `POST /todos/{id}` with a JSON body of about 1 KiB, routed by
/// `$default`, with its members in the order API Gateway sends them (`version` first).
pub fn event() -> Vec<u8> {
    let todo = serde_json::json!({
        "id": "ignored",
        "title": "Write the benchmark",
        "tags": (0..20).map(|i| format!("tag-{i}")).collect::<Vec<_>>(),
        "notes": "x".repeat(720),
    });
    let body = serde_json::Value::String(todo.to_string());
    format!(
        r#"{{"version":"2.0","routeKey":"$default","rawPath":"/todos/abc-123","rawQueryString":"","headers":{{"accept":"application/json","content-length":"{len}","content-type":"application/json","host":"abcdef123.execute-api.us-east-1.amazonaws.com","user-agent":"bench/1.0","x-amzn-trace-id":"Root=1-5e6722a7-cc56xmpl46db7ae02d4da47e","x-forwarded-for":"203.0.113.7","x-forwarded-port":"443","x-forwarded-proto":"https"}},"requestContext":{{"accountId":"123456789012","apiId":"abcdef123","domainName":"abcdef123.execute-api.us-east-1.amazonaws.com","domainPrefix":"abcdef123","http":{{"method":"POST","path":"/todos/abc-123","protocol":"HTTP/1.1","sourceIp":"203.0.113.7","userAgent":"bench/1.0"}},"requestId":"JKJaXmPLvHcESHA=","routeKey":"$default","stage":"$default","time":"10/Mar/2021:19:44:38 +0000","timeEpoch":1615405478000}},"body":{body},"isBase64Encoded":false}}"#,
        len = todo.to_string().len(),
    )
    .into_bytes()
}

fn other_path(i: usize) -> String {
    format!("/r{i}/items/{{id}}")
}

// ---- svless ----

/// The svless handler.
#[svless::api(POST "/todos/{id}")]
pub async fn svless_handler(
    svless::Path(id): svless::Path<String>,
    svless::Json(mut todo): svless::Json<Todo>,
) -> svless::Json<Todo> {
    todo.id = id;
    svless::Json(todo)
}

async fn svless_other(svless::Path(id): svless::Path<String>) -> String {
    id
}

/// The svless app: 49 other routes and the measured one.
pub fn svless_app() -> svless::App {
    svless_app_with(ROUTES)
}

/// The svless app with `routes - 1` other routes beside the measured one.
pub fn svless_app_with(routes: usize) -> svless::App {
    let mut app = svless::App::new();
    for i in 0..routes.saturating_sub(1) {
        app = app.route_fn("GET", &other_path(i), svless_other);
    }
    app.route(svless_handler)
}

/// One svless invocation, bytes to bytes.
pub fn svless_invoke(app: &svless::App, payload: &[u8]) -> Vec<u8> {
    app.dispatch(payload, svless::Context::default())
        .now_or_never()
        .and_then(Result::ok)
        .unwrap_or_default()
}

// ---- lambda_http + axum ----

async fn axum_handler(
    axum::extract::Path(id): axum::extract::Path<String>,
    axum::Json(mut todo): axum::Json<Todo>,
) -> axum::Json<Todo> {
    todo.id = id;
    axum::Json(todo)
}

async fn axum_other(axum::extract::Path(id): axum::extract::Path<String>) -> String {
    id
}

/// The axum router: the same 50 routes.
pub fn axum_router() -> axum::Router {
    let mut router = axum::Router::new();
    for i in 0..ROUTES - 1 {
        router = router.route(&other_path(i), axum::routing::get(axum_other));
    }
    router.route("/todos/{id}", axum::routing::post(axum_handler))
}

/// One invocation the way `lambda_http::run` makes it: decode `LambdaRequest`, adapt, call the
/// router, transform the response, encode it.
pub fn lambda_http_axum(router: &axum::Router, payload: &[u8]) -> Vec<u8> {
    let Ok(request) = serde_json::from_slice::<lambda_http::request::LambdaRequest>(payload) else {
        return Vec::new();
    };
    let mut adapter = lambda_http::Adapter::from(router.clone());
    let event = lambda_runtime::LambdaEvent::new(request, lambda_runtime::Context::default());
    match adapter.call(event).now_or_never() {
        Some(Ok(response)) => serde_json::to_vec(&response).unwrap_or_default(),
        _ => Vec::new(),
    }
}

// ---- the floor ----

/// One invocation written by hand against `aws_lambda_events`: the least any framework can do.
pub fn floor(payload: &[u8]) -> Vec<u8> {
    let Ok(event) = serde_json::from_slice::<ApiGatewayV2httpRequest>(payload) else {
        return Vec::new();
    };
    let path = event.raw_path.as_deref().unwrap_or("/");
    let mut segments = path.trim_start_matches('/').split('/');
    let mut response = ApiGatewayV2httpResponse::default();
    let routed = match (segments.next(), segments.next(), segments.next()) {
        (Some("todos"), Some(id), None)
            if event.request_context.http.method == http::Method::POST =>
        {
            Some(id)
        }
        _ => None,
    };
    match (
        routed,
        event.body.as_deref().map(serde_json::from_str::<Todo>),
    ) {
        (Some(id), Some(Ok(mut todo))) => {
            todo.id = id.to_owned();
            response.status_code = 200;
            response.headers.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            response.body = serde_json::to_string(&todo).ok().map(EventBody::Text);
        }
        _ => response.status_code = 404,
    }
    serde_json::to_vec(&response).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn todo_in(payload: &[u8]) -> Todo {
        let out: serde_json::Value =
            serde_json::from_slice(payload).expect("a JSON response payload");
        assert_eq!(out["statusCode"], 200, "{out}");
        serde_json::from_str(out["body"].as_str().expect("a text body")).expect("a todo")
    }

    #[test]
    fn both_verifiers_accept_the_token() {
        let (token, verifier, key) = auth_fixture();
        assert!(bare_decode(&token, &key));
        assert!(svless_verify(&verifier, &token));
        assert_eq!(verifier.keys().fetches(), 0, "a warm cache fetches nothing");
    }

    #[test]
    fn both_stream_handlers_take_every_record() {
        let payload = stream_event(100);
        let ours = svless_invoke(&stream_app(), &payload);
        let theirs = stream_floor(&payload);
        assert_eq!(ours, br#"{"batchItemFailures":[]}"#);
        assert_eq!(ours, theirs);
    }

    #[test]
    fn all_three_give_the_same_todo() {
        let payload = event();
        assert!(
            payload.len() > 1024 + 512,
            "a 1 KiB body inside a real-sized event"
        );
        let a = todo_in(&svless_invoke(&svless_app(), &payload));
        let b = todo_in(&lambda_http_axum(&axum_router(), &payload));
        let c = todo_in(&floor(&payload));
        assert_eq!(a.id, "abc-123");
        assert_eq!(a, b);
        assert_eq!(a, c);
    }
}

// ---- DynamoDB Streams ----

/// The item in the stream benchmark.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Item {
    /// Partition key.
    pub pk: String,
    /// Sort key.
    pub sk: String,
    /// Title.
    pub title: String,
    /// Done.
    pub done: bool,
    /// Version.
    pub version: u64,
    /// Tags.
    pub tags: Vec<String>,
}

/// A DynamoDB stream batch of `records` MODIFY records with both images, as Lambda delivers it.
pub fn stream_event(records: usize) -> Vec<u8> {
    let image = |i: usize, version: u64, title: &str| {
        serde_json::json!({
            "pk": {"S": format!("USER#{}", i % 7)},
            "sk": {"S": format!("TODO#{i:05}")},
            "title": {"S": title},
            "done": {"BOOL": version.is_multiple_of(2)},
            "version": {"N": version.to_string()},
            "tags": {"L": [{"S": "home"}, {"S": "urgent"}]},
        })
    };
    let records: Vec<serde_json::Value> = (0..records)
        .map(|i| {
            serde_json::json!({
                "eventID": format!("{i:032x}"),
                "eventName": "MODIFY",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "dynamodb": {
                    "ApproximateCreationDateTime": 1700000000 + i,
                    "Keys": {"pk": {"S": format!("USER#{}", i % 7)}, "sk": {"S": format!("TODO#{i:05}")}},
                    "OldImage": image(i, 1, "write the benchmark"),
                    "NewImage": image(i, 2, "write the benchmark, again"),
                    "SequenceNumber": format!("{:021}", 100_000 + i),
                    "SizeBytes": 212,
                    "StreamViewType": "NEW_AND_OLD_IMAGES"
                },
                "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/todos/stream/2023-11-14T00:00:00.000"
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "Records": records })).unwrap_or_default()
}

fn handle_change(old: &Item, new: &Item) -> bool {
    std::hint::black_box(old.version < new.version && new.title.len() > old.title.len())
}

/// The svless stream handler.
#[svless::dynamodb_stream]
pub async fn on_item(record: svless::source::dynamodb::StreamRecord<Item>) {
    if let svless::source::dynamodb::Change::Modify { old, new } = &record.change {
        handle_change(old, new);
    }
}

/// The svless app for the stream benchmark.
pub fn stream_app() -> svless::App {
    svless::App::new().on(on_item)
}

/// A hand-written handler: `aws_lambda_events` + `serde_dynamo`, the batch response by hand.
pub fn stream_floor(payload: &[u8]) -> Vec<u8> {
    let Ok(event) = serde_json::from_slice::<aws_lambda_events::dynamodb::Event>(payload) else {
        return Vec::new();
    };
    let mut failures: Vec<serde_json::Value> = Vec::new();
    for record in event.records {
        let sequence = record.change.sequence_number.clone().unwrap_or_default();
        let old: Result<Item, _> = serde_dynamo::from_item(record.change.old_image);
        let new: Result<Item, _> = serde_dynamo::from_item(record.change.new_image);
        match (old, new) {
            (Ok(old), Ok(new)) => {
                handle_change(&old, &new);
            }
            _ => {
                failures.push(serde_json::json!({ "itemIdentifier": sequence }));
                break;
            }
        }
    }
    serde_json::to_vec(&serde_json::json!({ "batchItemFailures": failures })).unwrap_or_default()
}

// ---- token verification ----

/// Signs an ID token for the verification benchmark with the test-only key.
pub fn auth_fixture() -> (
    String,
    svless_auth::CognitoVerifier,
    jsonwebtoken::DecodingKey,
) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures");
    let pem = std::fs::read(format!("{dir}/keys/test-only-rsa.pem")).unwrap_or_default();
    let jwks_text = std::fs::read(format!("{dir}/jwks/jwks.json")).unwrap_or_default();
    let jwks: svless_auth::Jwks =
        serde_json::from_slice(&jwks_text).unwrap_or(svless_auth::Jwks { keys: Vec::new() });
    let issuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_BENCH";
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let claims = serde_json::json!({
        "sub": "user-1", "cognito:username": "ann", "cognito:groups": ["admin"], "email": "ann@example.com",
        "iss": issuer, "aud": "client", "token_use": "id", "iat": now, "exp": now + 3600,
    });
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some("svless-test-1".into());
    let token = jsonwebtoken::EncodingKey::from_rsa_pem(&pem)
        .ok()
        .and_then(|key| jsonwebtoken::encode(&header, &claims, &key).ok())
        .unwrap_or_default();
    let (n, e) = jwks
        .keys
        .first()
        .map(|k| (k.n.clone(), k.e.clone()))
        .unwrap_or_default();
    let decoding = jsonwebtoken::DecodingKey::from_rsa_components(&n, &e)
        .unwrap_or_else(|_| jsonwebtoken::DecodingKey::from_secret(b""));
    let verifier = svless_auth::JwksCache::with_keys("http://127.0.0.1:9/jwks.json", &jwks)
        .map(|keys| {
            svless_auth::CognitoVerifier::with_keys(
                issuer,
                keys,
                svless_auth::TokenUse::Id,
                ["client"],
            )
        })
        .unwrap_or_else(|_| panic!("a key cache"));
    (token, verifier, decoding)
}

/// A bare `jsonwebtoken::decode` of the same token with the same key: the peer.
pub fn bare_decode(token: &str, key: &jsonwebtoken::DecodingKey) -> bool {
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_issuer(&["https://cognito-idp.us-east-1.amazonaws.com/us-east-1_BENCH"]);
    validation.validate_aud = false;
    jsonwebtoken::decode::<serde_json::Value>(token, key, &validation).is_ok()
}

/// svless's verification of the token with a warm cache.
pub fn svless_verify(verifier: &svless_auth::CognitoVerifier, token: &str) -> bool {
    matches!(
        verifier.verify::<serde_json::Value>(token).now_or_never(),
        Some(Ok(_))
    )
}

// ---- the local host ----

/// The request the local-host benchmark sends: `POST /todos/42` with a 1 KiB JSON body and the
/// headers a browser sends.
pub fn local_request() -> (http::HeaderMap, Vec<u8>) {
    let mut headers = http::HeaderMap::new();
    for (name, value) in [
        ("host", "127.0.0.1:3000"),
        ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0"),
        ("accept", "application/json"),
        ("content-type", "application/json"),
        ("cookie", "session=abc123; theme=dark"),
        ("x-request-id", "8476a536-e9f4-11e8-9739-2dfe598c3fcd"),
    ] {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(value),
        ) {
            headers.append(name, value);
        }
    }
    let body = serde_json::to_vec(&Todo {
        id: String::new(),
        title: "buy milk".into(),
        tags: vec!["a".into(), "b".into()],
        notes: "x".repeat(1000),
    })
    .unwrap_or_default();
    (headers, body)
}

/// One local request through the local host: the event written straight from the request,
/// dispatched, the response payload read into an HTTP response.
pub fn local_host(app: &svless::App, headers: &http::HeaderMap, body: &[u8]) -> usize {
    use svless::local::{HttpRequest, decode_response, encode_event};
    let request = HttpRequest::new("POST", "/todos/42", "a=1")
        .headers(headers)
        .body(body.to_vec());
    let Ok(event) = encode_event(&request, svless::PayloadFormat::ApiGatewayV2) else {
        return 0;
    };
    let out = app
        .dispatch(&event, svless::Context::local())
        .now_or_never()
        .and_then(Result::ok)
        .unwrap_or_default();
    decode_response(&out).body.len()
}

/// The same request the way the local server built it before the local host: a test-request
/// builder, a `serde_json::Value` event, bytes, then the response payload parsed back.
pub fn via_json_value(app: &svless::App, headers: &http::HeaderMap, body: &[u8]) -> usize {
    let mut request =
        svless::testing::TestRequest::new("POST", "/todos/42?a=1").body(body.to_vec());
    for (name, value) in headers {
        if let Ok(value) = value.to_str() {
            request = request.header(name.as_str(), value);
        }
    }
    let event = request.to_v2_event();
    let payload = serde_json::to_vec(&event).unwrap_or_default();
    let out = app
        .dispatch(&payload, svless::Context::local())
        .now_or_never()
        .and_then(Result::ok)
        .unwrap_or_default();
    svless::testing::TestResponse::from_payload(&out).body.len()
}
