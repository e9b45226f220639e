//! Functions on the Lambda Runtime API, served by `cargo lambda watch --only-lambda-apis` on
//! loopback (installed by the test command into `.venv`). Without it these tests fail.

use serde_json::{Value, json};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use svless_tests::fixture;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn cargo_lambda() -> PathBuf {
    let path = std::env::var_os("SVLESS_CARGO_LAMBDA")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/cargo-lambda"));
    assert!(
        path.exists(),
        "cargo-lambda is not installed at {} — run the README's test command (scripts/test.sh), which installs it",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// One emulator at a time: two emulators started together could race for one free port.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The Runtime API emulator, listening on loopback.
fn emulator() -> (Killed, u16) {
    let port = free_port();
    let child = Command::new(cargo_lambda())
        .args([
            "lambda",
            "watch",
            "--only-lambda-apis",
            "-A",
            "127.0.0.1",
            "-P",
            &port.to_string(),
        ])
        .current_dir(workspace())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("cargo lambda watch starts");
    let mut child = Killed(child);
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            child.0.try_wait().ok().flatten().is_none(),
            "the Runtime API emulator exited"
        );
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the Runtime API emulator did not listen within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, port)
}

fn function(binary: &str, port: u16, env: &[(&str, &str)]) -> Killed {
    let mut command = Command::new(binary);
    command
        // `_` is the emulator's name for the function it does not start itself.
        .env("AWS_LAMBDA_FUNCTION_NAME", "_")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env(
            "AWS_LAMBDA_RUNTIME_API",
            format!("http://127.0.0.1:{port}/.rt"),
        )
        .env_remove("TODO_TABLE")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    Killed(command.spawn().expect("the function starts"))
}

async fn invoke(port: u16, payload: Vec<u8>) -> Value {
    use http_body_util::{BodyExt, Full};
    let client: hyper_util::client::legacy::Client<_, Full<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http();
    let request = hyper::Request::post(format!(
        "http://127.0.0.1:{port}/2015-03-31/functions/_/invocations"
    ))
    .body(Full::new(bytes::Bytes::from(payload)))
    .expect("a request");
    let response = tokio::time::timeout(Duration::from_secs(30), client.request(request))
        .await
        .expect("the invocation finishes within 30 s")
        .unwrap_or_else(|e| panic!("the emulator did not answer: {e:?}"));
    let body = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&body)))
}

#[tokio::test]
async fn the_example_serves_api_gateway_events_on_the_runtime_api() {
    let _serial = SERIAL.lock().await;
    let (_emulator, port) = emulator();
    let _function = function(env!("CARGO_BIN_EXE_hello-lambda"), port, &[]);

    let mut event: Value =
        serde_json::from_slice(&fixture("apigw-v2-http-api.json")).expect("JSON");
    event["rawPath"] = json!("/todos");
    event["headers"]["content-type"] = json!("application/json");
    event["body"] = json!(r#"{"title":"from Lambda"}"#);
    let created = invoke(port, serde_json::to_vec(&event).expect("JSON")).await;
    assert_eq!(created["statusCode"], 201, "{created}");
    assert_eq!(
        created["body"],
        r#"{"id":1,"title":"from Lambda","done":false}"#
    );

    let mut event: Value =
        serde_json::from_slice(&fixture("apigw-v1-cognito-authorizer.json")).expect("JSON");
    event["pathParameters"]["id"] = json!("1");
    event["path"] = json!("/todos/1");
    let read = invoke(port, serde_json::to_vec(&event).expect("JSON")).await;
    assert_eq!(read["statusCode"], 200, "{read}");
    assert_eq!(
        read["multiValueHeaders"]["content-type"],
        json!(["application/json"])
    );

    let missing = invoke(port, fixture("apigw-v1-cognito-authorizer.json")).await;
    assert_eq!(missing["statusCode"], 404, "{missing}");
    let problem: Value =
        serde_json::from_str(missing["body"].as_str().expect("text")).expect("JSON");
    assert_eq!(
        problem["instance"], "5f0c8d3e-1b2a-4c5d-8e9f-0a1b2c3d4e5f",
        "instance is API Gateway's request id"
    );

    let unknown = invoke(port, br#"{"Records":[]}"#.to_vec()).await;
    assert_eq!(
        unknown["errorType"], "Svless.UnknownEventSource",
        "{unknown}"
    );
}

async fn init_error(env: &[(&str, &str)]) -> Value {
    let _serial = SERIAL.lock().await;
    let (_emulator, port) = emulator();
    // The invocation waits for a runtime; the function fails while starting and says why. The
    // emulator hands an init error only to an invocation already waiting, so the function starts
    // once the invocation has had ample time to arrive.
    let pending = tokio::spawn(invoke(port, fixture("apigw-v2-http-api.json")));
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let _function = function(env!("CARGO_BIN_EXE_init-fails"), port, env);
    pending.await.expect("the invocation task finishes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_state_is_reported_as_a_named_init_error() {
    let error = init_error(&[]).await;
    assert_eq!(error["errorType"], "Config.MissingTable", "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clashing_routes_are_reported_as_an_init_error_not_at_request_time() {
    let error = init_error(&[("SVLESS_FAIL", "build")]).await;
    assert_eq!(error["errorType"], "Svless.BuildError", "{error}");
    assert!(
        error["errorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("registered twice")),
        "{error}"
    );
}
