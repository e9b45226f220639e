//! State machines run locally (svless-local) against the app's own task handlers: the data-flow
//! examples of the Step Functions developer guide, every state type, retries and catches with
//! their recorded intervals, and bad input that must end in a named error.

use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use svless::{App, NamedError, State};
use svless_local::sfn::{Execution, Status, StepFunctions, TaskError};

/// Counts calls, so a task can fail a given number of times before it succeeds.
#[derive(Clone, Default)]
struct Calls(Arc<AtomicU32>);

#[derive(Deserialize)]
struct Greet {
    who: String,
}

/// The developer guide's "HelloWorld" function: `Hello, <who>!`.
#[svless::task(name = "hello")]
async fn hello(input: Greet) -> String {
    format!("Hello, {}!", input.who)
}

#[derive(Deserialize)]
struct Flaky {
    failures: u32,
}

/// Fails with `Service.Busy` until it has been called `failures` times.
#[svless::task(name = "flaky")]
async fn flaky(input: Flaky, State(calls): State<Calls>) -> Result<Value, NamedError> {
    let n = calls.0.fetch_add(1, Ordering::SeqCst);
    if n < input.failures {
        return Err(NamedError::new(
            "Service.Busy",
            format!("busy on call {}", n + 1),
        ));
    }
    Ok(json!({"calls": n + 1}))
}

fn app(calls: &Calls) -> App<Calls> {
    App::new().state(calls.clone()).on(hello).on(flaky)
}

async fn execute(definition: Value, input: Value) -> Execution {
    run_with(&Calls::default(), definition, input).await
}

async fn run_with(calls: &Calls, definition: Value, input: Value) -> Execution {
    StepFunctions::new(app(calls))
        .run(&definition.to_string(), input)
        .await
        .unwrap_or_else(|invalid| panic!("{invalid}"))
}

fn task(next: Value) -> Value {
    let mut state =
        json!({"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:hello"});
    if let (Some(state), Some(extra)) = (state.as_object_mut(), next.as_object()) {
        state.extend(extra.clone());
    }
    state
}

fn machine(state: Value) -> Value {
    json!({"StartAt": "S", "States": {"S": state}})
}

#[tokio::test]
async fn result_path_examples_of_the_developer_guide() {
    // "Specifying state output using ResultPath in Step Functions": the HelloWorld task's
    // input, and its output under each ResultPath.
    let input = json!({
        "comment": "This is a test of the input and output of a Task state.",
        "details": "Default example",
        "who": "AWS Step Functions"
    });
    let cases = [
        (
            json!({"ResultPath": "$"}),
            json!("Hello, AWS Step Functions!"),
        ),
        (json!({}), json!("Hello, AWS Step Functions!")),
        (json!({"ResultPath": null}), input.clone()),
        (
            json!({"ResultPath": "$.taskresult"}),
            json!({
                "comment": "This is a test of the input and output of a Task state.",
                "details": "Default example",
                "who": "AWS Step Functions",
                "taskresult": "Hello, AWS Step Functions!"
            }),
        ),
        (
            json!({"ResultPath": "$.strings.lambdaresult"}),
            json!({
                "comment": "This is a test of the input and output of a Task state.",
                "details": "Default example",
                "who": "AWS Step Functions",
                "strings": {"lambdaresult": "Hello, AWS Step Functions!"}
            }),
        ),
    ];
    for (fields, expected) in cases {
        let mut fields = fields;
        fields["End"] = json!(true);
        let run = execute(machine(task(fields.clone())), input.clone()).await;
        assert_eq!(run.status, Status::Succeeded, "{fields}: {:?}", run.cause);
        assert_eq!(run.output, Some(expected), "{fields}");
    }
}

