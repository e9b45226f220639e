//! One execution: states run in order with the States Language's data flow, retries, catches,
//! branches and iterations; every step written to the history.

use super::{Clock, MAX_HISTORY_EVENTS, MAX_PAYLOAD_BYTES, StepFunctions};
use futures_util::future::{BoxFuture, FutureExt as _, join_all};
use serde_json::{Value, json};
use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use svless_asl::model::{Catcher, Definition, Dynamic, Kind, MapState, Retrier, State, Wait};
use svless_asl::path::Path;
use svless_asl::template::Template;
use svless_core::Context;

/// How an execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// It reached a Succeed state or an end.
    Succeeded,
    /// An error nothing caught, or a Fail state.
    Failed,
    /// The definition's `TimeoutSeconds` passed.
    TimedOut,
}

/// A finished execution: its status, output or error, and its history.
#[derive(Debug, Clone)]
pub struct Execution {
    /// How it ended.
    pub status: Status,
    /// The output (when it succeeded).
    pub output: Option<Value>,
    /// The error name (when it failed).
    pub error: Option<String>,
    /// The cause (when it failed).
    pub cause: Option<String>,
    /// Every event, in the shapes of `GetExecutionHistory`.
    pub history: Vec<HistoryEvent>,
}

impl Execution {
    /// The names of the states entered, in order (branches and iterations included).
    ///
    /// ```
    /// # async fn doc() {
    /// use svless_local::sfn::StepFunctions;
    /// let run = StepFunctions::new(svless_core::App::new())
    ///     .run(r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Succeed"}}}"#,
    ///          serde_json::json!({}))
    ///     .await.expect("valid");
    /// assert_eq!(run.states_entered(), ["A", "B"]);
    /// # }
    /// ```
    pub fn states_entered(&self) -> Vec<&str> {
        self.history
            .iter()
            .filter(|e| e.kind.ends_with("StateEntered"))
            .filter_map(HistoryEvent::state_name)
            .collect()
    }

    /// The waits the execution spent (Wait states and retry intervals), in order.
    pub fn waits(&self) -> Vec<Duration> {
        self.history
            .iter()
            .filter_map(HistoryEvent::waited)
            .map(Duration::from_secs_f64)
            .collect()
    }
}

/// One event of an execution's history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEvent {
    /// Its number, from 1.
    pub id: u64,
    /// The event before it.
    pub previous_event_id: u64,
    /// `ExecutionStarted`, `PassStateEntered`, `TaskFailed`, ...
    pub kind: Cow<'static, str>,
    details: Details,
    /// When it happened (on the virtual clock: the wall clock plus the waits skipped).
    pub timestamp: std::time::SystemTime,
}

/// An event's details, kept as the interpreter has them and written out as JSON only when the
/// history is read: recording must cost little, since every state writes several events.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Details {
    Json(Value),
    /// `stateEnteredEventDetails` (`input`) or `stateExitedEventDetails` (`output`).
    State {
        name: String,
        field: &'static str,
        text: String,
    },
    /// A task event: the resource, and what the event carries.
    Task {
        resource: String,
        field: Option<(&'static str, Value)>,
        failure: Option<(String, String)>,
    },
    /// A wait on the clock (a Wait state, or a retry's interval): svless's own event.
    Waited {
        name: String,
        seconds: f64,
        error: Option<String>,
    },
}

impl HistoryEvent {
    pub(crate) fn new(
        id: u64,
        kind: impl Into<Cow<'static, str>>,
        details: Value,
        timestamp: std::time::SystemTime,
    ) -> Self {
        Self {
            id,
            previous_event_id: id.saturating_sub(1),
            kind: kind.into(),
            details: Details::Json(details),
            timestamp,
        }
    }

    /// The state an event names, for state events.
    fn state_name(&self) -> Option<&str> {
        match &self.details {
            Details::State { name, .. } => Some(name),
            Details::Json(details) => details.get("name").and_then(Value::as_str),
            _ => None,
        }
    }

    /// The seconds a wait event spent.
    fn waited(&self) -> Option<f64> {
        match &self.details {
            Details::Waited { seconds, .. } => Some(*seconds),
            _ => None,
        }
    }

    /// The event's details, as `GetExecutionHistory` names them.
    ///
    /// ```
    /// # async fn doc() {
    /// let run = svless_local::sfn::StepFunctions::new(svless_core::App::new())
    ///     .run(r#"{"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}"#, serde_json::json!({"n": 1}))
    ///     .await.expect("valid");
    /// assert_eq!(run.history[1].details()["name"], "A");
    /// # }
    /// ```
    pub fn details(&self) -> Value {
        match &self.details {
            Details::Json(value) => value.clone(),
            Details::State { name, field, text } => {
                let details_key = if *field == "input" {
                    "inputDetails"
                } else {
                    "outputDetails"
                };
                json!({"name": name, *field: text, details_key: {"truncated": false}})
            }
            Details::Task {
                resource,
                field,
                failure,
            } => {
                let (kind, name) = resource_parts(resource);
                let mut out = json!({"resourceType": kind, "resource": name});
                if let Some(map) = out.as_object_mut() {
                    if let Some((key, value)) = field {
                        map.insert((*key).to_owned(), Value::String(value.to_string()));
                        if *key == "parameters" {
                            map.insert("region".into(), json!("us-east-1"));
                        }
                    }
                    if let Some((error, cause)) = failure {
                        map.insert("error".into(), json!(error));
                        map.insert("cause".into(), json!(cause));
                    }
                }
                out
            }
            Details::Waited {
                name,
                seconds,
                error,
            } => json!({"name": name, "seconds": seconds, "error": error}),
        }
    }

