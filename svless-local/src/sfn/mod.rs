//! Step Functions in process: the same ASL definition that is deployed, run with AWS's data flow,
//! retries and catches, calling the app's own `#[svless::task]` handlers through
//! [`App::dispatch`](svless_core::App::dispatch).
//!
//! ```
//! # async fn doc() {
//! use serde_json::json;
//! use svless_local::sfn::{Status, StepFunctions};
//!
//! let sfn = StepFunctions::new(svless_core::App::new());
//! let run = sfn
//!     .run(r#"{"StartAt": "Hello", "States": {"Hello": {"Type": "Pass",
//!         "Parameters": {"greeting.$": "States.Format('hello, {}', $.name)"}, "End": true}}}"#,
//!         json!({"name": "world"}))
//!     .await
//!     .expect("a valid definition");
//! assert_eq!(run.status, Status::Succeeded);
//! assert_eq!(run.output, Some(json!({"greeting": "hello, world"})));
//! # }
//! ```

mod api;
mod dynamodb;
mod run;

pub use api::{Api, ApiError, LoopbackHost};

pub use run::{Execution, HistoryEvent, Status};

use run::is_wait_for_token;

use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use svless_asl::model::{Definition, Invalid};
use svless_core::App;

/// The largest input or output of a state: 256 KiB, as Step Functions counts it (UTF-8 bytes).
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// The most events an execution's history holds; an execution that would write more fails.
pub const MAX_HISTORY_EVENTS: usize = 25_000;

/// An error a task raised: the name `Retry` and `Catch` match, and its cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskError {
    /// The error name (`errorType` of a Lambda function).
    pub error: String,
    /// The cause (the error's message).
    pub cause: String,
}

/// A boxed future answering a task.
pub type TaskFuture = Pin<Box<dyn Future<Output = Result<Value, TaskError>> + Send>>;

/// Answers the tasks of one resource the app has no handler for (a mocked service in a test).
/// It receives the task's input (after `Parameters`).
pub type Resolver = Arc<dyn Fn(Value) -> TaskFuture + Send + Sync>;

/// How an execution spends the time of `Wait` states and retry intervals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// Waits for real (the local cloud).
    Wall,
    /// Waits take no time but are recorded with their durations (tests).
    Virtual,
}

/// The tasks waiting for their token: where `SendTaskSuccess`/`Failure` answer, and where a
/// heartbeat is told.
pub(crate) type Tokens = Arc<Mutex<HashMap<String, Waiting>>>;

pub(crate) struct Waiting {
    done: tokio::sync::oneshot::Sender<Result<Value, TaskError>>,
    heartbeat: Arc<tokio::sync::Notify>,
}

/// A task token, in the shape Step Functions hands out (long, base64).
pub(crate) fn new_token() -> String {
    use std::fmt::Write as _;
    let mut token = String::from("AQCsAAAAKgAAAAMAAAAAAAAAA");
    for _ in 0..4 {
        let _ = write!(token, "{:032x}", fastrand::u128(..));
    }
    token
}

/// Why `SendTaskSuccess`, `SendTaskFailure` or `SendTaskHeartbeat` was refused, named as the
/// Step Functions API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// `InvalidToken`: not a task token (empty, or over 2,048 characters).
    InvalidToken,
    /// `TaskDoesNotExist`: no task waits with this token (never issued, already answered,
    /// timed out).
    TaskDoesNotExist,
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenError::InvalidToken => f.write_str("Invalid Token"),
            TokenError::TaskDoesNotExist => f.write_str("Task Does Not Exist"),
        }
    }
}

impl std::error::Error for TokenError {}

/// Runs state machines against an app.
pub struct StepFunctions<S> {
    app: Arc<App<S>>,
    clock: Clock,
    resolvers: HashMap<String, Resolver>,
    tokens: Tokens,
    tables: Arc<HashMap<String, svless_store::dynamo::Table>>,
}

impl<S> Clone for StepFunctions<S> {
    fn clone(&self) -> Self {
        Self {
            app: self.app.clone(),
            clock: self.clock,
            resolvers: self.resolvers.clone(),
            tokens: self.tokens.clone(),
            tables: self.tables.clone(),
        }
    }
}

