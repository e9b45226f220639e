//! The first invocation of a process writes a `ColdStart` metric; the next ones do not.
//! (Its own test binary: the cold start is once per process.)

use serde_json::Value;
use std::sync::{Arc, Mutex};
use svless::App;
use svless::testing::TestRequest;

#[tokio::test]
async fn only_the_first_invocation_is_a_cold_start() {
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    async fn hello() -> &'static str {
        "hello"
    }
    let app = App::new()
        .route_fn("GET", "/", hello)
        .metrics_namespace("Cold")
        .metrics_sink(move |line: &str| {
            sink.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(line.to_owned());
        });
    TestRequest::get("/").send(&app).await;
    let first: Vec<Value> = lines
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .drain(..)
        .map(|l| serde_json::from_str(&l).expect("JSON"))
        .collect();
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0]["ColdStart"], 1.0);
    assert_eq!(first[0]["function_name"], "local");
    assert_eq!(
        first[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"],
        "Count"
    );

    TestRequest::get("/").send(&app).await;
    assert!(
        lines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_empty(),
        "no metric after the first"
    );
}
