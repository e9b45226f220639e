//! Structured HTTP requests (method, raw path, query, headers, body, base64 flag) in the API
//! Gateway v1, v2 and ALB shapes: reaches routing and extraction past the JSON decoder.
#![no_main]

use arbitrary::Arbitrary;
use serde_json::json;

#[derive(Debug, Arbitrary)]
struct Request {
    shape: u8,
    method: u8,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: String,
    base64: bool,
}

const METHODS: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"];
const PATHS: [&str; 5] = [
    "/todos",
    "/todos/7",
    "/users/ann/todos/-3",
    "/files/a/b%2Fc",
    "/",
];

libfuzzer_sys::fuzz_target!(|r: Request| {
    let method = METHODS[usize::from(r.method) % METHODS.len()];
    let path = if r.path.is_empty() {
        PATHS[usize::from(r.shape) % PATHS.len()].to_owned()
    } else {
        r.path.clone()
    };
    let raw_query: String = r
        .query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut single = serde_json::Map::new();
    let mut multi = serde_json::Map::new();
    for (k, v) in &r.query {
        single.insert(k.clone(), json!(v));
        multi.insert(k.clone(), json!([v]));
    }
    let mut headers = serde_json::Map::new();
    for (k, v) in &r.headers {
        headers.insert(k.to_ascii_lowercase(), json!(v));
    }
    let event = match r.shape % 3 {
        0 => json!({
            "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": raw_query,
            "headers": headers, "queryStringParameters": single,
            "requestContext": {"http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "1.2.3.4", "userAgent": "fuzz"},
                               "requestId": "r", "routeKey": "$default", "stage": "$default", "timeEpoch": 0,
                               "accountId": "1", "apiId": "a", "domainName": "d", "domainPrefix": "d", "time": "t"},
            "body": r.body, "isBase64Encoded": r.base64
        }),
        1 => json!({
            "resource": "/{proxy+}", "path": path, "httpMethod": method, "headers": headers,
            "multiValueHeaders": {}, "queryStringParameters": single, "multiValueQueryStringParameters": multi,
            "pathParameters": {"proxy": path.trim_start_matches('/')}, "stageVariables": null,
            "requestContext": {"resourcePath": "/{proxy+}", "httpMethod": method, "path": format!("/prod{path}"),
                               "stage": "prod", "requestId": "r", "accountId": "1", "apiId": "a",
                               "identity": {"sourceIp": "1.2.3.4"}, "protocol": "HTTP/1.1", "requestTimeEpoch": 0},
            "body": r.body, "isBase64Encoded": r.base64
        }),
        _ => json!({
            "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/t/1"}},
            "httpMethod": method, "path": path, "queryStringParameters": single, "headers": headers,
            "body": r.body, "isBase64Encoded": r.base64
        }),
    };
    let payload = serde_json::to_vec(&event).expect("JSON");
    svless_fuzz::dispatch(&payload);
});
