//! A state machine definition parsed into typed states, with every problem found reported with
//! its location, as `ValidateStateMachineDefinition` reports diagnostics.
//!
//! ```
//! use svless_asl::model::Definition;
//!
//! let definition = Definition::parse(r#"{
//!   "StartAt": "Hello",
//!   "States": { "Hello": { "Type": "Pass", "Result": "world", "End": true } }
//! }"#).expect("a valid definition");
//! assert_eq!(definition.start_at, "Hello");
//! ```

use crate::choice::Rule;
use crate::path::Path;
use crate::template::Template;
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap};
use std::fmt;

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The definition cannot be created.
    Error,
    /// The definition works, but probably not as meant.
    Warning,
}

/// A problem found in a definition: its code (AWS's where AWS documents one), a message and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// `SCHEMA_VALIDATION_FAILED`, `MISSING_TRANSITION_TARGET`, `NO_DOLLAR`, ...
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// Where, as a JSON pointer into the definition (`/States/Check/Next`).
    pub location: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} at {}", self.code, self.message, self.location)
    }
}

/// Every diagnostic of a definition that cannot be used (errors first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub Vec<Diagnostic>);

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors: Vec<String> = self
            .0
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(ToString::to_string)
            .collect();
        write!(
            f,
            "Invalid State Machine Definition: '{}'",
            errors.join(", ")
        )
    }
}

impl std::error::Error for Invalid {}

/// A state machine (or a Parallel branch, or a Map's item processor).
#[derive(Debug, Clone)]
pub struct Definition {
    /// `Comment`.
    pub comment: Option<String>,
    /// `StartAt`.
    pub start_at: String,
    /// The states, in the order written.
    pub states: Vec<State>,
    /// `TimeoutSeconds` of the whole execution.
    pub timeout_seconds: Option<u64>,
    index: HashMap<String, usize>,
}

/// One state.
#[derive(Debug, Clone)]
pub struct State {
    /// Its name.
    pub name: String,
    /// `Comment`.
    pub comment: Option<String>,
    /// What kind of state, with its own fields.
    pub kind: Kind,
    /// `InputPath` (`None`: `$`; `Some(None)`: `null`, an empty object).
    pub input_path: Option<Option<Path>>,
    /// `OutputPath` (`None`: `$`; `Some(None)`: `null`, an empty object).
    pub output_path: Option<Option<Path>>,
    /// `Parameters`.
    pub parameters: Option<Template>,
    /// `ResultSelector`.
    pub result_selector: Option<Template>,
    /// `ResultPath` (`None`: `$`; `Some(None)`: `null`, the result is discarded).
    pub result_path: Option<Option<Path>>,
    /// `Next` (`None` with `End: true`, or for terminal types).
    pub next: Option<String>,
    /// `Retry`.
    pub retry: Vec<Retrier>,
    /// `Catch`.
    pub catch: Vec<Catcher>,
}

/// A number given directly or read from the input (`TimeoutSeconds` / `TimeoutSecondsPath`).
#[derive(Debug, Clone, PartialEq)]
pub enum Dynamic<T> {
    /// Written in the definition.
    Fixed(T),
    /// Read from the input by a reference path.
    Path(Path),
}

/// The fields of each state type.
#[derive(Debug, Clone)]
pub enum Kind {
    /// `Pass`.
    Pass {
        /// `Result`.
        result: Option<Value>,
    },
    /// `Task`.
    Task(Task),
    /// `Choice`.
    Choice {
        /// `Choices`, each with its `Next`.
        choices: Vec<(Rule, String)>,
        /// `Default`.
        default: Option<String>,
    },
    /// `Wait`.
    Wait(Wait),
    /// `Succeed`.
    Succeed,
    /// `Fail`.
    Fail {
        /// `Error` or `ErrorPath`.
        error: Option<Dynamic<String>>,
        /// `Cause` or `CausePath`.
        cause: Option<Dynamic<String>>,
    },
    /// `Parallel`.
    Parallel {
        /// `Branches`.
        branches: Vec<Definition>,
    },
    /// `Map` (inline).
    Map(Box<MapState>),
}

/// A Task state's own fields.
#[derive(Debug, Clone)]
pub struct Task {
    /// `Resource`.
    pub resource: String,
    /// `TimeoutSeconds` / `TimeoutSecondsPath`.
    pub timeout: Option<Dynamic<u64>>,
    /// `HeartbeatSeconds` / `HeartbeatSecondsPath`.
    pub heartbeat: Option<Dynamic<u64>>,
    /// JSONata `Arguments`, as written (kept for checks; the local interpreter refuses JSONata).
    pub arguments: Option<Value>,
}

