//! The Step Functions API on loopback, in the JSON 1.0 protocol the AWS SDKs speak
//! (`POST /` with `X-Amz-Target: AWSStepFunctions.<Operation>`), so app code that starts
//! executions with `aws-sdk-sfn` runs unchanged on a laptop: point the client's endpoint at it.
//!
//! ```no_run
//! # async fn doc() -> Result<(), Box<dyn std::error::Error>> {
//! use svless_local::sfn::{Api, StepFunctions};
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! println!("Step Functions on http://{}", listener.local_addr()?);
//! Api::new(StepFunctions::new(svless_core::App::new()))
//!     .serve_listener(listener, std::future::pending())
//!     .await?;
//! # Ok(()) }
//! ```

use super::run::{SharedHistory, execute_into};
use super::{StepFunctions, TokenError};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use svless_asl::model::{Definition, Severity};
use tokio::net::TcpListener;

/// The largest request the API reads (a definition is at most 1 MB; an input 256 KiB).
const MAX_REQUEST_BYTES: usize = 2 * 1024 * 1024;

const ACCOUNT_REGION: &str = "us-east-1:123456789012";

/// An API error: the `__type` the SDK reads, and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// `StateMachineDoesNotExist`, `InvalidDefinition`, `ExecutionAlreadyExists`, ...
    pub code: &'static str,
    /// What went wrong.
    pub message: String,
}

impl ApiError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

struct Machine {
    arn: String,
    name: String,
    definition: String,
    parsed: Arc<Definition>,
    role_arn: String,
    kind: String,
    created: f64,
}

struct Record {
    arn: String,
    machine_arn: String,
    name: String,
    input: String,
    status: &'static str,
    start: f64,
    stop: Option<f64>,
    output: Option<String>,
    error: Option<String>,
    cause: Option<String>,
    history: SharedHistory,
    abort: Option<tokio::task::AbortHandle>,
}

#[derive(Default)]
struct Registry {
    machines: BTreeMap<String, Machine>,
    executions: Vec<Record>,
}

/// The Step Functions API over a [`StepFunctions`] runner.
pub struct Api<S> {
    sfn: StepFunctions<S>,
    registry: Arc<Mutex<Registry>>,
}

impl<S> Clone for Api<S> {
    fn clone(&self) -> Self {
        Self {
            sfn: self.sfn.clone(),
            registry: self.registry.clone(),
        }
    }
}

fn now() -> f64 {
    chrono::Utc::now().timestamp_millis() as f64 / 1000.0
}

fn field<'v>(body: &'v Value, name: &str) -> Result<&'v str, ApiError> {
    body.get(name).and_then(Value::as_str).ok_or_else(|| {
        ApiError::new(
            "ValidationException",
            format!("1 validation error detected: Value null at '{name}' failed to satisfy constraint: Member must not be null"),
        )
    })
}

fn valid_name(name: &str) -> bool {
    (1..=80).contains(&name.chars().count())
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c))
}

