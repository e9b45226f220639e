//! The application: every handler, its state and configuration, and the one dispatch path.

use crate::body::{Body, Request, Response};
use crate::context::{Context, PayloadFormat};
use crate::cors::Cors;
use crate::error::{BoxError, Error};
use crate::handler::{BoxFuture, Endpoint, FromRequestArgs, Handler};
use crate::layers::{
    CatchPanic, CatchPanicLayer, CorsLayer, CorsService, Head, HeadLayer, ProblemInstance,
    ProblemInstanceLayer,
};
use crate::metrics::MetricsSink;
use crate::named_error::NamedError;
use crate::payload::Kind;
use crate::response::IntoResponse;
use crate::routing::{
    MethodFilter, RouteEntry, RouteService, RouteTarget, Router, RouterService, Template,
};
use crate::scope::{self, Scope};
use crate::source::{EventRequest, EventService, SourceKind, Sources, SourcesService, Subscribe};
use http::{Method, StatusCode};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context as TaskContext, Poll};
use tower::util::BoxCloneSyncService;
use tower::{Layer, Service, ServiceExt};
use tracing::Instrument as _;

type LayerFn = Arc<dyn Fn(RouteService) -> RouteService + Send + Sync>;
type EventLayerFn = Arc<dyn Fn(EventService) -> EventService + Send + Sync>;

/// An svless application: routes, state, CORS and layers, and the one path every invocation takes.
///
/// ```
/// use svless_core::{App, Json, Path, State};
///
/// #[derive(Clone)]
/// struct AppState { prefix: String }
///
/// async fn get_todo(Path(id): Path<u32>, State(app): State<AppState>) -> Json<String> {
///     Json(format!("{}{id}", app.prefix))
/// }
///
/// let app = App::new()
///     .state(AppState { prefix: "todo-".into() })
///     .route_fn("GET", "/todos/{id}", get_todo);
/// // `svless::Run::run(app)` serves it on Lambda (or on the local cloud); `app.serve(addr)` on a port.
/// ```
pub struct App<S = ()> {
    state: Arc<S>,
    router: Arc<Router>,
    cors: Option<Arc<Cors>>,
    base_path: Option<String>,
    local_format: PayloadFormat,
    layers: Vec<LayerFn>,
    default_layers: bool,
    errors: Vec<String>,
    compiled: OnceLock<Stack>,
    sources: Arc<Sources<S>>,
    event_layers: Vec<EventLayerFn>,
    events: OnceLock<EventService>,
    entry: Option<String>,
    functions: Vec<(String, String)>,
    metrics_namespace: Arc<str>,
    metrics_sink: MetricsSink,
    #[cfg(feature = "openapi")]
    docs: Vec<crate::openapi::RouteDoc>,
}

impl Default for App<()> {
    fn default() -> Self {
        Self::new()
    }
}

/// Why an [`App`] could not be built: every misconfiguration found while registering routes.
///
/// ```
/// use svless_core::App;
/// async fn h() {}
/// let err = App::new().route_fn("GET", "/a", h).route_fn("GET", "/a", h).check().unwrap_err();
/// assert!(err.to_string().contains("registered twice"));
/// ```
#[derive(Debug, thiserror::Error)]
#[error("the app is misconfigured: {}", .problems.join("; "))]
pub struct BuildError {
    /// One sentence per problem.
    pub problems: Vec<String>,
}

impl App<()> {
    /// An app with no state and no routes.
    ///
    /// ```
    /// let app = svless_core::App::new();
    /// ```
    pub fn new() -> Self {
        App {
            state: Arc::new(()),
            router: Arc::default(),
            cors: None,
            base_path: None,
            local_format: PayloadFormat::ApiGatewayV2,
            layers: Vec::new(),
            default_layers: true,
            errors: Vec::new(),
            compiled: OnceLock::new(),
            sources: Arc::default(),
            event_layers: Vec::new(),
            events: OnceLock::new(),
            entry: None,
            functions: Vec::new(),
            #[cfg(feature = "openapi")]
            docs: Vec::new(),
            metrics_namespace: Arc::from(
                std::env::var("SVLESS_METRICS_NAMESPACE")
                    .as_deref()
                    .unwrap_or("svless"),
            ),
            metrics_sink: crate::metrics::stdout_sink(),
        }
    }

