//! Every fixture parses into its `aws_lambda_events` type and back, and runs end to end:
//! payload -> App::dispatch -> handler -> response payload.

use aws_lambda_events::alb::AlbTargetGroupRequest;
use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayV2httpRequest};
use serde_json::{Value, json};
use svless::extract::RawBody;
use svless::http::{HeaderMap, Method};
use svless::{App, Context, Json, Path, Query, api};
use svless_tests::{dispatch, fixture};

fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug>(
    name: &str,
) {
    let parsed: T = serde_json::from_slice(&fixture(name)).expect("the fixture parses");
    let again: T = serde_json::from_value(serde_json::to_value(&parsed).expect("serializes"))
        .expect("parses again");
    assert_eq!(parsed, again, "{name} does not round-trip");
}

#[test]
fn every_fixture_round_trips_through_its_event_type() {
    for name in [
        "apigw-v2-http-api.json",
        "apigw-v2-lambda-authorizer.json",
        "lambda-url-base64-cookies.json",
    ] {
        round_trip::<ApiGatewayV2httpRequest>(name);
    }
    for name in [
        "apigw-v1-rest-proxy.json",
        "apigw-v1-multi-value.json",
        "apigw-v1-cognito-authorizer.json",
        "apigw-v1-lambda-authorizer.json",
    ] {
        round_trip::<ApiGatewayProxyRequest>(name);
    }
    for name in ["alb-single-value.json", "alb-multi-value.json"] {
        round_trip::<AlbTargetGroupRequest>(name);
    }
    for name in ["s3-put-encoded-key.json", "s3-copy-and-delete.json"] {
        round_trip::<aws_lambda_events::s3::S3Event>(name);
    }
    for name in ["dynamodb-stream.json", "dynamodb-stream-ttl-remove.json"] {
        round_trip::<aws_lambda_events::dynamodb::Event>(name);
    }
    for name in ["sqs-standard.json", "sqs-fifo.json"] {
        round_trip::<aws_lambda_events::sqs::SqsEvent>(name);
    }
    round_trip::<aws_lambda_events::kinesis::KinesisEvent>("kinesis.json");
    for name in [
        "eventbridge-scheduled.json",
        "eventbridge-custom.json",
        "s3-via-eventbridge.json",
    ] {
        round_trip::<aws_lambda_events::eventbridge::EventBridgeEvent<serde_json::Value>>(name);
    }
    for name in [
        "websocket-connect.json",
        "websocket-message.json",
        "websocket-disconnect.json",
    ] {
        round_trip::<aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest>(name);
    }
}

#[derive(serde::Deserialize)]
struct MyQuery {
    parameter1: Vec<String>,
    parameter2: String,
}

#[api(POST "/my/path")]
async fn http_api(
    Query(q): Query<MyQuery>,
    headers: HeaderMap,
    ctx: Context,
    body: String,
) -> Json<Value> {
    Json(json!({
        "parameter1": q.parameter1,
        "parameter2": q.parameter2,
        "header2": headers.get("header2").and_then(|v| v.to_str().ok()),
        "cookie": headers.get("cookie").and_then(|v| v.to_str().ok()),
        "body": body,
        "claims": ctx.claims(),
        "scopes": ctx.authorizer["jwt"]["scopes"],
        "sourceIp": ctx.source_ip,
        "userAgent": ctx.user_agent,
        "apiRequestId": ctx.api_request_id,
        "requestId": ctx.request_id,
        "qualifier": ctx.qualifier(),
    }))
}

#[tokio::test]
async fn http_api_v2_payload_runs_end_to_end() {
    let app = App::new().route(http_api);
    let out = dispatch(&app, "apigw-v2-http-api.json").await;
    assert_eq!(out["statusCode"], 200);
    let body: Value =
        serde_json::from_str(out["body"].as_str().expect("a text body")).expect("JSON");
    assert_eq!(body["parameter1"], json!(["value1", "value2"]));
    assert_eq!(body["parameter2"], "value");
    assert_eq!(body["header2"], "value1,value2");
    assert_eq!(body["cookie"], "cookie1; cookie2");
    assert_eq!(body["body"], "Hello from Lambda");
    assert_eq!(
        body["claims"],
        json!({"claim1": "value1", "claim2": "value2"})
    );
    assert_eq!(body["scopes"], json!(["scope1", "scope2"]));
    assert_eq!(body["sourceIp"], "192.0.2.1");
    assert_eq!(body["userAgent"], "agent");
    assert_eq!(body["apiRequestId"], "id");
    assert_eq!(body["requestId"], "8476a536-e9f4-11e8-9739-2dfe598c3fcd");
    assert_eq!(body["qualifier"], "live");
    assert_eq!(out["headers"]["content-type"], "application/json");
}

