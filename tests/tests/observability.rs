//! CloudWatch logs and metrics: Lambda's JSON log lines, and EMF documents checked against the
//! Embedded Metric Format specification's rules.

use serde_json::{Value, json};
use std::io::Write;
use std::sync::{Arc, Mutex};
use svless::metrics::{MetricSet, Metrics, Unit};
use svless::testing::TestRequest;
use svless::{App, api};

/// The units the EMF specification allows.
const UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// Checks a document against the EMF specification's rules; the first broken rule, if any.
fn emf_violation(doc: &Value) -> Option<String> {
    let root = doc.as_object()?;
    let Some(aws) = root.get("_aws").and_then(Value::as_object) else {
        return Some("no `_aws` object".into());
    };
    match aws.get("Timestamp") {
        Some(Value::Number(n)) if n.as_i64().is_some_and(|t| t > 0) => {}
        other => {
            return Some(format!(
                "Timestamp must be a positive integer of milliseconds, got {other:?}"
            ));
        }
    }
    let Some(directives) = aws.get("CloudWatchMetrics").and_then(Value::as_array) else {
        return Some("CloudWatchMetrics must be an array".into());
    };
    for directive in directives {
        let namespace = directive["Namespace"].as_str().unwrap_or("");
        if namespace.is_empty() || namespace.chars().count() > 255 {
            return Some(format!(
                "Namespace must have 1 to 255 characters, got {namespace:?}"
            ));
        }
        let Some(sets) = directive["Dimensions"].as_array() else {
            return Some("Dimensions must be an array".into());
        };
        for set in sets {
            let Some(keys) = set.as_array() else {
                return Some("a DimensionSet must be an array".into());
            };
            if keys.len() > 30 {
                return Some(format!(
                    "a DimensionSet has {} keys; at most 30",
                    keys.len()
                ));
            }
            for key in keys {
                let key = key.as_str().unwrap_or("");
                if !root.get(key).is_some_and(Value::is_string) {
                    return Some(format!(
                        "dimension `{key}` has no string member at the root"
                    ));
                }
            }
        }
        let Some(metrics) = directive["Metrics"].as_array() else {
            return Some("Metrics must be an array".into());
        };
        if metrics.len() > 100 {
            return Some(format!(
                "{} metrics in one directive; at most 100",
                metrics.len()
            ));
        }
        for metric in metrics {
            let name = metric["Name"].as_str().unwrap_or("");
            if name.is_empty() || name.chars().count() > 255 {
                return Some(format!(
                    "metric name {name:?} must have 1 to 255 characters"
                ));
            }
            if let Some(unit) = metric.get("Unit")
                && !unit.as_str().is_some_and(|u| UNITS.contains(&u))
            {
                return Some(format!("unit {unit} of `{name}` is not a CloudWatch unit"));
            }
            if let Some(resolution) = metric.get("StorageResolution")
                && resolution != &json!(1)
                && resolution != &json!(60)
            {
                return Some(format!("StorageResolution of `{name}` must be 1 or 60"));
            }
            match root.get(name) {
                Some(Value::Number(_)) => {}
                Some(Value::Array(values))
                    if values.len() <= 100 && values.iter().all(Value::is_number) => {}
                other => {
                    return Some(format!(
                        "metric `{name}` needs a number or at most 100 numbers at the root, got {other:?}"
                    ));
                }
            }
        }
    }
    None
}

fn all_valid(docs: &[Value]) {
    for doc in docs {
        assert_eq!(emf_violation(doc), None, "{doc}");
    }
}

