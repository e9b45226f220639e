//! One extractor world: an argument written once with `FromInvocation` (it needs only the state
//! and the Lambda context) works in HTTP, WebSocket and event handlers alike.

use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use svless::invocation::{FromInvocation, Invocation};
use svless::source::sqs::Message;
use svless::source::websocket::WsMessage;
use svless::testing::TestRequest;
use svless::{App, Context, Error, FromRef, Json, Path, State};
use svless_tests::{fixture, lambda_context};

/// What stands for an SDK client kept in the state: every handler records through it.
#[derive(Clone, Default)]
struct Journal(Arc<Mutex<Vec<String>>>);

impl Journal {
    fn all(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

#[derive(Clone, Default)]
struct AppState {
    journal: Journal,
    closed: bool,
}

impl FromRef<AppState> for Journal {
    fn from_ref(state: &AppState) -> Journal {
        state.journal.clone()
    }
}

/// The extractor under test, written once: the journal from the state, tagged with the function
/// that runs. It refuses (403) when the state says the app is closed.
struct Recorder {
    journal: Journal,
    function: String,
}

impl Recorder {
    fn record(&self, line: String) {
        self.journal
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(format!("{}: {line}", self.function));
    }
}

impl<S> FromInvocation<S> for Recorder
where
    Journal: FromRef<S>,
    AppState: FromRef<S>,
{
    fn from_invocation(invocation: &Invocation<S>) -> Result<Self, svless::BoxError> {
        if AppState::from_ref(invocation.state()).closed {
            return Err(Error::forbidden("the journal is closed").into());
        }
        Ok(Recorder {
            journal: Journal::from_ref(invocation.state()),
            function: invocation.context().function_name.clone(),
        })
    }
}

/// An extractor whose failure is not a problem: it answers 500 and says nothing of the cause.
struct Broken;

impl<S> FromInvocation<S> for Broken {
    fn from_invocation(_invocation: &Invocation<S>) -> Result<Self, svless::BoxError> {
        Err("the connection pool is exhausted".into())
    }
}

#[svless::api(GET "/todos/{id}")]
async fn get_todo(Path(id): Path<u32>, recorder: Recorder, ctx: Context) -> Json<Value> {
    recorder.record(format!("get {id}"));
    Json(json!({"id": id, "request": ctx.request_id.is_empty()}))
}

/// The invocation extractor as the last argument, where a body extractor could stand.
#[svless::api(POST "/todos")]
async fn create(State(state): State<AppState>, recorder: Recorder) -> &'static str {
    recorder.record(format!("create (closed: {})", state.closed));
    "created"
}

#[svless::api(GET "/broken")]
async fn broken(_broken: Broken) -> &'static str {
    "unreachable"
}

#[svless::ws(route = "sendmessage")]
async fn on_chat(message: WsMessage<Value>, recorder: Recorder) {
    recorder.record(format!("chat {}", message.body["text"]));
}

#[svless::sqs]
async fn on_job(message: Message<String>, recorder: Recorder) {
    recorder.record(format!("job {}", message.message_id));
}

fn app(state: AppState) -> App<AppState> {
    App::new()
        .state(state)
        .route(get_todo)
        .route(create)
        .route(broken)
        .on(on_chat)
        .on(on_job)
}

#[tokio::test]
async fn one_extractor_serves_http_websocket_and_sqs_handlers() {
    let state = AppState::default();
    let app = app(state.clone());

    let response = TestRequest::get("/todos/7").send(&app).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json::<Value>()["id"], 7);
    let response = TestRequest::post("/todos").send(&app).await;
    assert_eq!(response.text(), "created");

    let out = app
        .dispatch(&fixture("websocket-message.json"), lambda_context())
        .await
        .expect("a WebSocket message");
    let out: Value = serde_json::from_slice(&out).expect("JSON");
    assert_eq!(out["statusCode"], 204, "{out}");

    let out = app
        .dispatch(&fixture("sqs-standard.json"), lambda_context())
        .await
        .expect("an SQS batch");
    let out: Value = serde_json::from_slice(&out).expect("JSON");
    assert_eq!(out, json!({"batchItemFailures": []}));

    let local = Context::local().function_name;
    assert_eq!(
        state.journal.all(),
        [
            format!("{local}: get 7"),
            format!("{local}: create (closed: false)"),
            "todos: chat \"hello, world\"".to_owned(),
            "todos: job 059f36b4-87a3-44ab-83d2-661975830a7d".to_owned(),
            "todos: job 2e1424d4-f796-459a-8184-9c92662be6da".to_owned(),
        ]
    );
}

#[tokio::test]
async fn a_refusal_is_the_extractors_problem_in_http_and_a_failure_for_events() {
    let state = AppState {
        closed: true,
        ..AppState::default()
    };
    let app = app(state.clone());

    let response = TestRequest::get("/todos/7").send(&app).await;
    assert_eq!(response.status, 403);
    assert_eq!(response.json::<Value>()["detail"], "the journal is closed");

    // Every message of the batch fails: the extractor refused each before its handler ran.
    let out = app
        .dispatch(&fixture("sqs-standard.json"), lambda_context())
        .await
        .expect("an SQS batch");
    let out: Value = serde_json::from_slice(&out).expect("JSON");
    assert_eq!(
        out["batchItemFailures"]
            .as_array()
            .map(Vec::len)
            .unwrap_or_default(),
        2,
        "{out}"
    );
    assert!(state.journal.all().is_empty());
}

#[tokio::test]
async fn an_extractor_error_that_is_not_a_problem_answers_500_without_its_cause() {
    let response = TestRequest::get("/broken")
        .send(&app(AppState::default()))
        .await;
    assert_eq!(response.status, 500);
    assert!(
        !response.text().contains("pool"),
        "the cause stays in the log: {}",
        response.text()
    );
}

/// `Option<E>` works for an extractor whose rejection can say "absent", in any position.
#[tokio::test]
async fn optional_extractors_are_none_when_absent_and_reject_when_invalid() {
    #[derive(serde::Deserialize)]
    struct Page {
        page: u32,
    }
    async fn list(query: Option<svless::Query<Page>>, body: Option<Json<Value>>) -> String {
        format!(
            "{:?} {:?}",
            query.map(|q| q.0.page),
            body.map(|b| b.0.to_string())
        )
    }
    let app = App::new().route_fn("POST", "/list", list);
    assert_eq!(
        TestRequest::post("/list").send(&app).await.text(),
        "None None"
    );
    assert_eq!(
        TestRequest::post("/list?page=2")
            .json(&json!({"a": 1}))
            .send(&app)
            .await
            .text(),
        "Some(2) Some(\"{\\\"a\\\":1}\")"
    );
    let bad = TestRequest::post("/list?page=two").send(&app).await;
    assert_eq!(bad.status, 400, "{}", bad.text());
}