impl Task {
    /// The function a Lambda task invokes: `FunctionName` of an `arn:…:states:::lambda:invoke`
    /// task (from `Parameters` or JSONata `Arguments`), or a function ARN given as `Resource`.
    ///
    /// ```
    /// let d = svless_asl::model::Definition::parse(r#"{"StartAt": "T", "States": {"T": {"Type": "Task",
    ///   "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "resize", "Payload.$": "$"},
    ///   "End": true}}}"#).expect("valid");
    /// let svless_asl::model::Kind::Task(task) = &d.states[0].kind else { unreachable!() };
    /// assert_eq!(task.invoked_function(d.states[0].parameters.as_ref()).as_deref(), Some("resize"));
    /// ```
    pub fn invoked_function(&self, parameters: Option<&Template>) -> Option<String> {
        if arn_rest(&self.resource, "states").is_some_and(|r| r.starts_with("::lambda:invoke")) {
            if let Some(parameters @ Template::Object(_)) = parameters {
                return parameters.literal("FunctionName").map(str::to_owned);
            }
            return self
                .arguments
                .as_ref()?
                .get("FunctionName")?
                .as_str()
                .map(str::to_owned);
        }
        arn_rest(&self.resource, "lambda").map(|_| self.resource.clone())
    }
}

/// The part of an ARN after `arn:<partition>:<service>:`, for any partition (`aws`, `aws-cn`,
/// `aws-us-gov`, ...).
pub fn arn_rest<'a>(arn: &'a str, service: &str) -> Option<&'a str> {
    let rest = arn.strip_prefix("arn:")?;
    let (partition, rest) = rest.split_once(':')?;
    if !partition.starts_with("aws") {
        return None;
    }
    rest.strip_prefix(service)?.strip_prefix(':')
}

/// How long a Wait state waits.
#[derive(Debug, Clone, PartialEq)]
pub enum Wait {
    /// `Seconds`.
    Seconds(u64),
    /// `SecondsPath`.
    SecondsPath(Path),
    /// `Timestamp`.
    Timestamp(String),
    /// `TimestampPath`.
    TimestampPath(Path),
}

/// A Map state's own fields.
#[derive(Debug, Clone)]
pub struct MapState {
    /// `ItemProcessor` (or the older `Iterator`).
    pub processor: Definition,
    /// `ItemsPath` (default `$`).
    pub items_path: Option<Path>,
    /// `ItemSelector` (or the older `Parameters` of a Map).
    pub item_selector: Option<Template>,
    /// `MaxConcurrency` (0: no limit).
    pub max_concurrency: Option<Dynamic<u64>>,
    /// `ToleratedFailurePercentage`.
    pub tolerated_percentage: Option<Dynamic<f64>>,
    /// `ToleratedFailureCount`.
    pub tolerated_count: Option<Dynamic<u64>>,
}

/// A `Retry` rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Retrier {
    /// `ErrorEquals`.
    pub error_equals: Vec<String>,
    /// `IntervalSeconds` (default 1).
    pub interval_seconds: f64,
    /// `MaxAttempts` (default 3; 0 never retries).
    pub max_attempts: u64,
    /// `BackoffRate` (default 2.0).
    pub backoff_rate: f64,
    /// `MaxDelaySeconds`.
    pub max_delay_seconds: Option<f64>,
    /// `JitterStrategy: FULL`.
    pub full_jitter: bool,
}

/// A `Catch` rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Catcher {
    /// `ErrorEquals`.
    pub error_equals: Vec<String>,
    /// `Next`.
    pub next: String,
    /// `ResultPath` (default `$`; `null` discards the error output).
    pub result_path: Option<Option<Path>>,
}

impl Definition {
    /// Parses and validates a definition: the definition, or every diagnostic (an
    /// [`Invalid`] holds at least one error).
    ///
    /// ```
    /// let err = svless_asl::model::Definition::parse(r#"{"StartAt": "A", "States": {
    ///   "A": {"Type": "Pass", "Next": "B"}
    /// }}"#).unwrap_err();
    /// assert_eq!(err.0[0].code, "MISSING_TRANSITION_TARGET");
    /// assert_eq!(err.0[0].location, "/States/A/Next");
    /// ```
    pub fn parse(text: &str) -> Result<Definition, Invalid> {
        let (definition, diagnostics) = Definition::validate(text);
        match definition {
            Some(definition) if !diagnostics.iter().any(|d| d.severity == Severity::Error) => {
                Ok(definition)
            }
            _ => Err(Invalid(diagnostics)),
        }
    }

    /// Every diagnostic of a definition (errors and warnings), and the definition when it
    /// could be read at all.
    ///
    /// ```
    /// let (_, diagnostics) = svless_asl::model::Definition::validate(r#"{"StartAt": "A", "States": {
    ///   "A": {"Type": "Pass", "Parameters": {"id": "$.id"}, "End": true}
    /// }}"#);
    /// assert_eq!(diagnostics[0].code, "NO_DOLLAR");
    /// ```
    pub fn validate(text: &str) -> (Option<Definition>, Vec<Diagnostic>) {
        let mut checker = Checker::default();
        if text.trim().is_empty() {
            checker.error("MISSING_DESCRIPTION", "the definition is empty", "");
            return (None, checker.diagnostics);
        }
        let root: Value = match serde_json::from_str(text) {
            Ok(root) => root,
            Err(e) => {
                checker.error("INVALID_JSON_DESCRIPTION", e.to_string(), "");
                return (None, checker.diagnostics);
            }
        };
        let definition = checker.machine(&root, "", true);
        checker
            .diagnostics
            .sort_by_key(|d| d.severity == Severity::Warning);
        (definition, checker.diagnostics)
    }

