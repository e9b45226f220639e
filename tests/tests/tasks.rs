//! Step Functions tasks: typed input and output, named errors, dispatch by function, and the
//! state machine cross-check.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::time::{Duration, SystemTime};
use svless::source::task::{StateMachineIssue, WithToken};
use svless::{App, Context, NamedError};

#[derive(Debug, Deserialize)]
struct Resize {
    key: String,
    width: u32,
}

#[derive(Debug, Serialize)]
struct Resized {
    key: String,
    width: u32,
    seconds_left: bool,
}

#[derive(Debug, svless::IntoNamedError)]
enum ResizeError {
    #[error_type("Image.TooLarge")]
    TooLarge { width: u32 },
    #[error_type("Image.Unreadable")]
    Unreadable,
}

impl std::fmt::Display for ResizeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResizeError::TooLarge { width } => write!(f, "{width} pixels is wider than 4096"),
            ResizeError::Unreadable => f.write_str("the image cannot be read"),
        }
    }
}

#[svless::task(name = "resize")]
async fn resize(input: Resize, ctx: Context) -> Result<Resized, ResizeError> {
    if input.width > 4096 {
        return Err(ResizeError::TooLarge { width: input.width });
    }
    if input.key.ends_with(".txt") {
        return Err(ResizeError::Unreadable);
    }
    Ok(Resized {
        key: format!("small/{}", input.key),
        width: input.width,
        seconds_left: ctx
            .remaining()
            .is_some_and(|left| left > Duration::from_secs(1)),
    })
}

#[svless::task]
async fn notify(input: WithToken<Value>) -> String {
    format!(
        "token {} for {}",
        input.task_token.as_str(),
        input.input["order"]
    )
}

fn lambda(function: &str) -> Context {
    let mut ctx = svless_tests::lambda_context();
    ctx.function_name = function.into();
    ctx.deadline = Some(SystemTime::now() + Duration::from_secs(30));
    ctx
}

async fn run(app: &App, function: &str, input: Value) -> Result<Value, NamedError> {
    let out = app
        .dispatch(&serde_json::to_vec(&input).expect("JSON"), lambda(function))
        .await?;
    Ok(serde_json::from_slice(&out).expect("a JSON output"))
}

fn app() -> App {
    App::new()
        .on(resize)
        .on(notify)
        .function("todo-resize", "resize")
}

#[tokio::test]
async fn a_task_turns_its_input_into_its_output() {
    let out = run(
        &app(),
        "todo-resize",
        json!({"key": "cat.png", "width": 200}),
    )
    .await
    .expect("succeeds");
    assert_eq!(
        out,
        json!({"key": "small/cat.png", "width": 200, "seconds_left": true})
    );
}

#[tokio::test]
async fn task_errors_carry_the_names_retry_and_catch_match() {
    let err = run(
        &app(),
        "todo-resize",
        json!({"key": "cat.png", "width": 9000}),
    )
    .await
    .expect_err("fails");
    assert_eq!(
        (err.error_type(), err.message()),
        ("Image.TooLarge", "9000 pixels is wider than 4096")
    );
    let err = run(
        &app(),
        "todo-resize",
        json!({"key": "notes.txt", "width": 10}),
    )
    .await
    .expect_err("fails");
    assert_eq!(err.error_type(), "Image.Unreadable");
}

#[tokio::test]
async fn a_mismatched_input_names_the_field() {
    let err = run(
        &app(),
        "todo-resize",
        json!({"key": "cat.png", "width": "wide"}),
    )
    .await
    .expect_err("fails");
    assert_eq!(err.error_type(), "Svless.InvalidTaskInput");
    assert_eq!(err.cause(), Some(&json!({"field": "width"})));
}

#[tokio::test]
async fn tasks_are_chosen_by_function_name_mapping_or_explicit_handler() {
    // Named like the function.
    let out = run(
        &app(),
        "notify",
        json!({"taskToken": "AQB8AAAAKgAAAAMAAAAA", "order": 7}),
    )
    .await
    .expect("runs");
    assert_eq!(out, json!("token AQB8AAAAKgAAAAMAAAAA for 7"));
    // Explicit handler, whatever the function is called.
    let explicit = app().task("resize");
    let out = run(&explicit, "anything", json!({"key": "a.png", "width": 1}))
        .await
        .expect("runs");
    assert_eq!(out["key"], "small/a.png");
    // Neither: the payload's shape decides, and task input has none.
    let err = run(
        &app(),
        "other-function",
        json!({"key": "a.png", "width": 1}),
    )
    .await
    .expect_err("no task");
    assert_eq!(err.error_type(), "Svless.UnknownEventSource");
}

