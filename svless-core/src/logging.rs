//! Logs as Lambda's advanced logging controls write them: JSON lines with the request id.
//!
//! [`init`] installs a `tracing` subscriber. With `AWS_LAMBDA_LOG_FORMAT=JSON` each event is one
//! JSON object — `timestamp`, `level`, `message`, `requestId`, `functionName`, `coldStart`,
//! `traceId`, and the event's own fields — filtered by `AWS_LAMBDA_LOG_LEVEL`. Otherwise (the
//! default, and local runs) it writes plain text.

use crate::scope;
use serde_json::{Map, Value};
use std::fmt;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The JSON event format of Lambda's advanced logging controls.
///
/// ```
/// let subscriber = tracing_subscriber::fmt().event_format(svless_core::logging::LambdaJson).finish();
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct LambdaJson;

struct JsonFields<'a>(&'a mut Map<String, Value>);

impl Visit for JsonFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().to_owned(), Value::String(value.to_owned()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0
            .insert(field.name().to_owned(), Value::String(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().to_owned(), Value::String(format!("{value:?}")));
    }
}

/// Renders one event as a Lambda JSON log line (without the newline).
///
/// ```
/// // Inside an invocation the line also carries requestId, functionName, coldStart and traceId.
/// let line = svless_core::logging::json_line(tracing::Level::WARN, serde_json::Map::new());
/// assert!(line.contains("\"level\":\"WARN\""));
/// ```
pub fn json_line(level: Level, fields: Map<String, Value>) -> String {
    let mut line = Map::new();
    line.insert(
        "timestamp".into(),
        Value::String(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
    );
    line.insert("level".into(), Value::String(level.as_str().to_owned()));
    if let Some(scope) = scope::current() {
        line.insert("requestId".into(), Value::String(scope.request_id.clone()));
        line.insert(
            "functionName".into(),
            Value::String(scope.function_name.clone()),
        );
        line.insert("coldStart".into(), Value::Bool(scope.cold_start));
        if let Some(trace) = &scope.trace_id {
            line.insert("traceId".into(), Value::String(trace.clone()));
        }
    }
    for (key, value) in fields {
        line.entry(key).or_insert(value);
    }
    Value::Object(line).to_string()
}

impl<S, N> FormatEvent<S, N> for LambdaJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = Map::new();
        event.record(&mut JsonFields(&mut fields));
        writeln!(writer, "{}", json_line(*event.metadata().level(), fields))
    }
}

/// The level `AWS_LAMBDA_LOG_LEVEL` asks for (`FATAL` is `ERROR`); `INFO` when unset.
///
/// ```
/// assert_eq!(svless_core::logging::level_from(Some("debug")), tracing::Level::DEBUG);
/// assert_eq!(svless_core::logging::level_from(Some("FATAL")), tracing::Level::ERROR);
/// assert_eq!(svless_core::logging::level_from(None), tracing::Level::INFO);
/// ```
pub fn level_from(value: Option<&str>) -> Level {
    match value.map(str::to_ascii_uppercase).as_deref() {
        Some("TRACE") => Level::TRACE,
        Some("DEBUG") => Level::DEBUG,
        Some("WARN") => Level::WARN,
        Some("ERROR") | Some("FATAL") => Level::ERROR,
        _ => Level::INFO,
    }
}

/// Installs the log subscriber, unless one is installed already. `runtime::run` calls it.
///
/// ```
/// svless_core::logging::init();
/// tracing::info!(orders = 3, "processed");
/// ```
pub fn init() {
    if tracing::dispatcher::has_been_set() {
        return;
    }
    let level = level_from(std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref());
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stdout);
    let installed = if json {
        tracing::subscriber::set_global_default(builder.event_format(LambdaJson).finish())
    } else {
        tracing::subscriber::set_global_default(builder.with_ansi(false).finish())
    };
    if installed.is_err() {
        tracing::debug!("a log subscriber was installed meanwhile");
    }
}