    /// Gives the app its state, built once per execution environment (SDK clients, configuration).
    ///
    /// Routes registered before this call keep working; they take no state.
    ///
    /// ```
    /// #[derive(Clone)]
    /// struct AppState { table: String }
    /// let app = svless_core::App::new().state(AppState { table: "todos".into() });
    /// ```
    pub fn state<T: Send + Sync + 'static>(self, state: T) -> App<T> {
        App {
            state: Arc::new(state),
            router: self.router,
            cors: self.cors,
            base_path: self.base_path,
            local_format: self.local_format,
            layers: self.layers,
            default_layers: self.default_layers,
            errors: self.errors,
            compiled: OnceLock::new(),
            sources: Arc::new(Arc::unwrap_or_clone(self.sources).with_state()),
            event_layers: self.event_layers,
            events: OnceLock::new(),
            entry: self.entry,
            functions: self.functions,
            metrics_namespace: self.metrics_namespace,
            metrics_sink: self.metrics_sink,
            #[cfg(feature = "openapi")]
            docs: self.docs,
        }
    }
}

impl<S: Send + Sync + 'static> App<S> {
    /// Registers a route declared with `#[svless::api]` (or any [`Endpoint`]).
    ///
    /// ```
    /// use svless_core::{App, Endpoint, IntoResponse, Response};
    /// #[derive(Clone, Copy)]
    /// struct Health;
    /// impl Endpoint for Health {
    ///     const METHOD: &'static str = "GET";
    ///     const PATH: &'static str = "/health";
    ///     type Args = ();
    ///     async fn call(self, (): ()) -> Response { "ok".into_response() }
    /// }
    /// let app = App::new().route(Health);
    /// ```
    pub fn route<E, M>(self, endpoint: E) -> Self
    where
        E: Endpoint,
        E::Args: FromRequestArgs<S, M>,
    {
        let target = self.endpoint_target(endpoint);
        let app = self.add(E::METHOD, E::PATH, target);
        #[cfg(feature = "openapi")]
        let app = app.described::<E>();
        app
    }

    /// Registers an [`Endpoint`] behind a `tower::Layer` of its own.
    ///
    /// ```
    /// use svless_core::{App, Endpoint, IntoResponse, Response};
    /// use tower::util::MapResponseLayer;
    /// #[derive(Clone, Copy)]
    /// struct Health;
    /// impl Endpoint for Health {
    ///     const METHOD: &'static str = "GET";
    ///     const PATH: &'static str = "/health";
    ///     type Args = ();
    ///     async fn call(self, (): ()) -> Response { "ok".into_response() }
    /// }
    /// let app = App::new().route_layer(Health, MapResponseLayer::new(|mut r: Response| {
    ///     r.headers_mut().insert("cache-control", "no-store".parse().expect("a valid header"));
    ///     r
    /// }));
    /// ```
    pub fn route_layer<E, M, L>(self, endpoint: E, layer: L) -> Self
    where
        E: Endpoint,
        E::Args: FromRequestArgs<S, M>,
        L: Layer<RouteService>,
        L::Service: Service<Request, Response = Response> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request>>::Error: Into<BoxError>,
        <L::Service as Service<Request>>::Future: Send + 'static,
    {
        let service = self.endpoint_target(endpoint).into_service();
        let service = erase(layer.layer(service));
        let app = self.add(E::METHOD, E::PATH, RouteTarget::Service(service));
        #[cfg(feature = "openapi")]
        let app = app.described::<E>();
        app
    }

    /// The route just added is described by the endpoint's types.
    #[cfg(feature = "openapi")]
    fn described<E: Endpoint>(mut self) -> Self {
        if let Some(doc) = self.docs.last_mut()
            && doc.method == E::METHOD
            && doc.path == E::PATH
        {
            doc.describe = Some(E::describe);
        }
        self
    }

    /// A route API Gateway answers itself, from a mapping template (a REST API's mock
    /// integration); the app answers it from the same template wherever no REST API stands in
    /// front of it. See [`mock`](crate::mock).
    ///
    /// ```
    /// use svless_core::{App, mock::MockIntegration};
    /// let app = App::new().mock("GET", "/health", MockIntegration::json(200, r#"{"status": "ok"}"#));
    /// assert!(app.check().is_ok());
    /// let bad = App::new().mock("GET", "/health", MockIntegration::json(200, "#if($x)ok#end"));
    /// assert!(bad.check().is_err());
    /// ```
    pub fn mock(mut self, method: &str, path: &str, mock: crate::mock::MockIntegration) -> Self {
        if let Err(problem) = mock.check() {
            self.errors.push(format!("{method} {path}: {problem}"));
            return self;
        }
        let resource: Arc<str> = Arc::from(path);
        let answer = Arc::new(mock.clone());
        let target: crate::routing::DirectRoute = Arc::new(move |req: Request| {
            let context = req.extensions().get::<Arc<Context>>().cloned();
            let context = context.unwrap_or_else(|| Arc::new(Context::local()));
            let response = answer.respond(&context, req.method(), &resource);
            Box::pin(async move { response })
        });
        #[allow(unused_mut)]
        let mut app = self.add(method, path, RouteTarget::Direct(target));
        #[cfg(feature = "openapi")]
        if let Some(doc) = app.docs.last_mut()
            && doc.path == path
        {
            doc.mock = Some(mock);
        }
        app
    }

    /// The app's OpenAPI 3 definition, with API Gateway's extensions (feature `openapi`); see
    /// [`openapi`](crate::openapi).
    ///
    /// ```
    /// use svless_core::{App, openapi::{Flavor, OpenApi}};
    /// async fn hello() -> &'static str { "hello" }
    /// let app = App::new().route_fn("GET", "/hello", hello);
    /// let definition = app.openapi(&OpenApi::new("Hello", "1.0.0", Flavor::HttpApi));
    /// assert_eq!(definition["openapi"], "3.0.1");
    /// ```
    #[cfg(feature = "openapi")]
    pub fn openapi(&self, options: &crate::openapi::OpenApi) -> serde_json::Value {
        let mut docs = self.docs.clone();
        docs.sort_by(|a, b| (&a.path, &a.method).cmp(&(&b.path, &b.method)));
        crate::openapi::generate(&docs, options)
    }

    /// Registers a plain `async fn` by hand, without the attribute macro.
    ///
    /// The template is checked when the app is built (not at compile time, as `#[svless::api]`
    /// does); a bad one makes [`runtime::run`](crate::runtime::run), [`App::serve`] and [`App::check`] fail.
    ///
    /// ```
    /// async fn hello() -> &'static str { "hello" }
    /// let app = svless_core::App::new().route_fn("GET", "/", hello);
    /// assert!(app.check().is_ok());
    /// ```
    pub fn route_fn<H, T>(self, method: &str, path: &str, handler: H) -> Self
    where
        H: Handler<T, S>,
    {
        let state = self.state.clone();
        let target: crate::routing::DirectRoute =
            Arc::new(move |req: Request| handler.clone().call(req, state.clone()));
        self.add(method, path, RouteTarget::Direct(target))
    }

    /// Registers any `tower::Service` as a route.
    ///
    /// ```
    /// use svless_core::{App, Body, Request, Response};
    /// use std::convert::Infallible;
    /// let svc = tower::service_fn(|_req: Request| async { Ok::<_, Infallible>(Response::new(Body::from("raw"))) });
    /// let app = App::new().route_service("GET", "/raw", svc);
    /// ```
    pub fn route_service<T>(self, method: &str, path: &str, service: T) -> Self
    where
        T: Service<Request, Response = Response> + Clone + Send + Sync + 'static,
        T::Error: Into<BoxError>,
        T::Future: Send + 'static,
    {
        self.add(method, path, RouteTarget::Service(erase(service)))
    }

    /// Adds an event handler declared with `#[svless::s3]`, `#[svless::dynamodb_stream]`,
    /// `#[svless::sqs]` or `#[svless::event]`.
    ///
    /// ```
    /// use svless_core::App;
    /// use svless_core::source::{Sources, Subscribe, sqs};
    ///
    /// struct PrintJobs;
    /// impl<S: Send + Sync + 'static> Subscribe<S> for PrintJobs {
    ///     fn subscribe(self, sources: &mut Sources<S>) {
    ///         sqs::subscribe(sources, |message: sqs::Message<String>, _invocation| async move {
    ///             println!("{}", message.body);
    ///             Ok(())
    ///         });
    ///     }
    /// }
    ///
    /// let app = App::new().on(PrintJobs);
    /// ```
    pub fn on<H: Subscribe<S>>(mut self, handler: H) -> Self {
        self.events = OnceLock::new();
        handler.subscribe(Arc::make_mut(&mut self.sources));
        self
    }

    /// Wraps every event handler — S3, DynamoDB Streams, SQS, EventBridge, WebSocket, Step
    /// Functions tasks, authorizers — in a `tower::Layer` (a timeout, tracing, a concurrency
    /// limit), as [`App::layer`] wraps the HTTP routes. The layer sees each event as an
    /// [`EventRequest`] (its [`SourceKind`], payload and context) and answers its response
    /// payload; an error it raises fails the invocation — with its name when it is a
    /// [`NamedError`], else as `Svless.LayerError`. Layers added later wrap those added before.
    ///
    /// ```
    /// use svless_core::App;
    /// use svless_core::source::{EventRequest, EventService};
    /// use tower::ServiceExt;
    ///
    /// // Logs the source of every event (any `tower::Layer` fits).
    /// let app = App::new().event_layer(tower::layer::layer_fn(|inner: EventService| {
    ///     tower::util::BoxCloneSyncService::new(inner.map_request(|request: EventRequest| {
    ///         tracing::info!(source = %request.source, "event");
    ///         request
    ///     }))
    /// }));
    /// ```
    pub fn event_layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<EventService> + Send + Sync + 'static,
        L::Service: Service<EventRequest, Response = Vec<u8>> + Clone + Send + Sync + 'static,
        <L::Service as Service<EventRequest>>::Error: Into<BoxError>,
        <L::Service as Service<EventRequest>>::Future: Send + 'static,
    {
        self.event_layers.push(Arc::new(move |inner| {
            BoxCloneSyncService::new(layer.layer(inner).map_err(Into::into))
        }));
        self.events = OnceLock::new();
        self
    }

    /// The event handlers behind their layers: built once, after the last change.
    fn event_service(&self) -> EventService {
        self.events
            .get_or_init(|| {
                let mut service: EventService = BoxCloneSyncService::new(SourcesService {
                    sources: self.sources.clone(),
                    state: self.state.clone(),
                });
                for layer in &self.event_layers {
                    service = layer(service);
                }
                service
            })
            .clone()
    }

    /// Runs an event through its source's handlers, behind the event layers if there are some.
    async fn dispatch_event(
        &self,
        source: SourceKind,
        payload: &[u8],
        lambda: Context,
    ) -> Result<Vec<u8>, NamedError> {
        if self.event_layers.is_empty() {
            return self
                .sources
                .dispatch(self.state.clone(), source, payload, lambda)
                .await;
        }
        let request = EventRequest::new(source, payload.to_vec(), lambda);
        self.event_service().oneshot(request).await.map_err(|err| {
            match err.downcast::<NamedError>() {
                Ok(named) => *named,
                Err(other) => NamedError::new("Svless.LayerError", other.to_string()),
            }
        })
    }

    /// The CloudWatch namespace of the app's metrics (default: `SVLESS_METRICS_NAMESPACE`, else `svless`).
    ///
    /// ```
    /// let app = svless_core::App::new().metrics_namespace("Todo");
    /// ```
    pub fn metrics_namespace(mut self, namespace: &str) -> Self {
        self.metrics_namespace = Arc::from(namespace);
        self
    }

    /// Where the app's EMF documents go, one JSON line each (default: standard output).
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    /// let sink = lines.clone();
    /// let app = svless_core::App::new().metrics_sink(move |line: &str| {
    ///     sink.lock().expect("not poisoned").push(line.to_owned());
    /// });
    /// ```
    pub fn metrics_sink(mut self, sink: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.metrics_sink = Arc::new(sink);
        self
    }

    /// Sends every invocation to the task `task`, whatever its shape: for a function that runs
    /// one Step Functions task. On Lambda the `SVLESS_HANDLER` environment variable does the same.
    ///
    /// ```
    /// let app = svless_core::App::new().task("resize");
    /// ```
    pub fn task(mut self, task: &str) -> Self {
        self.entry = Some(task.to_owned());
        self
    }

    /// Maps a Lambda function (its name, ARN, or a template reference such as
    /// `${ResizeFunctionArn}`) to a task: invocations of that function go to the task, and
    /// [`App::check_state_machine`] resolves the function to it. A task named like the function
    /// needs no mapping.
    ///
    /// ```
    /// let app = svless_core::App::new().function("todo-resize", "resize");
    /// ```
    pub fn function(mut self, function: &str, task: &str) -> Self {
        self.functions.push((function.to_owned(), task.to_owned()));
        self
    }

    /// The task an invocation goes to, if it goes to one (see [`crate::source::task`]).
    fn task_for(
        &self,
        lambda: &Context,
    ) -> Result<Option<&crate::source::task::Subscription<S>>, NamedError> {
        crate::source::task::chosen(
            &self.sources.tasks,
            self.entry.as_deref(),
            &self.functions,
            &lambda.function_name,
        )
    }

    /// `SVLESS_HANDLER` names the task, unless the app already chose one.
    pub(crate) fn handler_from_env(self, task: &str) -> Self {
        if self.entry.is_some() {
            self
        } else {
            self.task(task)
        }
    }

    fn resolve_task(&self, function: &str) -> Option<String> {
        crate::source::task::resolve(&self.sources.tasks, &self.functions, function)
    }

    /// The names of the app's Step Functions tasks (`#[svless::task]`), in registration order:
    /// each needs a function in the deployment.
    ///
    /// ```
    /// assert!(svless_core::App::new().task_names().is_empty());
    /// ```
    pub fn task_names(&self) -> Vec<&str> {
        self.sources.tasks.iter().map(|t| t.name.as_str()).collect()
    }

    /// The task a function reference (a name, a qualified name or an ARN) maps to, as an
    /// invocation of that function would be routed: by [`App::function`], else the task named
    /// like the function. `None` when that task is not one of the app's.
    ///
    /// ```
    /// // The mapping names a task the app does not have.
    /// let app = svless_core::App::new().function("resize-fn", "resize");
    /// assert_eq!(app.task_for_function("arn:aws:lambda:us-east-1:123456789012:function:resize-fn:live"), None);
    /// ```
    pub fn task_for_function(&self, function: &str) -> Option<String> {
        self.resolve_task(function)
            .filter(|task| self.sources.tasks.iter().any(|t| &t.name == task))
    }

    /// Checks a state machine definition (Amazon States Language JSON) against the app: every
    /// Lambda task state must invoke a function that maps to a task of the app, and every name in
    /// its `Retry` and `Catch` `ErrorEquals` must be one that task can raise (or a `States.*` or
    /// `Lambda.*` name).
    ///
    /// ```
    /// use svless_core::App;
    /// use svless_core::source::task::StateMachineIssue;
    /// let definition = r#"{"StartAt": "Resize", "States": {"Resize": {
    ///     "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
    ///     "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:resize"},
    ///     "End": true}}}"#;
    /// let issues = App::new().check_state_machine(definition).unwrap_err();
    /// assert!(matches!(&issues[0], StateMachineIssue::UnknownTask { function, .. } if function.ends_with(":resize")));
    /// ```
    pub fn check_state_machine(
        &self,
        definition: &str,
    ) -> Result<(), Vec<crate::source::task::StateMachineIssue>> {
        let issues =
            crate::source::task::check(definition, &self.sources.tasks, &|f| self.resolve_task(f));
        if issues.is_empty() {
            Ok(())
        } else {
            Err(issues)
        }
    }

    /// Wraps the whole app (every route, the 404 and 405 answers) in a `tower::Layer`, inside
    /// the default layers (see [`crate::layers`]); layers added later wrap those added before.
    ///
    /// ```
    /// use svless_core::{App, Response};
    /// use tower::util::MapResponseLayer;
    /// let app = App::new().layer(MapResponseLayer::new(|mut r: Response| {
    ///     r.headers_mut().insert("x-served-by", "svless".parse().expect("a valid header"));
    ///     r
    /// }));
    /// ```
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<RouteService> + Send + Sync + 'static,
        L::Service: Service<Request, Response = Response> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request>>::Error: Into<BoxError>,
        <L::Service as Service<Request>>::Future: Send + 'static,
    {
        self.layers
            .push(Arc::new(move |inner| erase(layer.layer(inner))));
        self.compiled = OnceLock::new();
        self
    }

    /// Answers CORS preflights and decorates responses for allowed origins.
    ///
    /// ```
    /// let app = svless_core::App::new().cors(svless_core::Cors::new().allow_any_origin());
    /// ```
    pub fn cors(mut self, cors: Cors) -> Self {
        self.cors = Some(Arc::new(cors));
        self.compiled = OnceLock::new();
        self
    }

    /// Leaves out the default layer stack — HEAD bodies, problem `instance`, CORS, catching
    /// panics; see [`crate::layers`] — so you can add those layers yourself with
    /// [`App::layer`], in another order or not at all.
    ///
    /// [`App::cors`] configures the default stack's CORS layer: with the stack left out, add a
    /// [`CorsLayer`] instead ([`App::check`] says so).
    ///
    /// ```
    /// use svless_core::{App, layers::{CatchPanicLayer, HeadLayer}};
    /// async fn hello() -> &'static str { "hello" }
    /// // Panics caught, HEAD answered, no problem instance and no CORS.
    /// let app = App::new()
    ///     .without_default_layers()
    ///     .route_fn("GET", "/", hello)
    ///     .layer(CatchPanicLayer)
    ///     .layer(HeadLayer);
    /// ```
    pub fn without_default_layers(mut self) -> Self {
        self.default_layers = false;
        self.compiled = OnceLock::new();
        self
    }

    /// A base path that a custom domain's API mapping puts in front of every route
    /// (`/v1` for `https://api.example.com/v1/todos`), removed before path matching.
    ///
    /// Only needed for `$default` routes and `{proxy+}` integrations: when API Gateway routed the
    /// request itself, svless uses the route it matched and needs no path.
    ///
    /// ```
    /// let app = svless_core::App::new().base_path("/v1");
    /// ```
    pub fn base_path(mut self, base_path: &str) -> Self {
        let trimmed = base_path.trim_end_matches('/');
        self.base_path = (!trimmed.is_empty()).then(|| trimmed.to_owned());
        self
    }

    /// The payload format [`App::serve`] turns local HTTP requests into: HTTP API events
    /// (`PayloadFormat::ApiGatewayV2`, the default) or REST API events (`PayloadFormat::ApiGatewayV1`),
    /// to run locally as the app runs behind its real API.
    ///
    /// ```
    /// use svless_core::{App, PayloadFormat};
    /// let app = App::new().local_format(PayloadFormat::ApiGatewayV1);
    /// assert_eq!(app.local_payload_format(), PayloadFormat::ApiGatewayV1);
    /// ```
    pub fn local_format(mut self, format: PayloadFormat) -> Self {
        self.local_format = match format {
            PayloadFormat::ApiGatewayV1 => PayloadFormat::ApiGatewayV1,
            _ => PayloadFormat::ApiGatewayV2,
        };
        self
    }

    /// The payload format of local runs; see [`App::local_format`].
    ///
    /// ```
    /// assert_eq!(svless_core::App::new().local_payload_format(), svless_core::PayloadFormat::ApiGatewayV2);
    /// ```
    pub fn local_payload_format(&self) -> PayloadFormat {
        self.local_format
    }

    /// Checks what was registered: bad templates, duplicate routes, unknown methods.
    ///
    /// ```
    /// async fn h() {}
    /// assert!(svless_core::App::new().route_fn("GIT", "/", h).check().is_err());
    /// ```
    pub fn check(&self) -> Result<(), BuildError> {
        let mut problems = self.errors.clone();
        if self.cors.is_some() && !self.default_layers {
            problems.push(
                "`cors(..)` configures the default layers, which `without_default_layers()` left out: add `svless::layers::CorsLayer::new(..)` with `layer(..)` instead".to_owned(),
            );
        }
        let known = |task: &str| self.sources.tasks.iter().any(|t| t.name == task);
        for (function, task) in &self.functions {
            if !known(task) {
                problems.push(format!(
                    "the function `{function}` maps to `{task}`, which is no task of this app"
                ));
            }
        }
        if let Some(entry) = self.entry.as_deref().filter(|e| !known(e)) {
            problems.push(format!("the handler `{entry}` is no task of this app"));
        }
        problems.extend(self.sources.problems());
        let mut names: Vec<&str> = self.sources.tasks.iter().map(|t| t.name.as_str()).collect();
        names.sort_unstable();
        for pair in names.windows(2).filter(|p| p[0] == p[1]) {
            problems.push(format!("two tasks are named `{}`", pair[0]));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(BuildError { problems })
        }
    }

    /// The app's state.
    ///
    /// ```
    /// let app = svless_core::App::new().state(5u8);
    /// assert_eq!(*app.app_state(), 5);
    /// ```
    pub fn app_state(&self) -> &S {
        &self.state
    }

    fn endpoint_target<E, M>(&self, endpoint: E) -> RouteTarget
    where
        E: Endpoint,
        E::Args: FromRequestArgs<S, M>,
    {
        let state = self.state.clone();
        RouteTarget::Direct(Arc::new(move |req: Request| {
            let endpoint = endpoint.clone();
            let state = state.clone();
            Box::pin(async move {
                match E::Args::extract(req, &state).await {
                    Ok(args) => endpoint.call(args).await,
                    Err(rejection) => rejection,
                }
            })
        }))
    }

    fn add(mut self, method: &str, path: &str, target: RouteTarget) -> Self {
        let Some(method_filter) = MethodFilter::parse(method) else {
            self.errors.push(format!(
                "`{method}` is not an HTTP method API Gateway routes (use GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or ANY)"
            ));
            return self;
        };
        let template = match Template::parse(path) {
            Ok(template) => template,
            Err(err) => {
                self.errors.push(err.to_string());
                return self;
            }
        };
        self.compiled = OnceLock::new();
        let entry = RouteEntry {
            method: method_filter,
            template,
            target,
        };
        if let Err(err) = Arc::make_mut(&mut self.router).insert(entry) {
            self.errors.push(err);
            return self;
        }
        #[cfg(feature = "openapi")]
        self.docs.push(crate::openapi::RouteDoc {
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            describe: None,
            mock: None,
        });
        self
    }

    fn router_service(&self) -> RouterService {
        RouterService::new(self.router.clone(), self.base_path.as_deref())
    }

    /// The app behind its layers: built once, after the last change.
    fn stack(&self) -> Stack {
        self.compiled
            .get_or_init(|| {
                let inner = if self.layers.is_empty() {
                    Routes::Bare(self.router_service())
                } else {
                    let mut service: RouteService = BoxCloneSyncService::new(self.router_service());
                    for layer in &self.layers {
                        service = layer(service);
                    }
                    Routes::Layered(service)
                };
                if !self.default_layers {
                    return Stack::Bare(inner);
                }
                Stack::Default(HeadLayer.layer(ProblemInstanceLayer.layer(
                    CorsLayer::optional(self.cors.clone()).layer(CatchPanicLayer.layer(inner)),
                )))
            })
            .clone()
    }

    /// Whether the app has a handler for events of `kind` (S3 notifications, stream records,
    /// …): what a local cloud asks before it delivers a source's events.
    ///
    /// ```
    /// use svless_core::source::SourceKind;
    /// let app = svless_core::App::new();
    /// assert!(!app.handles(&SourceKind::S3));
    /// ```
    pub fn handles(&self, kind: &SourceKind) -> bool {
        self.sources.takes(kind)
    }

    /// The `source` and `detail-type` each `#[svless::event]` handler takes (`None`: any): the
    /// rules a local EventBridge routes events to the app by, when none are configured.
    ///
    /// ```
    /// assert!(svless_core::App::new().event_filters().is_empty());
    /// ```
    pub fn event_filters(&self) -> Vec<(Option<String>, Option<String>)> {
        self.sources.event_filters()
    }

    /// Whether one of the app's `#[svless::s3]` handlers takes a change of `key` (`event`: S3's
    /// event name, `ObjectCreated:Put`, ...) by its prefix, suffix and event filters: what a
    /// bucket's notification configuration sends to the function, and so what a local bucket
    /// delivers.
    ///
    /// ```
    /// assert!(!svless_core::App::new().takes_object("uploads/a.jpg", "ObjectCreated:Put"));
    /// ```
    pub fn takes_object(&self, key: &str, event: &str) -> bool {
        self.sources.takes_object(key, event)
    }

    /// The route keys of the app's WebSocket handlers (`$connect`, `$default`, actions): what a
    /// local WebSocket gateway selects routes from.
    ///
    /// ```
    /// assert!(svless_core::App::new().websocket_routes().is_empty());
    /// ```
    pub fn websocket_routes(&self) -> Vec<String> {
        self.sources.websocket_routes()
    }

    /// Handles one Lambda payload: decode it, route it, call the handler, encode the answer.
    ///
    /// This is the one entry point: the Lambda runtime, the local server and the test client
    /// all call it. `lambda` carries what Lambda told about the invocation (request id, ...).
    ///
    /// ```
    /// # async fn doc() {
    /// use svless_core::{App, Context};
    /// async fn hello() -> &'static str { "hello" }
    /// let app = App::new().route_fn("GET", "/", hello);
    /// let event = br#"{"version":"2.0","routeKey":"$default","rawPath":"/","rawQueryString":"",
    ///   "headers":{},"requestContext":{"http":{"method":"GET","path":"/"},"requestId":"r1",
    ///   "stage":"$default","timeEpoch":0},"isBase64Encoded":false}"#;
    /// let out = app.dispatch(event, Context::default()).await.expect("an HTTP API event");
    /// let out: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
    /// assert_eq!(out["body"], "hello");
    /// # }
    /// ```
    pub async fn dispatch(&self, payload: &[u8], lambda: Context) -> Result<Vec<u8>, NamedError> {
        let scope = Scope::new(&lambda, &self.metrics_namespace);
        let span = tracing::info_span!("invocation", requestId = %lambda.request_id);
        let outcome = scope::run(
            scope.clone(),
            self.dispatch_in_scope(payload, lambda).instrument(span),
        )
        .await;
        crate::metrics::flush(&scope, &self.metrics_sink);
        outcome
    }

    async fn dispatch_in_scope(
        &self,
        payload: &[u8],
        lambda: Context,
    ) -> Result<Vec<u8>, NamedError> {
        if let Some(task) = self.task_for(&lambda)? {
            let name = task.name.clone();
            return self
                .dispatch_event(SourceKind::Task(name), payload, lambda)
                .await;
        }
        match crate::payload::classify(payload)? {
            kind @ (Kind::Http(_) | Kind::HttpApiV1) => {
                let (request, reply) = match kind {
                    Kind::Http(format) => crate::payload::decode(payload, format, lambda)?,
                    _ => crate::payload::decode_http_api_v1(payload, lambda)?,
                };
                let head = request.method() == Method::HEAD;
                let response = self.handle(request).await;
                let out = crate::payload::encode(response, reply);
                if out.len() <= MAX_SYNC_RESPONSE_BYTES {
                    return Ok(out);
                }
                // Lambda would refuse this payload after the handler ran, and API Gateway would
                // answer 502 with nothing in the app's log: answer a problem that says why.
                tracing::error!(
                    bytes = out.len(),
                    limit = MAX_SYNC_RESPONSE_BYTES,
                    "the response is over Lambda's payload limit for synchronous invocations"
                );
                let mut response = Error::new(StatusCode::INTERNAL_SERVER_ERROR)
                    .with_detail(format!(
                        "the response is {} bytes as a Lambda payload, over Lambda's limit of {MAX_SYNC_RESPONSE_BYTES} bytes for a synchronous invocation: return less, or hand out a presigned URL",
                        out.len()
                    ))
                    .into_response();
                // Rare: the request id is read again from the payload rather than kept for
                // every request.
                let trace_id = crate::payload::request_id(payload)
                    .or_else(|| scope::current().map(|s| s.request_id.clone()));
                crate::layers::fill_instance(&mut response, trace_id.as_deref());
                if head {
                    *response.body_mut() = Body::empty();
                }
                Ok(crate::payload::encode(response, reply))
            }
            Kind::Event(source) => self.dispatch_event(source, payload, lambda).await,
        }
    }

    /// Handles one HTTP request: the default layers (see [`crate::layers`]), the app's layers,
    /// routing, the handler.
    ///
    /// A panicking handler becomes a 500 problem that says nothing of the panic; the panic is
    /// logged with the request id, and the app keeps serving.
    ///
    /// ```
    /// # async fn doc() {
    /// use svless_core::{App, Body, Request};
    /// let app = App::new();
    /// let response = app.handle(Request::new(Body::empty())).await;
    /// assert_eq!(response.status(), 404);
    /// # }
    /// ```
    pub async fn handle(&self, request: Request) -> Response {
        let outcome = match self.stack() {
            Stack::Default(stack) => stack.oneshot(request).await,
            Stack::Bare(routes) => routes.oneshot(request).await,
        };
        match outcome {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }

    /// The app as a `tower::Service` of HTTP requests, to embed it in another server or test it
    /// with tower's utilities.
    ///
    /// ```
    /// # async fn doc() {
    /// use svless_core::{App, Body, Request};
    /// use tower::ServiceExt;
    /// async fn hello() -> &'static str { "hello" }
    /// let service = App::new().route_fn("GET", "/", hello).into_service();
    /// let response = service.oneshot(Request::new(Body::empty())).await.expect("infallible");
    /// assert_eq!(response.status(), 200);
    /// # }
    /// ```
    pub fn into_service(self) -> AppService<S> {
        AppService {
            app: Arc::new(self),
        }
    }
}

