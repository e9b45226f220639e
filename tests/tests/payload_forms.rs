//! API Gateway's payload forms as real requests produce them: HTTP API `$default` routes in
//! format 1.0, decoded HTTP API paths, encoded REST paths, HEAD error answers, cookies from every
//! source, Lambda's response size limit, and path bytes that are not text. Each case starts from
//! a fixture of `tests/fixtures/` (see `SOURCES.md`) and changes only what the case is about.

use serde_json::{Value, json};
use svless::http::{HeaderMap, Uri};
use svless::{App, Path, api};
use svless_tests::{fixture, lambda_context};

fn event(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).expect("a JSON fixture")
}

async fn send(app: &App, event: &Value) -> Value {
    let payload = serde_json::to_vec(event).expect("JSON");
    let out = app
        .dispatch(&payload, lambda_context())
        .await
        .unwrap_or_else(|e| panic!("the invocation failed: {} {}", e.error_type(), e.message()));
    serde_json::from_slice(&out).expect("a JSON response payload")
}

fn body(out: &Value) -> Value {
    let text = out["body"].as_str().expect("a text body");
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

#[api(GET "/my/path")]
async fn my_path(uri: Uri) -> String {
    uri.to_string()
}

#[api(GET "/items/{id}")]
async fn item(Path(id): Path<String>, uri: Uri) -> svless::Json<Value> {
    svless::Json(json!({ "id": id, "path": uri.path() }))
}

fn app() -> App {
    App::new().route(my_path).route(item)
}

#[tokio::test]
async fn an_http_api_default_route_in_format_1_0_routes_by_path() {
    let mut e = event("apigw-http-api-v1-default-route.json");
    e["httpMethod"] = json!("GET");
    e["requestContext"]["httpMethod"] = json!("GET");
    let out = send(&app(), &e).await;
    assert_eq!(out["statusCode"], 200, "{out}");
    assert_eq!(
        out["body"],
        "/my/path?parameter1=value1&parameter1=value2&parameter2=value"
    );

    // On the default endpoint of a named stage the path starts with the stage.
    e["path"] = json!("/prod/items/a b");
    e["requestContext"]["path"] = json!("/prod/items/a b");
    e["requestContext"]["stage"] = json!("prod");
    let out = send(&app(), &e).await;
    assert_eq!(out["statusCode"], 200, "{out}");
    assert_eq!(body(&out)["id"], "a b");
}

#[tokio::test]
async fn an_http_api_raw_path_arrives_decoded_and_never_fails_the_invocation() {
    // Routed by API Gateway: route key and decoded parameters.
    let mut e = event("apigw-v2-http-api.json");
    e["routeKey"] = json!("GET /items/{id}");
    e["rawPath"] = json!("/items/a b");
    e["requestContext"]["http"]["method"] = json!("GET");
    e["requestContext"]["http"]["path"] = json!("/items/a b");
    e["pathParameters"] = json!({ "id": "a b" });
    let out = send(&app(), &e).await;
    assert_eq!(out["statusCode"], 200, "{out}");
    assert_eq!(body(&out), json!({ "id": "a b", "path": "/items/a%20b" }));

    // `$default`: the decoded path is escaped, then matched.
    for (raw, id) in [
        ("/items/a b", "a b"),
        ("/items/100%", "100%"),
        ("/items/größe", "größe"),
        ("/items/a?b#c", "a?b#c"),
        ("/items/a%20b", "a b"),
    ] {
        e["routeKey"] = json!("$default");
        e["rawPath"] = json!(raw);
        e["pathParameters"] = Value::Null;
        let out = send(&app(), &e).await;
        assert_eq!(out["statusCode"], 200, "{raw}: {out}");
        assert_eq!(body(&out)["id"], id, "{raw}");
    }
}

#[tokio::test]
async fn a_rest_path_is_used_as_delivered_and_keeps_its_encoded_slash() {
    // A catch-all `/{proxy+}` resource in front of the app's own routes.
    let mut e = event("apigw-v1-rest-proxy.json");
    e["httpMethod"] = json!("GET");
    e["path"] = json!("/items/a%2Fb");
    e["pathParameters"] = json!({ "proxy": "items/a/b" });
    let out = send(&app(), &e).await;
    assert_eq!(out["statusCode"], 200, "{out}");
    assert_eq!(body(&out), json!({ "id": "a/b", "path": "/items/a%2Fb" }));

    // The URI is the delivered path, not encoded a second time.
    e["path"] = json!("/items/a%20b");
    e["pathParameters"] = json!({ "proxy": "items/a b" });
    let out = send(&app(), &e).await;
    assert_eq!(body(&out), json!({ "id": "a b", "path": "/items/a%20b" }));

    // A resource the app knows by its template: API Gateway's parameters are used.
    e["resource"] = json!("/items/{id}");
    e["path"] = json!("/items/a%2Fb");
    e["pathParameters"] = json!({ "id": "a/b" });
    let out = send(&app(), &e).await;
    assert_eq!(body(&out)["id"], "a/b");
}

#[tokio::test]
async fn head_error_answers_carry_no_body() {
    let mut e = event("apigw-v2-http-api.json");
    e["requestContext"]["http"]["method"] = json!("HEAD");
    e["routeKey"] = json!("$default");
    for path in ["/nowhere", "/my/path/deeper"] {
        e["rawPath"] = json!(path);
        let out = send(&app(), &e).await;
        assert_eq!(out["statusCode"], 404, "{out}");
        assert_eq!(out["body"].as_str().unwrap_or(""), "", "{path}: {out}");
    }
    // 405: a HEAD to a route that has only POST.
    #[api(POST "/only-post")]
    async fn only_post() -> &'static str {
        "posted"
    }
    e["rawPath"] = json!("/only-post");
    let out = send(&App::new().route(only_post), &e).await;
    assert_eq!(out["statusCode"], 405, "{out}");
    assert_eq!(out["body"].as_str().unwrap_or(""), "");
}