    /// The state named `name`.
    ///
    /// ```
    /// let d = svless_asl::model::Definition::parse(r#"{"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}"#).expect("valid");
    /// assert!(d.state("A").is_some());
    /// ```
    pub fn state(&self, name: &str) -> Option<&State> {
        self.index.get(name).map(|&i| &self.states[i])
    }

    /// Every state of this machine and of its branches and item processors, depth first.
    ///
    /// ```
    /// let d = svless_asl::model::Definition::parse(r#"{"StartAt": "P", "States": {"P": {"Type": "Parallel",
    ///   "Branches": [{"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}], "End": true}}}"#).expect("valid");
    /// assert_eq!(d.all_states().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["P", "A"]);
    /// ```
    pub fn all_states(&self) -> impl Iterator<Item = &State> {
        let mut out = Vec::new();
        collect(self, &mut out);
        out.into_iter()
    }
}

fn collect<'d>(definition: &'d Definition, out: &mut Vec<&'d State>) {
    for state in &definition.states {
        out.push(state);
        match &state.kind {
            Kind::Parallel { branches } => branches.iter().for_each(|b| collect(b, out)),
            Kind::Map(map) => collect(&map.processor, out),
            _ => {}
        }
    }
}

const STATE_TYPES: [&str; 8] = [
    "Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map",
];

/// The fields each state type may have (the ASL specification's table of fields).
fn allowed(kind: &str) -> &'static [&'static str] {
    match kind {
        "Pass" => &[
            "Type",
            "Comment",
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "Result",
        ],
        "Task" => &[
            "Type",
            "Comment",
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Retry",
            "Catch",
            "Resource",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
            "Credentials",
        ],
        "Choice" => &[
            "Type",
            "Comment",
            "InputPath",
            "OutputPath",
            "Choices",
            "Default",
        ],
        "Wait" => &[
            "Type",
            "Comment",
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Seconds",
            "SecondsPath",
            "Timestamp",
            "TimestampPath",
        ],
        "Succeed" => &["Type", "Comment", "InputPath", "OutputPath"],
        "Fail" => &[
            "Type",
            "Comment",
            "Error",
            "ErrorPath",
            "Cause",
            "CausePath",
        ],
        "Parallel" => &[
            "Type",
            "Comment",
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Retry",
            "Catch",
            "Branches",
        ],
        "Map" => &[
            "Type",
            "Comment",
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Retry",
            "Catch",
            "Iterator",
            "ItemProcessor",
            "ItemsPath",
            "ItemSelector",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
            "ToleratedFailureCount",
            "ToleratedFailureCountPath",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
            "Label",
        ],
        _ => &[],
    }
}

/// Fields of AWS features the local interpreter does not run: refused by name, never mis-run.
const NOT_LOCAL: &[(&str, &str)] = &[
    ("QueryLanguage", "the JSONata query language"),
    ("Assign", "variables (`Assign`)"),
    ("Arguments", "JSONata `Arguments`"),
    ("Output", "JSONata `Output`"),
    ("Items", "JSONata `Items`"),
    ("ItemReader", "a distributed Map's `ItemReader`"),
    ("ItemBatcher", "a distributed Map's `ItemBatcher`"),
    ("ResultWriter", "a distributed Map's `ResultWriter`"),
];

/// The error names Step Functions itself raises (the developer guide's "Error names"); other
/// names starting with `States.` are reserved.
pub const STATES_ERRORS: &[&str] = &[
    "States.ALL",
    "States.DataLimitExceeded",
    "States.ExceedToleratedFailureThreshold",
    "States.HeartbeatTimeout",
    "States.Http.Socket",
    "States.IntrinsicFailure",
    "States.ItemReaderFailed",
    "States.NoChoiceMatched",
    "States.ParameterPathFailure",
    "States.Permissions",
    "States.QueryEvaluationError",
    "States.ResultPathMatchFailure",
    "States.ResultWriterFailed",
    "States.Runtime",
    "States.TaskFailed",
    "States.Timeout",
    "States.BranchFailed",
];

#[derive(Default)]
struct Checker {
    diagnostics: Vec<Diagnostic>,
}

