//! The local Step Functions API on loopback, driven by `aws-sdk-sfn` as app code drives the real
//! one: state machines, executions and their history, task tokens, validation, errors named as
//! AWS names them.

use aws_sdk_sfn::error::ProvideErrorMetadata;
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType, StateMachineType};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use svless::{App, State};
use svless_local::sfn::{Api, StepFunctions};

#[derive(Clone, Default)]
struct Inbox(Arc<Mutex<Vec<String>>>);

#[derive(Deserialize)]
struct Ask {
    token: String,
}

#[svless::task(name = "ask")]
async fn ask(input: Ask, State(inbox): State<Inbox>) {
    inbox
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(input.token);
}

#[svless::task(name = "double")]
async fn double(n: i64) -> i64 {
    n * 2
}

/// The API on a loopback port, and an SDK client pointed at it.
async fn start(inbox: &Inbox) -> aws_sdk_sfn::Client {
    let app = App::new().state(inbox.clone()).on(ask).on(double);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let address = listener.local_addr().expect("an address");
    tokio::spawn(
        Api::new(StepFunctions::new(app)).serve_listener(listener, std::future::pending()),
    );
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(format!("http://{address}"))
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "a", "b", None, None, "test",
        ))
        .load()
        .await;
    aws_sdk_sfn::Client::from_conf(
        aws_sdk_sfn::config::Builder::from(&config)
            .interceptor(svless_local::sfn::LoopbackHost)
            .build(),
    )
}

async fn finished(
    client: &aws_sdk_sfn::Client,
    arn: &str,
) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    for _ in 0..500 {
        let out = client
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .expect("described");
        if out.status() != &ExecutionStatus::Running {
            return out;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the execution did not finish")
}

const DOUBLE: &str = r#"{"StartAt": "Double", "States": {
  "Double": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
             "Parameters": {"FunctionName": "double", "Payload.$": "$.n"},
             "ResultSelector": {"doubled.$": "$.Payload"}, "End": true}}}"#;

