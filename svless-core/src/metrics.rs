//! CloudWatch metrics in the Embedded Metric Format (EMF), written once per invocation.
//!
//! A handler takes the [`Metrics`] extractor and adds values; when the invocation ends, svless
//! writes the EMF documents as log lines, which CloudWatch turns into metrics. The first
//! invocation of an execution environment also writes a `ColdStart` count.

use crate::invocation::{FromInvocation, Invocation};
use crate::scope::{self, Scope};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// At most this many metrics in one EMF document.
pub const MAX_METRICS: usize = 100;
/// At most this many dimension keys in one dimension set.
pub const MAX_DIMENSIONS: usize = 30;
/// At most this many values for one metric in one document.
pub const MAX_VALUES: usize = 100;

/// The unit of a metric, as CloudWatch names it.
///
/// ```
/// assert_eq!(svless_core::metrics::Unit::Milliseconds.name(), "Milliseconds");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Unit {
    Seconds,
    Microseconds,
    Milliseconds,
    Bytes,
    Kilobytes,
    Megabytes,
    Gigabytes,
    Terabytes,
    Bits,
    Kilobits,
    Megabits,
    Gigabits,
    Terabits,
    Percent,
    Count,
    BytesPerSecond,
    KilobytesPerSecond,
    MegabytesPerSecond,
    GigabytesPerSecond,
    TerabytesPerSecond,
    BitsPerSecond,
    KilobitsPerSecond,
    MegabitsPerSecond,
    GigabitsPerSecond,
    TerabitsPerSecond,
    CountPerSecond,
    None,
}

impl Unit {
    /// The name CloudWatch uses (`Bytes/Second`, `Count`, ...).
    ///
    /// ```
    /// assert_eq!(svless_core::metrics::Unit::BytesPerSecond.name(), "Bytes/Second");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Unit::Seconds => "Seconds",
            Unit::Microseconds => "Microseconds",
            Unit::Milliseconds => "Milliseconds",
            Unit::Bytes => "Bytes",
            Unit::Kilobytes => "Kilobytes",
            Unit::Megabytes => "Megabytes",
            Unit::Gigabytes => "Gigabytes",
            Unit::Terabytes => "Terabytes",
            Unit::Bits => "Bits",
            Unit::Kilobits => "Kilobits",
            Unit::Megabits => "Megabits",
            Unit::Gigabits => "Gigabits",
            Unit::Terabits => "Terabits",
            Unit::Percent => "Percent",
            Unit::Count => "Count",
            Unit::BytesPerSecond => "Bytes/Second",
            Unit::KilobytesPerSecond => "Kilobytes/Second",
            Unit::MegabytesPerSecond => "Megabytes/Second",
            Unit::GigabytesPerSecond => "Gigabytes/Second",
            Unit::TerabytesPerSecond => "Terabytes/Second",
            Unit::BitsPerSecond => "Bits/Second",
            Unit::KilobitsPerSecond => "Kilobits/Second",
            Unit::MegabitsPerSecond => "Megabits/Second",
            Unit::GigabitsPerSecond => "Gigabits/Second",
            Unit::TerabitsPerSecond => "Terabits/Second",
            Unit::CountPerSecond => "Count/Second",
            Unit::None => "None",
        }
    }
}

#[derive(Debug, Clone)]
struct Metric {
    name: String,
    unit: Unit,
    high_resolution: bool,
    values: Vec<f64>,
}

/// The metrics of one invocation.
///
/// ```
/// let mut set = svless_core::metrics::MetricSet::new("Todo");
/// set.add("Created", svless_core::metrics::Unit::Count, 1.0, false).expect("valid");
/// assert_eq!(set.documents(0).len(), 1);
/// ```
#[derive(Debug, Clone, Default)]
pub struct MetricSet {
    namespace: String,
    dimensions: Vec<(String, String)>,
    metrics: Vec<Metric>,
    properties: Map<String, Value>,
}

/// Why a metric or dimension was refused.
///
/// ```
/// let mut set = svless_core::metrics::MetricSet::new("Todo");
/// assert!(set.add("", svless_core::metrics::Unit::Count, 1.0, false).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// A name must have 1 to 255 characters.
    #[error("the name `{0}` must have 1 to 255 characters")]
    BadName(String),
    /// A value must be a finite number.
    #[error("the value of `{0}` is not a finite number")]
    NotFinite(String),
    /// A metric already has another unit or resolution in this invocation.
    #[error("`{0}` was added with another unit or resolution in this invocation")]
    Conflict(String),
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().count() <= 255
}