    /// The event as `GetExecutionHistory` writes it.
    pub fn to_json(&self) -> Value {
        let mut event = json!({
            "id": self.id,
            "previousEventId": self.previous_event_id,
            "timestamp": self
                .timestamp
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| (d.as_millis() as f64) / 1000.0),
            "type": self.kind,
        });
        let key = details_key(&self.kind);
        if let Some(map) = event.as_object_mut() {
            map.insert(key, self.details());
        }
        event
    }
}

/// The details member of an event type: `stateEnteredEventDetails` for every `…StateEntered`,
/// `taskFailedEventDetails` for `TaskFailed`, ...
fn details_key(kind: &str) -> String {
    let base = if kind.ends_with("StateEntered") {
        "StateEntered"
    } else if kind.ends_with("StateExited") {
        "StateExited"
    } else {
        kind
    };
    let mut chars = base.chars();
    let first = chars.next().map(|c| c.to_ascii_lowercase());
    format!(
        "{}{}EventDetails",
        first.into_iter().collect::<String>(),
        chars.as_str()
    )
}

/// Why a state did not produce an output.
#[derive(Debug, Clone)]
struct Failure {
    error: String,
    cause: String,
}

impl Failure {
    fn new(error: &str, cause: impl Into<String>) -> Self {
        Self {
            error: error.to_owned(),
            cause: cause.into(),
        }
    }
}

/// What an execution shares across its branches: the history, the clock, the context.
struct Shared<S> {
    sfn: StepFunctions<S>,
    history: SharedHistory,
    /// Virtual time: the seconds the waits would have taken.
    elapsed: Mutex<f64>,
    execution: Value,
    timeout: Option<Duration>,
}

impl<S> Shared<S> {
    fn record(&self, kind: &'static str, details: Value) -> Result<(), Failure> {
        self.record_details(kind, Details::Json(details))
    }

    fn record_details(&self, kind: &'static str, details: Details) -> Result<(), Failure> {
        let mut history = self
            .history
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if history.len() >= MAX_HISTORY_EVENTS {
            return Err(Failure::new(
                "States.Runtime",
                format!("the execution reached the limit of {MAX_HISTORY_EVENTS} history events"),
            ));
        }
        let id = history.len() as u64 + 1;
        let elapsed = *self
            .elapsed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let timestamp = std::time::SystemTime::now() + Duration::from_secs_f64(elapsed.max(0.0));
        history.push(HistoryEvent {
            id,
            previous_event_id: id - 1,
            kind: Cow::Borrowed(kind),
            details,
            timestamp,
        });
        Ok(())
    }

