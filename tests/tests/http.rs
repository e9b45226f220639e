//! HTTP behaviour through the one dispatch path: problems, routing, methods, CORS, panics, layers.

use serde_json::{Value, json};
use svless::http::{Method, StatusCode};
use svless::testing::TestRequest;
use svless::{App, Cors, Json, Path, Response, api};

#[derive(Debug, serde::Deserialize, serde::Serialize)]
struct NewTodo {
    title: String,
    tags: Vec<String>,
}

#[api(POST "/todos")]
async fn create(Json(todo): Json<NewTodo>) -> (StatusCode, Json<NewTodo>) {
    (StatusCode::CREATED, Json(todo))
}

#[api(GET "/todos/{id}")]
async fn get_todo(Path(id): Path<u32>) -> String {
    format!("todo {id}")
}

#[api(GET "/todos/new")]
async fn new_form() -> &'static str {
    "form"
}

#[api(GET "/panic")]
async fn panics() -> &'static str {
    panic!("secret internals")
}

#[api(GET "/maybe")]
async fn maybe(body: Option<Json<NewTodo>>) -> String {
    match body {
        Some(Json(todo)) => todo.title,
        None => "nothing".into(),
    }
}

fn app() -> App {
    App::new()
        .route(create)
        .route(get_todo)
        .route(new_form)
        .route(panics)
        .route(maybe)
}

fn problem(response: &svless::testing::TestResponse) -> Value {
    assert_eq!(
        response.header("content-type"),
        Some("application/problem+json")
    );
    response.json()
}

#[tokio::test]
async fn malformed_json_is_a_400_problem() {
    let response = TestRequest::post("/todos")
        .header("content-type", "application/json")
        .body("{\"title\": ")
        .send(&app())
        .await;
    assert_eq!(response.status, 400);
    let p = problem(&response);
    assert_eq!(p["status"], 400);
    assert!(
        p["detail"]
            .as_str()
            .is_some_and(|d| d.contains("not valid JSON")),
        "{p}"
    );
    assert!(
        p["instance"].as_str().is_some_and(|i| !i.is_empty()),
        "instance is the request id: {p}"
    );
}

#[tokio::test]
async fn json_of_the_wrong_shape_names_the_field() {
    let response = TestRequest::post("/todos")
        .json(&json!({"title": "a", "tags": ["x", 3]}))
        .send(&app())
        .await;
    assert_eq!(response.status, 422);
    assert_eq!(problem(&response)["field"], "tags[1]");
    // RFC 9110's phrase, the title of an `about:blank` problem (RFC 9457 §4.2.1).
    assert_eq!(problem(&response)["title"], "Unprocessable Content");
    assert_eq!(problem(&response)["type"], "about:blank");

    let response = TestRequest::post("/todos")
        .json(&json!({"tags": []}))
        .send(&app())
        .await;
    assert_eq!(response.status, 422);
    assert!(
        problem(&response)["detail"]
            .as_str()
            .is_some_and(|d| d.contains("missing field `title`"))
    );
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let response = TestRequest::post("/todos")
        .header("content-type", "text/plain")
        .body("hi")
        .send(&app())
        .await;
    assert_eq!(response.status, 415);
    assert_eq!(problem(&response)["status"], 415);
}

#[tokio::test]
async fn created_json_round_trips() {
    let response = TestRequest::post("/todos")
        .json(&json!({"title": "milk", "tags": ["shop"]}))
        .send(&app())
        .await;
    assert_eq!(response.status, 201);
    assert_eq!(
        response.json::<Value>(),
        json!({"title": "milk", "tags": ["shop"]})
    );
}

#[tokio::test]
async fn unknown_path_is_a_404_problem() {
    let response = TestRequest::get("/nothing/here").send(&app()).await;
    assert_eq!(response.status, 404);
    assert_eq!(problem(&response)["title"], "Not Found");
}