impl MetricSet {
    /// An empty set in `namespace`.
    ///
    /// ```
    /// let set = svless_core::metrics::MetricSet::new("Todo");
    /// assert!(set.is_empty());
    /// ```
    pub fn new(namespace: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            ..Self::default()
        }
    }

    /// Whether no metric was added.
    ///
    /// ```
    /// assert!(svless_core::metrics::MetricSet::new("N").is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty()
    }

    /// Adds a value.
    ///
    /// ```
    /// use svless_core::metrics::{MetricSet, Unit};
    /// let mut set = MetricSet::new("Todo");
    /// set.add("Latency", Unit::Milliseconds, 12.5, false).expect("a valid metric");
    /// assert!(!set.is_empty());
    /// ```
    pub fn add(
        &mut self,
        name: &str,
        unit: Unit,
        value: f64,
        high_resolution: bool,
    ) -> Result<(), MetricsError> {
        if !valid_name(name) {
            return Err(MetricsError::BadName(name.to_owned()));
        }
        if !value.is_finite() {
            return Err(MetricsError::NotFinite(name.to_owned()));
        }
        match self.metrics.iter_mut().find(|m| m.name == name) {
            Some(metric) if metric.unit != unit || metric.high_resolution != high_resolution => {
                Err(MetricsError::Conflict(name.to_owned()))
            }
            Some(metric) => {
                metric.values.push(value);
                Ok(())
            }
            None => {
                self.metrics.push(Metric {
                    name: name.to_owned(),
                    unit,
                    high_resolution,
                    values: vec![value],
                });
                Ok(())
            }
        }
    }

    /// Adds a dimension to every metric of the set.
    ///
    /// ```
    /// let mut set = svless_core::metrics::MetricSet::new("Todo");
    /// set.dimension("Route", "GET /todos").expect("a valid dimension");
    /// ```
    pub fn dimension(&mut self, name: &str, value: &str) -> Result<(), MetricsError> {
        if !valid_name(name) {
            return Err(MetricsError::BadName(name.to_owned()));
        }
        if !valid_name(value) {
            return Err(MetricsError::BadName(value.to_owned()));
        }
        match self.dimensions.iter_mut().find(|(n, _)| n == name) {
            Some(existing) => existing.1 = value.to_owned(),
            None => self.dimensions.push((name.to_owned(), value.to_owned())),
        }
        Ok(())
    }

    /// Adds a property: searchable in CloudWatch Logs, not a metric.
    ///
    /// ```
    /// let mut set = svless_core::metrics::MetricSet::new("Todo");
    /// set.property("orderId", serde_json::json!("o-1"));
    /// ```
    pub fn property(&mut self, key: &str, value: Value) {
        self.properties.insert(key.to_owned(), value);
    }

    /// The EMF documents for the set: metrics split by 100 (and values by 100), dimension keys
    /// split into sets of at most 30.
    ///
    /// ```
    /// use svless_core::metrics::{MetricSet, Unit};
    /// let mut set = MetricSet::new("Todo");
    /// set.add("Created", Unit::Count, 1.0, false).expect("valid");
    /// let docs = set.documents(1_700_000_000_000);
    /// assert_eq!(docs[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Todo");
    /// assert_eq!(docs[0]["Created"], 1.0);
    /// ```
    pub fn documents(&self, timestamp_ms: i64) -> Vec<Value> {
        let dimension_sets: Vec<Vec<&str>> = if self.dimensions.is_empty() {
            vec![Vec::new()]
        } else {
            self.dimensions
                .chunks(MAX_DIMENSIONS)
                .map(|c| c.iter().map(|(n, _)| n.as_str()).collect())
                .collect()
        };
        // Each metric's values in chunks of at most MAX_VALUES; each document takes at most
        // MAX_METRICS metrics and at most one chunk of each.
        let mut pending: Vec<(&Metric, &[f64])> = Vec::new();
        for metric in &self.metrics {
            for chunk in metric.values.chunks(MAX_VALUES) {
                pending.push((metric, chunk));
            }
        }
        let mut documents = Vec::new();
        while !pending.is_empty() {
            let mut taken: Vec<(&Metric, &[f64])> = Vec::new();
            let mut rest = Vec::new();
            for (metric, values) in pending {
                if taken.len() < MAX_METRICS && !taken.iter().any(|(m, _)| m.name == metric.name) {
                    taken.push((metric, values));
                } else {
                    rest.push((metric, values));
                }
            }
            pending = rest;
            let mut document = self.properties.clone();
            for (name, value) in &self.dimensions {
                document.insert(name.clone(), Value::String(value.clone()));
            }
            let definitions: Vec<Value> = taken
                .iter()
                .map(|(m, _)| {
                    json!({
                        "Name": m.name,
                        "Unit": m.unit.name(),
                        "StorageResolution": if m.high_resolution { 1 } else { 60 },
                    })
                })
                .collect();
            for (metric, values) in &taken {
                let value = match values {
                    [one] => json!(one),
                    many => json!(many),
                };
                document.insert(metric.name.clone(), value);
            }
            document.insert(
                "_aws".into(),
                json!({
                    "Timestamp": timestamp_ms,
                    "CloudWatchMetrics": [{
                        "Namespace": self.namespace,
                        "Dimensions": dimension_sets,
                        "Metrics": definitions,
                    }],
                }),
            );
            documents.push(Value::Object(document));
        }
        documents
    }
}

