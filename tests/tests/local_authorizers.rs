//! Lambda authorizers at the local HTTP API, run as API Gateway runs them: the app's own
//! authorizer decides before the route; its policy is evaluated against the method ARN; its
//! answer is cached by identity source; its context reaches the handler.

use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use svless::{App, Context, PayloadFormat};
use svless_auth::authorizer::{Authorization, Authorizer, AuthorizerRequest};
use svless_local::authorize::{AuthorizerKind, LambdaAuthorizer};
use svless_local::cloud::Cloud;

static CALLS: AtomicUsize = AtomicUsize::new(0);

async fn authorize(request: AuthorizerRequest) -> Authorization {
    CALLS.fetch_add(1, Ordering::SeqCst);
    match request.bearer_token() {
        Some("allow") => Authorization::Allow {
            principal_id: "user|ann".into(),
            context: [("tenant".to_owned(), json!("acme"))].into_iter().collect(),
        },
        Some("deny") => Authorization::Deny {
            principal_id: "user|mallory".into(),
        },
        Some("boom") => panic!("the authorizer broke"),
        _ => Authorization::Unauthorized,
    }
}

async fn whoami(ctx: Context) -> svless::Json<Value> {
    svless::Json(Value::Object(ctx.authorizer.clone()))
}

async fn health() -> &'static str {
    "ok"
}

async fn get(url: &str, token: Option<&str>) -> (u16, String) {
    use http_body_util::BodyExt;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let mut request = hyper::Request::get(url);
    if let Some(token) = token {
        request = request.header("authorization", token);
    }
    let response = client
        .request(
            request
                .body(http_body_util::Full::new(bytes::Bytes::new()))
                .expect("a request"),
        )
        .await
        .expect("an answer");
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_authorizer_guards_the_routes_as_api_gateway_does() {
    let dir = std::env::temp_dir().join(format!("svless-authz-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for format in [PayloadFormat::ApiGatewayV2, PayloadFormat::ApiGatewayV1] {
        scenario(&dir, format).await;
    }
    websocket_connect(&dir).await;
    let _ = std::fs::remove_dir_all(&dir);
}

async fn scenario(dir: &std::path::Path, format: PayloadFormat) {
    let rest = format == PayloadFormat::ApiGatewayV1;
    let app = App::new()
        .local_format(format)
        .route_fn("GET", "/whoami", whoami)
        .route_fn("GET", "/health", health)
        .on(Authorizer::new("authorize", authorize));
    let running = Cloud::new(app)
        .data_dir(dir)
        .http_addr(([127, 0, 0, 1], 0).into())
        .services_addr(([127, 0, 0, 1], 0).into())
        .lambda_authorizer(
            LambdaAuthorizer::new("authorize", AuthorizerKind::Token)
                .ttl(Duration::from_secs(300))
                .public(["GET /health"]),
        )
        .start()
        .await
        .expect("the cloud starts");
    let url = format!("{}/whoami", running.http_url());
    // No identity: 401 before the authorizer runs.
    let before = CALLS.load(Ordering::SeqCst);
    assert_eq!(
        get(&url, None).await,
        (401, r#"{"message":"Unauthorized"}"#.to_owned())
    );
    assert_eq!(CALLS.load(Ordering::SeqCst), before);
    // Unauthorized from the authorizer: 401.
    assert_eq!(get(&url, Some("nobody")).await.0, 401);
    // A deny policy: 403 with API Gateway's words.
    let (status, body) = get(&url, Some("deny")).await;
    assert_eq!(status, 403);
    assert!(body.contains("explicit deny"), "{body}");
    // Allowed: the handler sees the principal and the context.
    let (status, body) = get(&url, Some("allow")).await;
    assert_eq!(status, 200, "{body}");
    let authorizer: Value = serde_json::from_str(&body).expect("JSON");
    if rest {
        // A REST API passes the principal and the context at the top.
        assert_eq!(authorizer["principalId"], "user|ann", "{authorizer}");
        assert_eq!(authorizer["tenant"], "acme", "{authorizer}");
    } else {
        // An HTTP API passes the context under `lambda`.
        assert_eq!(authorizer["lambda"]["tenant"], "acme", "{authorizer}");
    }
    // The answer is cached by identity: no second call for the same token.
    let calls = CALLS.load(Ordering::SeqCst);
    assert_eq!(get(&url, Some("allow")).await.0, 200);
    assert_eq!(CALLS.load(Ordering::SeqCst), calls);
    // A failing authorizer is a 500, and the gateway goes on.
    assert_eq!(get(&url, Some("boom")).await.0, 500);
    // Public routes do not run it.
    assert_eq!(
        get(&format!("{}/health", running.http_url()), None).await,
        (200, "ok".to_owned())
    );
    running.shutdown().await;
}

async fn gate(request: AuthorizerRequest) -> Authorization {
    let token = match &request {
        AuthorizerRequest::Request { query, .. } => query.get("token").cloned(),
        _ => None,
    };
    match token.as_deref() {
        Some("letmein") => Authorization::Allow {
            principal_id: "user|ws".into(),
            context: [("room".to_owned(), json!("lobby"))].into_iter().collect(),
        },
        _ => Authorization::Unauthorized,
    }
}

#[svless::ws(route = "whoami")]
async fn ws_whoami(message: svless::source::websocket::WsMessage<Value>) -> String {
    Value::Object(message.authorizer).to_string()
}

/// A REQUEST authorizer on `$connect` reading the query string: refused upgrades get the HTTP
/// status; an allowed connection carries the authorizer's context in its messages.
async fn websocket_connect(dir: &std::path::Path) {
    use futures_util::{SinkExt as _, StreamExt as _};
    let app = App::new().on(ws_whoami).on(Authorizer::new("gate", gate));
    let running = Cloud::new(app)
        .data_dir(dir)
        .http_addr(([127, 0, 0, 1], 0).into())
        .services_addr(([127, 0, 0, 1], 0).into())
        .websocket_addr(([127, 0, 0, 1], 0).into())
        .connect_authorizer(
            LambdaAuthorizer::new("gate", AuthorizerKind::Request)
                .identity_source("route.request.querystring.token"),
        )
        .start()
        .await
        .expect("the cloud starts");
    let url = running.websocket_url().expect("a WebSocket API");
    for (query, status) in [("", 401), ("?token=wrong", 401)] {
        match tokio_tungstenite::connect_async(format!("{url}/{query}")).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), status, "{query}")
            }
            other => panic!("{query}: expected a refusal, got {other:?}"),
        }
    }
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("{url}/?token=letmein"))
        .await
        .expect("connected");
    socket
        .send(tokio_tungstenite::tungstenite::Message::text(
            r#"{"action": "whoami"}"#,
        ))
        .await
        .expect("sent");
    let reply = loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a reply in time")
            .expect("open")
            .expect("a frame");
        if let tokio_tungstenite::tungstenite::Message::Text(text) = frame {
            break text.to_string();
        }
    };
    let authorizer: Value = serde_json::from_str(&reply).expect("JSON");
    assert_eq!(authorizer["principalId"], "user|ws", "{authorizer}");
    assert_eq!(authorizer["room"], "lobby", "{authorizer}");
    running.shutdown().await;
}
