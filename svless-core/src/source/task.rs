//! Step Functions tasks: typed input and output, named errors for `Retry` and `Catch`, the
//! callback pattern's task token, and a check of state machine definitions against the app.

use crate::handler::BoxFuture;
use crate::invocation::Invocation;
use crate::named_error::NamedError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;

/// The errors a task can raise, by name: what `#[derive(svless::IntoNamedError)]` lists, so that a
/// state machine's `ErrorEquals` can be checked against them.
///
/// ```
/// use svless_core::source::task::ErrorNames;
/// assert!(<svless_core::NamedError as ErrorNames>::NAMES.is_empty());
/// ```
pub trait ErrorNames {
    /// Every `errorType` the type can carry; empty when it is only known at run time.
    const NAMES: &'static [&'static str];
}

impl ErrorNames for NamedError {
    const NAMES: &'static [&'static str] = &[];
}

impl ErrorNames for crate::BoxError {
    const NAMES: &'static [&'static str] = &[];
}

impl ErrorNames for std::convert::Infallible {
    const NAMES: &'static [&'static str] = &[];
}

/// The names svless itself reports for a task invocation.
pub const SVLESS_TASK_ERRORS: &[&str] = &[
    "Svless.InvalidTaskInput",
    "Svless.InvalidTaskOutput",
    "Svless.Panic",
    "Svless.HandlerError",
];

/// A task token, as a state started with `.waitForTaskToken` passes it in the payload
/// (`"taskToken.$": "$$.Task.Token"`, the key [`WithToken`] reads).
///
/// ```
/// use svless_core::source::task::{TaskToken, WithToken};
/// let input: WithToken<serde_json::Value> =
///     serde_json::from_str(r#"{"taskToken": "AQB8...", "order": 7}"#).expect("a token and an input");
/// assert_eq!(input.task_token.as_str(), "AQB8...");
/// assert_eq!(input.input["order"], 7);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskToken(String);

impl TaskToken {
    /// The token, to pass to `SendTaskSuccess` / `SendTaskFailure`.
    ///
    /// ```
    /// let token: svless_core::source::task::TaskToken = serde_json::from_str("\"t\"").expect("a token");
    /// assert_eq!(token.as_str(), "t");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A task input with the callback token beside it: `{"taskToken": "...", ...input}`.
///
/// ```
/// let input: svless_core::source::task::WithToken<serde_json::Value> =
///     serde_json::from_str(r#"{"taskToken": "t", "order": 1}"#).expect("a token and an input");
/// assert_eq!(input.input["order"], 1);
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WithToken<T> {
    /// The token to report the task's outcome with.
    #[serde(rename = "taskToken")]
    pub task_token: TaskToken,
    /// The rest of the input.
    #[serde(flatten)]
    pub input: T,
}

type TaskFn<S> =
    Arc<dyn Fn(&[u8], Invocation<S>) -> BoxFuture<Result<Vec<u8>, NamedError>> + Send + Sync>;

pub(crate) struct Subscription<S> {
    pub(crate) name: String,
    pub(crate) errors: &'static [&'static str],
    pub(crate) handler: TaskFn<S>,
}

impl<S> Clone for Subscription<S> {
    fn clone(&self) -> Self {
        Subscription {
            name: self.name.clone(),
            errors: self.errors,
            handler: self.handler.clone(),
        }
    }
}

/// Decodes a task's input, naming the field that does not match.
///
/// ```
/// use svless_core::source::task::decode_input;
/// #[derive(serde::Deserialize, Debug)]
/// struct Resize { width: u32 }
/// let err = decode_input::<Resize>(br#"{"width": "wide"}"#).unwrap_err();
/// assert_eq!(err.error_type(), "Svless.InvalidTaskInput");
/// assert!(err.message().contains("width"));
/// ```
pub fn decode_input<T: DeserializeOwned>(payload: &[u8]) -> Result<T, NamedError> {
    if let Ok(input) = serde_json::from_slice(payload) {
        return Ok(input);
    }
    let mut de = serde_json::Deserializer::from_slice(payload);
    serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let cause = serde_json::json!({ "field": path });
        NamedError::new(
            "Svless.InvalidTaskInput",
            format!("the task input does not match at `{path}`: {}", err.inner()),
        )
        .with_cause(cause)
    })
}