#[tokio::test]
async fn state_machines_and_executions_through_the_sdk() {
    let client = start(&Inbox::default()).await;
    let created = client
        .create_state_machine()
        .name("doubler")
        .definition(DOUBLE)
        .role_arn("arn:aws:iam::123456789012:role/sfn")
        .send()
        .await
        .expect("created");
    let machine = created.state_machine_arn().to_owned();
    let described = client
        .describe_state_machine()
        .state_machine_arn(&machine)
        .send()
        .await
        .expect("described");
    assert_eq!(described.name(), "doubler");
    assert_eq!(described.r#type(), &StateMachineType::Standard);
    let listed = client.list_state_machines().send().await.expect("listed");
    assert_eq!(listed.state_machines().len(), 1);

    let started = client
        .start_execution()
        .state_machine_arn(&machine)
        .name("first")
        .input(r#"{"n": 21}"#)
        .send()
        .await
        .expect("started");
    let done = finished(&client, started.execution_arn()).await;
    assert_eq!(done.status(), &ExecutionStatus::Succeeded);
    let output: Value = serde_json::from_str(done.output().unwrap_or("null")).expect("JSON");
    assert_eq!(output, json!({"doubled": 42}));

    let history = client
        .get_execution_history()
        .execution_arn(started.execution_arn())
        .send()
        .await
        .expect("a history");
    let kinds: Vec<&HistoryEventType> = history.events().iter().map(|e| e.r#type()).collect();
    assert_eq!(kinds.first(), Some(&&HistoryEventType::ExecutionStarted));
    assert_eq!(kinds.last(), Some(&&HistoryEventType::ExecutionSucceeded));
    assert!(
        kinds.contains(&&HistoryEventType::TaskSucceeded),
        "{kinds:?}"
    );
    assert!(
        history
            .events()
            .iter()
            .all(|e| !e.r#type().as_str().is_empty())
    );

    // The same name with another input is ExecutionAlreadyExists.
    let again = client
        .start_execution()
        .state_machine_arn(&machine)
        .name("first")
        .input(r#"{"n": 1}"#)
        .send()
        .await
        .expect_err("a reused name");
    assert_eq!(again.code(), Some("ExecutionAlreadyExists"));
    let listed = client
        .list_executions()
        .state_machine_arn(&machine)
        .send()
        .await
        .expect("listed");
    assert_eq!(listed.executions().len(), 1);

    // A failing execution carries the task's error name.
    let started = client
        .start_execution()
        .state_machine_arn(&machine)
        .input(r#"{"n": "not a number"}"#)
        .send()
        .await
        .expect("started");
    let done = finished(&client, started.execution_arn()).await;
    assert_eq!(done.status(), &ExecutionStatus::Failed);
    assert!(done.error().is_some_and(|e| !e.is_empty()), "{done:?}");
}

#[tokio::test]
async fn errors_are_named_as_aws_names_them() {
    let client = start(&Inbox::default()).await;
    let bad = client
        .create_state_machine()
        .name("bad")
        .definition(r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}"#)
        .role_arn("arn:aws:iam::123456789012:role/sfn")
        .send()
        .await
        .expect_err("an invalid definition");
    assert_eq!(bad.code(), Some("InvalidDefinition"));
    assert!(
        bad.message()
            .is_some_and(|m| m.contains("MISSING_TRANSITION_TARGET")),
        "{bad:?}"
    );

    let unknown = client
        .describe_state_machine()
        .state_machine_arn("arn:aws:states:us-east-1:123456789012:stateMachine:nobody")
        .send()
        .await
        .expect_err("no such machine");
    assert_eq!(unknown.code(), Some("StateMachineDoesNotExist"));
    let unknown = client
        .describe_execution()
        .execution_arn("arn:aws:states:us-east-1:123456789012:execution:nobody:x")
        .send()
        .await
        .expect_err("no such execution");
    assert_eq!(unknown.code(), Some("ExecutionDoesNotExist"));
    let invalid = client
        .send_task_success()
        .task_token("")
        .output("{}")
        .send()
        .await
        .expect_err("an empty token");
    assert!(
        matches!(invalid.code(), Some("InvalidToken" | "ValidationException")),
        "{invalid:?}"
    );
    let gone = client
        .send_task_success()
        .task_token("AQCsAAAAKgAAAAMAAAAAAAAAAnever-issued")
        .output("{}")
        .send()
        .await
        .expect_err("an unknown token");
    assert_eq!(gone.code(), Some("TaskDoesNotExist"));

    let validated = client
        .validate_state_machine_definition()
        .definition(r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"id": "$.id"}, "Next": "Z"}}}"#)
        .send()
        .await
        .expect("validated");
    assert_eq!(validated.result().as_str(), "FAIL");
    let codes: Vec<&str> = validated.diagnostics().iter().map(|d| d.code()).collect();
    assert!(
        codes.contains(&"MISSING_TRANSITION_TARGET") && codes.contains(&"NO_DOLLAR"),
        "{codes:?}"
    );
}

#[tokio::test]
async fn task_tokens_and_stopping_through_the_sdk() {
    let inbox = Inbox::default();
    let client = start(&inbox).await;
    let definition = r#"{"StartAt": "Approve", "States": {"Approve": {"Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "ask", "Payload": {"token.$": "$$.Task.Token"}},
        "ResultPath": "$.approval", "End": true}}}"#;
    let machine = client
        .create_state_machine()
        .name("approvals")
        .definition(definition)
        .role_arn("arn:aws:iam::123456789012:role/sfn")
        .send()
        .await
        .expect("created")
        .state_machine_arn()
        .to_owned();
    let token = |n: usize| {
        let inbox = inbox.clone();
        async move {
            for _ in 0..500 {
                if let Some(token) = inbox
                    .0
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .get(n)
                {
                    return token.clone();
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("no token")
        }
    };

    let started = client
        .start_execution()
        .state_machine_arn(&machine)
        .input(r#"{"order": 1}"#)
        .send()
        .await
        .expect("started");
    let first = token(0).await;
    client
        .send_task_heartbeat()
        .task_token(&first)
        .send()
        .await
        .expect("a heartbeat");
    client
        .send_task_success()
        .task_token(&first)
        .output(r#"{"ok": true}"#)
        .send()
        .await
        .expect("answered");
    let done = finished(&client, started.execution_arn()).await;
    assert_eq!(done.status(), &ExecutionStatus::Succeeded);
    let output: Value = serde_json::from_str(done.output().unwrap_or("null")).expect("JSON");
    assert_eq!(output, json!({"order": 1, "approval": {"ok": true}}));

    let started = client
        .start_execution()
        .state_machine_arn(&machine)
        .input(r#"{"order": 2}"#)
        .send()
        .await
        .expect("started");
    let second = token(1).await;
    client
        .stop_execution()
        .execution_arn(started.execution_arn())
        .error("Ops.Stopped")
        .send()
        .await
        .expect("stopped");
    let done = finished(&client, started.execution_arn()).await;
    assert_eq!(done.status(), &ExecutionStatus::Aborted);
    // The stopped execution's task no longer waits.
    let gone = client
        .send_task_success()
        .task_token(&second)
        .output("{}")
        .send()
        .await
        .expect_err("stopped");
    assert_eq!(gone.code(), Some("TaskDoesNotExist"));
}

#[tokio::test]
async fn express_machines_run_synchronously_and_one_state_can_be_tested() {
    let client = start(&Inbox::default()).await;
    let machine = client
        .create_state_machine()
        .name("express")
        .r#type(StateMachineType::Express)
        .definition(DOUBLE)
        .role_arn("arn:aws:iam::123456789012:role/sfn")
        .send()
        .await
        .expect("created")
        .state_machine_arn()
        .to_owned();
    let out = client
        .start_sync_execution()
        .state_machine_arn(&machine)
        .input(r#"{"n": 4}"#)
        .send()
        .await
        .expect("ran");
    assert_eq!(out.status().as_str(), "SUCCEEDED");
    let output: Value = serde_json::from_str(out.output().unwrap_or("null")).expect("JSON");
    assert_eq!(output, json!({"doubled": 8}));

    let tested = client
        .test_state()
        .definition(r#"{"Type": "Pass", "Parameters": {"sum.$": "States.MathAdd($.a, $.b)"}, "Next": "After"}"#)
        .role_arn("arn:aws:iam::123456789012:role/sfn")
        .input(r#"{"a": 1, "b": 2}"#)
        .send()
        .await
        .expect("tested");
    assert_eq!(tested.status().map(|s| s.as_str()), Some("SUCCEEDED"));
    assert_eq!(tested.next_state(), Some("After"));
    let output: Value = serde_json::from_str(tested.output().unwrap_or("null")).expect("JSON");
    assert_eq!(output, json!({"sum": 3}));
}