#[tokio::test]
async fn wrong_method_is_405_with_allow() {
    let response = TestRequest::delete("/todos").send(&app()).await;
    assert_eq!(response.status, 405);
    assert_eq!(response.header("allow"), Some("OPTIONS, POST"));
    assert_eq!(problem(&response)["status"], 405);
}

#[tokio::test]
async fn head_is_answered_for_get_routes_without_a_body() {
    let response = TestRequest::new("HEAD", "/todos/3").send(&app()).await;
    assert_eq!(response.status, 200);
    assert!(response.body.is_empty());
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
}

#[tokio::test]
async fn options_without_cors_lists_the_allowed_methods() {
    let response = TestRequest::new("OPTIONS", "/todos/3").send(&app()).await;
    assert_eq!(response.status, 204);
    assert_eq!(response.header("allow"), Some("GET, HEAD, OPTIONS"));
}

#[tokio::test]
async fn static_segments_win_over_parameters() {
    assert_eq!(
        TestRequest::get("/todos/new").send(&app()).await.text(),
        "form"
    );
    assert_eq!(
        TestRequest::get("/todos/5").send(&app()).await.text(),
        "todo 5"
    );
}

#[tokio::test]
async fn a_bad_path_parameter_names_itself() {
    let response = TestRequest::get("/todos/five").send(&app()).await;
    assert_eq!(response.status, 400);
    assert_eq!(problem(&response)["field"], "id");
}

#[tokio::test]
async fn a_panicking_handler_gives_a_500_that_leaks_nothing_and_the_app_goes_on() {
    let app = app();
    let response = TestRequest::get("/panic").send(&app).await;
    assert_eq!(response.status, 500);
    assert!(!response.text().contains("secret"), "{}", response.text());
    assert_eq!(problem(&response)["status"], 500);
    let next = TestRequest::get("/todos/1").send(&app).await;
    assert_eq!(next.status, 200);
}

#[tokio::test]
async fn optional_body_is_none_when_absent_and_still_rejects_invalid_json() {
    assert_eq!(
        TestRequest::get("/maybe").send(&app()).await.text(),
        "nothing"
    );
    let bad = TestRequest::get("/maybe")
        .header("content-type", "application/json")
        .body("{")
        .send(&app())
        .await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn named_stage_on_the_default_endpoint_is_stripped_before_matching() {
    let response = TestRequest::get("/todos/9")
        .stage("prod")
        .send(&app())
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.text(), "todo 9");
}

#[tokio::test]
async fn base_path_of_a_custom_domain_mapping_is_removed() {
    let app = app().base_path("/v1/");
    assert_eq!(
        TestRequest::get("/v1/todos/2").send(&app).await.text(),
        "todo 2"
    );
}

#[tokio::test]
async fn rest_v1_events_take_the_same_path() {
    let response = TestRequest::post("/todos")
        .v1()
        .json(&json!({"title": "t", "tags": []}))
        .send(&app())
        .await;
    assert_eq!(response.status, 201);
    let response = TestRequest::get("/todos/x").v1().send(&app()).await;
    assert_eq!(response.status, 400);
}