impl<S: Send + Sync + 'static> Api<S> {
    /// The API over `sfn` (give it the wall clock for a local cloud:
    /// [`StepFunctions::clock`](super::StepFunctions::clock)).
    ///
    /// ```
    /// let api = svless_local::sfn::Api::new(svless_local::sfn::StepFunctions::new(svless_core::App::new()));
    /// ```
    pub fn new(sfn: StepFunctions<S>) -> Self {
        Self {
            sfn,
            registry: Arc::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Answers one operation (`CreateStateMachine`, `StartExecution`, ...) with its JSON body.
    ///
    /// ```
    /// # async fn doc() {
    /// let api = svless_local::sfn::Api::new(svless_local::sfn::StepFunctions::new(svless_core::App::new()));
    /// let out = api.call("ListStateMachines", &serde_json::json!({})).await.expect("listed");
    /// assert_eq!(out["stateMachines"], serde_json::json!([]));
    /// # }
    /// ```
    pub async fn call(&self, operation: &str, body: &Value) -> Result<Value, ApiError> {
        match operation {
            "CreateStateMachine" => self.create_state_machine(body),
            "DescribeStateMachine" => self.describe_state_machine(body),
            "UpdateStateMachine" => self.update_state_machine(body),
            "DeleteStateMachine" => self.delete_state_machine(body),
            "ListStateMachines" => self.list_state_machines(body),
            "ValidateStateMachineDefinition" => Ok(validate(field(body, "definition")?)),
            "StartExecution" => self.start_execution(body),
            "StartSyncExecution" => self.start_sync_execution(body).await,
            "DescribeExecution" => self.describe_execution(body),
            "ListExecutions" => self.list_executions(body),
            "GetExecutionHistory" => self.get_execution_history(body),
            "StopExecution" => self.stop_execution(body),
            "SendTaskSuccess" => {
                let output = parse_json(field(body, "output")?, "InvalidOutput")?;
                self.sfn
                    .send_task_success(field(body, "taskToken")?, output)
                    .map_err(token_error)
                    .map(|()| json!({}))
            }
            "SendTaskFailure" => self
                .sfn
                .send_task_failure(
                    field(body, "taskToken")?,
                    body.get("error").and_then(Value::as_str).unwrap_or(""),
                    body.get("cause").and_then(Value::as_str).unwrap_or(""),
                )
                .map_err(token_error)
                .map(|()| json!({})),
            "SendTaskHeartbeat" => self
                .sfn
                .send_task_heartbeat(field(body, "taskToken")?)
                .map_err(token_error)
                .map(|()| json!({})),
            "TestState" => self.test_state(body).await,
            other => Err(ApiError::new(
                "UnknownOperationException",
                format!("the local Step Functions API does not implement {other}"),
            )),
        }
    }

    fn machine_arn(&self, body: &Value) -> Result<String, ApiError> {
        let arn = field(body, "stateMachineArn")?;
        if !arn.starts_with("arn:aws:states:") || !arn.contains(":stateMachine:") {
            return Err(ApiError::new("InvalidArn", format!("Invalid Arn: '{arn}'")));
        }
        if !self.lock().machines.contains_key(arn) {
            return Err(no_machine(arn));
        }
        Ok(arn.to_owned())
    }

    fn parse_definition(&self, text: &str) -> Result<Arc<Definition>, ApiError> {
        let definition = Definition::parse(text)
            .map_err(|invalid| ApiError::new("InvalidDefinition", invalid.to_string()))?;
        self.sfn
            .check_resources(&definition)
            .map_err(|invalid| ApiError::new("InvalidDefinition", invalid.to_string()))?;
        Ok(Arc::new(definition))
    }

    fn create_state_machine(&self, body: &Value) -> Result<Value, ApiError> {
        let name = field(body, "name")?;
        if !valid_name(name) {
            return Err(ApiError::new(
                "InvalidName",
                format!("Invalid Name: '{name}'"),
            ));
        }
        let definition = field(body, "definition")?;
        let role_arn = field(body, "roleArn")?;
        let kind = body
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("STANDARD");
        if !matches!(kind, "STANDARD" | "EXPRESS") {
            return Err(ApiError::new(
                "ValidationException",
                format!("the type '{kind}' is not STANDARD or EXPRESS"),
            ));
        }
        let parsed = self.parse_definition(definition)?;
        let arn = format!("arn:aws:states:{ACCOUNT_REGION}:stateMachine:{name}");
        let mut registry = self.lock();
        if let Some(existing) = registry.machines.get(&arn) {
            if existing.definition == definition && existing.role_arn == role_arn {
                return Ok(json!({"stateMachineArn": arn, "creationDate": existing.created}));
            }
            return Err(ApiError::new(
                "StateMachineAlreadyExists",
                format!("State Machine Already Exists: '{arn}'"),
            ));
        }
        let created = now();
        registry.machines.insert(
            arn.clone(),
            Machine {
                arn: arn.clone(),
                name: name.to_owned(),
                definition: definition.to_owned(),
                parsed,
                role_arn: role_arn.to_owned(),
                kind: kind.to_owned(),
                created,
            },
        );
        Ok(json!({"stateMachineArn": arn, "creationDate": created}))
    }

    fn describe_state_machine(&self, body: &Value) -> Result<Value, ApiError> {
        let arn = self.machine_arn(body)?;
        let registry = self.lock();
        let m = registry
            .machines
            .get(&arn)
            .ok_or_else(|| no_machine(&arn))?;
        Ok(json!({
            "stateMachineArn": m.arn, "name": m.name, "status": "ACTIVE",
            "definition": m.definition, "roleArn": m.role_arn, "type": m.kind,
            "creationDate": m.created,
        }))
    }

    fn update_state_machine(&self, body: &Value) -> Result<Value, ApiError> {
        let arn = self.machine_arn(body)?;
        let parsed = match body.get("definition").and_then(Value::as_str) {
            Some(text) => Some((text.to_owned(), self.parse_definition(text)?)),
            None => None,
        };
        let mut registry = self.lock();
        let Some(machine) = registry.machines.get_mut(&arn) else {
            return Err(no_machine(&arn));
        };
        if let Some((text, parsed)) = parsed {
            machine.definition = text;
            machine.parsed = parsed;
        }
        if let Some(role) = body.get("roleArn").and_then(Value::as_str) {
            machine.role_arn = role.to_owned();
        }
        Ok(json!({"updateDate": now()}))
    }

    fn delete_state_machine(&self, body: &Value) -> Result<Value, ApiError> {
        let arn = field(body, "stateMachineArn")?;
        self.lock().machines.remove(arn);
        Ok(json!({}))
    }

    fn list_state_machines(&self, body: &Value) -> Result<Value, ApiError> {
        let registry = self.lock();
        let machines: Vec<Value> = registry
            .machines
            .values()
            .map(|m| {
                json!({"stateMachineArn": m.arn, "name": m.name, "type": m.kind, "creationDate": m.created})
            })
            .collect();
        let (machines, next) = page(machines, body)?;
        Ok(with_next(json!({"stateMachines": machines}), next))
    }

    /// The execution's name (given, or a fresh one) and input, checked.
    fn execution_request(&self, body: &Value) -> Result<(String, String, Value, String), ApiError> {
        let machine_arn = self.machine_arn(body)?;
        let name = match body.get("name").and_then(Value::as_str) {
            Some(name) if !valid_name(name) => {
                return Err(ApiError::new(
                    "InvalidName",
                    format!("Invalid Name: '{name}'"),
                ));
            }
            Some(name) => name.to_owned(),
            None => uuid::Uuid::new_v4().to_string(),
        };
        let input_text = body.get("input").and_then(Value::as_str).unwrap_or("{}");
        if input_text.len() > super::MAX_PAYLOAD_BYTES {
            return Err(ApiError::new(
                "InvalidExecutionInput",
                format!("the input is over {} bytes", super::MAX_PAYLOAD_BYTES),
            ));
        }
        let input = parse_json(input_text, "InvalidExecutionInput")?;
        let machine_name = machine_arn
            .rsplit(':')
            .next()
            .unwrap_or_default()
            .to_owned();
        let arn = format!("arn:aws:states:{ACCOUNT_REGION}:execution:{machine_name}:{name}");
        Ok((machine_arn, name, input, arn))
    }

    fn start_execution(&self, body: &Value) -> Result<Value, ApiError> {
        let (machine_arn, name, input, arn) = self.execution_request(body)?;
        let input_text = input.to_string();
        let mut registry = self.lock();
        if let Some(existing) = registry.executions.iter().find(|e| e.arn == arn) {
            // Starting the same execution again, with the same input, while it runs is
            // idempotent; anything else reuses a name.
            if existing.status == "RUNNING" && existing.input == input_text {
                return Ok(json!({"executionArn": arn, "startDate": existing.start}));
            }
            return Err(ApiError::new(
                "ExecutionAlreadyExists",
                format!("Execution Already Exists: '{arn}'"),
            ));
        }
        // Looked up again under this lock: a DeleteStateMachine may have come in between.
        let definition = registry
            .machines
            .get(&machine_arn)
            .ok_or_else(|| no_machine(&machine_arn))?
            .parsed
            .clone();
        let history = SharedHistory::default();
        let start = now();
        let task = tokio::spawn({
            let (sfn, registry, arn, name, history) = (
                self.sfn.clone(),
                self.registry.clone(),
                arn.clone(),
                name.clone(),
                history.clone(),
            );
            async move {
                let execution = execute_into(&sfn, definition, input, &name, &arn, history).await;
                let mut registry = registry
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if let Some(record) = registry.executions.iter_mut().find(|e| e.arn == arn) {
                    finish(record, &execution);
                }
            }
        });
        registry.executions.push(Record {
            arn: arn.clone(),
            machine_arn,
            name,
            input: input_text,
            status: "RUNNING",
            start,
            stop: None,
            output: None,
            error: None,
            cause: None,
            history,
            abort: Some(task.abort_handle()),
        });
        Ok(json!({"executionArn": arn, "startDate": start}))
    }

    async fn start_sync_execution(&self, body: &Value) -> Result<Value, ApiError> {
        let (machine_arn, name, input, arn) = self.execution_request(body)?;
        let definition = {
            let registry = self.lock();
            let machine = registry
                .machines
                .get(&machine_arn)
                .ok_or_else(|| no_machine(&machine_arn))?;
            if machine.kind != "EXPRESS" {
                return Err(ApiError::new(
                    "StateMachineTypeNotSupported",
                    "This operation is not supported by this type of state machine",
                ));
            }
            machine.parsed.clone()
        };
        let input_text = input.to_string();
        let start = now();
        let execution = execute_into(
            &self.sfn,
            definition,
            input,
            &name,
            &arn,
            SharedHistory::default(),
        )
        .await;
        let mut out = json!({
            "executionArn": arn, "stateMachineArn": machine_arn, "name": name,
            "startDate": start, "stopDate": now(), "input": input_text,
            "status": status_name(execution.status),
        });
        if let Some(output) = &execution.output {
            out["output"] = json!(output.to_string());
        }
        if let Some(error) = &execution.error {
            out["error"] = json!(error);
            out["cause"] = json!(execution.cause.clone().unwrap_or_default());
        }
        Ok(out)
    }

    fn execution<'r>(&self, registry: &'r Registry, body: &Value) -> Result<&'r Record, ApiError> {
        let arn = field(body, "executionArn")?;
        if !arn.starts_with("arn:aws:states:") || !arn.contains(":execution:") {
            return Err(ApiError::new("InvalidArn", format!("Invalid Arn: '{arn}'")));
        }
        registry
            .executions
            .iter()
            .find(|e| e.arn == arn)
            .ok_or_else(|| {
                ApiError::new(
                    "ExecutionDoesNotExist",
                    format!("Execution Does Not Exist: '{arn}'"),
                )
            })
    }

    fn describe_execution(&self, body: &Value) -> Result<Value, ApiError> {
        let registry = self.lock();
        let e = self.execution(&registry, body)?;
        let mut out = json!({
            "executionArn": e.arn, "stateMachineArn": e.machine_arn, "name": e.name,
            "status": e.status, "startDate": e.start, "input": e.input,
        });
        if let Some(stop) = e.stop {
            out["stopDate"] = json!(stop);
        }
        if let Some(output) = &e.output {
            out["output"] = json!(output);
        }
        if let Some(error) = &e.error {
            out["error"] = json!(error);
        }
        if let Some(cause) = &e.cause {
            out["cause"] = json!(cause);
        }
        Ok(out)
    }

    fn list_executions(&self, body: &Value) -> Result<Value, ApiError> {
        let machine_arn = self.machine_arn(body)?;
        let filter = body.get("statusFilter").and_then(Value::as_str);
        let registry = self.lock();
        let executions: Vec<Value> = registry
            .executions
            .iter()
            .rev()
            .filter(|e| e.machine_arn == machine_arn && filter.is_none_or(|f| f == e.status))
            .map(|e| {
                let mut item = json!({"executionArn": e.arn, "stateMachineArn": e.machine_arn,
                    "name": e.name, "status": e.status, "startDate": e.start});
                if let Some(stop) = e.stop {
                    item["stopDate"] = json!(stop);
                }
                item
            })
            .collect();
        let (executions, next) = page(executions, body)?;
        Ok(with_next(json!({"executions": executions}), next))
    }

    fn get_execution_history(&self, body: &Value) -> Result<Value, ApiError> {
        let registry = self.lock();
        let e = self.execution(&registry, body)?;
        let history = e
            .history
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Only the event types the API defines; the retry and wait records are svless's own.
        let mut events: Vec<Value> = history
            .iter()
            .filter(|event| !matches!(event.kind.as_ref(), "RetryScheduled" | "WaitStarted"))
            .map(super::HistoryEvent::to_json)
            .collect();
        // Number the events the API shows from 1, each after the one before.
        for (i, event) in events.iter_mut().enumerate() {
            event["id"] = json!(i + 1);
            event["previousEventId"] = json!(i);
        }
        if body.get("reverseOrder").and_then(Value::as_bool) == Some(true) {
            events.reverse();
        }
        let (events, next) = page(events, body)?;
        Ok(with_next(json!({"events": events}), next))
    }

    fn stop_execution(&self, body: &Value) -> Result<Value, ApiError> {
        let arn = field(body, "executionArn")?.to_owned();
        {
            let registry = self.lock();
            self.execution(&registry, body)?;
        }
        let stopped = now();
        let mut registry = self.lock();
        if let Some(record) = registry.executions.iter_mut().find(|e| e.arn == arn)
            && record.status == "RUNNING"
        {
            if let Some(abort) = record.abort.take() {
                abort.abort();
            }
            record.status = "ABORTED";
            record.stop = Some(stopped);
            record.error = body.get("error").and_then(Value::as_str).map(str::to_owned);
            record.cause = body.get("cause").and_then(Value::as_str).map(str::to_owned);
            let mut history = record
                .history
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let id = history.len() as u64 + 1;
            history.push(super::HistoryEvent::new(
                id,
                "ExecutionAborted",
                json!({"error": record.error, "cause": record.cause}),
                std::time::SystemTime::now(),
            ));
        }
        Ok(json!({"stopDate": stopped}))
    }

    /// `TestState`: one state, run on its own with the given input.
    async fn test_state(&self, body: &Value) -> Result<Value, ApiError> {
        let state: Value = parse_json(field(body, "definition")?, "InvalidDefinition")?;
        let input = parse_json(
            body.get("input").and_then(Value::as_str).unwrap_or("{}"),
            "InvalidExecutionInput",
        )?;
        // The state's transitions lead to stand-in terminal states, so the state runs alone
        // and the next state is read from where the execution went.
        let mut states = serde_json::Map::new();
        let mut targets = Vec::new();
        targets.extend(state.get("Next").and_then(Value::as_str).map(str::to_owned));
        targets.extend(
            state
                .get("Default")
                .and_then(Value::as_str)
                .map(str::to_owned),
        );
        for list in ["Choices", "Catch"] {
            for item in state
                .get(list)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                targets.extend(item.get("Next").and_then(Value::as_str).map(str::to_owned));
            }
        }
        for target in &targets {
            states.insert(target.clone(), json!({"Type": "Succeed"}));
        }
        let name = "TestState".to_owned();
        states.insert(name.clone(), state);
        let definition = json!({"StartAt": name, "States": states}).to_string();
        let parsed = self.parse_definition(&definition)?;
        let execution = execute_into(
            &self.sfn,
            parsed,
            input,
            "test-state",
            &format!("arn:aws:states:{ACCOUNT_REGION}:execution:test-state:test-state"),
            SharedHistory::default(),
        )
        .await;
        let entered = execution.states_entered();
        let next = entered.get(1).map(|s| (*s).to_owned());
        let caught = execution
            .history
            .iter()
            .any(|e| e.kind == "TaskFailed" || e.kind.ends_with("StateFailed"));
        let mut out = json!({});
        match (&execution.output, &execution.error) {
            (Some(output), _) => {
                out["output"] = json!(output.to_string());
                out["status"] = json!(if caught { "CAUGHT_ERROR" } else { "SUCCEEDED" });
                if let Some(next) = next {
                    out["nextState"] = json!(next);
                }
            }
            (None, error) => {
                out["status"] = json!("FAILED");
                out["error"] = json!(error.clone().unwrap_or_default());
                out["cause"] = json!(execution.cause.clone().unwrap_or_default());
            }
        }
        Ok(out)
    }

    /// Serves the API on a bound listener until `shutdown` completes.
    pub async fn serve_listener(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), std::io::Error> {
        crate::serve::serve(
            listener,
            shutdown,
            "Step Functions API",
            false,
            move |request, _| {
                let api = self.clone();
                async move { api.answer(request).await }
            },
        )
        .await;
        Ok(())
    }

    pub(crate) async fn answer(
        &self,
        request: hyper::Request<Incoming>,
    ) -> hyper::Response<Full<Bytes>> {
        let target = request
            .headers()
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = match Limited::new(request.into_body(), MAX_REQUEST_BYTES)
            .collect()
            .await
        {
            Ok(body) => body.to_bytes(),
            Err(_) => {
                return reply(
                    413,
                    &json!({"__type": "ValidationException", "message": "the request is too large"}),
                );
            }
        };
        let Some(operation) = target.strip_prefix("AWSStepFunctions.") else {
            return reply(
                400,
                &json!({"__type": "UnknownOperationException", "message": "X-Amz-Target must name an AWSStepFunctions operation"}),
            );
        };
        let body: Value = if body.is_empty() {
            json!({})
        } else {
            match serde_json::from_slice(&body) {
                Ok(body) => body,
                Err(e) => {
                    return reply(
                        400,
                        &json!({"__type": "SerializationException", "message": e.to_string()}),
                    );
                }
            }
        };
        match self.call(operation, &body).await {
            Ok(out) => reply(200, &out),
            Err(error) => reply(
                400,
                &json!({"__type": error.code, "message": error.message}),
            ),
        }
    }
}

