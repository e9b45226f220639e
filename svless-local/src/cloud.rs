//! The local cloud: the whole app in one process, on embedded defaults — its HTTP API on
//! loopback, the AWS services it calls on a second loopback port (Step Functions), its object
//! store and tables kept in a data directory, and their changes delivered to its
//! `#[svless::s3]` and `#[svless::dynamodb_stream]` handlers with Lambda's retry semantics.
//! Every event goes through the same [`App::dispatch`](svless_core::App::dispatch) as on
//! Lambda.
//!
//! [`run`] is what `app.run()` does off Lambda (with svless's `local` feature); [`Cloud`] starts
//! one from a test with the addresses and directory of your choice.
//!
//! ```no_run
//! # async fn doc() -> Result<(), svless_core::BoxError> {
//! use svless_local::cloud::Cloud;
//! let running = Cloud::new(svless_core::App::new())
//!     .http_addr(([127, 0, 0, 1], 0).into())
//!     .services_addr(([127, 0, 0, 1], 0).into())
//!     .data_dir(std::env::temp_dir().join("svless-doc-cloud"))
//!     .start()
//!     .await?;
//! println!("the HTTP API is on {}", running.http_url());
//! running.shutdown().await;
//! # Ok(()) }
//! ```

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use serde_json::json;
use svless_core::source::SourceKind;
use svless_core::{App, BoxError};
use svless_store::delivery::{AsyncRetry, FailureSink, StreamMapping};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use crate::authorize::{AuthorizerKind, LambdaAuthorizer};
pub use crate::cognito::{CognitoError, PoolConfig, UserPool};
use crate::events::{EventPattern, Schedule};
pub use crate::gateway::JwtAuthorizer;
use crate::gateway::{Authorizer, Gateway as HttpGateway};
use crate::kinesis::Streams;
use crate::sfn::{Api, Clock, StepFunctions};
use crate::sqs::{Queues, SqsMapping};
pub use crate::websocket::Limits;
use crate::websocket::{Connections, Gateway};
use svless_store::delivery::invoke_async;

/// The variable that marks the process the local cloud runs in (set by [`run`] on the copy
/// of the program it starts with the endpoint variables in place).
pub const CHILD_MARK: &str = "SVLESS_LOCAL_CLOUD";

/// The default port of the HTTP API (`PORT` overrides it).
pub const DEFAULT_PORT: u16 = 3000;

/// The AWS services the local cloud answers, with the variable the AWS SDKs read for each
/// service's endpoint (`AWS_ENDPOINT_URL_<SERVICE>`).
pub const SERVICES: [(&str, &str); 6] = [
    ("Step Functions", "AWS_ENDPOINT_URL_SFN"),
    ("Kinesis", "AWS_ENDPOINT_URL_KINESIS"),
    ("SQS", "AWS_ENDPOINT_URL_SQS"),
    ("EventBridge", "AWS_ENDPOINT_URL_EVENTBRIDGE"),
    (
        "Cognito user pools",
        "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
    ),
    (
        "WebSocket connections",
        "AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI",
    ),
];