impl<S> StepFunctions<S> {
    pub(crate) fn register_token(
        &self,
        token: &str,
        done: tokio::sync::oneshot::Sender<Result<Value, TaskError>>,
        heartbeat: Arc<tokio::sync::Notify>,
    ) {
        self.tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(token.to_owned(), Waiting { done, heartbeat });
    }

    fn take_token(&self, token: &str) -> Result<Waiting, TokenError> {
        if token.is_empty() || token.len() > 2048 {
            return Err(TokenError::InvalidToken);
        }
        self.tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(token)
            .ok_or(TokenError::TaskDoesNotExist)
    }

    /// Answers a `.waitForTaskToken` task with its output (`SendTaskSuccess`).
    ///
    /// ```
    /// use svless_local::sfn::{StepFunctions, TokenError};
    /// let sfn = StepFunctions::new(svless_core::App::new());
    /// assert_eq!(sfn.send_task_success("no-such-token", serde_json::json!({})), Err(TokenError::TaskDoesNotExist));
    /// ```
    pub fn send_task_success(&self, token: &str, output: Value) -> Result<(), TokenError> {
        let waiting = self.take_token(token)?;
        waiting
            .done
            .send(Ok(output))
            .map_err(|_| TokenError::TaskDoesNotExist)
    }

    /// Fails a `.waitForTaskToken` task with an error name and cause (`SendTaskFailure`);
    /// `Retry` and `Catch` match the name.
    ///
    /// ```
    /// use svless_local::sfn::{StepFunctions, TokenError};
    /// let sfn = StepFunctions::new(svless_core::App::new());
    /// assert_eq!(sfn.send_task_failure("", "E", "c"), Err(TokenError::InvalidToken));
    /// ```
    pub fn send_task_failure(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), TokenError> {
        let waiting = self.take_token(token)?;
        waiting
            .done
            .send(Err(TaskError {
                error: error.to_owned(),
                cause: cause.to_owned(),
            }))
            .map_err(|_| TokenError::TaskDoesNotExist)
    }

    /// Tells a `.waitForTaskToken` task that its worker is alive (`SendTaskHeartbeat`): its
    /// `HeartbeatSeconds` start again.
    ///
    /// ```
    /// use svless_local::sfn::{StepFunctions, TokenError};
    /// let sfn = StepFunctions::new(svless_core::App::new());
    /// assert_eq!(sfn.send_task_heartbeat("unknown"), Err(TokenError::TaskDoesNotExist));
    /// ```
    pub fn send_task_heartbeat(&self, token: &str) -> Result<(), TokenError> {
        if token.is_empty() || token.len() > 2048 {
            return Err(TokenError::InvalidToken);
        }
        let tokens = self
            .tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let waiting = tokens.get(token).ok_or(TokenError::TaskDoesNotExist)?;
        waiting.heartbeat.notify_one();
        Ok(())
    }
}