#[tokio::test]
async fn input_path_parameters_and_output_path_examples_of_the_developer_guide() {
    // "Filtering state output using InputPath and OutputPath" and "Manipulate parameters with
    // Parameters": the documented inputs and results.
    let input = json!({
        "comment": "Example for InputPath.",
        "dataset1": {"val1": 1, "val2": 2, "val3": 3},
        "dataset2": {"val1": "a", "val2": "b", "val3": "c"}
    });
    let run = execute(
        machine(json!({"Type": "Pass", "InputPath": "$.dataset2", "End": true})),
        input,
    )
    .await;
    assert_eq!(
        run.output,
        Some(json!({"val1": "a", "val2": "b", "val3": "c"}))
    );

    let input = json!({
        "comment": "Example for Parameters.",
        "product": {
            "details": {"color": "blue", "size": "small", "material": "cotton"},
            "availability": "in stock",
            "sku": "2317",
            "cost": "$23"
        }
    });
    let run = execute(
        machine(json!({"Type": "Pass", "Parameters": {
            "comment": "Selecting what I care about.",
            "MyDetails": {
                "size.$": "$.product.details.size",
                "exists.$": "$.product.availability",
                "StaticValue": "foo"
            }
        }, "End": true})),
        input,
    )
    .await;
    assert_eq!(
        run.output,
        Some(json!({
            "comment": "Selecting what I care about.",
            "MyDetails": {"size": "small", "exists": "in stock", "StaticValue": "foo"}
        }))
    );

    // OutputPath keeps a part of the combined output; the context object is there too.
    let run = execute(
        machine(
            json!({"Type": "Pass", "Parameters": {"state.$": "$$.State.Name", "n.$": "$.n"},
                       "ResultPath": "$.out", "OutputPath": "$.out", "End": true}),
        ),
        json!({"n": 1}),
    )
    .await;
    assert_eq!(run.output, Some(json!({"state": "S", "n": 1})));
}

#[tokio::test]
async fn lambda_invoke_wraps_the_payload_and_result_selector_unwraps_it() {
    let definition = json!({"StartAt": "Greet", "States": {
        "Greet": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Parameters": {"FunctionName": "hello", "Payload.$": "$"},
                  "Next": "Selected"},
        "Selected": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                     "Parameters": {"FunctionName": "arn:aws:lambda:eu-west-1:123456789012:function:hello:live",
                                    "Payload": {"who.$": "$.Payload"}},
                     "ResultSelector": {"greeting.$": "$.Payload", "status.$": "$.StatusCode",
                                        "http.$": "$.SdkHttpMetadata.HttpStatusCode",
                                        "version.$": "$.ExecutedVersion"},
                     "End": true}
    }});
    let run = execute(definition, json!({"who": "you"})).await;
    assert_eq!(run.status, Status::Succeeded, "{:?}", run.cause);
    assert_eq!(
        run.output,
        Some(
            json!({"greeting": "Hello, Hello, you!!", "status": 200, "http": 200, "version": "$LATEST"})
        )
    );
    assert_eq!(run.states_entered(), ["Greet", "Selected"]);
    let kinds: Vec<&str> = run.history.iter().map(|e| e.kind.as_ref()).collect();
    assert_eq!(kinds.first(), Some(&"ExecutionStarted"));
    assert_eq!(kinds.last(), Some(&"ExecutionSucceeded"));
    assert_eq!(kinds.iter().filter(|k| **k == "TaskSucceeded").count(), 2);
}

fn retrying(max_attempts: u64, extra: Value) -> Value {
    let mut retrier = json!({"ErrorEquals": ["Service.Busy"], "IntervalSeconds": 3,
                             "BackoffRate": 2.0, "MaxAttempts": max_attempts});
    if let (Some(r), Some(e)) = (retrier.as_object_mut(), extra.as_object()) {
        r.extend(e.clone());
    }
    json!({"StartAt": "Call", "States": {
        "Call": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:flaky",
                 "Retry": [retrier],
                 "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Recover"}],
                 "End": true},
        "Recover": {"Type": "Pass", "End": true}
    }})
}