    fn virtual_seconds(&self) -> f64 {
        *self
            .elapsed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// An execution's history, readable while it runs.
pub(crate) type SharedHistory = Arc<Mutex<Vec<HistoryEvent>>>;

pub(crate) async fn execute<S: Send + Sync + 'static>(
    sfn: &StepFunctions<S>,
    definition: Arc<Definition>,
    input: Value,
    name: &str,
) -> Execution {
    let arn = format!("arn:aws:states:us-east-1:123456789012:execution:local:{name}");
    execute_into(sfn, definition, input, name, &arn, Arc::default()).await
}

/// Runs an execution, writing its history into `history` as it goes.
pub(crate) async fn execute_into<S: Send + Sync + 'static>(
    sfn: &StepFunctions<S>,
    definition: Arc<Definition>,
    input: Value,
    name: &str,
    arn: &str,
    history: SharedHistory,
) -> Execution {
    let started = chrono::Utc::now();
    history
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .reserve(32);
    let shared = Arc::new(Shared {
        sfn: sfn.clone(),
        history,
        elapsed: Mutex::new(0.0),
        execution: json!({
            "Id": arn,
            "Input": input,
            "Name": name,
            "RoleArn": "arn:aws:iam::123456789012:role/local",
            "StartTime": started.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "RedriveCount": 0,
        }),
        timeout: definition.timeout_seconds.map(Duration::from_secs),
    });
    let started_event = shared.record(
        "ExecutionStarted",
        json!({"input": input.to_string(), "inputDetails": {"truncated": false}, "roleArn": "arn:aws:iam::123456789012:role/local"}),
    );
    let body = run_machine(shared.clone(), definition, input, None);
    let outcome = match (started_event, shared.timeout) {
        (Err(failure), _) => Err(failure),
        (Ok(()), Some(limit)) if sfn.clock == Clock::Wall => {
            match tokio::time::timeout(limit, body).await {
                Ok(outcome) => outcome,
                Err(_) => Err(Failure::new("States.Timeout", "the execution timed out")),
            }
        }
        (Ok(()), _) => body.await,
    };
    let (status, output, error, cause) = match outcome {
        Ok(output) => {
            let _ = shared.record("ExecutionSucceeded", json!({"output": output.to_string()}));
            (Status::Succeeded, Some(output), None, None)
        }
        Err(failure)
            if failure.error == "States.Timeout" && failure.cause == "the execution timed out" =>
        {
            let _ = shared.record("ExecutionTimedOut", json!({}));
            (
                Status::TimedOut,
                None,
                Some(failure.error),
                Some(failure.cause),
            )
        }
        Err(failure) => {
            let _ = shared.record(
                "ExecutionFailed",
                json!({"error": failure.error, "cause": failure.cause}),
            );
            (
                Status::Failed,
                None,
                Some(failure.error),
                Some(failure.cause),
            )
        }
    };
    let history = Vec::clone(
        &*shared
            .history
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    Execution {
        status,
        output,
        error,
        cause,
        history,
    }
}

/// Runs a machine (the execution's, a branch or an iteration) from its start to its end.
fn run_machine<S: Send + Sync + 'static>(
    shared: Arc<Shared<S>>,
    definition: Arc<Definition>,
    input: Value,
    item: Option<(usize, Value)>,
) -> BoxFuture<'static, Result<Value, Failure>> {
    async move {
        let mut name = definition.start_at.clone();
        let mut text = input.to_string();
        let mut input = input;
        loop {
            if let Some(limit) = shared.timeout
                && shared.sfn.clock == Clock::Virtual
                && shared.virtual_seconds() >= limit.as_secs_f64()
            {
                return Err(Failure::new("States.Timeout", "the execution timed out"));
            }
            let Some(state) = definition.state(&name) else {
                return Err(Failure::new(
                    "States.Runtime",
                    format!("the state '{name}' does not exist"),
                ));
            };
            match run_state(&shared, state, input, text, item.clone()).await? {
                (output, output_text, Some(next)) => {
                    input = output;
                    text = output_text;
                    name = next;
                }
                (output, _, None) => return Ok(output),
            }
        }
    }
    .boxed()
}

/// The entered and exited event types of a state.
fn state_events(state: &State) -> (&'static str, &'static str) {
    match state.kind {
        Kind::Pass { .. } => ("PassStateEntered", "PassStateExited"),
        Kind::Task(_) => ("TaskStateEntered", "TaskStateExited"),
        Kind::Choice { .. } => ("ChoiceStateEntered", "ChoiceStateExited"),
        Kind::Wait(_) => ("WaitStateEntered", "WaitStateExited"),
        Kind::Succeed => ("SucceedStateEntered", "SucceedStateExited"),
        Kind::Fail { .. } => ("FailStateEntered", "FailStateExited"),
        Kind::Parallel { .. } => ("ParallelStateEntered", "ParallelStateExited"),
        Kind::Map(_) => ("MapStateEntered", "MapStateExited"),
    }
}

/// Whether a state reads the context object (`$$`): building it costs a copy of the execution's
/// input, so states that do not read it get none.
fn needs_context(state: &State) -> bool {
    let templates = [&state.parameters, &state.result_selector]
        .into_iter()
        .flatten()
        .any(Template::uses_context);
    templates
        || match &state.kind {
            Kind::Choice { choices, .. } => choices.iter().any(|(rule, _)| rule.uses_context()),
            Kind::Map(_) => true,
            Kind::Task(task) => is_wait_for_token(&task.resource),
            _ => false,
        }
}

/// Whether a task waits for `SendTaskSuccess`/`SendTaskFailure` with its token.
pub(crate) fn is_wait_for_token(resource: &str) -> bool {
    resource.ends_with(".waitForTaskToken")
}

/// Runs one state: its output (and the output as JSON text, written once for the size check
/// and the history), and the state to go to (`None` at an end). `raw_text` is the input as JSON
/// text: the previous state's output text.
async fn run_state<S: Send + Sync + 'static>(
    shared: &Arc<Shared<S>>,
    state: &State,
    raw_input: Value,
    raw_text: String,
    item: Option<(usize, Value)>,
) -> Result<(Value, String, Option<String>), Failure> {
    let (entered, exited) = state_events(state);
    shared.record_details(
        entered,
        Details::State {
            name: state.name.clone(),
            field: "input",
            text: raw_text,
        },
    )?;
    let mut retry_counts = vec![0u64; state.retry.len()];
    let mut attempt = 0u64;
    let with_context = needs_context(state);
    loop {
        let context = if with_context {
            context_object(shared, state, attempt, item.as_ref())
        } else {
            Value::Null
        };
        let (output, next) = match attempt_state(shared, state, &raw_input, &context).await {
            Ok(done) => done,
            Err(failure) => {
                if let Some(delay) = retry_delay(&state.retry, &mut retry_counts, &failure) {
                    attempt += 1;
                    shared.record_details(
                        "RetryScheduled",
                        Details::Waited {
                            name: state.name.clone(),
                            seconds: delay,
                            error: Some(failure.error.clone()),
                        },
                    )?;
                    wait(shared, delay).await;
                    continue;
                }
                let Some(catcher) = state
                    .catch
                    .iter()
                    .find(|c| matches(&c.error_equals, &failure))
                else {
                    return Err(failure);
                };
                (
                    caught(catcher, &raw_input, &failure)?,
                    Some(catcher.next.clone()),
                )
            }
        };
        let text = output.to_string();
        check_size(&text, state)?;
        shared.record_details(
            exited,
            Details::State {
                name: state.name.clone(),
                field: "output",
                text: text.clone(),
            },
        )?;
        return Ok((output, text, next));
    }
}