/// Registers a task named `name` (what `#[svless::task]` generates). `errors` lists the error names
/// the task can raise (see [`ErrorNames`]).
///
/// ```
/// use svless_core::source::{Sources, Subscribe, task};
/// struct Double;
/// impl<S: Send + Sync + 'static> Subscribe<S> for Double {
///     fn subscribe(self, sources: &mut Sources<S>) {
///         task::subscribe(sources, "double", &[], |n: u64, _inv| async move { Ok(n * 2) });
///     }
/// }
/// let app = svless_core::App::new().on(Double).task("double");
/// ```
pub fn subscribe<S, T, O, F, Fut>(
    sources: &mut super::Sources<S>,
    name: &str,
    errors: &'static [&'static str],
    handler: F,
) where
    S: Send + Sync + 'static,
    T: DeserializeOwned + Send + 'static,
    O: Serialize + Send + 'static,
    F: Fn(T, Invocation<S>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, NamedError>> + Send + 'static,
{
    let handler = Arc::new(handler);
    let task: TaskFn<S> = Arc::new(move |payload: &[u8], invocation| -> BoxFuture<_> {
        let input = match decode_input::<T>(payload) {
            Ok(input) => input,
            Err(err) => return Box::pin(std::future::ready(Err(err))),
        };
        let handler = handler.clone();
        super::guarded(async move {
            let output = handler(input, invocation).await?;
            serde_json::to_vec(&output).map_err(|e| {
                NamedError::new(
                    "Svless.InvalidTaskOutput",
                    format!("the task output does not serialize: {e}"),
                )
            })
        })
    });
    sources.tasks.push(Subscription {
        name: name.to_owned(),
        errors,
        handler: task,
    });
}

/// A finding of [`check_state_machine`](crate::App::check_state_machine).
///
/// ```
/// let issues = svless_core::App::new().check_state_machine("not JSON").unwrap_err();
/// assert!(matches!(issues[0], svless_core::source::task::StateMachineIssue::Invalid(_)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StateMachineIssue {
    /// The definition is not a state machine (not JSON, or no `States`).
    Invalid(String),
    /// A Lambda task state invokes a function that maps to no registered task.
    UnknownTask {
        /// The state's name.
        state: String,
        /// The function it invokes.
        function: String,
    },
    /// A `Retry` or `Catch` names an error that the state's task never raises.
    UnknownError {
        /// The state's name.
        state: String,
        /// The name in `ErrorEquals`.
        error: String,
        /// The task the state invokes.
        task: String,
    },
}

impl std::fmt::Display for StateMachineIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateMachineIssue::Invalid(why) => {
                write!(f, "the definition is not a state machine: {why}")
            }
            StateMachineIssue::UnknownTask { state, function } => {
                write!(
                    f,
                    "state `{state}` invokes `{function}`, which maps to no task of the app"
                )
            }
            StateMachineIssue::UnknownError { state, error, task } => {
                write!(
                    f,
                    "state `{state}` matches `{error}`, which task `{task}` never raises"
                )
            }
        }
    }
}

/// Errors that any Lambda task state may see, raised by Step Functions or the Lambda service.
fn is_service_error(name: &str) -> bool {
    name.starts_with("States.") || name.starts_with("Lambda.")
}

/// The function name in any reference Lambda's `Invoke` accepts as `FunctionName`: a name
/// (`resize`), a name with a qualifier (`resize:live`, `resize:7`, `resize:$LATEST`), a partial
/// ARN (`123456789012:function:resize`) or a full ARN in any partition, with or without a
/// qualifier.
pub(crate) fn function_name(reference: &str) -> &str {
    let parts: Vec<&str> = reference.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "lambda", _, _, "function", name, ..] => name,
        [account, "function", name, ..]
            if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) =>
        {
            name
        }
        [name, _qualifier] => name,
        _ => reference,
    }
}