#[api(GET "/todos/{id}")]
async fn todo_by_id(Path(id): Path<u32>, ctx: Context) -> Json<Value> {
    Json(
        json!({ "id": id, "authorizer": ctx.authorizer, "stage": ctx.stage, "claims": ctx.claims() }),
    )
}

#[tokio::test]
async fn http_api_route_key_dispatch_with_lambda_authorizer_on_a_named_stage() {
    let app = App::new().route(todo_by_id);
    let out = dispatch(&app, "apigw-v2-lambda-authorizer.json").await;
    assert_eq!(out["statusCode"], 200, "{out}");
    let body: Value = serde_json::from_str(out["body"].as_str().expect("text")).expect("JSON");
    assert_eq!(body["id"], 42);
    assert_eq!(body["stage"], "prod");
    assert_eq!(
        body["authorizer"]["lambda"],
        json!({"userId": "user-123", "tier": "gold"})
    );
}

#[tokio::test]
async fn rest_cognito_authorizer_claims_reach_the_handler() {
    let app = App::new().route(todo_by_id);
    let out = dispatch(&app, "apigw-v1-cognito-authorizer.json").await;
    assert_eq!(out["statusCode"], 200, "{out}");
    let body: Value = serde_json::from_str(out["body"].as_str().expect("text")).expect("JSON");
    assert_eq!(body["id"], 7);
    assert_eq!(body["claims"]["cognito:username"], "ann");
    assert_eq!(body["claims"]["cognito:groups"], "admins");
    assert!(
        out.get("multiValueHeaders").is_some(),
        "REST answers carry multiValueHeaders"
    );
}

#[api(GET "/whoami")]
async fn whoami(ctx: Context) -> Json<Value> {
    Json(Value::Object(ctx.authorizer))
}

#[tokio::test]
async fn rest_lambda_authorizer_context_reaches_the_handler() {
    let app = App::new().route(whoami);
    let out = dispatch(&app, "apigw-v1-lambda-authorizer.json").await;
    let body: Value = serde_json::from_str(out["body"].as_str().expect("text")).expect("JSON");
    assert_eq!(body["principalId"], "user|a1b2c3d4");
    assert_eq!(body["stringKey"], "value");
}

#[api(POST "/path/{proxy+}")]
async fn proxied(Path(rest): Path<String>, Json(body): Json<Value>) -> Json<Value> {
    Json(json!({ "rest": rest, "body": body }))
}

#[api(ANY "/path/to/resource")]
async fn exact(method: Method, body: svless::body::Body) -> String {
    format!("{method} {}", String::from_utf8_lossy(body.as_bytes()))
}

#[tokio::test]
async fn rest_proxy_resource_is_routed_by_path_with_base64_body() {
    // The deployed API has one `/{proxy+}` resource; the app routes the rebuilt path itself.
    let app = App::new().route(exact);
    let mut payload: Value =
        serde_json::from_slice(&fixture("apigw-v1-rest-proxy.json")).expect("JSON");
    let out = app
        .dispatch(
            &serde_json::to_vec(&payload).expect("JSON"),
            svless_tests::lambda_context(),
        )
        .await
        .expect("dispatches");
    let out: Value = serde_json::from_slice(&out).expect("JSON");
    assert_eq!(out["statusCode"], 200, "{out}");
    assert_eq!(out["body"], "POST {\"test\":\"body\"}");

    // Without a content type, a JSON extractor refuses the body with 415.
    let app = App::new().route(proxied);
    let out = dispatch(&app, "apigw-v1-rest-proxy.json").await;
    assert_eq!(out["statusCode"], 415, "{out}");

    payload["headers"]["Content-Type"] = json!("application/json");
    payload["multiValueHeaders"]["Content-Type"] = json!(["application/json"]);
    let out = app
        .dispatch(
            &serde_json::to_vec(&payload).expect("JSON"),
            svless_tests::lambda_context(),
        )
        .await
        .expect("dispatches");
    let out: Value = serde_json::from_slice(&out).expect("JSON");
    let body: Value = serde_json::from_str(out["body"].as_str().expect("text")).expect("JSON");
    assert_eq!(
        body,
        json!({"rest": "to/resource", "body": {"test": "body"}})
    );
}