#[tokio::test]
async fn a_task_that_fails_twice_succeeds_under_two_retries_and_is_caught_under_one() {
    let run = execute(retrying(2, json!({})), json!({"failures": 2})).await;
    assert_eq!(run.status, Status::Succeeded);
    assert_eq!(run.output, Some(json!({"calls": 3})));
    assert_eq!(
        run.waits(),
        [Duration::from_secs(3), Duration::from_secs(6)]
    );

    let run = execute(retrying(1, json!({})), json!({"failures": 2})).await;
    assert_eq!(run.status, Status::Succeeded);
    assert_eq!(
        run.output,
        Some(json!({"failures": 2, "error": {"Error": "Service.Busy", "Cause": "busy on call 2"}}))
    );
    assert_eq!(run.states_entered(), ["Call", "Recover"]);

    // MaxAttempts 0 never retries.
    let run = execute(retrying(0, json!({})), json!({"failures": 1})).await;
    assert!(run.waits().is_empty());
    assert_eq!(run.states_entered(), ["Call", "Recover"]);
}

#[tokio::test]
async fn retry_intervals_back_off_are_capped_and_jitter_stays_below_them() {
    let run = execute(
        retrying(5, json!({"MaxDelaySeconds": 10})),
        json!({"failures": 5}),
    )
    .await;
    let seconds: Vec<f64> = run.waits().iter().map(Duration::as_secs_f64).collect();
    assert_eq!(seconds, [3.0, 6.0, 10.0, 10.0, 10.0]);

    for _ in 0..20 {
        let run = execute(
            retrying(4, json!({"JitterStrategy": "FULL"})),
            json!({"failures": 4}),
        )
        .await;
        let waits = run.waits();
        assert_eq!(waits.len(), 4);
        for (n, wait) in waits.iter().enumerate() {
            let cap = 3.0 * 2f64.powi(n as i32);
            assert!(
                (0.0..=cap).contains(&wait.as_secs_f64()),
                "{wait:?} over {cap}"
            );
        }
    }
}