/// The output of a catcher: the error output `{Error, Cause}` put into the state's input at the
/// catcher's `ResultPath`.
fn caught(catcher: &Catcher, raw_input: &Value, failure: &Failure) -> Result<Value, Failure> {
    let error_output = json!({"Error": failure.error, "Cause": failure.cause});
    apply_result_path(catcher.result_path.as_ref(), raw_input, error_output)
}

/// Whether an `ErrorEquals` list matches an error. `States.ALL` matches every error but
/// `States.Runtime` and `States.DataLimitExceeded`, which are terminal; `States.TaskFailed`
/// matches every error of a task but `States.Timeout`.
fn matches(names: &[String], failure: &Failure) -> bool {
    let terminal = matches!(
        failure.error.as_str(),
        "States.Runtime" | "States.DataLimitExceeded"
    );
    names.iter().any(|name| match name.as_str() {
        _ if failure.error == "States.Runtime" => false,
        "States.ALL" => !terminal,
        "States.TaskFailed" => !terminal && failure.error != "States.Timeout",
        other => other == failure.error,
    })
}

/// The delay before the next attempt, or `None` when no retrier takes the error (or its
/// attempts are spent). The delay is `IntervalSeconds × BackoffRate^n`, capped by
/// `MaxDelaySeconds`; with `FULL` jitter, a random time between 0 and that.
fn retry_delay(retriers: &[Retrier], counts: &mut [u64], failure: &Failure) -> Option<f64> {
    let (index, retrier) = retriers
        .iter()
        .enumerate()
        .find(|(_, r)| matches(&r.error_equals, failure))?;
    let n = counts[index];
    if n >= retrier.max_attempts {
        return None;
    }
    counts[index] += 1;
    let mut delay = retrier.interval_seconds * retrier.backoff_rate.powf(n as f64);
    if let Some(max) = retrier.max_delay_seconds {
        delay = delay.min(max);
    }
    if retrier.full_jitter {
        delay *= fastrand::f64();
    }
    Some(delay)
}

async fn wait<S>(shared: &Arc<Shared<S>>, seconds: f64) {
    match shared.sfn.clock {
        Clock::Wall => tokio::time::sleep(Duration::from_secs_f64(seconds.max(0.0))).await,
        Clock::Virtual => {
            *shared
                .elapsed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) += seconds.max(0.0);
        }
    }
}

fn check_size(text: &str, state: &State) -> Result<(), Failure> {
    let size = text.len();
    if size > MAX_PAYLOAD_BYTES {
        return Err(Failure::new(
            "States.DataLimitExceeded",
            format!(
                "the state/task '{}' returned a result of {size} bytes, over the limit of {MAX_PAYLOAD_BYTES} bytes",
                state.name
            ),
        ));
    }
    Ok(())
}

/// The context object (`$$`) of a state.
fn context_object<S>(
    shared: &Shared<S>,
    state: &State,
    retry_count: u64,
    item: Option<&(usize, Value)>,
) -> Value {
    let mut context = json!({
        "Execution": shared.execution,
        "State": {
            "EnteredTime": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "Name": state.name,
            "RetryCount": retry_count,
        },
        "StateMachine": {
            "Id": "arn:aws:states:us-east-1:123456789012:stateMachine:local",
            "Name": "local",
        },
    });
    if let (Some((index, value)), Some(map)) = (item, context.as_object_mut()) {
        map.insert(
            "Map".into(),
            json!({"Item": {"Index": index, "Value": value}}),
        );
    }
    context
}

/// `InputPath`: `$` by default, `null` an empty object.
fn apply_input_path(path: Option<&Option<Path>>, input: &Value) -> Result<Value, Failure> {
    match path {
        None => Ok(input.clone()),
        Some(None) => Ok(json!({})),
        Some(Some(path)) => path
            .select(input)
            .map_err(|e| Failure::new("States.Runtime", format!("Invalid path '{path}' : {e}"))),
    }
}