#[tokio::test]
async fn cors_preflight_is_answered_and_responses_are_decorated() {
    let app = app().cors(
        Cors::new()
            .allow_origin("https://app.example.com")
            .allow_methods([Method::GET, Method::POST])
            .allow_headers(["content-type"])
            .max_age(std::time::Duration::from_secs(600)),
    );
    let preflight = TestRequest::new("OPTIONS", "/todos")
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .send(&app)
        .await;
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(
        preflight.header("access-control-allow-methods"),
        Some("GET, POST")
    );
    assert_eq!(preflight.header("access-control-max-age"), Some("600"));

    let refused = TestRequest::new("OPTIONS", "/todos")
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send(&app)
        .await;
    assert_eq!(refused.status, 403);

    let simple = TestRequest::get("/todos/1")
        .header("origin", "https://app.example.com")
        .send(&app)
        .await;
    assert_eq!(
        simple.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    let other = TestRequest::get("/todos/1")
        .header("origin", "https://evil.example")
        .send(&app)
        .await;
    assert_eq!(other.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn duplicate_routes_are_refused_when_the_app_is_built() {
    #[api(GET "/todos/{todo}")]
    async fn again(Path(id): Path<u32>) -> String {
        id.to_string()
    }
    let err = app().route(again).check().expect_err("a duplicate");
    assert!(err.to_string().contains("registered twice"), "{err}");
}

#[tokio::test]
async fn layers_wrap_the_app_and_single_routes() {
    use tower::util::MapResponseLayer;
    let tag = |name: &'static str| {
        MapResponseLayer::new(move |mut r: Response| {
            r.headers_mut()
                .append("x-layer", name.parse().expect("a header value"));
            r
        })
    };
    let app = App::new()
        .route_layer(get_todo, tag("route"))
        .route(new_form)
        .layer(tag("app"));
    // HTTP API (2.0) responses carry one value per header: repeated values are joined in order.
    let layered = TestRequest::get("/todos/1").send(&app).await;
    assert_eq!(layered.header("x-layer"), Some("route, app"));
    let layered = TestRequest::get("/todos/1").v1().send(&app).await;
    let layers: Vec<_> = layered
        .headers
        .get_all("x-layer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert_eq!(layers, ["route", "app"]);
    let plain = TestRequest::get("/todos/new").send(&app).await;
    assert_eq!(plain.headers.get_all("x-layer").iter().count(), 1);
    let missing = TestRequest::get("/missing").send(&app).await;
    assert_eq!(
        missing.header("x-layer"),
        Some("app"),
        "app layers see 404s too"
    );
}

#[tokio::test]
async fn a_failing_layer_becomes_a_500_problem() {
    #[derive(Clone)]
    struct Refuse;
    impl<S> tower::Layer<S> for Refuse {
        type Service = tower::util::ServiceFn<
            fn(svless::Request) -> std::future::Ready<Result<Response, std::io::Error>>,
        >;
        fn layer(&self, _inner: S) -> Self::Service {
            tower::service_fn(|_req| {
                std::future::ready(Err(std::io::Error::other("the layer broke")))
            })
        }
    }
    let app = app().layer(Refuse);
    let response = TestRequest::get("/todos/1").send(&app).await;
    assert_eq!(response.status, 500);
    assert!(!response.text().contains("broke"));
}

#[tokio::test]
async fn payloads_of_no_known_source_are_named_errors() {
    let err = app()
        .dispatch(br#"{"Records": []}"#, svless::Context::default())
        .await
        .expect_err("unknown");
    assert_eq!(err.error_type(), "Svless.UnknownEventSource");
    let err = app()
        .dispatch(b"{not json", svless::Context::default())
        .await
        .expect_err("malformed");
    assert_eq!(err.error_type(), "Svless.MalformedEvent");
    let err = app()
        .dispatch(br#"{"version":"2.0","routeKey":"$default","rawPath":"/","requestContext":{"http":{"method":"GET"},"timeEpoch":0},"body":"!!","isBase64Encoded":true}"#, svless::Context::default())
        .await
        .expect_err("bad base64");
    assert_eq!(err.error_type(), "Svless.InvalidRequest");
}

#[tokio::test]
async fn user_error_enums_become_problems() {
    #[derive(Debug, svless::IntoProblem)]
    enum TodoError {
        #[problem(
            status = 404,
            title = "Todo not found",
            type = "https://example.com/probs/todo-not-found"
        )]
        Missing(u32),
        #[problem(status = 503)]
        Database(String),
    }
    impl std::fmt::Display for TodoError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                TodoError::Missing(id) => write!(f, "no todo {id}"),
                TodoError::Database(secret) => write!(f, "connection to {secret} failed"),
            }
        }
    }
    #[api(GET "/things/{id}")]
    async fn thing(Path(id): Path<u32>) -> Result<String, TodoError> {
        match id {
            1 => Ok("one".into()),
            2 => Err(TodoError::Database("10.0.0.1".into())),
            other => Err(TodoError::Missing(other)),
        }
    }
    let app = App::new().route(thing);
    // A custom title without a custom type stays the status phrase.
    let plain = svless::Error::conflict("taken").with_title("Name taken");
    assert_eq!(plain.to_problem().title, "Conflict");
    let missing = TestRequest::get("/things/3").send(&app).await;
    assert_eq!(missing.status, 404);
    let p = problem(&missing);
    assert_eq!(p["title"], "Todo not found");
    assert_eq!(p["type"], "https://example.com/probs/todo-not-found");
    assert_eq!(p["detail"], "no todo 3");
    let down = TestRequest::get("/things/2").send(&app).await;
    assert_eq!(down.status, 503);
    assert!(
        !down.text().contains("10.0.0.1"),
        "5xx details are not sent: {}",
        down.text()
    );
}