#[tokio::test]
async fn choice_parallel_map_wait_and_fail() {
    let definition = json!({"StartAt": "Route", "States": {
        "Route": {"Type": "Choice", "Choices": [
            {"And": [{"Variable": "$.items", "IsPresent": true},
                     {"Variable": "$.mode", "StringEquals": "fan-out"}], "Next": "Fan"},
            {"Variable": "$.mode", "StringMatches": "wait*", "Next": "Pause"}
        ], "Default": "Refuse"},
        "Fan": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2,
                "ItemSelector": {"index.$": "$$.Map.Item.Index", "value.$": "$$.Map.Item.Value", "mode.$": "$.mode"},
                "ItemProcessor": {"StartAt": "Both", "States": {
                    "Both": {"Type": "Parallel", "Branches": [
                        {"StartAt": "Double", "States": {"Double": {"Type": "Pass",
                            "Parameters": {"v.$": "States.MathAdd($.value, $.value)"}, "End": true}}},
                        {"StartAt": "Name", "States": {"Name": {"Type": "Pass",
                            "Parameters": {"i.$": "States.Format('item {}', $.index)"}, "End": true}}}
                    ], "End": true}
                }},
                "Next": "Done"},
        "Pause": {"Type": "Wait", "SecondsPath": "$.seconds", "Next": "Done"},
        "Refuse": {"Type": "Fail", "ErrorPath": "$.mode", "Cause": "unknown mode"},
        "Done": {"Type": "Succeed"}
    }});
    let run = execute(
        definition.clone(),
        json!({"mode": "fan-out", "items": [1, 5]}),
    )
    .await;
    assert_eq!(run.status, Status::Succeeded, "{:?}", run.cause);
    assert_eq!(
        run.output,
        Some(json!([[{"v": 2}, {"i": "item 0"}], [{"v": 10}, {"i": "item 1"}]]))
    );

    let run = execute(
        definition.clone(),
        json!({"mode": "waiting", "seconds": 90}),
    )
    .await;
    assert_eq!(run.status, Status::Succeeded);
    assert_eq!(run.waits(), [Duration::from_secs(90)]);

    let run = execute(definition, json!({"mode": "other"})).await;
    assert_eq!(run.status, Status::Failed);
    assert_eq!(
        (run.error.as_deref(), run.cause.as_deref()),
        (Some("other"), Some("unknown mode"))
    );

    let run = execute(
        json!({"StartAt": "C", "States": {"C": {"Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "E"}]}, "E": {"Type": "Succeed"}}}),
        json!({"n": 2}),
    )
    .await;
    assert_eq!(run.error.as_deref(), Some("States.NoChoiceMatched"));
}

#[tokio::test]
async fn map_failures_fail_the_state_unless_tolerated() {
    let definition = |tolerance: Value| {
        let mut map = json!({"Type": "Map", "ItemProcessor": {"StartAt": "Check", "States": {
            "Check": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericLessThan": 0, "Next": "Bad"}],
                      "Default": "Good"},
            "Bad": {"Type": "Fail", "Error": "Item.Negative"},
            "Good": {"Type": "Succeed"}}}, "End": true});
        if let (Some(m), Some(t)) = (map.as_object_mut(), tolerance.as_object()) {
            m.extend(t.clone());
        }
        machine(map)
    };
    let items = json!([1, -1, 2, 3]);
    let run = execute(definition(json!({})), items.clone()).await;
    assert_eq!(run.error.as_deref(), Some("Item.Negative"));
    let run = execute(
        definition(json!({"ToleratedFailureCount": 1})),
        items.clone(),
    )
    .await;
    assert_eq!(run.status, Status::Succeeded);
    assert_eq!(
        run.output,
        Some(json!([1, {"Error": "Item.Negative", "Cause": ""}, 2, 3]))
    );
    let run = execute(definition(json!({"ToleratedFailurePercentage": 10})), items).await;
    assert_eq!(
        run.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
}

#[tokio::test]
async fn bad_input_ends_in_named_errors() {
    // A loop whose exit is never taken runs until the history limit, not forever.
    let run = execute(
        json!({"StartAt": "Loop", "States": {
            "Loop": {"Type": "Choice", "Choices": [{"Variable": "$.stop", "BooleanEquals": true, "Next": "End"}],
                     "Default": "Again"},
            "Again": {"Type": "Pass", "Next": "Loop"},
            "End": {"Type": "Succeed"}}}),
        json!({"stop": false}),
    )
    .await;
    assert_eq!(run.error.as_deref(), Some("States.Runtime"));

    // The execution's own time limit, on the virtual clock.
    let run = execute(
        json!({"TimeoutSeconds": 60, "StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 50, "Next": "W2"},
            "W2": {"Type": "Wait", "Seconds": 50, "Next": "Done"},
            "Done": {"Type": "Succeed"}}}),
        json!({}),
    )
    .await;
    assert_eq!(run.status, Status::TimedOut);

    // An inline Map of 10,000 items writes four events per item: over the 25,000 events an
    // execution's history may hold, so it fails as a Standard execution does (AWS advises a
    // distributed Map there); 5,000 items run.
    let map = machine(
        json!({"Type": "Map", "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}),
    );
    let items: Vec<u32> = (0..10_000).collect();
    let run = execute(map.clone(), json!(items)).await;
    assert_eq!(run.error.as_deref(), Some("States.Runtime"));
    assert!(
        run.cause
            .as_deref()
            .is_some_and(|c| c.contains("25000 history events")),
        "{:?}",
        run.cause
    );
    let items: Vec<u32> = (0..5_000).collect();
    let run = execute(map, json!(items)).await;
    assert_eq!(run.status, Status::Succeeded, "{:?}", run.cause);
    assert_eq!(
        run.output.map(|o| o.as_array().map(Vec::len)),
        Some(Some(5_000))
    );
    let big = "x".repeat(300 * 1024);
    let run = execute(
        machine(json!({"Type": "Pass", "End": true})),
        json!({"big": big}),
    )
    .await;
    assert_eq!(run.error.as_deref(), Some("States.DataLimitExceeded"));

    // A path that matches nothing, an intrinsic that fails, a ResultPath that cannot be applied.
    for (state, error) in [
        // Step Functions fails a path that matches nothing in Parameters with States.Runtime
        // ("The JSONPath '$.missing' specified for the field 'a.$' could not be found ...").
        (
            json!({"Type": "Pass", "Parameters": {"a.$": "$.missing"}, "End": true}),
            "States.Runtime",
        ),
        (
            json!({"Type": "Pass", "Parameters": {"a.$": "States.ArrayLength($.missing)"}, "End": true}),
            "States.Runtime",
        ),
        (
            json!({"Type": "Pass", "Parameters": {"a.$": "States.ArrayGetItem($.list, 9)"}, "End": true}),
            "States.IntrinsicFailure",
        ),
        (
            json!({"Type": "Pass", "ResultPath": "$.list.x", "End": true}),
            "States.ResultPathMatchFailure",
        ),
        (
            json!({"Type": "Pass", "InputPath": "$.nothing", "End": true}),
            "States.Runtime",
        ),
    ] {
        let run = execute(machine(state.clone()), json!({"list": [1]})).await;
        assert_eq!(run.error.as_deref(), Some(error), "{state}");
    }
}

#[tokio::test]
async fn invalid_definitions_and_unknown_resources_are_refused_before_running() {
    let sfn = StepFunctions::new(app(&Calls::default()));
    for (definition, code) in [
        ("{", "INVALID_JSON_DESCRIPTION"),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "InputPath": "$.[", "End": true}}}"#,
            "SCHEMA_VALIDATION_FAILED",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}}"#,
            "MISSING_END_STATE",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:nobody", "End": true}}}"#,
            "INVALID_RESOURCE",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "End": true}}}"#,
            "INVALID_RESOURCE",
        ),
    ] {
        let invalid = sfn.run(definition, json!({})).await.expect_err(definition);
        assert!(
            invalid.0.iter().any(|d| d.code == code),
            "{definition}: {invalid}"
        );
    }
}