/// `ResultPath`: the result replaces the input (`$`, the default), is discarded (`null`), or is
/// put at a reference path in a copy of the input.
fn apply_result_path(
    path: Option<&Option<Path>>,
    raw_input: &Value,
    result: Value,
) -> Result<Value, Failure> {
    match path {
        None => Ok(result),
        Some(None) => Ok(raw_input.clone()),
        Some(Some(path)) if path.is_root() => Ok(result),
        Some(Some(path)) => {
            let mut out = raw_input.clone();
            path.set(&mut out, result).map_err(|e| {
                Failure::new(
                    "States.ResultPathMatchFailure",
                    format!("Unable to apply ResultPath '{path}' to input '{raw_input}': {e}"),
                )
            })?;
            Ok(out)
        }
    }
}

fn render(template: &Template, input: &Value, context: &Value) -> Result<Value, Failure> {
    template
        .render(input, context)
        .map_err(|e| Failure::new(e.error_name(), e.to_string()))
}

fn reference_value(path: &Path, input: &Value) -> Result<Value, Failure> {
    path.get(input).cloned().ok_or_else(|| {
        Failure::new(
            "States.Runtime",
            format!("the reference path '{path}' could not be found in the input"),
        )
    })
}

fn dynamic_u64(value: &Option<Dynamic<u64>>, input: &Value) -> Result<Option<u64>, Failure> {
    match value {
        None => Ok(None),
        Some(Dynamic::Fixed(n)) => Ok(Some(*n)),
        Some(Dynamic::Path(path)) => {
            let found = reference_value(path, input)?;
            found.as_u64().map(Some).ok_or_else(|| {
                Failure::new(
                    "States.Runtime",
                    format!("'{path}' must point at a non-negative integer, not {found}"),
                )
            })
        }
    }
}

/// One attempt at a state, from its input to its output.
async fn attempt_state<S: Send + Sync + 'static>(
    shared: &Arc<Shared<S>>,
    state: &State,
    raw_input: &Value,
    context: &Value,
) -> Result<(Value, Option<String>), Failure> {
    let input = apply_input_path(state.input_path.as_ref(), raw_input)?;
    let finish = |result: Value| -> Result<Value, Failure> {
        let result = match &state.result_selector {
            Some(selector) => render(selector, &result, context)?,
            None => result,
        };
        let combined = apply_result_path(state.result_path.as_ref(), raw_input, result)?;
        match &state.output_path {
            None => Ok(combined),
            path => apply_input_path(path.as_ref(), &combined),
        }
    };
    let effective = |input: Value| match &state.parameters {
        Some(parameters) => render(parameters, &input, context),
        None => Ok(input),
    };
    match &state.kind {
        Kind::Pass { result } => {
            let result = match result {
                Some(result) => result.clone(),
                None => effective(input)?,
            };
            Ok((finish(result)?, state.next.clone()))
        }
        Kind::Succeed => Ok((apply_input_path(state.output_path.as_ref(), &input)?, None)),
        Kind::Fail { error, cause } => {
            let text = |value: &Option<Dynamic<String>>| -> Result<String, Failure> {
                match value {
                    None => Ok(String::new()),
                    Some(Dynamic::Fixed(text)) => Ok(text.clone()),
                    Some(Dynamic::Path(path)) => match reference_value(path, &input)? {
                        Value::String(text) => Ok(text),
                        other => Err(Failure::new(
                            "States.Runtime",
                            format!("'{path}' must point at a string, not {other}"),
                        )),
                    },
                }
            };
            let (error, cause) = (text(error)?, text(cause)?);

            Err(Failure { error, cause })
        }
        Kind::Choice { choices, default } => {
            for (rule, next) in choices {
                let matched = rule
                    .matches(&input, context)
                    .map_err(|e| Failure::new("States.Runtime", e))?;
                if matched {
                    let output = apply_input_path(state.output_path.as_ref(), &input)?;
                    return Ok((output, Some(next.clone())));
                }
            }
            match default {
                Some(next) => Ok((
                    apply_input_path(state.output_path.as_ref(), &input)?,
                    Some(next.clone()),
                )),
                None => Err(Failure::new(
                    "States.NoChoiceMatched",
                    format!(
                        "no choice rule of '{}' matched and it has no Default",
                        state.name
                    ),
                )),
            }
        }
        Kind::Wait(how) => {
            let seconds = wait_seconds(how, &input, shared.virtual_seconds())?;
            shared.record_details(
                "WaitStarted",
                Details::Waited {
                    name: state.name.clone(),
                    seconds,
                    error: None,
                },
            )?;
            wait(shared, seconds).await;
            Ok((
                apply_input_path(state.output_path.as_ref(), &input)?,
                state.next.clone(),
            ))
        }
        Kind::Task(task) if is_wait_for_token(&task.resource) => {
            let token = super::new_token();
            let mut context = context.clone();
            if let Some(map) = context.as_object_mut() {
                map.insert("Task".into(), json!({"Token": token}));
            }
            let task_input = match &state.parameters {
                Some(parameters) => render(parameters, &input, &context)?,
                None => input.clone(),
            };
            let timeout = dynamic_u64(&task.timeout, &input)?;
            let heartbeat = dynamic_u64(&task.heartbeat, &input)?;
            let result =
                wait_for_token(shared, state, task, task_input, token, timeout, heartbeat).await?;
            Ok((finish(result)?, state.next.clone()))
        }
        Kind::Task(task) => {
            let timeout = dynamic_u64(&task.timeout, &input)?;
            let task_input = effective(input)?;
            let result = call_task(shared, state, task, task_input, context, timeout).await?;
            Ok((finish(result)?, state.next.clone()))
        }
        Kind::Parallel { branches } => {
            let branch_input = effective(input)?;
            shared.record("ParallelStateStarted", json!({}))?;
            let runs = branches.iter().map(|branch| {
                run_machine(
                    shared.clone(),
                    Arc::new(branch.clone()),
                    branch_input.clone(),
                    None,
                )
            });
            let mut outputs = Vec::with_capacity(branches.len());
            for outcome in join_all(runs).await {
                match outcome {
                    Ok(output) => outputs.push(output),
                    Err(failure) => {
                        shared.record(
                            "ParallelStateFailed",
                            json!({"error": failure.error, "cause": failure.cause}),
                        )?;
                        return Err(failure);
                    }
                }
            }
            shared.record("ParallelStateSucceeded", json!({}))?;
            Ok((finish(Value::Array(outputs))?, state.next.clone()))
        }
        Kind::Map(map) => {
            let result = run_map(shared, state, map, &input, context).await?;
            Ok((finish(result)?, state.next.clone()))
        }
    }
}