/// The default layers are tower layers: left out, a request meets none of them; added back in
/// another order, each does its part where it stands.
#[tokio::test]
async fn default_layers_can_be_left_out_and_reordered() {
    use svless::layers::{CatchPanicLayer, CorsLayer, HeadLayer, ProblemInstanceLayer};
    use tower::util::MapResponseLayer;

    // Left out: HEAD keeps its body and a 404 problem has no instance.
    let bare = app().without_default_layers();
    let head = TestRequest::new("HEAD", "/todos/3").send(&bare).await;
    assert_eq!(head.text(), "todo 3");
    let missing = TestRequest::get("/nothing").send(&bare).await;
    assert_eq!(problem(&missing).get("instance"), None);

    // A layer of the app's own, put outside CORS and the panic handler, sees what they did:
    // the 500 a panic became and the CORS header of the allowed origin.
    let saw = |r: &Response| {
        format!(
            "{} {}",
            r.status().as_u16(),
            r.headers()
                .get("access-control-allow-origin")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
        )
    };
    let reordered = app()
        .without_default_layers()
        .layer(CatchPanicLayer)
        .layer(CorsLayer::new(Cors::new().allow_any_origin()))
        .layer(MapResponseLayer::new(move |mut r: Response| {
            let seen = saw(&r);
            r.headers_mut()
                .insert("x-seen", seen.parse().expect("a header value"));
            r
        }))
        .layer(ProblemInstanceLayer)
        .layer(HeadLayer);
    let response = TestRequest::get("/panic")
        .header("origin", "https://app.example.com")
        .send(&reordered)
        .await;
    assert_eq!(response.status, 500);
    assert_eq!(response.header("x-seen"), Some("500 *"));
    assert!(problem(&response)["instance"].is_string());
    let head = TestRequest::new("HEAD", "/todos/3").send(&reordered).await;
    assert_eq!((head.status.as_u16(), head.text().as_str()), (200, ""));

    // In the default order the app's layers are inside: they see the handler's answer only.
    let default = app()
        .cors(Cors::new().allow_any_origin())
        .layer(MapResponseLayer::new(move |mut r: Response| {
            let seen = saw(&r);
            r.headers_mut()
                .insert("x-seen", seen.parse().expect("a header value"));
            r
        }));
    let response = TestRequest::get("/todos/3")
        .header("origin", "https://app.example.com")
        .send(&default)
        .await;
    assert_eq!(response.header("x-seen"), Some("200 -"));
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
}

#[test]
fn cors_without_the_default_layers_is_a_build_error() {
    let err = app()
        .without_default_layers()
        .cors(Cors::new().allow_any_origin())
        .check()
        .expect_err("cors has no layer to apply it");
    assert!(err.to_string().contains("CorsLayer"), "{err}");
}