#[tokio::test]
async fn resolvers_answer_services_the_app_does_not_implement() {
    let sfn = StepFunctions::new(app(&Calls::default())).resolve(
        "arn:aws:states:::sns:publish",
        |input| async move {
            match input["Message"].as_str() {
                Some("fail") => Err(TaskError {
                    error: "SNS.InvalidParameter".into(),
                    cause: "no".into(),
                }),
                _ => Ok(json!({"MessageId": "m-1", "echo": input["Message"]})),
            }
        },
    );
    let definition = json!({"StartAt": "Publish", "States": {"Publish": {"Type": "Task",
        "Resource": "arn:aws:states:::sns:publish", "Parameters": {"Message.$": "$.m"},
        "Catch": [{"ErrorEquals": ["SNS.InvalidParameter"], "Next": "Failed"}], "End": true},
        "Failed": {"Type": "Pass", "Result": "caught", "End": true}}})
    .to_string();
    let run = sfn
        .run(&definition, json!({"m": "hi"}))
        .await
        .expect("valid");
    assert_eq!(run.output, Some(json!({"MessageId": "m-1", "echo": "hi"})));
    let run = sfn
        .run(&definition, json!({"m": "fail"}))
        .await
        .expect("valid");
    assert_eq!(run.output, Some(json!("caught")));
}

#[derive(Debug, svless::IntoNamedError)]
enum ResizeError {
    #[error_type("Service.Busy")]
    Busy,
    #[error_type("Image.TooLarge")]
    TooLarge,
}

impl std::fmt::Display for ResizeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResizeError::Busy => f.write_str("the resizer is busy"),
            ResizeError::TooLarge => f.write_str("wider than 4096 pixels"),
        }
    }
}

#[derive(Deserialize)]
struct Upload {
    key: String,
    width: u32,
}

/// Busy on its first call, then resizes (or refuses a too-wide image).
#[svless::task(name = "resize")]
async fn resize(upload: Upload, State(calls): State<Calls>) -> Result<Value, ResizeError> {
    if calls.0.fetch_add(1, Ordering::SeqCst) == 0 {
        return Err(ResizeError::Busy);
    }
    if upload.width > 4096 {
        return Err(ResizeError::TooLarge);
    }
    Ok(json!({"key": format!("small/{}", upload.key), "sizes": [64, 128]}))
}