fn wait_seconds(how: &Wait, input: &Value, virtual_now: f64) -> Result<f64, Failure> {
    let until = |text: &str| -> Result<f64, Failure> {
        let at = svless_asl::choice::timestamp(text).ok_or_else(|| {
            Failure::new(
                "States.Runtime",
                format!("'{text}' is not an RFC 3339 timestamp"),
            )
        })?;
        let now =
            chrono::Utc::now() + chrono::Duration::milliseconds((virtual_now * 1000.0) as i64);
        Ok(((at.with_timezone(&chrono::Utc) - now).num_milliseconds() as f64 / 1000.0).max(0.0))
    };
    match how {
        Wait::Seconds(n) => Ok(*n as f64),
        Wait::Timestamp(text) => until(text),
        Wait::SecondsPath(path) => {
            let value = reference_value(path, input)?;
            value.as_f64().filter(|n| *n >= 0.0).ok_or_else(|| {
                Failure::new(
                    "States.Runtime",
                    format!("'{path}' must point at a non-negative number of seconds, not {value}"),
                )
            })
        }
        Wait::TimestampPath(path) => match reference_value(path, input)? {
            Value::String(text) => until(&text),
            other => Err(Failure::new(
                "States.Runtime",
                format!("'{path}' must point at a timestamp, not {other}"),
            )),
        },
    }
}

pub(crate) fn is_lambda_invoke(resource: &str) -> bool {
    svless_asl::model::arn_rest(resource, "states")
        .is_some_and(|rest| rest.starts_with("::lambda:invoke"))
}

/// Calls a task: a resolver registered for its resource, or the app's task handler for the
/// function it invokes, through `App::dispatch`.
async fn call_task<S: Send + Sync + 'static>(
    shared: &Arc<Shared<S>>,
    state: &State,
    task: &svless_asl::model::Task,
    input: Value,
    _context: &Value,
    timeout: Option<u64>,
) -> Result<Value, Failure> {
    shared.record_details(
        "TaskScheduled",
        task_details(task, Some(("parameters", input.clone())), None),
    )?;
    shared.record_details("TaskStarted", task_details(task, None, None))?;
    let call = async {
        let resolver = shared.sfn.resolvers.get(&task.resource).or_else(|| {
            task.resource
                .strip_suffix(".waitForTaskToken")
                .and_then(|base| shared.sfn.resolvers.get(base))
        });
        if let Some(resolver) = resolver {
            return resolver(input.clone())
                .await
                .map_err(|e| Failure::new(&e.error, e.cause));
        }
        let base = task.resource.trim_end_matches(".waitForTaskToken");
        if let Some(action) = super::dynamodb::action(base) {
            return super::dynamodb::call(&shared.sfn.tables, action, &input)
                .await
                .map_err(|e| Failure::new(&e.error, e.cause));
        }
        let lambda_invoke = is_lambda_invoke(&task.resource);
        let Some(function) = task.invoked_function(state.parameters.as_ref()) else {
            return Err(Failure::new(
                "States.Runtime",
                format!("nothing answers the resource '{}' locally", task.resource),
            ));
        };
        let payload = if lambda_invoke {
            input
                .get("Payload")
                .cloned()
                .unwrap_or_else(|| input.clone())
        } else {
            input.clone()
        };
        let mut lambda = Context::default();
        // A v4-shaped id from a fast generator: the id names the invocation in logs, and
        // asking the OS for randomness on every task costs more than the task itself.
        let request_id = request_id();
        lambda.request_id = request_id.clone();
        lambda.function_name = function.clone();
        lambda.function_version = "$LATEST".into();
        lambda.invoked_function_arn = function.clone();
        let bytes = serde_json::to_vec(&payload)
            .map_err(|e| Failure::new("States.Runtime", e.to_string()))?;
        let out = shared
            .sfn
            .app
            .dispatch(&bytes, lambda)
            .await
            .map_err(|e| Failure::new(e.error_type(), e.message()))?;
        let result: Value = if out.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&out).map_err(|e| {
                Failure::new(
                    "States.Runtime",
                    format!("the task answered something that is not JSON: {e}"),
                )
            })?
        };
        Ok(if lambda_invoke {
            lambda_invoke_result(result, &request_id)
        } else {
            result
        })
    };
    let outcome = match timeout {
        Some(seconds) => match tokio::time::timeout(Duration::from_secs(seconds), call).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Failure::new(
                "States.Timeout",
                format!("the task did not answer within {seconds} s"),
            )),
        },
        None => call.await,
    };
    record_task_outcome(shared, task, &outcome)?;
    outcome
}

