//! What event handlers (S3, DynamoDB Streams, SQS, EventBridge) receive beside their record.

use crate::context::Context;
use crate::extract::{FromRef, State};
use std::sync::Arc;

/// One invocation as an event handler sees it: the app state and the Lambda context.
///
/// Event handlers take their record first and then any [`FromInvocation`] arguments.
///
/// ```
/// use svless_core::invocation::{FromInvocation, Invocation};
/// use svless_core::{Context, State};
/// let invocation = Invocation::new(std::sync::Arc::new(5u32), Context::default());
/// let State(n) = State::<u32>::from_invocation(&invocation).expect("the state");
/// assert_eq!(n, 5);
/// ```
#[derive(Debug)]
pub struct Invocation<S> {
    state: Arc<S>,
    context: Arc<Context>,
}

impl<S> Clone for Invocation<S> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
            context: self.context.clone(),
        }
    }
}

impl<S> Invocation<S> {
    /// An invocation with this state and context.
    ///
    /// ```
    /// let inv = svless_core::invocation::Invocation::new(std::sync::Arc::new(()), svless_core::Context::default());
    /// ```
    pub fn new(state: Arc<S>, context: Context) -> Self {
        Self {
            state,
            context: Arc::new(context),
        }
    }

    /// An invocation sharing this state and context (no copy of either).
    pub(crate) fn shared(state: Arc<S>, context: Arc<Context>) -> Self {
        Self { state, context }
    }

    /// The same invocation for a handler that takes no state.
    pub(crate) fn without_state(&self) -> Invocation<()> {
        Invocation {
            state: Arc::new(()),
            context: self.context.clone(),
        }
    }

    /// The app state, shared.
    pub(crate) fn state_arc(&self) -> Arc<S> {
        self.state.clone()
    }

    /// The app state.
    ///
    /// ```
    /// let inv = svless_core::invocation::Invocation::new(std::sync::Arc::new(1u8), svless_core::Context::default());
    /// assert_eq!(*inv.state(), 1);
    /// ```
    pub fn state(&self) -> &S {
        &self.state
    }

    /// The Lambda context.
    ///
    /// ```
    /// let inv = svless_core::invocation::Invocation::new(std::sync::Arc::new(()), svless_core::Context::default());
    /// assert!(inv.context().request_id.is_empty());
    /// ```
    pub fn context(&self) -> &Context {
        &self.context
    }
}

/// An argument taken from the invocation alone — the app state and the Lambda context — so it
/// works everywhere: after its record in an event or WebSocket handler, and as any argument of
/// an HTTP handler. `State<T>`, [`Context`] and `Metrics` are such arguments; so is an SDK client
/// taken from the state, written once.
///
/// An error that is a [`crate::Error`] answers an HTTP request as that problem (any other as
/// 500) and fails an event invocation.
///
/// ```
/// use svless_core::invocation::{FromInvocation, Invocation};
///
/// struct FunctionName(String);
///
/// impl<S> FromInvocation<S> for FunctionName {
///     fn from_invocation(invocation: &Invocation<S>) -> Result<Self, svless_core::BoxError> {
///         Ok(FunctionName(invocation.context().function_name.clone()))
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an argument of an event handler",
    note = "after its record, an event handler takes `State<T>`, `Context`, `Metrics`, or types implementing `svless::invocation::FromInvocation`"
)]
pub trait FromInvocation<S>: Sized {
    /// Takes the argument from the invocation.
    fn from_invocation(invocation: &Invocation<S>) -> Result<Self, crate::BoxError>;
}

impl<S, T: FromRef<S>> FromInvocation<S> for State<T> {
    fn from_invocation(invocation: &Invocation<S>) -> Result<Self, crate::BoxError> {
        Ok(State(T::from_ref(&invocation.state)))
    }
}

impl<S> FromInvocation<S> for Context {
    fn from_invocation(invocation: &Invocation<S>) -> Result<Self, crate::BoxError> {
        Ok(Context::clone(&invocation.context))
    }
}