/// The workflow of docs/step-functions.md: Retry, Catch, Parallel and Map, written once.
#[tokio::test]
async fn the_documented_workflow_runs_retries_and_is_checked() {
    let definition =
        String::from_utf8(svless_tests::fixture("state-machines/upload.json")).expect("UTF-8");
    let calls = Calls::default();
    let app = App::new().state(calls.clone()).on(resize);
    assert_eq!(app.check_state_machine(&definition), Ok(()));
    let sfn = StepFunctions::new(app);

    let run = sfn
        .run(&definition, json!({"key": "cat.png", "width": 800}))
        .await
        .expect("valid");
    assert_eq!(run.status, Status::Succeeded, "{:?}", run.cause);
    assert_eq!(
        run.output,
        Some(json!([
            [{"size": 64, "key": "small/cat.png"}, {"size": 128, "key": "small/cat.png"}],
            "recorded"
        ]))
    );
    assert_eq!(run.waits(), [Duration::from_secs(2)]);
    // The branches run concurrently: the states they enter interleave.
    let mut entered = run.states_entered();
    entered.sort_unstable();
    assert_eq!(
        entered,
        [
            "Publish",
            "Record",
            "Resize",
            "Thumb",
            "Thumb",
            "Thumbnails"
        ]
    );

    calls.0.store(1, Ordering::SeqCst);
    let run = sfn
        .run(&definition, json!({"key": "huge.png", "width": 9000}))
        .await
        .expect("valid");
    assert_eq!(run.status, Status::Failed);
    assert_eq!(
        (run.error.as_deref(), run.cause.as_deref()),
        (Some("Upload.Rejected"), Some("wider than 4096 pixels"))
    );
}

/// Where the approval task leaves the tokens it was handed.
#[derive(Clone, Default)]
struct Inbox(Arc<std::sync::Mutex<Vec<String>>>);

impl Inbox {
    fn tokens(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

#[derive(Deserialize)]
struct Approval {
    token: String,
}

/// Hands the token to a human (here: the inbox) and returns at once.
#[svless::task(name = "ask")]
async fn ask(input: Approval, State(inbox): State<Inbox>) {
    inbox
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(input.token);
}

fn approval(heartbeat: Option<u64>) -> String {
    let mut wait = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "ask", "Payload": {"token.$": "$$.Task.Token"}},
        "TimeoutSeconds": 30,
        "Catch": [{"ErrorEquals": ["Approval.Rejected", "States.HeartbeatTimeout"], "ResultPath": "$.error", "Next": "Rejected"}],
        "ResultPath": "$.approval", "End": true});
    if let Some(seconds) = heartbeat {
        wait["HeartbeatSeconds"] = json!(seconds);
    }
    json!({"StartAt": "Wait", "States": {"Wait": wait, "Rejected": {"Type": "Pass", "End": true}}})
        .to_string()
}