fn no_machine(arn: &str) -> ApiError {
    ApiError::new(
        "StateMachineDoesNotExist",
        format!("State Machine Does Not Exist: '{arn}'"),
    )
}

fn reply(status: u16, body: &Value) -> hyper::Response<Full<Bytes>> {
    crate::serve::json_reply(status, "application/x-amz-json-1.0", body)
}

/// One page of a listing: `maxResults` items (default 100, at most 1,000) from where
/// `nextToken` says, and the token of the next page when there is one.
fn page(items: Vec<Value>, body: &Value) -> Result<(Vec<Value>, Option<String>), ApiError> {
    let size = match body.get("maxResults").and_then(Value::as_u64) {
        None | Some(0) => 100,
        Some(n) if n > 1000 => {
            return Err(ApiError::new(
                "ValidationException",
                "maxResults must be at most 1000",
            ));
        }
        Some(n) => usize::try_from(n).unwrap_or(1000),
    };
    let from = match body.get("nextToken").and_then(Value::as_str) {
        None => 0,
        Some(token) => token
            .strip_prefix("svless-page-")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n <= items.len())
            .ok_or_else(|| ApiError::new("InvalidToken", "Invalid Token"))?,
    };
    let to = (from + size).min(items.len());
    let next = (to < items.len()).then(|| format!("svless-page-{to}"));
    Ok((items[from..to].to_vec(), next))
}