/// The largest response payload of a synchronous Lambda invocation (6 MB as Lambda counts it:
/// the encoded payload, base64 bodies included).
pub const MAX_SYNC_RESPONSE_BYTES: usize = 6_291_556;

fn erase<T>(service: T) -> RouteService
where
    T: Service<Request, Response = Response> + Clone + Send + Sync + 'static,
    T::Error: Into<BoxError>,
    T::Future: Send + 'static,
{
    BoxCloneSyncService::new(Erased(service))
}

/// Turns a service's errors into 500 problems, so every route and layer is infallible.
#[derive(Clone)]
struct Erased<T>(T);

impl<T> Service<Request> for Erased<T>
where
    T: Service<Request, Response = Response>,
    T::Error: Into<BoxError>,
    T::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        match self.0.poll_ready(cx) {
            Poll::Ready(Err(err)) => {
                tracing::error!(error = %err.into(), "a layer is not ready");
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Ok(())) => Poll::Ready(Ok(())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let future = self.0.call(request);
        Box::pin(async move {
            Ok(future
                .await
                .unwrap_or_else(|err| Error::internal(err.into()).into_response()))
        })
    }
}

/// An [`App`] as a cloneable `tower::Service`; see [`App::into_service`].
///
/// ```
/// async fn hello() -> &'static str { "hello" }
/// let service: svless_core::AppService<()> = svless_core::App::new().route_fn("GET", "/", hello).into_service();
/// let copy = service.clone();
/// ```
pub struct AppService<S> {
    app: Arc<App<S>>,
}