#[test]
fn mappings_to_missing_tasks_fail_when_the_app_is_built() {
    let err = App::new()
        .on(resize)
        .function("f", "rezise")
        .task("nope")
        .check()
        .expect_err("misconfigured");
    let text = err.to_string();
    assert!(
        text.contains("`rezise`") && text.contains("`nope`"),
        "{text}"
    );
}

const DEFINITION: &str = r#"{
  "Comment": "Resize uploads, then notify",
  "StartAt": "Prepare",
  "States": {
    "Prepare": {
      "Type": "Parallel",
      "Branches": [{
        "StartAt": "Resize",
        "States": {
          "Resize": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:todo-resize:$LATEST", "Payload.$": "$"},
            "Retry": [{"ErrorEquals": ["Lambda.ServiceException", "Lambda.TooManyRequestsException"], "MaxAttempts": 3}],
            "Catch": [{"ErrorEquals": ["Image.TooLarge"], "Next": "TooLarge"}, {"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
            "End": true
          },
          "TooLarge": {"Type": "Pass", "End": true},
          "Failed": {"Type": "Fail", "Error": "Resize.Failed"}
        }
      }],
      "Next": "Notify"
    },
    "Notify": {
      "Type": "Task",
      "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
      "Parameters": {"FunctionName": "notify", "Payload": {"taskToken.$": "$$.Task.Token", "order.$": "$.order"}},
      "End": true
    }
  }
}"#;

#[test]
fn a_state_machine_that_matches_the_app_passes_the_check() {
    assert_eq!(app().check_state_machine(DEFINITION), Ok(()));
}

#[test]
fn the_check_catches_a_misspelt_error_name_and_an_unknown_function() {
    let misspelt = DEFINITION
        .replace("\"Image.TooLarge\"", "\"Image.TooLong\"")
        .replace("\"notify\"", "\"notifier\"");
    let issues = app()
        .check_state_machine(&misspelt)
        .expect_err("two issues");
    assert!(
        issues.contains(&StateMachineIssue::UnknownError {
            state: "Resize".into(),
            error: "Image.TooLong".into(),
            task: "resize".into()
        }),
        "{issues:?}"
    );
    assert!(
        issues.contains(&StateMachineIssue::UnknownTask {
            state: "Notify".into(),
            function: "notifier".into()
        }),
        "{issues:?}"
    );
    assert_eq!(issues.len(), 2, "{issues:?}");
    assert!(matches!(
        app().check_state_machine("{}").expect_err("invalid")[0],
        StateMachineIssue::Invalid(_)
    ));
}

#[test]
fn the_check_resolves_every_function_reference_lambda_accepts_in_every_partition() {
    // Lambda API reference, Invoke: `FunctionName` takes a name, a name with a version or alias,
    // a partial ARN and a full ARN; Step Functions resources exist in every partition.
    for (resource, function) in [
        ("arn:aws:states:::lambda:invoke", "notify:live"),
        ("arn:aws:states:::lambda:invoke", "notify:7"),
        (
            "arn:aws:states:::lambda:invoke",
            "123456789012:function:notify",
        ),
        (
            "arn:aws-cn:states:::lambda:invoke",
            "arn:aws-cn:lambda:cn-north-1:123456789012:function:notify:live",
        ),
        (
            "arn:aws-us-gov:states:::lambda:invoke.waitForTaskToken",
            "notify",
        ),
    ] {
        let definition = DEFINITION
            .replace("arn:aws:states:::lambda:invoke.waitForTaskToken", resource)
            .replace("\"notify\"", &format!("\"{function}\""));
        assert_eq!(
            app().check_state_machine(&definition),
            Ok(()),
            "{resource} {function}"
        );
    }
    // Other partitions are checked too: an unknown function there is reported.
    let definition = DEFINITION
        .replace(
            "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "arn:aws-cn:states:::lambda:invoke",
        )
        .replace("\"notify\"", "\"notifier:live\"");
    assert_eq!(
        app().check_state_machine(&definition).expect_err("unknown"),
        vec![StateMachineIssue::UnknownTask {
            state: "Notify".into(),
            function: "notifier:live".into()
        }]
    );
    let direct = r#"{"StartAt": "R", "States": {"R": {"Type": "Task",
        "Resource": "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:rezise", "End": true}}}"#;
    assert_eq!(
        app()
            .check_state_machine(direct)
            .expect_err("unknown")
            .len(),
        1
    );
}