fn with_next(mut out: Value, next: Option<String>) -> Value {
    if let (Some(next), Some(map)) = (next, out.as_object_mut()) {
        map.insert("nextToken".into(), Value::String(next));
    }
    out
}

fn parse_json(text: &str, code: &'static str) -> Result<Value, ApiError> {
    serde_json::from_str(text)
        .map_err(|e| ApiError::new(code, format!("the JSON is not valid: {e}")))
}

fn token_error(error: TokenError) -> ApiError {
    match error {
        TokenError::InvalidToken => ApiError::new("InvalidToken", "Invalid Token"),
        TokenError::TaskDoesNotExist => ApiError::new("TaskDoesNotExist", "Task Does Not Exist"),
    }
}

fn status_name(status: super::Status) -> &'static str {
    match status {
        super::Status::Succeeded => "SUCCEEDED",
        super::Status::Failed => "FAILED",
        super::Status::TimedOut => "TIMED_OUT",
    }
}

fn finish(record: &mut Record, execution: &super::Execution) {
    record.status = status_name(execution.status);
    record.stop = Some(now());
    record.output = execution.output.as_ref().map(Value::to_string);
    record.error = execution.error.clone();
    record.cause = execution.cause.clone();
    record.abort = None;
}

/// `ValidateStateMachineDefinition`: every diagnostic, and `OK` when none is an error.
fn validate(definition: &str) -> Value {
    let (_, diagnostics) = Definition::validate(definition);
    let failed = diagnostics.iter().any(|d| d.severity == Severity::Error);
    let diagnostics: Vec<Value> = diagnostics
        .iter()
        .map(|d| {
            json!({
                "severity": if d.severity == Severity::Error { "ERROR" } else { "WARNING" },
                "code": d.code, "message": d.message, "location": d.location,
            })
        })
        .collect();
    json!({"result": if failed { "FAIL" } else { "OK" }, "diagnostics": diagnostics, "truncated": false})
}