pub(crate) fn check<S>(
    definition: &str,
    tasks: &[Subscription<S>],
    resolve: &dyn Fn(&str) -> Option<String>,
) -> Vec<StateMachineIssue> {
    use svless_asl::model::{Definition, Kind, Severity};
    let (definition, diagnostics) = Definition::validate(definition);
    // What only the local interpreter refuses (JSONata, variables) deploys fine.
    let mut issues: Vec<StateMachineIssue> = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error && d.code != "UNSUPPORTED_LOCALLY")
        .map(|d| StateMachineIssue::Invalid(d.to_string()))
        .collect();
    let Some(definition) = definition else {
        return issues;
    };
    for state in definition.all_states() {
        let Kind::Task(task) = &state.kind else {
            continue;
        };
        let Some(function) = task.invoked_function(state.parameters.as_ref()) else {
            continue;
        };
        let Some(task) = resolve(&function).and_then(|task| tasks.iter().find(|t| t.name == task))
        else {
            issues.push(StateMachineIssue::UnknownTask {
                state: state.name.clone(),
                function,
            });
            continue;
        };
        let raised: BTreeSet<&str> = task
            .errors
            .iter()
            .chain(SVLESS_TASK_ERRORS)
            .copied()
            .collect();
        let matched = state
            .retry
            .iter()
            .map(|r| &r.error_equals)
            .chain(state.catch.iter().map(|c| &c.error_equals))
            .flatten();
        for error in matched {
            if !is_service_error(error) && !raised.contains(error.as_str()) {
                issues.push(StateMachineIssue::UnknownError {
                    state: state.name.clone(),
                    error: error.clone(),
                    task: task.name.clone(),
                });
            }
        }
    }
    issues
}

/// The task a function maps to: an explicit mapping (by name or ARN), else the task named like
/// the function.
pub(crate) fn resolve<S>(
    tasks: &[Subscription<S>],
    functions: &[(String, String)],
    function: &str,
) -> Option<String> {
    let name = function_name(function);
    functions
        .iter()
        .find(|(f, _)| f == function || f == name)
        .map(|(_, task)| task.clone())
        .or_else(|| {
            tasks
                .iter()
                .find(|t| t.name == name)
                .map(|t| t.name.clone())
        })
}

/// The task an invocation runs, if it runs one: the task the app chose (`App::task`,
/// `SVLESS_HANDLER`), else the task the invoked function maps to. A chosen task the app does not
/// have is `Svless.UnknownTask`.
pub(crate) fn chosen<'t, S>(
    tasks: &'t [Subscription<S>],
    entry: Option<&str>,
    functions: &[(String, String)],
    function_name: &str,
) -> Result<Option<&'t Subscription<S>>, NamedError> {
    if let Some(entry) = entry {
        return tasks
            .iter()
            .find(|t| t.name == entry)
            .map(Some)
            .ok_or_else(|| {
                NamedError::new(
                    "Svless.UnknownTask",
                    format!("the handler `{entry}` is no task of this app"),
                )
            });
    }
    if tasks.is_empty() || function_name.is_empty() {
        return Ok(None);
    }
    Ok(resolve(tasks, functions, function_name)
        .and_then(|name| tasks.iter().find(|t| t.name == name)))
}

/// Tasks registered before the app had its state, for the stateful app.
pub(crate) fn rebind<S: 'static>(subscriptions: Vec<Subscription<()>>) -> Vec<Subscription<S>> {
    subscriptions
        .into_iter()
        .map(|t| {
            let handler = t.handler;
            Subscription {
                name: t.name,
                errors: t.errors,
                handler: Arc::new(move |payload: &[u8], invocation: Invocation<S>| {
                    handler(payload, invocation.without_state())
                }),
            }
        })
        .collect()
}

/// Whether tasks take events of `kind`.
pub(crate) fn takes(kind: &super::SourceKind) -> bool {
    matches!(kind, super::SourceKind::Task(_))
}

/// Runs the task the function maps to; its output is the task result.
pub(crate) async fn dispatch<S: Send + Sync + 'static>(
    sources: &super::Sources<S>,
    kind: &super::SourceKind,
    payload: &[u8],
    invocation: Invocation<S>,
) -> Result<Vec<u8>, NamedError> {
    let super::SourceKind::Task(name) = kind else {
        return Err(super::unhandled("this event"));
    };
    let Some(task) = sources.tasks.iter().find(|t| &t.name == name) else {
        return Err(NamedError::new(
            "Svless.UnknownTask",
            format!("the handler `{name}` is no task of this app"),
        ));
    };
    (task.handler)(payload, invocation).await.inspect_err(|err| {
        tracing::error!(task = %task.name, error_type = %err.error_type(), error = %err.message(), "the task failed");
    })
}