impl Checker {
    fn error(&mut self, code: &'static str, message: impl Into<String>, location: &str) {
        self.diagnostics.push(Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            location: location.to_owned(),
        });
    }

    fn warning(&mut self, code: &'static str, message: impl Into<String>, location: &str) {
        self.diagnostics.push(Diagnostic {
            severity: Severity::Warning,
            code,
            message: message.into(),
            location: location.to_owned(),
        });
    }

    fn schema(&mut self, message: impl Into<String>, location: &str) {
        self.error("SCHEMA_VALIDATION_FAILED", message, location);
    }

    fn machine(&mut self, root: &Value, at: &str, top: bool) -> Option<Definition> {
        let Some(map) = root.as_object() else {
            self.schema("a state machine must be an object", at);
            return None;
        };
        let known: &[&str] = if top {
            &[
                "Comment",
                "StartAt",
                "States",
                "TimeoutSeconds",
                "Version",
                "QueryLanguage",
            ]
        } else {
            &[
                "Comment",
                "StartAt",
                "States",
                "ProcessorConfig",
                "QueryLanguage",
            ]
        };
        for key in map.keys() {
            if let Some((_, what)) = NOT_LOCAL.iter().find(|(k, _)| k == key) {
                if key == "QueryLanguage"
                    && map.get(key).and_then(Value::as_str) == Some("JSONPath")
                {
                    continue;
                }
                self.error(
                    "UNSUPPORTED_LOCALLY",
                    format!("{what} is not supported by the local interpreter"),
                    &format!("{at}/{key}"),
                );
            } else if !known.contains(&key.as_str()) {
                self.schema(
                    format!("the field '{key}' is not supported here"),
                    &format!("{at}/{key}"),
                );
            }
        }
        if let Some(config) = map.get("ProcessorConfig")
            && config.get("Mode").and_then(Value::as_str) == Some("DISTRIBUTED")
        {
            self.error(
                "UNSUPPORTED_LOCALLY",
                "a distributed Map is not supported by the local interpreter (use INLINE)",
                &format!("{at}/ProcessorConfig/Mode"),
            );
        }
        let start_at = match map.get("StartAt") {
            Some(Value::String(s)) => s.clone(),
            _ => {
                self.schema("These fields are required: [StartAt]", at);
                String::new()
            }
        };
        let timeout_seconds = match map.get("TimeoutSeconds") {
            None => None,
            Some(v) => match v.as_u64().filter(|n| *n > 0) {
                Some(n) => Some(n),
                None => {
                    self.schema(
                        "TimeoutSeconds must be a positive integer",
                        &format!("{at}/TimeoutSeconds"),
                    );
                    None
                }
            },
        };
        let Some(states_value) = map.get("States").and_then(Value::as_object) else {
            self.schema("These fields are required: [States]", at);
            return None;
        };
        if states_value.is_empty() {
            self.schema(
                "States must hold at least one state",
                &format!("{at}/States"),
            );
        }
        let mut states = Vec::with_capacity(states_value.len());
        for (name, value) in states_value {
            let here = format!("{at}/States/{}", pointer_escape(name));
            if name.is_empty() || name.chars().count() > 80 {
                self.error(
                    "INVALID_STATE_NAME",
                    format!("the state name '{name}' must be 1 to 80 characters"),
                    &here,
                );
            } else if name.chars().any(|c| c.is_control()) {
                self.error(
                    "INVALID_STATE_NAME",
                    format!(
                        "the state name '{}' holds control characters",
                        name.escape_debug()
                    ),
                    &here,
                );
            }
            if let Some(state) = self.state(name, value, &here) {
                states.push(state);
            }
        }
        let index: HashMap<String, usize> = states
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), i))
            .collect();
        if !start_at.is_empty() && !states_value.contains_key(&start_at) {
            self.error(
                "MISSING_TRANSITION_TARGET",
                format!("Missing 'Next' target: {start_at}"),
                &format!("{at}/StartAt"),
            );
        }
        // Targets exist; every state is reachable; some state ends.
        let mut reachable = BTreeSet::new();
        let mut pending = vec![start_at.clone()];
        let mut terminal = false;
        while let Some(name) = pending.pop() {
            if !reachable.insert(name.clone()) {
                continue;
            }
            let Some(state) = index.get(&name).map(|&i| &states[i]) else {
                continue;
            };
            let here = format!("{at}/States/{}", pointer_escape(&name));
            let mut targets: Vec<(String, String)> = Vec::new();
            if let Some(next) = &state.next {
                targets.push((next.clone(), format!("{here}/Next")));
            }
            for (i, catcher) in state.catch.iter().enumerate() {
                targets.push((catcher.next.clone(), format!("{here}/Catch/{i}/Next")));
            }
            match &state.kind {
                Kind::Choice { choices, default } => {
                    for (i, (_, next)) in choices.iter().enumerate() {
                        targets.push((next.clone(), format!("{here}/Choices/{i}/Next")));
                    }
                    if let Some(default) = default {
                        targets.push((default.clone(), format!("{here}/Default")));
                    }
                }
                Kind::Succeed | Kind::Fail { .. } => terminal = true,
                _ if state.next.is_none() => terminal = true,
                _ => {}
            }
            for (target, location) in targets {
                if index.contains_key(&target) {
                    pending.push(target);
                } else {
                    self.error(
                        "MISSING_TRANSITION_TARGET",
                        format!("Missing 'Next' target: {target}"),
                        &location,
                    );
                }
            }
        }
        for state in &states {
            if !reachable.contains(&state.name) {
                self.error(
                    "UNREACHABLE_STATE",
                    format!("State \"{}\" is not reachable", state.name),
                    &format!("{at}/States/{}", pointer_escape(&state.name)),
                );
            }
        }
        if !terminal && !states.is_empty() && index.contains_key(&start_at) {
            self.error(
                "MISSING_END_STATE",
                "the workflow has no terminal state",
                at,
            );
        }
        Some(Definition {
            comment: map
                .get("Comment")
                .and_then(Value::as_str)
                .map(str::to_owned),
            start_at,
            states,
            timeout_seconds,
            index,
        })
    }

    fn state(&mut self, name: &str, value: &Value, at: &str) -> Option<State> {
        let Some(map) = value.as_object() else {
            self.schema("a state must be an object", at);
            return None;
        };
        let Some(kind_name) = map.get("Type").and_then(Value::as_str) else {
            self.schema("These fields are required: [Type]", at);
            return None;
        };
        if !STATE_TYPES.contains(&kind_name) {
            self.schema(
                format!("'{kind_name}' is not a state type (Task, Pass, Choice, Wait, Succeed, Fail, Parallel, Map)"),
                &format!("{at}/Type"),
            );
            return None;
        }
        let fields = allowed(kind_name);
        for key in map.keys() {
            if let Some((_, what)) = NOT_LOCAL.iter().find(|(k, _)| k == key) {
                if key == "QueryLanguage"
                    && map.get(key).and_then(Value::as_str) == Some("JSONPath")
                {
                    continue;
                }
                self.error(
                    "UNSUPPORTED_LOCALLY",
                    format!("{what} is not supported by the local interpreter"),
                    &format!("{at}/{key}"),
                );
            } else if !fields.contains(&key.as_str()) {
                self.schema(
                    format!("Field '{key}' is not supported for a {kind_name} state"),
                    &format!("{at}/{key}"),
                );
            }
        }
        let string_field = |checker: &mut Checker, key: &str| -> Option<String> {
            match map.get(key) {
                None => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => {
                    checker.schema(format!("{key} must be a string"), &format!("{at}/{key}"));
                    None
                }
            }
        };
        let terminal = matches!(kind_name, "Choice" | "Succeed" | "Fail");
        let next = string_field(self, "Next");
        let end = match map.get("End") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                self.schema("End must be true or false", &format!("{at}/End"));
                false
            }
        };
        if !terminal {
            match (&next, end) {
                (Some(_), true) => {
                    self.schema("a state has either Next or End: true, not both", at)
                }
                (None, false) => self.schema("These fields are required: [Next or End]", at),
                _ => {}
            }
        }
        let input_path = self.nullable_path(map, "InputPath", at, false);
        let output_path = self.nullable_path(map, "OutputPath", at, false);
        let result_path = self.nullable_path(map, "ResultPath", at, true);
        let parameters = self.template(map, "Parameters", at);
        let result_selector = self.template(map, "ResultSelector", at);
        let retry = self.retriers(map, at);
        let catch = self.catchers(map, at);
        let kind = match kind_name {
            "Pass" => {
                if let Some(result) = map.get("Result") {
                    self.static_result(result, &format!("{at}/Result"));
                }
                Kind::Pass {
                    result: map.get("Result").cloned(),
                }
            }
            "Task" => {
                let resource = string_field(self, "Resource").unwrap_or_else(|| {
                    self.schema("These fields are required: [Resource]", at);
                    String::new()
                });
                if !resource.is_empty() && !resource.starts_with("arn:") {
                    self.error(
                        "INVALID_RESOURCE",
                        format!("'{resource}' is not an ARN"),
                        &format!("{at}/Resource"),
                    );
                }
                let timeout = self.dynamic_u64(map, "TimeoutSeconds", at);
                let heartbeat = self.dynamic_u64(map, "HeartbeatSeconds", at);
                if let (Some(Dynamic::Fixed(t)), Some(Dynamic::Fixed(h))) = (&timeout, &heartbeat)
                    && h >= t
                {
                    self.schema(
                        "HeartbeatSeconds must be smaller than TimeoutSeconds",
                        &format!("{at}/HeartbeatSeconds"),
                    );
                }
                Kind::Task(Task {
                    resource,
                    timeout,
                    heartbeat,
                    arguments: map.get("Arguments").cloned(),
                })
            }
            "Choice" => {
                let mut choices = Vec::new();
                match map.get("Choices").and_then(Value::as_array) {
                    Some(items) if !items.is_empty() => {
                        for (i, item) in items.iter().enumerate() {
                            let here = format!("{at}/Choices/{i}");
                            let Some(next) = item.get("Next").and_then(Value::as_str) else {
                                self.schema("These fields are required: [Next]", &here);
                                continue;
                            };
                            match Rule::parse(item, &here) {
                                Ok(rule) => choices.push((rule, next.to_owned())),
                                Err(e) => self.schema(e, &here),
                            }
                        }
                    }
                    _ => self.schema(
                        "a Choice state needs a non-empty array of Choices",
                        &format!("{at}/Choices"),
                    ),
                }
                Kind::Choice {
                    choices,
                    default: string_field(self, "Default"),
                }
            }
            "Wait" => {
                let given: Vec<&str> = ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"]
                    .into_iter()
                    .filter(|k| map.contains_key(*k))
                    .collect();
                if given.len() != 1 {
                    self.schema(
                        "a Wait state has exactly one of Seconds, SecondsPath, Timestamp, TimestampPath",
                        at,
                    );
                    return None;
                }
                let key = given[0];
                let value = &map[key];
                let here = format!("{at}/{key}");
                let wait = match key {
                    "Seconds" => match value.as_u64() {
                        Some(n) => Wait::Seconds(n),
                        None => {
                            self.schema("Seconds must be a non-negative integer", &here);
                            return None;
                        }
                    },
                    "Timestamp" => match value.as_str() {
                        Some(t) if crate::choice::timestamp(t).is_some() => {
                            Wait::Timestamp(t.to_owned())
                        }
                        _ => {
                            self.schema("Timestamp must be an RFC 3339 timestamp", &here);
                            return None;
                        }
                    },
                    _ => match self.reference(value, &here) {
                        Some(path) if key == "SecondsPath" => Wait::SecondsPath(path),
                        Some(path) => Wait::TimestampPath(path),
                        None => return None,
                    },
                };
                Kind::Wait(wait)
            }
            "Succeed" => Kind::Succeed,
            "Fail" => Kind::Fail {
                error: self.dynamic_string(map, "Error", at),
                cause: self.dynamic_string(map, "Cause", at),
            },
            "Parallel" => {
                let mut branches = Vec::new();
                match map.get("Branches").and_then(Value::as_array) {
                    Some(items) if !items.is_empty() => {
                        for (i, item) in items.iter().enumerate() {
                            if let Some(branch) =
                                self.machine(item, &format!("{at}/Branches/{i}"), false)
                            {
                                branches.push(branch);
                            }
                        }
                    }
                    _ => self.schema(
                        "a Parallel state needs a non-empty array of Branches",
                        &format!("{at}/Branches"),
                    ),
                }
                Kind::Parallel { branches }
            }
            "Map" => {
                let (key, processor) = match (map.get("ItemProcessor"), map.get("Iterator")) {
                    (Some(p), None) => ("ItemProcessor", p),
                    (None, Some(p)) => ("Iterator", p),
                    _ => {
                        self.schema("a Map state has one of ItemProcessor or Iterator", at);
                        return None;
                    }
                };
                let processor = self.machine(processor, &format!("{at}/{key}"), false)?;
                let items_path = map
                    .get("ItemsPath")
                    .and_then(|v| self.reference(v, &format!("{at}/ItemsPath")));
                let item_selector = match (
                    map.contains_key("ItemSelector"),
                    map.contains_key("Parameters"),
                ) {
                    (true, true) => {
                        self.schema("a Map state has ItemSelector or Parameters, not both", at);
                        None
                    }
                    (true, false) => self.template(map, "ItemSelector", at),
                    (false, _) => parameters.clone(),
                };
                let tolerated_percentage = self.dynamic_f64(map, "ToleratedFailurePercentage", at);
                if let Some(Dynamic::Fixed(p)) = tolerated_percentage
                    && !(0.0..=100.0).contains(&p)
                {
                    self.schema(
                        "ToleratedFailurePercentage must be between 0 and 100",
                        &format!("{at}/ToleratedFailurePercentage"),
                    );
                }
                Kind::Map(Box::new(MapState {
                    processor,
                    items_path,
                    item_selector,
                    max_concurrency: self.dynamic_u64(map, "MaxConcurrency", at),
                    tolerated_percentage,
                    tolerated_count: self.dynamic_u64(map, "ToleratedFailureCount", at),
                }))
            }
            _ => return None,
        };
        let parameters = if matches!(kind, Kind::Map(_)) {
            None
        } else {
            parameters
        };
        Some(State {
            name: name.to_owned(),
            comment: map
                .get("Comment")
                .and_then(Value::as_str)
                .map(str::to_owned),
            kind,
            input_path,
            output_path,
            parameters,
            result_selector,
            result_path,
            next: if terminal || end { None } else { next },
            retry,
            catch,
        })
    }

    /// A path field that may be `null`; `ResultPath` must be a reference path.
    fn nullable_path(
        &mut self,
        map: &Map<String, Value>,
        key: &str,
        at: &str,
        reference: bool,
    ) -> Option<Option<Path>> {
        let here = format!("{at}/{key}");
        match map.get(key)? {
            Value::Null => Some(None),
            Value::String(text) => {
                let parsed = if reference {
                    Path::reference(text)
                } else {
                    Path::parse(text)
                };
                match parsed {
                    Ok(path) => Some(Some(path)),
                    Err(e) => {
                        self.schema(e.to_string(), &here);
                        None
                    }
                }
            }
            _ => {
                self.schema(format!("{key} must be a path or null"), &here);
                None
            }
        }
    }

    fn reference(&mut self, value: &Value, at: &str) -> Option<Path> {
        let Some(text) = value.as_str() else {
            self.schema("a reference path must be a string", at);
            return None;
        };
        match Path::reference(text) {
            Ok(path) => Some(path),
            Err(e) => {
                self.schema(e.to_string(), at);
                None
            }
        }
    }

    fn template(&mut self, map: &Map<String, Value>, key: &str, at: &str) -> Option<Template> {
        let value = map.get(key)?;
        let here = format!("{at}/{key}");
        self.no_dollar(value, &here);
        match Template::parse(value) {
            Ok(template) => Some(template),
            Err(e) => {
                self.schema(e, &here);
                None
            }
        }
    }

    /// Warns of fields whose value looks like a path or a call but whose name lacks `.$`.
    fn no_dollar(&mut self, value: &Value, at: &str) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    let here = format!("{at}/{}", pointer_escape(key));
                    if !key.ends_with(".$")
                        && let Some(text) = value.as_str()
                        && (text.starts_with("$.") || text == "$" || text.starts_with("States."))
                    {
                        self.warning(
                            "NO_DOLLAR",
                            format!("the value of '{key}' looks like a path or an intrinsic function, but its name does not end in '.$'"),
                            &here,
                        );
                    }
                    self.no_dollar(value, &here);
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.no_dollar(item, &format!("{at}/{i}"));
                }
            }
            _ => {}
        }
    }

    fn static_result(&mut self, value: &Value, at: &str) {
        if let Value::Object(map) = value {
            for (key, value) in map {
                if key.ends_with(".$") {
                    self.warning(
                        "PASS_RESULT_IS_STATIC",
                        format!("a Pass state's Result is used as written: '{key}' is not a path here (use Parameters)"),
                        &format!("{at}/{}", pointer_escape(key)),
                    );
                }
                self.static_result(value, at);
            }
        }
    }

    /// A field given directly (`key`, read by `read`, which names what it expects) or through
    /// a reference path (`keyPath`), never both.
    fn dynamic<T>(
        &mut self,
        map: &Map<String, Value>,
        key: &str,
        at: &str,
        read: (fn(&Value) -> Option<T>, &str),
    ) -> Option<Dynamic<T>> {
        let path_key = format!("{key}Path");
        match (map.get(key), map.get(&path_key)) {
            (Some(_), Some(_)) => {
                self.schema(format!("a state has {key} or {path_key}, not both"), at);
                None
            }
            (Some(v), None) => match (read.0)(v) {
                Some(value) => Some(Dynamic::Fixed(value)),
                None => {
                    self.schema(format!("{key} must be {}", read.1), &format!("{at}/{key}"));
                    None
                }
            },
            (None, Some(v)) => self
                .reference(v, &format!("{at}/{path_key}"))
                .map(Dynamic::Path),
            (None, None) => None,
        }
    }

    fn dynamic_u64(
        &mut self,
        map: &Map<String, Value>,
        key: &str,
        at: &str,
    ) -> Option<Dynamic<u64>> {
        self.dynamic(map, key, at, (Value::as_u64, "a non-negative integer"))
    }

    fn dynamic_f64(
        &mut self,
        map: &Map<String, Value>,
        key: &str,
        at: &str,
    ) -> Option<Dynamic<f64>> {
        self.dynamic(map, key, at, (Value::as_f64, "a number"))
    }

    fn dynamic_string(
        &mut self,
        map: &Map<String, Value>,
        key: &str,
        at: &str,
    ) -> Option<Dynamic<String>> {
        self.dynamic(
            map,
            key,
            at,
            (|v| v.as_str().map(str::to_owned), "a string"),
        )
    }

    fn error_equals(&mut self, rule: &Value, at: &str, last: bool) -> Vec<String> {
        let Some(items) = rule
            .get("ErrorEquals")
            .and_then(Value::as_array)
            .filter(|v| !v.is_empty())
        else {
            self.schema(
                "These fields are required: [ErrorEquals] (a non-empty array)",
                at,
            );
            return Vec::new();
        };
        let names: Vec<String> = items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        if names.len() != items.len() {
            self.schema(
                "ErrorEquals holds error names (strings)",
                &format!("{at}/ErrorEquals"),
            );
        }
        for name in &names {
            if name.starts_with("States.") && !STATES_ERRORS.contains(&name.as_str()) {
                self.schema(
                    format!("'{name}' is not an error Step Functions raises: names starting with 'States.' are reserved for its own errors"),
                    &format!("{at}/ErrorEquals"),
                );
            }
        }
        if names.iter().any(|n| n == "States.ALL") && (names.len() > 1 || !last) {
            self.schema(
                "States.ALL must appear alone, in the last retrier or catcher",
                &format!("{at}/ErrorEquals"),
            );
        }
        names
    }

    fn retriers(&mut self, map: &Map<String, Value>, at: &str) -> Vec<Retrier> {
        let Some(items) = map.get("Retry") else {
            return Vec::new();
        };
        let Some(items) = items.as_array() else {
            self.schema("Retry must be an array", &format!("{at}/Retry"));
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let here = format!("{at}/Retry/{i}");
            let error_equals = self.error_equals(item, &here, i + 1 == items.len());
            let number = |checker: &mut Checker, key: &str, default: f64, min: f64| -> f64 {
                match item.get(key) {
                    None => default,
                    Some(v) => match v.as_f64().filter(|n| *n >= min) {
                        Some(n) => n,
                        None => {
                            checker.schema(
                                format!("{key} must be a number of at least {min}"),
                                &format!("{here}/{key}"),
                            );
                            default
                        }
                    },
                }
            };
            let interval_seconds = number(self, "IntervalSeconds", 1.0, 1.0);
            let backoff_rate = number(self, "BackoffRate", 2.0, 1.0);
            let max_attempts = match item.get("MaxAttempts") {
                None => 3,
                Some(v) => v.as_u64().unwrap_or_else(|| {
                    self.schema(
                        "MaxAttempts must be a non-negative integer",
                        &format!("{here}/MaxAttempts"),
                    );
                    3
                }),
            };
            let max_delay_seconds = item
                .get("MaxDelaySeconds")
                .map(|_| number(self, "MaxDelaySeconds", 0.0, 1.0));
            let full_jitter = match item.get("JitterStrategy").map(|v| v.as_str()) {
                None | Some(Some("NONE")) => false,
                Some(Some("FULL")) => true,
                Some(_) => {
                    self.schema(
                        "JitterStrategy is FULL or NONE",
                        &format!("{here}/JitterStrategy"),
                    );
                    false
                }
            };
            out.push(Retrier {
                error_equals,
                interval_seconds,
                max_attempts,
                backoff_rate,
                max_delay_seconds,
                full_jitter,
            });
        }
        out
    }

    fn catchers(&mut self, map: &Map<String, Value>, at: &str) -> Vec<Catcher> {
        let Some(items) = map.get("Catch") else {
            return Vec::new();
        };
        let Some(items) = items.as_array() else {
            self.schema("Catch must be an array", &format!("{at}/Catch"));
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let here = format!("{at}/Catch/{i}");
            let error_equals = self.error_equals(item, &here, i + 1 == items.len());
            let Some(next) = item.get("Next").and_then(Value::as_str) else {
                self.schema("These fields are required: [Next]", &here);
                continue;
            };
            let result_path = match item.as_object() {
                Some(map) => self.nullable_path(map, "ResultPath", &here, true),
                None => None,
            };
            out.push(Catcher {
                error_equals,
                next: next.to_owned(),
                result_path,
            });
        }
        out
    }
}