#[derive(serde::Deserialize)]
struct Multi {
    parameter1: Vec<String>,
}

#[api(GET "/my/path")]
async fn multi(
    Query(q): Query<Multi>,
    headers: HeaderMap,
) -> ([(&'static str, &'static str); 2], Json<Value>) {
    let header2: Vec<&str> = headers
        .get_all("header2")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (
        [("set-cookie", "a=1"), ("set-cookie", "b=2")],
        Json(json!({ "parameter1": q.parameter1, "header2": header2 })),
    )
}

#[tokio::test]
async fn rest_multi_value_headers_and_query_survive_both_ways() {
    let app = App::new().route(multi);
    let out = dispatch(&app, "apigw-v1-multi-value.json").await;
    let body: Value = serde_json::from_str(out["body"].as_str().expect("text")).expect("JSON");
    assert_eq!(body["parameter1"], json!(["value1", "value2"]));
    assert_eq!(body["header2"], json!(["value1", "value2"]));
    assert_eq!(
        out["multiValueHeaders"]["set-cookie"],
        json!(["a=1", "b=2"])
    );
}

#[api(POST "/upload")]
async fn upload(
    Query(q): Query<Value>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> (HeaderMap, Vec<u8>) {
    let mut out = HeaderMap::new();
    out.insert(
        "x-name",
        q["name"]
            .as_str()
            .unwrap_or("")
            .parse()
            .expect("a header value"),
    );
    out.insert(
        "x-cookie",
        headers
            .get("cookie")
            .cloned()
            .unwrap_or_else(|| "none".parse().expect("a header value")),
    );
    (out, body.to_vec())
}

#[tokio::test]
async fn function_url_binary_body_comes_back_base64() {
    let app = App::new().route(upload);
    let out = dispatch(&app, "lambda-url-base64-cookies.json").await;
    assert_eq!(out["statusCode"], 200, "{out}");
    assert_eq!(out["isBase64Encoded"], true);
    assert_eq!(out["body"], "iVBORw0KGgo=");
    assert_eq!(out["headers"]["x-name"], "photo.png");
    assert_eq!(out["headers"]["x-cookie"], "session=abc123; theme=dark");
}

#[api(GET "/lambda")]
async fn alb_handler(
    uri: svless::http::Uri,
    headers: HeaderMap,
) -> ([(&'static str, &'static str); 2], String) {
    let cookies: Vec<&str> = headers
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (
        [("set-cookie", "x=1"), ("set-cookie", "y=2")],
        format!("{} {cookies:?}", uri.query().unwrap_or("")),
    )
}

#[tokio::test]
async fn alb_answers_in_the_header_mode_it_was_called_in() {
    let app = App::new().route(alb_handler);
    let single = dispatch(&app, "alb-single-value.json").await;
    assert_eq!(single["statusCode"], 200);
    assert_eq!(single["statusDescription"], "200 OK");
    assert_eq!(single["body"], "query=1234ABCD []");
    assert!(single.get("multiValueHeaders").is_none());

    let multi_value = dispatch(&app, "alb-multi-value.json").await;
    // Two `cookie` values reach the handler as one header (RFC 6265).
    assert_eq!(
        multi_value["body"],
        "myKey=val1&myKey=val2 [\"name1=value1; name2=value2\"]"
    );
    assert_eq!(
        multi_value["multiValueHeaders"]["set-cookie"],
        json!(["x=1", "y=2"])
    );
}