#[api(GET "/lambda")]
async fn cookies(headers: HeaderMap) -> svless::Json<Vec<String>> {
    svless::Json(
        headers
            .get_all("cookie")
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect(),
    )
}

#[tokio::test]
async fn cookies_reach_handlers_as_one_header_whatever_the_source() {
    let app = App::new().route(cookies);
    // ALB with multi-value headers: two `cookie` values.
    let out = send(&app, &event("alb-multi-value.json")).await;
    let joined = json!(["name1=value1; name2=value2"]);
    assert_eq!(body(&out), joined, "{out}");
    // HTTP API: a `cookies` list.
    let mut e = event("apigw-v2-http-api.json");
    e["routeKey"] = json!("GET /lambda");
    e["rawPath"] = json!("/lambda");
    e["requestContext"]["http"]["method"] = json!("GET");
    e["cookies"] = json!(["name1=value1", "name2=value2"]);
    assert_eq!(body(&send(&app, &e).await), joined);
    // REST: two `Cookie` values in `multiValueHeaders`.
    let mut e = event("apigw-v1-rest-proxy.json");
    e["httpMethod"] = json!("GET");
    e["path"] = json!("/lambda");
    e["headers"]["Cookie"] = json!("name2=value2");
    e["multiValueHeaders"]["Cookie"] = json!(["name1=value1", "name2=value2"]);
    assert_eq!(body(&send(&app, &e).await), joined);
}

#[tokio::test]
async fn a_response_over_lambdas_payload_limit_is_a_clear_problem() {
    #[api(GET "/big/{size}")]
    async fn big(Path(size): Path<usize>) -> String {
        "x".repeat(size)
    }
    #[api(GET "/binary/{size}")]
    async fn binary(Path(size): Path<usize>) -> Vec<u8> {
        vec![7u8; size]
    }
    let app = App::new().route(big).route(binary);
    let mut e = event("apigw-v2-http-api.json");
    e["requestContext"]["http"]["method"] = json!("GET");
    e["routeKey"] = json!("$default");
    let limit = 6_291_556;
    assert_eq!(svless::MAX_SYNC_RESPONSE_BYTES, limit);

    e["rawPath"] = json!("/big/4000000");
    let out = send(&app, &e).await;
    assert_eq!(out["statusCode"], 200);
    assert_eq!(out["body"].as_str().map(str::len), Some(4_000_000));

    for path in [
        format!("/big/{limit}"),
        // 4.8 MB of bytes is 6.4 MB once base64-encoded.
        "/binary/4800000".to_owned(),
    ] {
        e["rawPath"] = json!(path);
        let payload = serde_json::to_vec(&e).expect("JSON");
        let out = app
            .dispatch(&payload, lambda_context())
            .await
            .expect("an answer");
        assert!(out.len() <= limit, "{path}: {} bytes", out.len());
        let out: Value = serde_json::from_slice(&out).expect("JSON");
        assert_eq!(out["statusCode"], 500, "{path}");
        let problem = body(&out);
        assert_eq!(problem["title"], "Internal Server Error");
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains("6291556")),
            "{problem}"
        );
        assert_eq!(problem["instance"], "id", "the API request id");
    }
}

#[tokio::test]
async fn a_path_parameter_that_is_not_utf8_is_a_400_naming_it() {
    let mut e = event("apigw-v2-http-api.json");
    e["requestContext"]["http"]["method"] = json!("GET");
    e["routeKey"] = json!("$default");
    e["rawPath"] = json!("/items/%FF%FE");
    let out = send(&app(), &e).await;
    assert_eq!(out["statusCode"], 400, "{out}");
    let problem = body(&out);
    assert_eq!(problem["field"], "id");
    assert_eq!(problem["title"], "Bad Request");
}