/// Why the local cloud could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CloudError {
    /// The app is misconfigured.
    #[error(transparent)]
    App(#[from] svless_core::BuildError),
    /// The data directory cannot be used.
    #[error(transparent)]
    DataDir(#[from] svless_store::local::DataDirError),
    /// A port could not be bound.
    #[error("cannot listen on {addr} for the {what}: {source} (set {hint} to choose another port)")]
    Bind {
        /// What was to listen there.
        what: &'static str,
        /// The address.
        addr: SocketAddr,
        /// The variable that chooses the port.
        hint: &'static str,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The table database could not be opened.
    #[error("cannot open the tables in {dir}: {source}")]
    Tables {
        /// The directory.
        dir: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The route selection expression is not one the local gateway evaluates.
    #[error("the route selection expression `{0}` is not `$request.body.<path>`")]
    RouteSelection(String),
    /// An event pattern EventBridge would refuse.
    #[error("the rule `{name}` has an invalid event pattern: {message}")]
    Rule {
        /// The rule.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A schedule expression EventBridge would refuse.
    #[error("the schedule `{name}` is invalid: {message}")]
    Schedule {
        /// The schedule.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// No schedule has that name.
    #[error("there is no schedule `{0}`")]
    NoSchedule(String),
    /// The JWT authorizer could not be set up.
    #[error("the JWT authorizer cannot be set up: {0}")]
    Authorizer(String),
    /// The user pool could not be opened.
    #[error("cannot open the user pool in {dir}: {message}")]
    UserPool {
        /// The directory.
        dir: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A state machine's definition is invalid.
    #[error("the state machine `{name}` is invalid: {message}")]
    StateMachine {
        /// The name.
        name: String,
        /// The diagnostics.
        message: String,
    },
}

/// A local cloud to start.
pub struct Cloud<S> {
    app: App<S>,
    http: SocketAddr,
    services: SocketAddr,
    websocket: SocketAddr,
    data_dir: Option<PathBuf>,
    state_machines: Vec<(String, String)>,
    object_retry: AsyncRetry,
    stream_mapping: StreamMapping,
    pool: PoolConfig,
    limits: Limits,
    route_selection: String,
    authorizer: Option<JwtAuthorizer>,
    lambda_authorizer: Option<LambdaAuthorizer>,
    connect_authorizer: Option<LambdaAuthorizer>,
    timeout: Duration,
    function_timeout: Duration,
    rules: Vec<(String, serde_json::Value)>,
    schedules: Vec<(String, String)>,
    event_retry: AsyncRetry,
    sqs_mapping: SqsMapping,
}

fn port_from_env(var: &str) -> Option<u16> {
    std::env::var(var).ok().and_then(|p| p.parse().ok())
}

impl<S: Send + Sync + 'static> Cloud<S> {
    /// A cloud for `app`: the HTTP API on `127.0.0.1:$PORT` (3000), the services on
    /// `127.0.0.1:$SVLESS_SERVICES_PORT` (the HTTP port + 1), the data directory of
    /// [`svless_store::local`], local retries (S3 events: twice, 1 s then 2 s; stream batches:
    /// Lambda's defaults with a 500 ms backoff).
    ///
    /// ```
    /// let cloud = svless_local::cloud::Cloud::new(svless_core::App::new());
    /// ```
    pub fn new(app: App<S>) -> Self {
        let http_port = port_from_env("PORT").unwrap_or(DEFAULT_PORT);
        let services_port =
            port_from_env("SVLESS_SERVICES_PORT").unwrap_or(http_port.saturating_add(1));
        let websocket_port =
            port_from_env("SVLESS_WEBSOCKET_PORT").unwrap_or(http_port.saturating_add(2));
        Self {
            app,
            http: SocketAddr::from(([127, 0, 0, 1], http_port)),
            services: SocketAddr::from(([127, 0, 0, 1], services_port)),
            websocket: SocketAddr::from(([127, 0, 0, 1], websocket_port)),
            data_dir: None,
            state_machines: Vec::new(),
            object_retry: AsyncRetry::default(),
            stream_mapping: StreamMapping::default(),
            pool: PoolConfig::default(),
            limits: Limits::default(),
            route_selection: "$request.body.action".into(),
            authorizer: None,
            lambda_authorizer: None,
            connect_authorizer: None,
            timeout: Duration::from_secs(29),
            function_timeout: Duration::from_secs(30),
            rules: Vec::new(),
            schedules: Vec::new(),
            event_retry: AsyncRetry::default(),
            sqs_mapping: SqsMapping::default(),
        }
    }

    /// The event source mapping of the local queues: every queue that is not another's
    /// dead-letter queue delivers to the app's `#[svless::sqs]` handlers.
    ///
    /// ```
    /// use svless_local::sqs::SqsMapping;
    /// let cloud = svless_local::cloud::Cloud::new(svless_core::App::new())
    ///     .sqs_mapping(SqsMapping { batch_size: 1, ..SqsMapping::default() });
    /// ```
    pub fn sqs_mapping(mut self, mapping: SqsMapping) -> Self {
        self.sqs_mapping = mapping;
        self
    }

    /// An EventBridge rule: events sent with `PutEvents` that match `pattern` go to the app.
    /// Without rules, the app's `#[svless::event]` handlers make them: one rule per handler, on
    /// its `source` and `detail-type`. An event that several rules match invokes the app once.
    ///
    /// ```
    /// let cloud = svless_local::cloud::Cloud::new(svless_core::App::new())
    ///     .rule("big-orders", serde_json::json!({"source": ["shop"], "detail": {"total": [{"numeric": [">", 100]}]}}));
    /// ```
    pub fn rule(mut self, name: &str, pattern: serde_json::Value) -> Self {
        self.rules.push((name.to_owned(), pattern));
        self
    }

    /// A schedule: `rate(...)` or six-field `cron(...)` (UTC), firing a `Scheduled Event`
    /// (`source` `aws.events`) at the app; [`Running::fire`] fires it now. An expression
    /// EventBridge refuses is refused at start-up.
    ///
    /// ```
    /// let cloud = svless_local::cloud::Cloud::new(svless_core::App::new()).schedule("nightly", "cron(0 3 * * ? *)");
    /// ```
    pub fn schedule(mut self, name: &str, expression: &str) -> Self {
        self.schedules
            .push((name.to_owned(), expression.to_owned()));
        self
    }

    /// How EventBridge events and schedules are retried (asynchronous invocations: twice by
    /// default).
    ///
    /// ```
    /// use svless_store::delivery::AsyncRetry;
    /// let cloud = svless_local::cloud::Cloud::new(svless_core::App::new())
    ///     .event_retry(AsyncRetry { retries: 0, ..AsyncRetry::default() });
    /// ```
    pub fn event_retry(mut self, retry: AsyncRetry) -> Self {
        self.event_retry = retry;
        self
    }

    /// A JWT authorizer at the HTTP API, as an HTTP API runs one: a guarded route without a
    /// valid token answers 401 `{"message":"Unauthorized"}` before the app sees it; with one,
    /// the app gets its claims under `requestContext.authorizer.jwt` (what
    /// `CognitoAuthLayer::trust_api_gateway` reads).
    ///
    /// ```
    /// use svless_local::{cognito::PoolConfig, gateway::JwtAuthorizer};
    /// let cloud = svless_local::cloud::Cloud::new(svless_core::App::new())
    ///     .jwt_authorizer(JwtAuthorizer::local_pool(&PoolConfig::default()).public(["GET /"]));
    /// ```
    pub fn jwt_authorizer(mut self, authorizer: JwtAuthorizer) -> Self {
        self.authorizer = Some(authorizer);
        self
    }

    /// A Lambda authorizer at the HTTP API: the app's `#[svless::authorizer]` of that name runs
    /// before guarded routes, as API Gateway runs it (TOKEN, REQUEST or HTTP API events; policies
    /// evaluated against the method ARN; answers cached by identity source).
    ///
    /// ```
    /// use svless_local::authorize::{AuthorizerKind, LambdaAuthorizer};
    /// let cloud = svless_local::cloud::Cloud::new(svless_core::App::new())
    ///     .lambda_authorizer(LambdaAuthorizer::new("authorize", AuthorizerKind::Token));
    /// ```
    pub fn lambda_authorizer(mut self, authorizer: LambdaAuthorizer) -> Self {
        self.lambda_authorizer = Some(authorizer);
        self
    }

    /// The function timeout of event invocations (S3, streams, queues, EventBridge, WebSocket
    /// messages, tasks): a handler still running then fails with `Sandbox.Timedout`, as Lambda
    /// reports it, and its event is retried as its source retries it (30 s by default).
    ///
    /// ```
    /// let cloud = svless_local::cloud::Cloud::new(svless_core::App::new())
    ///     .function_timeout(std::time::Duration::from_secs(3));
    /// ```
    pub fn function_timeout(mut self, timeout: Duration) -> Self {
        self.function_timeout = timeout;
        self
    }

    /// A Lambda authorizer on the WebSocket API's `$connect` (a REQUEST authorizer: identity
    /// sources are usually `route.request.querystring.<name>`, since browsers cannot set headers
    /// on a WebSocket): a refused connection gets the HTTP status before the upgrade; an allowed
    /// one carries the principal and context in every event's `requestContext.authorizer`.
    ///
    /// ```
    /// use svless_local::authorize::{AuthorizerKind, LambdaAuthorizer};
    /// let cloud = svless_local::cloud::Cloud::new(svless_core::App::new()).connect_authorizer(
    ///     LambdaAuthorizer::new("authorize", AuthorizerKind::Request)
    ///         .identity_source("route.request.querystring.token"),
    /// );
    /// ```
    pub fn connect_authorizer(mut self, authorizer: LambdaAuthorizer) -> Self {
        self.connect_authorizer = Some(authorizer);
        self
    }

    /// How long the HTTP API waits for the app (API Gateway: 29 s; then 504 for a REST API,
    /// 503 for an HTTP API).
    ///
    /// ```
    /// let cloud = svless_local::cloud::Cloud::new(svless_core::App::new())
    ///     .integration_timeout(std::time::Duration::from_secs(5));
    /// ```
    pub fn integration_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Where the WebSocket API listens, when the app has WebSocket handlers (port 0: any free
    /// port; default the HTTP port + 2, `SVLESS_WEBSOCKET_PORT`).
    ///
    /// ```
    /// let cloud = svless_local::cloud::Cloud::new(svless_core::App::new()).websocket_addr(([127, 0, 0, 1], 0).into());
    /// ```
    pub fn websocket_addr(mut self, addr: SocketAddr) -> Self {
        self.websocket = addr;
        self
    }

    /// The WebSocket API's limits (API Gateway's by default).
    ///
    /// ```
    /// use std::time::Duration;
    /// use svless_local::websocket::Limits;
    /// let cloud = svless_local::cloud::Cloud::new(svless_core::App::new())
    ///     .websocket_limits(Limits { idle: Duration::from_secs(30), ..Limits::default() });
    /// ```
    pub fn websocket_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The WebSocket API's route selection expression (`$request.body.action` by default;
    /// any `$request.body.<path>`).
    ///
    /// ```
    /// let cloud = svless_local::cloud::Cloud::new(svless_core::App::new())
    ///     .route_selection_expression("$request.body.type");
    /// ```
    pub fn route_selection_expression(mut self, expression: &str) -> Self {
        self.route_selection = expression.to_owned();
        self
    }

    /// The local user pool's settings (its id, app client id, groups, whether sign-ups confirm
    /// at once).
    ///
    /// ```
    /// use svless_local::cognito::PoolConfig;
    /// let cloud = svless_local::cloud::Cloud::new(svless_core::App::new())
    ///     .user_pool(PoolConfig { groups: vec!["admin".into()], ..PoolConfig::default() });
    /// ```
    pub fn user_pool(mut self, config: PoolConfig) -> Self {
        self.pool = config;
        self
    }

    /// Where the HTTP API listens (port 0: any free port).
    ///
    /// ```
    /// let cloud = svless_local::cloud::Cloud::new(svless_core::App::new()).http_addr(([127, 0, 0, 1], 8080).into());
    /// ```
    pub fn http_addr(mut self, addr: SocketAddr) -> Self {
        self.http = addr;
        self
    }

    /// Where the AWS services listen (port 0: any free port).
    ///
    /// ```
    /// let cloud = svless_local::cloud::Cloud::new(svless_core::App::new()).services_addr(([127, 0, 0, 1], 0).into());
    /// ```
    pub fn services_addr(mut self, addr: SocketAddr) -> Self {
        self.services = addr;
        self
    }

    /// The data directory (see [`svless_store::local::set_data_dir`]: one per process).
    ///
    /// ```
    /// let cloud = svless_local::cloud::Cloud::new(svless_core::App::new()).data_dir("/tmp/my-app");
    /// ```
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// A state machine to create at start-up, from its ASL definition (the file you deploy).
    ///
    /// ```
    /// let cloud = svless_local::cloud::Cloud::new(svless_core::App::new()).state_machine(
    ///     "hello",
    ///     r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}"#,
    /// );
    /// ```
    pub fn state_machine(mut self, name: &str, definition: &str) -> Self {
        self.state_machines
            .push((name.to_owned(), definition.to_owned()));
        self
    }

    /// How S3 notifications are retried (the on-failure records also go to
    /// `<data dir>/failures.jsonl`).
    ///
    /// ```
    /// use svless_store::delivery::AsyncRetry;
    /// let cloud = svless_local::cloud::Cloud::new(svless_core::App::new())
    ///     .object_retry(AsyncRetry { retries: 0, ..AsyncRetry::default() });
    /// ```
    pub fn object_retry(mut self, retry: AsyncRetry) -> Self {
        self.object_retry = retry;
        self
    }

    /// The event source mapping of the tables' streams.
    ///
    /// ```
    /// use svless_store::delivery::StreamMapping;
    /// let cloud = svless_local::cloud::Cloud::new(svless_core::App::new())
    ///     .stream_mapping(StreamMapping { maximum_retry_attempts: Some(3), ..StreamMapping::default() });
    /// ```
    pub fn stream_mapping(mut self, mapping: StreamMapping) -> Self {
        self.stream_mapping = mapping;
        self
    }

    /// Binds the ports, creates the state machines, starts the deliveries: the cloud runs until
    /// [`Running::shutdown`].
    pub async fn start(self) -> Result<Running, CloudError> {
        self.app.check()?;
        let Some(selection) = self
            .route_selection
            .strip_prefix("$request.body.")
            .filter(|path| !path.is_empty())
            .map(str::to_owned)
        else {
            return Err(CloudError::RouteSelection(self.route_selection));
        };
        let mut rules = Vec::new();
        for (name, pattern) in &self.rules {
            let parsed = EventPattern::parse(pattern).map_err(|e| CloudError::Rule {
                name: name.clone(),
                message: e.to_string(),
            })?;
            rules.push(parsed);
        }
        if self.rules.is_empty() {
            for (source, detail_type) in self.app.event_filters() {
                let mut pattern = serde_json::Map::new();
                if let Some(source) = source {
                    pattern.insert("source".into(), json!([source]));
                }
                if let Some(detail_type) = detail_type {
                    pattern.insert("detail-type".into(), json!([detail_type]));
                }
                if pattern.is_empty() {
                    pattern.insert("source".into(), json!([{"exists": true}]));
                }
                let parsed =
                    EventPattern::parse(&serde_json::Value::Object(pattern)).map_err(|e| {
                        CloudError::Rule {
                            name: "(from the app's handlers)".into(),
                            message: e.to_string(),
                        }
                    })?;
                rules.push(parsed);
            }
        }
        let mut schedules = Vec::new();
        for (name, expression) in &self.schedules {
            let schedule = Schedule::parse(expression).map_err(|e| CloudError::Schedule {
                name: name.clone(),
                message: e.to_string(),
            })?;
            schedules.push((name.clone(), schedule));
        }
        match &self.data_dir {
            Some(dir) => svless_store::local::set_data_dir(dir)?,
            None => svless_store::local::check_writable(&svless_store::local::data_dir())?,
        }
        let data_dir = svless_store::local::data_dir();
        let tables_dir = data_dir.join("tables");
        let db = svless_store::local::tables().map_err(|source| CloudError::Tables {
            dir: tables_dir,
            source,
        })?;
        let http = TcpListener::bind(self.http)
            .await
            .map_err(|source| CloudError::Bind {
                what: "HTTP API",
                addr: self.http,
                hint: "PORT",
                source,
            })?;
        let services =
            TcpListener::bind(self.services)
                .await
                .map_err(|source| CloudError::Bind {
                    what: "AWS services",
                    addr: self.services,
                    hint: "SVLESS_SERVICES_PORT",
                    source,
                })?;
        let http_addr = http.local_addr().map_err(|source| CloudError::Bind {
            what: "HTTP API",
            addr: self.http,
            hint: "PORT",
            source,
        })?;
        let services_addr = services.local_addr().map_err(|source| CloudError::Bind {
            what: "AWS services",
            addr: self.services,
            hint: "SVLESS_SERVICES_PORT",
            source,
        })?;

        let routes = self.app.websocket_routes();
        let websocket = if routes.is_empty() {
            None
        } else {
            let listener =
                TcpListener::bind(self.websocket)
                    .await
                    .map_err(|source| CloudError::Bind {
                        what: "WebSocket API",
                        addr: self.websocket,
                        hint: "SVLESS_WEBSOCKET_PORT",
                        source,
                    })?;
            let addr = listener.local_addr().map_err(|source| CloudError::Bind {
                what: "WebSocket API",
                addr: self.websocket,
                hint: "SVLESS_WEBSOCKET_PORT",
                source,
            })?;
            Some((listener, addr))
        };
        let pool_dir = data_dir.join("cognito").join(&self.pool.pool_id);
        let pool =
            UserPool::open(&pool_dir, self.pool.clone()).map_err(|e| CloudError::UserPool {
                dir: pool_dir,
                message: e.to_string(),
            })?;
        let services_url = format!("http://{services_addr}");
        svless_store::local::set_presign_endpoint(&services_url);

        let function_timeout = self.function_timeout;
        let app = Arc::new(self.app.event_layer(tower::layer::layer_fn(
            move |inner: svless_core::source::EventService| {
                tower::util::BoxCloneSyncService::new(FunctionTimeout {
                    inner,
                    timeout: function_timeout,
                })
            },
        )));
        let connections = Connections::default();
        let queues = Queues::new(&services_url);
        let streams = Streams::default();
        let sfn = StepFunctions::shared(app.clone()).clock(Clock::Wall);
        let api = Api::new(sfn);
        let mut machines = Vec::new();
        for (name, definition) in &self.state_machines {
            let created = api
                .call(
                    "CreateStateMachine",
                    &json!({
                        "name": name,
                        "definition": definition,
                        "roleArn": "arn:aws:iam::123456789012:role/svless-local",
                    }),
                )
                .await
                .map_err(|e| CloudError::StateMachine {
                    name: name.clone(),
                    message: e.to_string(),
                })?;
            let arn = created["stateMachineArn"].as_str().unwrap_or_default();
            machines.push((name.clone(), arn.to_owned()));
        }

        let failures = data_dir.join("failures.jsonl");
        let sink = failure_sink(&failures);
        let (stop, stopped) = watch::channel(false);
        let mut servers = JoinSet::new();
        let mut deliveries = JoinSet::new();
        {
            let jwks = format!(
                "http://{services_addr}/{}/.well-known/jwks.json",
                pool.pool_id()
            );
            let authorizer = match self.authorizer {
                Some(config) => Some(Arc::new(
                    Authorizer::new(config, &jwks)
                        .map_err(|e| CloudError::Authorizer(e.to_string()))?,
                )),
                None => None,
            };
            let gateway = HttpGateway {
                app: app.clone(),
                authorizer,
                lambda: self
                    .lambda_authorizer
                    .map(|config| Arc::new(crate::authorize::Authorizing::new(config))),
                timeout: self.timeout,
            };
            let stopped = stopped.clone();
            servers.spawn(async move {
                gateway.serve(http, wait_for(stopped)).await;
            });
        }
        {
            let stopped = stopped.clone();
            let services_state = Services {
                events: Arc::new(EventBus {
                    app: app.clone(),
                    rules,
                    retry: AsyncRetry {
                        on_failure: Some(chain(self.event_retry.on_failure.clone(), sink.clone())),
                        ..self.event_retry.clone()
                    },
                }),
                sfn: api,
                queues: queues.clone(),
                streams: streams.clone(),
                pool: pool.clone(),
                connections: connections.clone(),
            };
            servers.spawn(async move {
                serve_services(services_state, services, wait_for(stopped)).await;
            });
        }
        let websocket_addr = websocket.as_ref().map(|(_, addr)| *addr);
        if let Some((listener, _)) = websocket {
            let gateway = Gateway {
                app: app.clone(),
                connections: connections.clone(),
                limits: self.limits,
                selection,
                routes,
                domain: services_addr.to_string(),
                stage: "local".into(),
                authorizer: self
                    .connect_authorizer
                    .clone()
                    .map(|config| Arc::new(crate::authorize::Authorizing::new(config))),
            };
            let stopped = stopped.clone();
            servers.spawn(async move {
                gateway.serve(listener, wait_for(stopped)).await;
            });
        }
        if app.handles(&SourceKind::S3) {
            let app = app.clone();
            let retry = AsyncRetry {
                on_failure: Some(chain(self.object_retry.on_failure.clone(), sink.clone())),
                ..self.object_retry.clone()
            };
            let changes = svless_store::local::watch_objects();
            deliveries.spawn(async move {
                svless_store::object::deliver_with(&app, changes, &retry).await;
            });
        }
        if app.handles(&SourceKind::Sqs) {
            let app = app.clone();
            let queues = queues.clone();
            let mapping = self.sqs_mapping;
            deliveries.spawn(async move {
                crate::sqs::deliver(app, queues, mapping).await;
            });
        }
        if app.handles(&SourceKind::Kinesis) {
            let app = app.clone();
            let streams = streams.clone();
            let mapping = self.stream_mapping.clone();
            let sink = chain(self.stream_mapping.on_failure.clone(), sink.clone());
            deliveries.spawn(async move {
                crate::kinesis::deliver(app, streams, mapping, sink).await;
            });
        }
        if app.handles(&SourceKind::DynamoDbStreams) {
            let app = app.clone();
            let mapping = StreamMapping {
                on_failure: Some(chain(self.stream_mapping.on_failure.clone(), sink.clone())),
                ..self.stream_mapping.clone()
            };
            let changes = db.subscribe_all();
            deliveries.spawn(async move {
                svless_store::dynamo::deliver_stream_with(&app, changes, &mapping).await;
            });
        }
        let mut fires = std::collections::HashMap::new();
        for (name, schedule) in schedules {
            let (fire, mut fired) =
                tokio::sync::mpsc::unbounded_channel::<tokio::sync::oneshot::Sender<bool>>();
            fires.insert(name.clone(), fire);
            let app = app.clone();
            let retry = AsyncRetry {
                on_failure: Some(chain(self.event_retry.on_failure.clone(), sink.clone())),
                ..self.event_retry.clone()
            };
            deliveries.spawn(async move {
                loop {
                    let now = chrono::Utc::now();
                    let Some(next) = schedule.next_after(now) else {
                        tracing::info!(schedule = name, "the schedule will not fire again");
                        std::future::pending::<()>().await;
                        return;
                    };
                    let wait = (next - now).to_std().unwrap_or_default();
                    let answer = tokio::select! {
                        () = tokio::time::sleep(wait) => None,
                        asked = fired.recv() => asked,
                    };
                    let payload = scheduled_event(&name).to_string();
                    let delivered = invoke_async(&app, payload.as_bytes(), &retry, &name).await;
                    if let Some(answer) = answer {
                        let _ = answer.send(delivered);
                    }
                }
            });
        }
        Ok(Running {
            fires,
            http_addr,
            services_addr,
            websocket_addr,
            pool,
            connections,
            data_dir,
            failures,
            machines,
            stop,
            servers,
            deliveries,
        })
    }
}

/// Lambda's function timeout around an event invocation.
#[derive(Clone)]
struct FunctionTimeout {
    inner: svless_core::source::EventService,
    timeout: Duration,
}

impl tower::Service<svless_core::source::EventRequest> for FunctionTimeout {
    type Response = Vec<u8>;
    type Error = BoxError;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<u8>, BoxError>> + Send>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: svless_core::source::EventRequest) -> Self::Future {
        let timeout = self.timeout;
        let call = self.inner.call(request);
        Box::pin(async move {
            match tokio::time::timeout(timeout, call).await {
                Ok(answer) => answer,
                Err(_) => Err(Box::new(svless_core::NamedError::new(
                    "Sandbox.Timedout",
                    format!("Task timed out after {:.2} seconds", timeout.as_secs_f64()),
                )) as BoxError),
            }
        })
    }
}

/// Appends on-failure records to a file, one JSON object per line.
fn failure_sink(path: &Path) -> FailureSink {
    let path = path.to_owned();
    let lock = Arc::new(Mutex::new(()));
    Arc::new(move |record| {
        let _guard = lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut file| writeln!(file, "{record}"));
        if let Err(err) = written {
            tracing::error!(error = %err, path = %path.display(), "the on-failure record could not be written");
        }
    })
}

fn chain(first: Option<FailureSink>, then: FailureSink) -> FailureSink {
    match first {
        None => then,
        Some(first) => Arc::new(move |record: serde_json::Value| {
            first(record.clone());
            then(record);
        }),
    }
}

async fn wait_for(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// The local event bus: `PutEvents` entries that match a rule go to the app.
struct EventBus<S> {
    app: Arc<App<S>>,
    rules: Vec<EventPattern>,
    retry: AsyncRetry,
}

/// The event EventBridge sends for a schedule ("Scheduled Event", EventBridge user guide).
fn scheduled_event(name: &str) -> serde_json::Value {
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "region": "us-east-1",
        "resources": [format!("arn:aws:events:us-east-1:123456789012:rule/{name}")],
        "detail": {},
    })
}

impl<S: Send + Sync + 'static> EventBus<S> {
    /// `PutEvents`: each valid entry becomes an event; those a rule matches are delivered as
    /// asynchronous invocations.
    fn put_events(
        self: &Arc<Self>,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, (&'static str, String)> {
        let entries = body["Entries"]
            .as_array()
            .ok_or(("ValidationException", "1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null".to_owned()))?;
        if entries.is_empty() || entries.len() > 10 {
            return Err((
                "ValidationException",
                format!(
                    "1 validation error detected: Value '{}' at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10 and greater than or equal to 1",
                    entries.len()
                ),
            ));
        }
        let mut out = Vec::new();
        let mut failed = 0;
        for entry in entries {
            let source = entry["Source"].as_str().filter(|s| !s.is_empty());
            let detail_type = entry["DetailType"].as_str().filter(|s| !s.is_empty());
            let detail = entry["Detail"].as_str().filter(|s| !s.is_empty());
            let error =
                |code: &str, message: &str| json!({"ErrorCode": code, "ErrorMessage": message});
            let (Some(source), Some(detail_type), Some(detail)) = (source, detail_type, detail)
            else {
                failed += 1;
                let missing = if source.is_none() {
                    "Source"
                } else if detail_type.is_none() {
                    "DetailType"
                } else {
                    "Detail"
                };
                out.push(error("InvalidArgument", &format!("Parameter {missing} is not valid. Reason: {missing} is a required argument.")));
                continue;
            };
            let detail: serde_json::Value = match serde_json::from_str(detail) {
                Ok(detail @ serde_json::Value::Object(_)) => detail,
                _ => {
                    failed += 1;
                    out.push(error("MalformedDetail", "Detail is malformed."));
                    continue;
                }
            };
            let id = uuid::Uuid::new_v4().to_string();
            let time = entry["Time"]
                .as_f64()
                .and_then(|t| chrono::DateTime::from_timestamp(t as i64, 0))
                .unwrap_or_else(chrono::Utc::now);
            let event = json!({
                "version": "0",
                "id": id,
                "detail-type": detail_type,
                "source": source,
                "account": "123456789012",
                "time": time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "region": "us-east-1",
                "resources": entry["Resources"].as_array().cloned().unwrap_or_default(),
                "detail": detail,
            });
            if self.rules.iter().any(|rule| rule.matches(&event)) {
                let bus = self.clone();
                tokio::spawn(async move {
                    let payload = event.to_string();
                    let what = format!("{} {}", event["source"], event["detail-type"]);
                    invoke_async(&bus.app, payload.as_bytes(), &bus.retry, &what).await;
                });
            }
            out.push(json!({"EventId": id}));
        }
        Ok(json!({"FailedEntryCount": failed, "Entries": out}))
    }
}

/// What the services port answers.
struct Services<S> {
    events: Arc<EventBus<S>>,
    sfn: Api<S>,
    queues: Queues,
    streams: Streams,
    pool: UserPool,
    connections: Connections,
}

impl<S> Clone for Services<S> {
    fn clone(&self) -> Self {
        Self {
            events: self.events.clone(),
            sfn: self.sfn.clone(),
            queues: self.queues.clone(),
            streams: self.streams.clone(),
            pool: self.pool.clone(),
            connections: self.connections.clone(),
        }
    }
}

/// The AWS services port: requests go to the service their `X-Amz-Target` names, or (without
/// one) to the WebSocket management API, the user pool's key set, or a presigned S3 request.
async fn serve_services<S: Send + Sync + 'static>(
    services: Services<S>,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
) {
    crate::serve::serve(
        listener,
        shutdown,
        "AWS services",
        false,
        move |request, _| {
            let services = services.clone();
            async move { cors(route_service(&services, request).await) }
        },
    )
    .await;
}

/// Browsers call the services port from the app's pages (sign-in, uploads): every answer
/// allows any origin, as a local development endpoint should.
fn cors(mut response: hyper::Response<Full<Bytes>>) -> hyper::Response<Full<Bytes>> {
    response.headers_mut().insert(
        hyper::header::ACCESS_CONTROL_ALLOW_ORIGIN,
        hyper::header::HeaderValue::from_static("*"),
    );
    response
}

async fn route_service<S: Send + Sync + 'static>(
    services: &Services<S>,
    request: hyper::Request<Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let target = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if target.starts_with("AWSStepFunctions.") {
        return services.sfn.answer(request).await;
    }
    if let Some(operation) = target.strip_prefix("Kinesis_20131202.") {
        const JSON_1_1: &str = "application/x-amz-json-1.1";
        let body = match Limited::new(request.into_body(), 6 * 1024 * 1024)
            .collect()
            .await
        {
            Ok(body) => body.to_bytes(),
            Err(_) => {
                return crate::serve::json_reply(
                    413,
                    JSON_1_1,
                    &json!({"__type": "ValidationException", "message": "the request is over 5 MiB"}),
                );
            }
        };
        let body: serde_json::Value = match serde_json::from_slice(&body) {
            Ok(body) => body,
            Err(e) => {
                return crate::serve::json_reply(
                    400,
                    JSON_1_1,
                    &json!({"__type": "SerializationException", "message": e.to_string()}),
                );
            }
        };
        return match services.streams.call(operation, &body) {
            Ok(out) => crate::serve::json_reply(200, JSON_1_1, &out),
            Err(e) => crate::serve::json_reply(
                400,
                JSON_1_1,
                &json!({"__type": e.code, "message": e.message}),
            ),
        };
    }
    if let Some(operation) = target.strip_prefix("AmazonSQS.") {
        const JSON_1_0: &str = "application/x-amz-json-1.0";
        let body = match Limited::new(request.into_body(), 4 * 1024 * 1024)
            .collect()
            .await
        {
            Ok(body) => body.to_bytes(),
            Err(_) => {
                return crate::serve::json_reply(
                    413,
                    JSON_1_0,
                    &json!({"__type": "com.amazonaws.sqs#BatchRequestTooLong", "message": "the request is too large"}),
                );
            }
        };
        let body: serde_json::Value = match serde_json::from_slice(&body) {
            Ok(body) => body,
            Err(e) => {
                return crate::serve::json_reply(
                    400,
                    JSON_1_0,
                    &json!({"__type": "com.amazonaws.sqs#InvalidParameterValue", "message": e.to_string()}),
                );
            }
        };
        return match services.queues.call(operation, &body) {
            Ok(out) => crate::serve::json_reply(200, JSON_1_0, &out),
            Err(e) => {
                let mut response = crate::serve::json_reply(
                    400,
                    JSON_1_0,
                    &json!({"__type": format!("com.amazonaws.sqs#{}", e.code), "message": e.message}),
                );
                // SQS answers the query protocol's error code too; the SDKs report it.
                if let Ok(value) = hyper::header::HeaderValue::from_str(&format!(
                    "{};Sender",
                    crate::sqs::query_code(e.code)
                )) {
                    response.headers_mut().insert("x-amzn-query-error", value);
                }
                response
            }
        };
    }
    if let Some(operation) = target.strip_prefix("AWSEvents.") {
        const JSON_1_1: &str = "application/x-amz-json-1.1";
        let body = match Limited::new(request.into_body(), 1024 * 1024)
            .collect()
            .await
        {
            Ok(body) => body.to_bytes(),
            Err(_) => {
                return crate::serve::json_reply(
                    413,
                    JSON_1_1,
                    &json!({"__type": "ValidationException", "message": "Total size of the entries in the request is over the limit."}),
                );
            }
        };
        let body: serde_json::Value = match serde_json::from_slice(&body) {
            Ok(body) => body,
            Err(e) => {
                return crate::serve::json_reply(
                    400,
                    JSON_1_1,
                    &json!({"__type": "SerializationException", "message": e.to_string()}),
                );
            }
        };
        if operation != "PutEvents" {
            return crate::serve::json_reply(
                400,
                JSON_1_1,
                &json!({"__type": "UnknownOperationException", "message": format!("the local event bus answers PutEvents, not {operation}")}),
            );
        }
        return match services.events.put_events(&body) {
            Ok(out) => crate::serve::json_reply(200, JSON_1_1, &out),
            Err((code, message)) => crate::serve::json_reply(
                400,
                JSON_1_1,
                &json!({"__type": code, "message": message}),
            ),
        };
    }
    if let Some(operation) = target.strip_prefix("AWSCognitoIdentityProviderService.") {
        const JSON_1_1: &str = "application/x-amz-json-1.1";
        let body = match Limited::new(request.into_body(), 1024 * 1024)
            .collect()
            .await
        {
            Ok(body) => body.to_bytes(),
            Err(_) => {
                return crate::serve::json_reply(
                    413,
                    JSON_1_1,
                    &json!({"__type": "InvalidParameterException", "message": "the request is too large"}),
                );
            }
        };
        let body: serde_json::Value = if body.is_empty() {
            json!({})
        } else {
            match serde_json::from_slice(&body) {
                Ok(body) => body,
                Err(e) => {
                    return crate::serve::json_reply(
                        400,
                        JSON_1_1,
                        &json!({"__type": "SerializationException", "message": e.to_string()}),
                    );
                }
            }
        };
        return match services.pool.call(operation, &body) {
            Ok(out) => crate::serve::json_reply(200, JSON_1_1, &out),
            Err(e) => crate::serve::json_reply(
                400,
                JSON_1_1,
                &json!({"__type": e.code, "message": e.message}),
            ),
        };
    }
    if target.is_empty() {
        let path = request.uri().path().to_owned();
        if let Some(id) = crate::websocket::management_target(&path) {
            return crate::websocket::manage(&services.connections, &id, request).await;
        }
        if request.method() == hyper::Method::GET
            && path == format!("/{}/.well-known/jwks.json", services.pool.pool_id())
        {
            return crate::serve::json_reply(200, "application/json", &services.pool.jwks());
        }
        if crate::s3::takes(&request) {
            return crate::s3::answer(request).await;
        }
    }
    let body = json!({
        "__type": "UnknownOperationException",
        "message": format!(
            "`{target}` is not a service the local cloud answers (Step Functions, SQS, Kinesis, EventBridge PutEvents, Cognito user pools, WebSocket connections, presigned S3 URLs)"
        ),
    });
    crate::serve::json_reply(400, "application/x-amz-json-1.0", &body)
}

/// A running local cloud.
pub struct Running {
    fires: std::collections::HashMap<
        String,
        tokio::sync::mpsc::UnboundedSender<tokio::sync::oneshot::Sender<bool>>,
    >,
    http_addr: SocketAddr,
    services_addr: SocketAddr,
    websocket_addr: Option<SocketAddr>,
    pool: UserPool,
    connections: Connections,
    data_dir: PathBuf,
    failures: PathBuf,
    machines: Vec<(String, String)>,
    stop: watch::Sender<bool>,
    servers: JoinSet<()>,
    deliveries: JoinSet<()>,
}

impl Running {
    /// The HTTP API's base URL (`http://127.0.0.1:3000`).
    pub fn http_url(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// The AWS services' endpoint URL.
    pub fn services_url(&self) -> String {
        format!("http://{}", self.services_addr)
    }

    /// The WebSocket API's URL (`ws://127.0.0.1:3002`), when the app has WebSocket handlers.
    pub fn websocket_url(&self) -> Option<String> {
        self.websocket_addr.map(|addr| format!("ws://{addr}"))
    }

    /// The local user pool.
    pub fn user_pool(&self) -> &UserPool {
        &self.pool
    }

    /// The URL of the user pool's key set (what a token verifier fetches).
    pub fn jwks_url(&self) -> String {
        format!(
            "{}/{}/.well-known/jwks.json",
            self.services_url(),
            self.pool.pool_id()
        )
    }

    /// Fires the schedule `name` now (its next regular firing stays as it was); returns whether
    /// the app handled the event (after the retries, if it failed).
    pub async fn fire(&self, name: &str) -> Result<bool, CloudError> {
        let fire = self
            .fires
            .get(name)
            .ok_or_else(|| CloudError::NoSchedule(name.to_owned()))?;
        let (answer, answered) = tokio::sync::oneshot::channel();
        fire.send(answer)
            .map_err(|_| CloudError::NoSchedule(name.to_owned()))?;
        answered
            .await
            .map_err(|_| CloudError::NoSchedule(name.to_owned()))
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Where on-failure records are appended.
    pub fn failures(&self) -> &Path {
        &self.failures
    }

    /// The state machines created at start-up: name and ARN.
    pub fn state_machines(&self) -> &[(String, String)] {
        &self.machines
    }

    /// What the local cloud serves, one line each, as printed at start-up.
    pub fn summary(&self) -> String {
        let mut out = format!(
            "svless local cloud\n  HTTP API        {}\n  AWS services    {} (",
            self.http_url(),
            self.services_url()
        );
        for (i, (service, var)) in SERVICES.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(&format!("{service}: {var}"));
        }
        let data_dir = std::fs::canonicalize(&self.data_dir).unwrap_or(self.data_dir.clone());
        out.push_str(&format!(
            ")\n  data directory  {}\n  failed events   {}\n",
            data_dir.display(),
            data_dir.join("failures.jsonl").display()
        ));
        if let Some(url) = self.websocket_url() {
            out.push_str(&format!("  WebSocket API   {url}\n"));
        }
        out.push_str(&format!(
            "  user pool       {} (app client {}; keys at {})\n",
            self.pool.pool_id(),
            self.pool.client_id(),
            self.jwks_url()
        ));
        for (name, arn) in &self.machines {
            out.push_str(&format!("  state machine   {name}: {arn}\n"));
        }
        out
    }

    /// Stops accepting requests, lets open ones finish (up to 10 s), and stops the deliveries.
    /// Every acknowledged write is on disk already.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        self.connections.close_all();
        while self.servers.join_next().await.is_some() {}
        self.deliveries.abort_all();
        while self.deliveries.join_next().await.is_some() {}
    }
}

/// Runs `app` on the local cloud until Ctrl-C: what `app.run()` does off Lambda.
///
/// The AWS SDKs read their endpoints from the environment when a client is built, and an app
/// builds its clients before it runs; so the first time, `run` starts the program again as a
/// child with the local endpoints (`AWS_ENDPOINT_URL_SFN`, ...), a region and dummy
/// credentials set — never overriding ones already set — and waits for it. The child, marked
/// with [`CHILD_MARK`], starts the cloud.
pub async fn run<S: Send + Sync + 'static>(app: App<S>) -> Result<(), BoxError> {
    Cloud::new(app).run_with(|_| Ok(())).await
}

