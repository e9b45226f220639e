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

mod run;

pub use run::{Execution, HistoryEvent, Status};

use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
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

/// Runs state machines against an app.
pub struct StepFunctions<S> {
    app: Arc<App<S>>,
    clock: Clock,
    resolvers: HashMap<String, Resolver>,
}

impl<S> Clone for StepFunctions<S> {
    fn clone(&self) -> Self {
        Self {
            app: self.app.clone(),
            clock: self.clock,
            resolvers: self.resolvers.clone(),
        }
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
            if self.resolvers.contains_key(&task.resource) {
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