impl<S> Clone for AppService<S> {
    fn clone(&self) -> Self {
        Self {
            app: self.app.clone(),
        }
    }
}

impl<S: Send + Sync + 'static> Service<Request> for AppService<S> {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let app = self.app.clone();
        Box::pin(async move { Ok(app.handle(request).await) })
    }
}

/// The app's HTTP side, built once: the default layers around the routes, or the routes alone.
#[derive(Clone)]
enum Stack {
    Default(Head<ProblemInstance<CorsService<CatchPanic<Routes>>>>),
    Bare(Routes),
}

/// The router, alone (one allocation per request: the handler's future) or behind the app's
/// own layers.
#[derive(Clone)]
enum Routes {
    Bare(RouterService),
    Layered(RouteService),
}

impl Service<Request> for Routes {
    type Response = Response;
    type Error = Infallible;
    type Future = RoutesFuture;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        match self {
            Routes::Bare(_) => Poll::Ready(Ok(())),
            Routes::Layered(service) => service.poll_ready(cx),
        }
    }

    fn call(&mut self, request: Request) -> RoutesFuture {
        match self {
            Routes::Bare(router) => RoutesFuture::Bare {
                future: router.route(request),
            },
            Routes::Layered(service) => RoutesFuture::Layered {
                future: service.call(request),
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Routes`].
    #[project = RoutesProjection]
    enum RoutesFuture {
        Bare { #[pin] future: BoxFuture<Response> },
        Layered { #[pin] future: <RouteService as Service<Request>>::Future },
    }
}

impl Future for RoutesFuture {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        match self.project() {
            RoutesProjection::Bare { future } => future.poll(cx).map(Ok),
            RoutesProjection::Layered { future } => future.poll(cx),
        }
    }
}