impl<S: Send + Sync + 'static> Cloud<S> {
    /// Runs this cloud until Ctrl-C, as [`run`] does with the defaults (the program starts
    /// again as a child with the local endpoints in its environment, and the child serves);
    /// `ready` runs in the child once everything listens — to seed users, or print what to
    /// open. An error from it stops the cloud.
    ///
    /// ```no_run
    /// # async fn doc(app: svless_core::App<()>) -> Result<(), svless_core::BoxError> {
    /// use svless_local::cloud::Cloud;
    /// Cloud::new(app)
    ///     .schedule("nightly", "cron(0 3 * * ? *)")
    ///     .run_with(|running| {
    ///         eprintln!("open {}", running.http_url());
    ///         Ok(())
    ///     })
    ///     .await
    /// # }
    /// ```
    pub async fn run_with(
        self,
        ready: impl FnOnce(&Running) -> Result<(), BoxError>,
    ) -> Result<(), BoxError> {
        if std::env::var_os(CHILD_MARK).is_none() {
            return respawn().await;
        }
        let running = self.start().await?;
        eprint!("{}", running.summary());
        if let Err(err) = ready(&running) {
            running.shutdown().await;
            return Err(err);
        }
        let _ = tokio::signal::ctrl_c().await;
        eprintln!("svless local cloud: stopping (open requests finish)");
        running.shutdown().await;
        Ok(())
    }
}