async fn run_map<S: Send + Sync + 'static>(
    shared: &Arc<Shared<S>>,
    state: &State,
    map: &MapState,
    input: &Value,
    context: &Value,
) -> Result<Value, Failure> {
    let items = match &map.items_path {
        Some(path) => reference_value(path, input)?,
        None => input.clone(),
    };
    let Value::Array(items) = items else {
        return Err(Failure::new(
            "States.Runtime",
            format!(
                "the items of the Map state '{}' are not an array",
                state.name
            ),
        ));
    };
    let limit = dynamic_u64(&map.max_concurrency, input)?.unwrap_or(0);
    let semaphore = Arc::new(tokio::sync::Semaphore::new(if limit == 0 {
        tokio::sync::Semaphore::MAX_PERMITS
    } else {
        usize::try_from(limit).unwrap_or(usize::MAX)
    }));
    shared.record("MapStateStarted", json!({"length": items.len()}))?;
    let processor = Arc::new(map.processor.clone());
    let mut runs = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let item_context = {
            let mut c = context.clone();
            if let Some(m) = c.as_object_mut() {
                m.insert(
                    "Map".into(),
                    json!({"Item": {"Index": index, "Value": item}}),
                );
            }
            c
        };
        let item_input = match &map.item_selector {
            Some(selector) => render(selector, input, &item_context)?,
            None => item.clone(),
        };
        let (shared, processor, semaphore) = (shared.clone(), processor.clone(), semaphore.clone());
        let name = state.name.clone();
        let item = item.clone();
        runs.push(async move {
            let _permit = semaphore.acquire_owned().await;
            shared.record("MapIterationStarted", json!({"name": name, "index": index}))?;
            let outcome =
                run_machine(shared.clone(), processor, item_input, Some((index, item))).await;
            match &outcome {
                Ok(_) => shared.record(
                    "MapIterationSucceeded",
                    json!({"name": name, "index": index}),
                )?,
                Err(_) => {
                    shared.record("MapIterationFailed", json!({"name": name, "index": index}))?
                }
            }
            outcome
        });
    }
    let outcomes = join_all(runs).await;
    let total = outcomes.len();
    let failed: Vec<&Failure> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
    let tolerated_count = dynamic_u64(&map.tolerated_count, input)?;
    let tolerated_percentage = match &map.tolerated_percentage {
        None => None,
        Some(Dynamic::Fixed(p)) => Some(*p),
        Some(Dynamic::Path(path)) => reference_value(path, input)?.as_f64(),
    };
    if let Some(first) = failed.first() {
        let tolerating = tolerated_count.is_some() || tolerated_percentage.is_some();
        if !tolerating {
            shared.record("MapStateFailed", json!({}))?;
            return Err((*first).clone());
        }
        let over_count = tolerated_count.is_some_and(|n| failed.len() as u64 > n);
        let over_percentage = tolerated_percentage
            .is_some_and(|p| (failed.len() as f64) * 100.0 / (total as f64) > p);
        let within = match (tolerated_count, tolerated_percentage) {
            (Some(_), Some(_)) => !(over_count && over_percentage),
            _ => !(over_count || over_percentage),
        };
        if !within {
            shared.record("MapStateFailed", json!({}))?;
            return Err(Failure::new(
                "States.ExceedToleratedFailureThreshold",
                format!(
                    "{} of {total} iterations of '{}' failed, over the tolerated threshold",
                    failed.len(),
                    state.name
                ),
            ));
        }
    }
    shared.record("MapStateSucceeded", json!({}))?;
    Ok(Value::Array(
        outcomes
            .into_iter()
            .map(|outcome| match outcome {
                Ok(output) => output,
                Err(failure) => json!({"Error": failure.error, "Cause": failure.cause}),
            })
            .collect(),
    ))
}

/// A request id in the shape Lambda gives (a version 4 UUID), from a fast non-cryptographic
/// generator.
fn request_id() -> String {
    uuid::Builder::from_random_bytes(fastrand::u128(..).to_le_bytes())
        .into_uuid()
        .to_string()
}

