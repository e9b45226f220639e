//! The wall clock: Wait states, retry intervals and the execution's time limit take real time
//! (tokio's clock, paused here so that an hour passes at once and the test cannot be slow or
//! flaky).

use serde_json::json;
use std::time::Duration;
use svless_local::sfn::{Clock, Status, StepFunctions};

#[tokio::test(start_paused = true)]
async fn waits_take_their_time_on_the_wall_clock() {
    let sfn = StepFunctions::new(svless_core::App::new()).clock(Clock::Wall);
    let started = tokio::time::Instant::now();
    let run = sfn
        .run(
            r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "Next": "Done"},
                "Done": {"Type": "Succeed"}}}"#,
            json!({"n": 1}),
        )
        .await
        .expect("valid");
    assert_eq!(run.status, Status::Succeeded);
    assert!(
        started.elapsed() >= Duration::from_secs(3600),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(run.waits(), [Duration::from_secs(3600)]);
}

#[tokio::test(start_paused = true)]
async fn the_execution_time_limit_stops_a_long_wait() {
    let sfn = StepFunctions::new(svless_core::App::new()).clock(Clock::Wall);
    let started = tokio::time::Instant::now();
    let run = sfn
        .run(
            r#"{"TimeoutSeconds": 60, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}}"#,
            json!({}),
        )
        .await
        .expect("valid");
    assert_eq!(run.status, Status::TimedOut);
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(60) && elapsed < Duration::from_secs(3600),
        "{elapsed:?}"
    );
}
