//! Inputs the fuzz targets (`fuzz/`) found that crashed svless, each now a typed answer. Every
//! crash a fuzz run finds is added here, minimized, before it is fixed.

use serde_json::{Value, json};
use svless::{App, Context, Query, api};

#[derive(Debug, serde::Deserialize)]
struct Page {
    foo: Option<String>,
}

#[api(GET "/items")]
async fn items(Query(page): Query<Page>) -> String {
    format!("{:?}", page.foo)
}

#[svless::ws(route = "$connect")]
async fn connect(message: svless::source::websocket::WsMessage<()>) -> String {
    format!("{:?}", message.query.get("token"))
}

fn app() -> App {
    App::new().route(items).on(connect)
}

async fn dispatch(event: Value) -> Value {
    let out = app()
        .dispatch(
            &serde_json::to_vec(&event).expect("JSON"),
            Context::default(),
        )
        .await
        .expect("an answer");
    serde_json::from_slice(&out).expect("JSON")
}

/// `dispatch_payload`, crash-d265c499: a query parameter with an empty list of values made
/// `query_map`'s iterator index past the end of the list.
#[tokio::test]
async fn a_query_parameter_without_values_is_no_parameter() {
    for (shape, event) in [
        (
            "REST",
            json!({"resource": "/items", "path": "/items", "httpMethod": "GET", "headers": {},
                   "multiValueHeaders": {}, "queryStringParameters": {"foo": "bar"},
                   "multiValueQueryStringParameters": {"foo": [], "x": ["1"]},
                   "requestContext": {"resourcePath": "/items", "httpMethod": "GET", "path": "/prod/items",
                                      "stage": "prod", "requestId": "r", "resourceId": "abc"},
                   "body": null, "isBase64Encoded": false}),
        ),
        (
            "ALB",
            json!({"requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/t/1"}},
                   "httpMethod": "GET", "path": "/items",
                   "multiValueQueryStringParameters": {"foo": []}, "multiValueHeaders": {"host": ["x"]},
                   "body": "", "isBase64Encoded": false}),
        ),
    ] {
        let out = dispatch(event).await;
        assert_eq!(out["statusCode"], 200, "{shape}: {out}");
        assert_eq!(out["body"], "None", "{shape}: no value is no parameter");
    }
    let connected = dispatch(json!({
        "requestContext": {"routeKey": "$connect", "eventType": "CONNECT", "connectionId": "c=",
                           "connectedAt": 0, "requestTimeEpoch": 0},
        "queryStringParameters": {"token": []},
        "isBase64Encoded": false
    }))
    .await;
    assert_eq!(connected["statusCode"], 200, "{connected}");
}