/// A `.waitForTaskToken` task: the token is registered, the resource is called with it (its
/// answer is not the result), and the state waits for `SendTaskSuccess` or `SendTaskFailure`
/// with that token — failing with `States.Timeout` after `TimeoutSeconds`, or
/// `States.HeartbeatTimeout` when no heartbeat comes within `HeartbeatSeconds`.
async fn wait_for_token<S: Send + Sync + 'static>(
    shared: &Arc<Shared<S>>,
    state: &State,
    task: &svless_asl::model::Task,
    input: Value,
    token: String,
    timeout: Option<u64>,
    heartbeat: Option<u64>,
) -> Result<Value, Failure> {
    let (done, answer) = tokio::sync::oneshot::channel();
    let beat = Arc::new(tokio::sync::Notify::new());
    shared.sfn.register_token(&token, done, beat.clone());
    let forget = TokenGuard {
        sfn_tokens: shared.sfn.tokens.clone(),
        token: token.clone(),
    };
    call_task(shared, state, task, input, &Value::Null, None).await?;
    shared.record_details("TaskSubmitted", task_details(task, None, None))?;
    let waited = async {
        let mut answer = answer;
        loop {
            let heartbeat_due = async {
                match heartbeat {
                    Some(seconds) => tokio::time::sleep(Duration::from_secs(seconds)).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                outcome = &mut answer => {
                    return match outcome {
                        Ok(Ok(output)) => Ok(output),
                        Ok(Err(error)) => Err(Failure::new(&error.error, error.cause)),
                        Err(_) => Err(Failure::new("States.Runtime", "the task token was dropped")),
                    };
                }
                () = beat.notified() => continue,
                () = heartbeat_due => {
                    return Err(Failure::new(
                        "States.HeartbeatTimeout",
                        format!("no heartbeat for the task token within {} s", heartbeat.unwrap_or_default()),
                    ));
                }
            }
        }
    };
    let outcome = match timeout {
        Some(seconds) => match tokio::time::timeout(Duration::from_secs(seconds), waited).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Failure::new(
                "States.Timeout",
                format!("the task token was not answered within {seconds} s"),
            )),
        },
        None => waited.await,
    };
    drop(forget);
    record_task_outcome(shared, task, &outcome)?;
    outcome
}

/// Removes a token from the registry when its wait ends, however it ends.
struct TokenGuard {
    sfn_tokens: super::Tokens,
    token: String,
}

impl Drop for TokenGuard {
    fn drop(&mut self) {
        self.sfn_tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.token);
    }
}

/// `resourceType` and `resource` as the history names a task's resource: `lambda` and `invoke`
/// for `arn:aws:states:::lambda:invoke`, `lambda` and the ARN for a function ARN.
fn resource_parts(resource: &str) -> (String, String) {
    if let Some(rest) = svless_asl::model::arn_rest(resource, "states") {
        let rest = rest.trim_start_matches(':');
        if let Some((service, action)) = rest.split_once(':') {
            return (service.to_owned(), action.to_owned());
        }
    }
    if svless_asl::model::arn_rest(resource, "lambda").is_some() {
        return ("lambda".to_owned(), resource.to_owned());
    }
    ("activity".to_owned(), resource.to_owned())
}

fn task_details(
    task: &svless_asl::model::Task,
    field: Option<(&'static str, Value)>,
    failure: Option<(String, String)>,
) -> Details {
    Details::Task {
        resource: task.resource.clone(),
        field,
        failure,
    }
}

/// `TaskSucceeded`, or `TaskFailed` / `TaskTimedOut` with the error and cause.
fn record_task_outcome<S>(
    shared: &Shared<S>,
    task: &svless_asl::model::Task,
    outcome: &Result<Value, Failure>,
) -> Result<(), Failure> {
    match outcome {
        Ok(output) => shared.record_details(
            "TaskSucceeded",
            task_details(task, Some(("output", output.clone())), None),
        ),
        Err(failure) => shared.record_details(
            if failure.error == "States.Timeout" {
                "TaskTimedOut"
            } else {
                "TaskFailed"
            },
            task_details(
                task,
                None,
                Some((failure.error.clone(), failure.cause.clone())),
            ),
        ),
    }
}

/// The result of `arn:aws:states:::lambda:invoke` as Step Functions writes it: the function's
/// answer under `Payload`, with the Invoke call's status, version and HTTP metadata.
fn lambda_invoke_result(payload: Value, request_id: &str) -> Value {
    let date = chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    json!({
        "ExecutedVersion": "$LATEST",
        "Payload": payload,
        "SdkHttpMetadata": {
            "AllHttpHeaders": {
                "X-Amz-Executed-Version": ["$LATEST"],
                "x-amzn-RequestId": [request_id],
                "Content-Type": ["application/json"],
                "Date": [date],
            },
            "HttpHeaders": {
                "X-Amz-Executed-Version": "$LATEST",
                "x-amzn-RequestId": request_id,
                "Content-Type": "application/json",
                "Date": date,
            },
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": 200,
    })
}