/// An SDK interceptor for clients pointed at the local API: the SDK sends
/// `StartSyncExecution` to the host with a `sync-` prefix (`sync-127.0.0.1`), which a loopback
/// address does not resolve; this puts the host back.
///
/// ```
/// # async fn doc() {
/// let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
///     .endpoint_url("http://127.0.0.1:8083")
///     .load()
///     .await;
/// let sfn = aws_sdk_sfn::Client::from_conf(
///     aws_sdk_sfn::config::Builder::from(&config)
///         .interceptor(svless_local::sfn::LoopbackHost)
///         .build(),
/// );
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct LoopbackHost;

impl aws_smithy_runtime_api::client::interceptors::Intercept for LoopbackHost {
    fn name(&self) -> &'static str {
        "LoopbackHost"
    }

    fn modify_before_transmit(
        &self,
        context: &mut aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut<'_>,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let request = context.request_mut();
        let uri = request.uri().to_owned();
        let Some((scheme, rest)) = uri.split_once("://") else {
            return Ok(());
        };
        let Some(host) = rest.strip_prefix("sync-") else {
            return Ok(());
        };
        let name = host.split([':', '/']).next().unwrap_or_default();
        if name == "localhost" || name.parse::<std::net::IpAddr>().is_ok() {
            request.set_uri(format!("{scheme}://{host}"))?;
        }
        Ok(())
    }
}
