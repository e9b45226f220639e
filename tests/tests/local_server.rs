//! The example app served by `App::serve_listener` over real HTTP on loopback.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

struct Reply {
    status: u16,
    headers: hyper::HeaderMap,
    body: Bytes,
}

async fn call(
    base: &str,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &str,
) -> Reply {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(format!("{base}{path}"));
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    let request = request
        .body(Full::new(Bytes::from(body.to_owned())))
        .expect("a valid request");
    let response = client
        .request(request)
        .await
        .expect("the local server answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("a whole body")
        .to_bytes();
    Reply {
        status,
        headers,
        body,
    }
}

/// An app served on a loopback port until `stop` is called.
struct Served {
    base: String,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<Result<(), svless::BoxError>>,
}

async fn serve(app: svless::App<impl Send + Sync + 'static>) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.serve_listener(listener, async {
        let _ = stopped.await;
    }));
    Served { base, stop, server }
}

impl Served {
    /// Stops the server and checks it shut down cleanly.
    async fn shut_down(self) {
        self.stop.send(()).expect("the server is still running");
        let result = tokio::time::timeout(std::time::Duration::from_secs(15), self.server)
            .await
            .expect("the server stops")
            .expect("the server task did not panic");
        assert!(result.is_ok(), "{result:?}");
    }
}

fn json_of(reply: &Reply) -> Value {
    serde_json::from_slice(&reply.body).expect("a JSON body")
}

#[tokio::test]
async fn the_example_serves_real_http_and_shuts_down_cleanly() {
    let served = serve(hello_api::app()).await;
    let base = served.base.clone();

    let hello = call(&base, "GET", "/hello/world", None, "").await;
    assert_eq!(hello.status, 200);
    assert_eq!(json_of(&hello), json!({"message": "Hello, world!"}));

    let created = call(
        &base,
        "POST",
        "/todos",
        Some("application/json"),
        r#"{"title":"buy milk"}"#,
    )
    .await;
    assert_eq!(created.status, 201);
    assert_eq!(
        json_of(&created),
        json!({"id": 1, "title": "buy milk", "done": false})
    );

    let listed = call(&base, "GET", "/todos?done=false", None, "").await;
    assert_eq!(
        json_of(&listed),
        json!([{"id": 1, "title": "buy milk", "done": false}])
    );

    let malformed = call(
        &base,
        "POST",
        "/todos",
        Some("application/json"),
        r#"{"title": 5}"#,
    )
    .await;
    assert_eq!(malformed.status, 422);
    assert_eq!(
        malformed.headers["content-type"],
        "application/problem+json"
    );
    assert_eq!(json_of(&malformed)["field"], "title");

    let broken = call(
        &base,
        "POST",
        "/todos",
        Some("application/json"),
        r#"{"title": "#,
    )
    .await;
    assert_eq!(broken.status, 400);

    let missing = call(&base, "GET", "/todos/99", None, "").await;
    assert_eq!(missing.status, 404);
    assert_eq!(json_of(&missing)["title"], "Todo not found");

    let unknown = call(&base, "GET", "/nowhere", None, "").await;
    assert_eq!(unknown.status, 404);

    let wrong_method = call(&base, "PUT", "/todos", None, "").await;
    assert_eq!(wrong_method.status, 405);
    assert_eq!(wrong_method.headers["allow"], "GET, HEAD, OPTIONS, POST");

    let deleted = call(&base, "DELETE", "/todos/1", None, "").await;
    assert_eq!(deleted.status, 204);

    served.shut_down().await;
}

#[tokio::test]
async fn the_local_server_can_speak_rest_api_events() {
    let served = serve(hello_api::app().local_format(svless::PayloadFormat::ApiGatewayV1)).await;
    let base = served.base.clone();
    let created = call(
        &base,
        "POST",
        "/todos",
        Some("application/json"),
        r#"{"title":"rest"}"#,
    )
    .await;
    assert_eq!(created.status, 201);
    let filtered = call(&base, "GET", "/todos?done=true", None, "").await;
    assert_eq!(json_of(&filtered), json!([]));
    let repeated = call(&base, "GET", "/todos?done=true&done=false", None, "").await;
    assert_eq!(repeated.status, 400, "one `done` is expected, not two");
    let greeting = call(&base, "GET", "/hello/a%20b", None, "").await;
    assert_eq!(json_of(&greeting), json!({"message": "Hello, a b!"}));
    served.shut_down().await;
}

#[tokio::test]
async fn a_header_that_is_not_text_is_refused_not_dropped() {
    let served = serve(hello_api::app()).await;
    let base = served.base.clone();
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let request = hyper::Request::get(format!("{base}/hello/world"))
        .header(
            "x-latin1",
            hyper::header::HeaderValue::from_bytes(b"caf\xe9").expect("obs-text is a valid value"),
        )
        .body(Full::new(Bytes::new()))
        .expect("a request");
    let response = client.request(request).await.expect("an answer");
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    let problem: Value = serde_json::from_slice(&body).expect("a problem");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("x-latin1")),
        "{problem}"
    );
    served.shut_down().await;
}