/// A state name as a JSON pointer token (RFC 6901: `~` and `/` escaped).
fn pointer_escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(text: &str) -> Vec<(&'static str, String)> {
        Definition::validate(text)
            .1
            .into_iter()
            .map(|d| (d.code, d.location))
            .collect()
    }

    #[test]
    fn every_problem_is_reported_with_its_location() {
        let found = codes(
            r#"{"StartAt": "A", "States": {
              "A": {"Type": "Pass", "Next": "Nowhere", "Resource": "x"},
              "B": {"Type": "Succeed"},
              "C": {"Type": "Choice", "Choices": []},
              "D": {"Type": "Task", "Resource": "lambda", "End": true, "Next": "B"}
            }}"#,
        );
        for expected in [
            ("MISSING_TRANSITION_TARGET", "/States/A/Next"),
            ("SCHEMA_VALIDATION_FAILED", "/States/A/Resource"),
            ("UNREACHABLE_STATE", "/States/B"),
            ("SCHEMA_VALIDATION_FAILED", "/States/C/Choices"),
            ("INVALID_RESOURCE", "/States/D/Resource"),
            ("SCHEMA_VALIDATION_FAILED", "/States/D"),
        ] {
            assert!(
                found
                    .iter()
                    .any(|(c, l)| *c == expected.0 && l == expected.1),
                "{expected:?} not in {found:?}"
            );
        }
    }

    #[test]
    fn a_loop_without_an_exit_has_no_end_state() {
        let found = codes(
            r#"{"StartAt": "A", "States": {
              "A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}}"#,
        );
        assert_eq!(found, [("MISSING_END_STATE", String::new())]);
    }

    #[test]
    fn jsonata_and_variables_are_refused_by_name_not_mis_run() {
        let found = codes(
            r#"{"QueryLanguage": "JSONata", "StartAt": "A", "States": {
              "A": {"Type": "Pass", "Assign": {"x": 1}, "End": true}}}"#,
        );
        assert_eq!(
            found,
            [
                ("UNSUPPORTED_LOCALLY", "/QueryLanguage".to_owned()),
                ("UNSUPPORTED_LOCALLY", "/States/A/Assign".to_owned())
            ]
        );
    }

    #[test]
    fn reserved_error_names_are_refused() {
        let found = codes(
            r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f",
              "Retry": [{"ErrorEquals": ["States.Timeout", "States.Bogus"]}], "End": true}}}"#,
        );
        assert_eq!(
            found,
            [(
                "SCHEMA_VALIDATION_FAILED",
                "/States/A/Retry/0/ErrorEquals".to_owned()
            )]
        );
    }

    #[test]
    fn not_json_and_empty_definitions() {
        assert_eq!(codes("{"), [("INVALID_JSON_DESCRIPTION", String::new())]);
        assert_eq!(codes(" "), [("MISSING_DESCRIPTION", String::new())]);
    }
}