#[cfg(test)]
mod tests {
    use super::function_name;

    #[test]
    fn function_names_come_out_of_arns() {
        assert_eq!(
            function_name("arn:aws:lambda:us-east-1:123456789012:function:resize:$LATEST"),
            "resize"
        );
        assert_eq!(
            function_name("arn:aws:lambda:us-east-1:123456789012:function:resize"),
            "resize"
        );
        assert_eq!(function_name("resize"), "resize");
        // Lambda API reference, Invoke, `FunctionName`: every form it accepts.
        for reference in [
            "resize:live",
            "resize:7",
            "resize:$LATEST",
            "123456789012:function:resize",
            "123456789012:function:resize:live",
            "arn:aws-cn:lambda:cn-north-1:123456789012:function:resize",
            "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:resize:7",
        ] {
            assert_eq!(function_name(reference), "resize", "{reference}");
        }
    }
}

#[cfg(feature = "sfn")]
mod callback {
    use super::TaskToken;
    use crate::named_error::NamedError;
    use serde::Serialize;

    /// Why Step Functions did not take a task's outcome.
    #[derive(Debug, thiserror::Error)]
    #[non_exhaustive]
    pub enum CallbackError {
        /// The output does not serialize to JSON.
        #[error("the task output does not serialize: {0}")]
        Output(#[from] serde_json::Error),
        /// The token is unknown, or its task has already finished or timed out.
        #[error("the task token is invalid or its task is no longer waiting")]
        InvalidToken(#[source] aws_sdk_sfn::Error),
        /// Any other failure of the Step Functions API.
        #[error("Step Functions refused the outcome: {0}")]
        Service(#[source] aws_sdk_sfn::Error),
    }

    fn classify(err: aws_sdk_sfn::Error) -> CallbackError {
        match err {
            aws_sdk_sfn::Error::InvalidToken(_)
            | aws_sdk_sfn::Error::TaskDoesNotExist(_)
            | aws_sdk_sfn::Error::TaskTimedOut(_) => CallbackError::InvalidToken(err),
            other => CallbackError::Service(other),
        }
    }

    impl TaskToken {
        /// Reports the waiting task's success with `output` (`SendTaskSuccess`).
        ///
        /// ```no_run
        /// # async fn doc(token: svless_core::source::task::TaskToken) -> Result<(), Box<dyn std::error::Error>> {
        /// let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        /// let sfn = aws_sdk_sfn::Client::new(&config);
        /// token.succeed(&sfn, &serde_json::json!({"approved": true})).await?;
        /// # Ok(()) }
        /// ```
        pub async fn succeed<T: Serialize>(
            &self,
            client: &aws_sdk_sfn::Client,
            output: &T,
        ) -> Result<(), CallbackError> {
            let output = serde_json::to_string(output)?;
            client
                .send_task_success()
                .task_token(self.as_str())
                .output(output)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify(e.into()))
        }

        /// Reports the waiting task's failure with a named error (`SendTaskFailure`: `error` is the
        /// `errorType` that `Catch` matches, `cause` the message, or the JSON cause when there is one).
        ///
        /// ```no_run
        /// # async fn doc(token: svless_core::source::task::TaskToken) -> Result<(), Box<dyn std::error::Error>> {
        /// let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        /// let sfn = aws_sdk_sfn::Client::new(&config);
        /// token.fail(&sfn, &svless_core::NamedError::new("Order.Rejected", "the manager said no")).await?;
        /// # Ok(()) }
        /// ```
        pub async fn fail(
            &self,
            client: &aws_sdk_sfn::Client,
            error: &NamedError,
        ) -> Result<(), CallbackError> {
            let cause = match error.cause() {
                Some(cause) => cause.to_string(),
                None => error.message().to_owned(),
            };
            client
                .send_task_failure()
                .task_token(self.as_str())
                .error(error.error_type())
                .cause(cause)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify(e.into()))
        }
    }
}

#[cfg(feature = "sfn")]
pub use callback::CallbackError;