/// The metrics of the current invocation: a handler argument (HTTP and event handlers alike).
///
/// ```
/// use svless_core::metrics::{Metrics, Unit};
///
/// async fn create_order(metrics: Metrics) -> &'static str {
///     metrics.count("OrdersCreated", 1.0);
///     metrics.add("OrderValue", Unit::None, 42.0);
///     metrics.dimension("Channel", "web");
///     "ok"
/// }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    scope: Option<Arc<Scope>>,
}

impl Metrics {
    fn with(&self, f: impl FnOnce(&mut MetricSet) -> Result<(), MetricsError>) {
        let Some(scope) = &self.scope else {
            tracing::debug!("a metric outside an invocation is dropped");
            return;
        };
        let mut metrics = scope.metrics();
        let set = metrics.get_or_insert_with(|| MetricSet::new(&scope.namespace));
        if let Err(err) = f(set) {
            tracing::warn!(error = %err, "a metric was refused");
        }
    }

    /// Adds a value in `unit` at standard (one-minute) resolution.
    ///
    /// ```
    /// svless_core::metrics::Metrics::default().add("Latency", svless_core::metrics::Unit::Milliseconds, 3.0);
    /// ```
    pub fn add(&self, name: &str, unit: Unit, value: f64) {
        self.with(|set| set.add(name, unit, value, false));
    }

    /// Adds a value at high (one-second) resolution.
    ///
    /// ```
    /// svless_core::metrics::Metrics::default().add_high_resolution("QueueDepth", svless_core::metrics::Unit::Count, 7.0);
    /// ```
    pub fn add_high_resolution(&self, name: &str, unit: Unit, value: f64) {
        self.with(|set| set.add(name, unit, value, true));
    }

    /// Adds a count.
    ///
    /// ```
    /// svless_core::metrics::Metrics::default().count("Orders", 1.0);
    /// ```
    pub fn count(&self, name: &str, n: f64) {
        self.add(name, Unit::Count, n);
    }

    /// Adds a dimension to this invocation's metrics.
    ///
    /// ```
    /// svless_core::metrics::Metrics::default().dimension("Tenant", "acme");
    /// ```
    pub fn dimension(&self, name: &str, value: &str) {
        self.with(|set| set.dimension(name, value));
    }

    /// Adds a property (searchable in the log line, not a metric).
    ///
    /// ```
    /// svless_core::metrics::Metrics::default().property("orderId", serde_json::json!("o-1"));
    /// ```
    pub fn property(&self, key: &str, value: Value) {
        self.with(|set| {
            set.property(key, value);
            Ok(())
        });
    }
}

impl<S> FromInvocation<S> for Metrics {
    fn from_invocation(_invocation: &Invocation<S>) -> Result<Self, crate::BoxError> {
        Ok(Metrics {
            scope: scope::current(),
        })
    }
}

/// Where EMF documents go: one JSON line each. The default writes to standard output, which
/// Lambda sends to CloudWatch Logs.
pub type MetricsSink = Arc<dyn Fn(&str) + Send + Sync>;

pub(crate) fn stdout_sink() -> MetricsSink {
    Arc::new(|line: &str| println!("{line}"))
}

/// Writes the invocation's metrics (and, on a cold start, the `ColdStart` count).
pub(crate) fn flush(scope: &Scope, sink: &MetricsSink) {
    let namespace = &*scope.namespace;
    let now = chrono::Utc::now().timestamp_millis();
    if scope.cold_start {
        let mut cold = MetricSet::new(namespace);
        let function = if scope.function_name.is_empty() {
            "local"
        } else {
            scope.function_name.as_str()
        };
        if cold.add("ColdStart", Unit::Count, 1.0, false).is_ok()
            && cold.dimension("function_name", function).is_ok()
        {
            for document in cold.documents(now) {
                sink(&document.to_string());
            }
        }
    }
    let metrics = scope.metrics();
    let Some(set) = metrics.as_ref().filter(|set| !set.is_empty()) else {
        return;
    };
    for document in set.documents(now) {
        sink(&document.to_string());
    }
}
