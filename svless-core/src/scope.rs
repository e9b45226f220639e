//! What the current invocation is, for logs and metrics: a task-local set by `App::dispatch`.

use crate::metrics::MetricSet;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The facts of the invocation in progress.
#[derive(Debug)]
pub(crate) struct Scope {
    pub(crate) request_id: String,
    pub(crate) function_name: String,
    pub(crate) trace_id: Option<String>,
    pub(crate) cold_start: bool,
    /// The CloudWatch namespace of the invocation's metrics.
    pub(crate) namespace: Arc<str>,
    /// Made on the first metric, so invocations without metrics allocate none.
    pub(crate) metrics: Mutex<Option<MetricSet>>,
}

tokio::task_local! {
    static CURRENT: Arc<Scope>;
}

/// The first invocation of the execution environment is its cold start.
static COLD: AtomicBool = AtomicBool::new(true);

impl Scope {
    pub(crate) fn new(context: &crate::Context, namespace: &Arc<str>) -> Arc<Self> {
        Arc::new(Scope {
            request_id: context.request_id.clone(),
            function_name: context.function_name.clone(),
            trace_id: context
                .trace_id
                .clone()
                .or_else(|| std::env::var("_X_AMZN_TRACE_ID").ok()),
            cold_start: COLD.swap(false, Ordering::Relaxed),
            namespace: namespace.clone(),
            metrics: Mutex::new(None),
        })
    }

    pub(crate) fn metrics(&self) -> std::sync::MutexGuard<'_, Option<MetricSet>> {
        self.metrics
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Runs `future` as the invocation `scope`.
pub(crate) async fn run<F: Future>(scope: Arc<Scope>, future: F) -> F::Output {
    CURRENT.scope(scope, future).await
}

/// The invocation in progress on this task, if any.
pub(crate) fn current() -> Option<Arc<Scope>> {
    CURRENT.try_with(Arc::clone).ok()
}