impl<S: Send + Sync + 'static> StepFunctions<S> {
    /// Runs state machines against `app`, on the virtual clock.
    ///
    /// ```
    /// let sfn = svless_local::sfn::StepFunctions::new(svless_core::App::new());
    /// ```
    pub fn new(app: App<S>) -> Self {
        Self::shared(Arc::new(app))
    }

    /// Runs state machines against an app shared with other stand-ins.
    ///
    /// ```
    /// let app = std::sync::Arc::new(svless_core::App::new());
    /// let sfn = svless_local::sfn::StepFunctions::shared(app.clone());
    /// ```
    pub fn shared(app: Arc<App<S>>) -> Self {
        Self {
            app,
            clock: Clock::Virtual,
            resolvers: HashMap::new(),
            tokens: Arc::default(),
            tables: Arc::default(),
        }
    }

    /// Chooses the clock (the default is [`Clock::Virtual`]).
    ///
    /// ```
    /// use svless_local::sfn::{Clock, StepFunctions};
    /// let sfn = StepFunctions::new(svless_core::App::new()).clock(Clock::Wall);
    /// ```
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Answers the tasks whose `Resource` is `resource` with `resolver`, for services the app
    /// does not implement (an SNS publish, a third-party API) — what a test mocks.
    ///
    /// ```
    /// use serde_json::json;
    /// use svless_local::sfn::StepFunctions;
    /// let sfn = StepFunctions::new(svless_core::App::new())
    ///     .resolve("arn:aws:states:::sns:publish", |_input| async { Ok(json!({"MessageId": "m-1"})) });
    /// ```
    pub fn resolve<F, Fut>(mut self, resource: &str, resolver: F) -> Self
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, TaskError>> + Send + 'static,
    {
        self.resolvers.insert(
            resource.to_owned(),
            Arc::new(move |input| Box::pin(resolver(input)) as TaskFuture),
        );
        self
    }

    /// Answers the DynamoDB integrations (`arn:aws:states:::dynamodb:getItem`, `putItem`,
    /// `updateItem`, `deleteItem`) from these tables, found by their names.
    ///
    /// ```
    /// use svless_store::dynamo::{MemoryDb, Table, TableDef};
    /// let db = MemoryDb::new();
    /// let sfn = svless_local::sfn::StepFunctions::new(svless_core::App::new())
    ///     .dynamodb([Table::memory(TableDef::new("orders"), &db)]);
    /// ```
    pub fn dynamodb(
        mut self,
        tables: impl IntoIterator<Item = svless_store::dynamo::Table>,
    ) -> Self {
        let mut all = HashMap::clone(&self.tables);
        for table in tables {
            all.insert(table.def().name.clone(), table);
        }
        self.tables = Arc::new(all);
        self
    }

    /// Validates `definition` and runs one execution of it to its end.
    ///
    /// An invalid definition is an error listing every diagnostic; so is a Task whose resource
    /// is neither a function of the app, nor a resolved resource.
    pub async fn run(&self, definition: &str, input: Value) -> Result<Execution, Invalid> {
        let definition = Definition::parse(definition)?;
        self.check_resources(&definition)?;
        Ok(run::execute(self, Arc::new(definition), input, "local").await)
    }

    /// Runs an already parsed definition under an execution name.
    pub async fn run_definition(
        &self,
        definition: Arc<Definition>,
        input: Value,
        name: &str,
    ) -> Execution {
        run::execute(self, definition, input, name).await
    }

    /// Every Task whose resource nothing answers, as diagnostics.
    ///
    /// ```
    /// let sfn = svless_local::sfn::StepFunctions::new(svless_core::App::new());
    /// let definition = svless_asl::model::Definition::parse(r#"{"StartAt": "T", "States": {"T": {
    ///   "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": true}}}"#).expect("valid");
    /// assert!(sfn.check_resources(&definition).is_err());
    /// ```
    pub fn check_resources(&self, definition: &Definition) -> Result<(), Invalid> {
        use svless_asl::model::{Diagnostic, Kind, Severity};
        let mut problems = Vec::new();
        for state in definition.all_states() {
            let Kind::Task(task) = &state.kind else {
                continue;
            };
            let base = if is_wait_for_token(&task.resource) {
                task.resource.trim_end_matches(".waitForTaskToken")
            } else {
                &task.resource
            };
            if self.resolvers.contains_key(&task.resource) || self.resolvers.contains_key(base) {
                continue;
            }
            if dynamodb::action(base).is_some() {
                let table = state
                    .parameters
                    .as_ref()
                    .and_then(|p| p.literal("TableName"));
                match table {
                    Some(table) if !self.tables.contains_key(table) => problems.push(Diagnostic {
                        severity: Severity::Error,
                        code: "INVALID_RESOURCE",
                        message: format!("the table '{table}' is not one of the tables given to StepFunctions::dynamodb"),
                        location: format!("/States/{}/Parameters/TableName", state.name),
                    }),
                    _ => {}
                }
                continue;
            }
            let problem = match task.invoked_function(state.parameters.as_ref()) {
                Some(function) if self.app.task_for_function(&function).is_some() => continue,
                Some(function) => format!(
                    "the function '{function}' maps to no task of the app (add it with #[svless::task] or App::function)"
                ),
                None if run::is_lambda_invoke(&task.resource) => {
                    "a lambda:invoke task needs a literal FunctionName in Parameters".to_owned()
                }
                None => format!(
                    "nothing answers the resource '{}' locally: register a resolver for it",
                    task.resource
                ),
            };
            problems.push(Diagnostic {
                severity: Severity::Error,
                code: "INVALID_RESOURCE",
                message: problem,
                location: format!("/States/{}/Resource", state.name),
            });
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Invalid(problems))
        }
    }
}