async fn next_token(inbox: &Inbox, seen: usize) -> String {
    for _ in 0..500 {
        if let Some(token) = inbox.tokens().get(seen) {
            return token.clone();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the task never received its token")
}

#[tokio::test]
async fn wait_for_task_token_resumes_on_success_and_failure_and_times_out_without_heartbeats() {
    let inbox = Inbox::default();
    let sfn = StepFunctions::new(App::new().state(inbox.clone()).on(ask));

    let running = tokio::spawn({
        let sfn = sfn.clone();
        async move { sfn.run(&approval(None), json!({"order": 7})).await }
    });
    let token = next_token(&inbox, 0).await;
    assert_eq!(sfn.send_task_heartbeat(&token), Ok(()));
    assert_eq!(
        sfn.send_task_success(&token, json!({"approved": true})),
        Ok(())
    );
    let run = running.await.expect("joined").expect("valid");
    assert_eq!(
        run.output,
        Some(json!({"order": 7, "approval": {"approved": true}}))
    );
    // The token was answered: it is no longer a task's.
    assert_eq!(
        sfn.send_task_success(&token, json!({})),
        Err(svless_local::sfn::TokenError::TaskDoesNotExist)
    );

    let running = tokio::spawn({
        let sfn = sfn.clone();
        async move { sfn.run(&approval(None), json!({"order": 8})).await }
    });
    let token = next_token(&inbox, 1).await;
    assert_eq!(
        sfn.send_task_failure(&token, "Approval.Rejected", "too expensive"),
        Ok(())
    );
    let run = running.await.expect("joined").expect("valid");
    assert_eq!(
        run.output,
        Some(
            json!({"order": 8, "error": {"Error": "Approval.Rejected", "Cause": "too expensive"}})
        )
    );

    // No heartbeat within HeartbeatSeconds: States.HeartbeatTimeout, caught.
    let run = sfn
        .run(&approval(Some(1)), json!({"order": 9}))
        .await
        .expect("valid");
    assert_eq!(
        run.output.as_ref().map(|o| o["error"]["Error"].clone()),
        Some(json!("States.HeartbeatTimeout"))
    );
}

/// The DynamoDB integrations against a table of the in-memory backend: a conditional put, a
/// get, an update with ADD, a delete; the second put's condition fails and is caught by name.
#[tokio::test]
async fn dynamodb_integrations_read_and_write_the_local_table() {
    use svless_store::dynamo::{MemoryDb, Table, TableDef};
    let db = MemoryDb::new();
    let orders = Table::memory(TableDef::new("orders"), &db);
    orders.create().await.expect("created");
    let sfn = StepFunctions::new(App::new()).dynamodb([orders.clone()]);
    let key = json!({"pk": {"S.$": "$.id"}, "sk": {"S": "order"}});
    let definition = json!({"StartAt": "Put", "States": {
        "Put": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                "Parameters": {"TableName": "orders",
                               "Item": {"pk": {"S.$": "$.id"}, "sk": {"S": "order"}, "total": {"N.$": "$.total"}},
                               "ConditionExpression": "attribute_not_exists(pk)"},
                "ResultPath": null,
                "Catch": [{"ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"], "ResultPath": "$.error", "Next": "Exists"}],
                "Next": "Count"},
        "Count": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:updateItem",
                  "Parameters": {"TableName": "orders", "Key": key,
                                 "UpdateExpression": "ADD #v :one SET #s = :s",
                                 "ExpressionAttributeNames": {"#v": "views", "#s": "status"},
                                 "ExpressionAttributeValues": {":one": {"N": "1"}, ":s": {"S": "seen"}},
                                 "ReturnValues": "ALL_NEW"},
                  "ResultSelector": {"views.$": "$.Attributes.views.N", "status.$": "$.Attributes.status.S"},
                  "ResultPath": "$.counted", "Next": "Get"},
        "Get": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
                "Parameters": {"TableName": "orders", "Key": key},
                "ResultSelector": {"total.$": "$.Item.total.N"}, "ResultPath": "$.read", "End": true},
        "Exists": {"Type": "Pass", "End": true}
    }})
    .to_string();
    let run = sfn
        .run(&definition, json!({"id": "o-1", "total": "12.50"}))
        .await
        .expect("valid");
    assert_eq!(run.status, Status::Succeeded, "{:?}", run.cause);
    assert_eq!(
        run.output,
        Some(json!({"id": "o-1", "total": "12.50",
                    "counted": {"views": "1", "status": "seen"}, "read": {"total": "12.50"}}))
    );

    // The order exists now: the conditional put fails and is caught by its name.
    let run = sfn
        .run(&definition, json!({"id": "o-1", "total": "99"}))
        .await
        .expect("valid");
    assert_eq!(
        run.output.as_ref().map(|o| o["error"]["Error"].clone()),
        Some(json!("DynamoDB.ConditionalCheckFailedException"))
    );

    // The table as the repository sees it: the item the workflow wrote.
    let key = serde_dynamo::Item::from(std::collections::HashMap::from([
        (
            "pk".to_owned(),
            serde_dynamo::AttributeValue::S("o-1".into()),
        ),
        (
            "sk".to_owned(),
            serde_dynamo::AttributeValue::S("order".into()),
        ),
    ]));
    let stored = orders.get_item(key).await.expect("read").expect("the item");
    assert_eq!(
        stored.get("views"),
        Some(&serde_dynamo::AttributeValue::N("1".into()))
    );

    // A table the runner was not given is refused before anything runs.
    let unknown = definition.replace("\"orders\"", "\"nobody\"");
    let invalid = sfn
        .run(&unknown, json!({}))
        .await
        .expect_err("an unknown table");
    assert!(invalid.to_string().contains("nobody"), "{invalid}");
}