#[test]
fn more_than_100_metrics_are_split_into_valid_documents() {
    let mut set = MetricSet::new("Todo");
    for i in 0..150 {
        set.add(&format!("M{i}"), Unit::Count, i as f64, false)
            .expect("valid");
    }
    let docs = set.documents(1_700_000_000_000);
    assert_eq!(docs.len(), 2);
    all_valid(&docs);
    let names = |d: &Value| {
        d["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .map(Vec::len)
            .unwrap_or(0)
    };
    assert_eq!((names(&docs[0]), names(&docs[1])), (100, 50));
}

#[test]
fn more_than_30_dimensions_are_split_into_sets_and_values_into_documents() {
    let mut set = MetricSet::new("Todo");
    for i in 0..40 {
        set.dimension(&format!("D{i}"), "x").expect("valid");
    }
    for v in 0..250 {
        set.add("Latency", Unit::Milliseconds, f64::from(v), true)
            .expect("valid");
    }
    let docs = set.documents(1_700_000_000_000);
    all_valid(&docs);
    assert_eq!(docs.len(), 3, "250 values: 100 + 100 + 50");
    let sets: Vec<usize> = docs[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
        .as_array()
        .expect("sets")
        .iter()
        .map(|s| s.as_array().map(Vec::len).unwrap_or(0))
        .collect();
    assert_eq!(sets, [30, 10]);
    assert_eq!(
        docs[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["StorageResolution"],
        1
    );
}

#[test]
fn invalid_metrics_are_refused_not_written() {
    let mut set = MetricSet::new("Todo");
    assert!(set.add("", Unit::Count, 1.0, false).is_err());
    assert!(set.add("Nan", Unit::Count, f64::NAN, false).is_err());
    set.add("Latency", Unit::Milliseconds, 1.0, false)
        .expect("valid");
    assert!(
        set.add("Latency", Unit::Seconds, 1.0, false).is_err(),
        "one unit per metric"
    );
    assert!(set.dimension(&"x".repeat(256), "v").is_err());
}

#[api(POST "/orders")]
async fn create_order(metrics: Metrics) -> &'static str {
    metrics.count("OrdersCreated", 1.0);
    metrics.add("OrderValue", Unit::None, 42.5);
    metrics.add("OrderValue", Unit::None, 7.5);
    metrics.dimension("Channel", "web");
    metrics.property("orderId", json!("o-1"));
    tracing::info!(order = "o-1", "order created");
    "created"
}

#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<String>>>);

impl Lines {
    fn all(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf).into_owned();
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(text.lines().map(str::to_owned));
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn an_invocation_writes_its_metrics_once_and_logs_json_with_its_request_id() {
    let emf = Lines::default();
    let sink = emf.clone();
    let app = App::new()
        .metrics_namespace("Orders")
        .route(create_order)
        .metrics_sink(move |line: &str| {
            sink.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(line.to_owned());
        });

    let logs = Lines::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .event_format(svless::logging::LambdaJson)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let response = TestRequest::post("/orders").send(&app).await;
    assert_eq!(response.status, 200);

    let docs: Vec<Value> = emf
        .all()
        .iter()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    all_valid(&docs);
    let order_doc = docs
        .iter()
        .find(|d| d.get("OrdersCreated").is_some())
        .expect("the invocation's document");
    assert_eq!(order_doc["OrderValue"], json!([42.5, 7.5]));
    assert_eq!(order_doc["Channel"], "web");
    assert_eq!(order_doc["orderId"], "o-1");
    assert_eq!(
        order_doc["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "Orders"
    );
    assert_eq!(
        docs.iter()
            .filter(|d| d.get("OrdersCreated").is_some())
            .count(),
        1,
        "flushed once"
    );

    let line = logs
        .all()
        .into_iter()
        .find(|l| l.contains("order created"))
        .expect("the handler's log line");
    let line: Value = serde_json::from_str(&line).expect("a JSON log line");
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["message"], "order created");
    assert_eq!(line["order"], "o-1");
    assert_eq!(line["functionName"], "local");
    assert!(
        line["requestId"]
            .as_str()
            .is_some_and(|id| id.starts_with("local-")),
        "{line}"
    );
    assert!(
        line["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{line}"
    );
    assert!(line["coldStart"].is_boolean());
}

#[test]
fn log_levels_follow_aws_lambda_log_level() {
    assert_eq!(
        svless::logging::level_from(Some("WARN")),
        tracing::Level::WARN
    );
    assert_eq!(
        svless::logging::level_from(Some("trace")),
        tracing::Level::TRACE
    );
}