/// Starts this program again with the local endpoints in its environment; returns (or exits)
/// as it does.
async fn respawn() -> Result<(), BoxError> {
    let exe = std::env::current_exe()?;
    let http_port = port_from_env("PORT").unwrap_or(DEFAULT_PORT);
    let services_port =
        port_from_env("SVLESS_SERVICES_PORT").unwrap_or(http_port.saturating_add(1));
    let services = format!("http://127.0.0.1:{services_port}");
    let mut command = tokio::process::Command::new(exe);
    command
        .args(std::env::args_os().skip(1))
        .env(CHILD_MARK, "1")
        .env("PORT", http_port.to_string())
        .env("SVLESS_SERVICES_PORT", services_port.to_string());
    for (_, var) in SERVICES {
        if std::env::var_os(var).is_none() {
            command.env(var, &services);
        }
    }
    let websocket_port =
        port_from_env("SVLESS_WEBSOCKET_PORT").unwrap_or(http_port.saturating_add(2));
    command.env("SVLESS_WEBSOCKET_PORT", websocket_port.to_string());
    if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none()
    {
        command.env("AWS_REGION", "us-east-1");
    }
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
        command
            .env("AWS_ACCESS_KEY_ID", "svless-local")
            .env("AWS_SECRET_ACCESS_KEY", "svless-local");
    }
    let mut child = command.kill_on_drop(true).spawn()?;
    // Ctrl-C reaches the child too (same process group); this process waits for it to stop.
    let status = loop {
        tokio::select! {
            status = child.wait() => break status?,
            _ = tokio::signal::ctrl_c() => continue,
        }
    };
    if status.success() {
        Ok(())
    } else {
        Err(format!("the local cloud stopped: {status}").into())
    }
}
