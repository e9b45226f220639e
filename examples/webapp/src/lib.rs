//! Shared photo albums on svless.
//!
//! People sign in with Cognito, make albums, invite members by e-mail, upload photos straight
//! to S3 through presigned URLs, and watch thumbnails and comments appear live. An upload starts
//! a Step Functions workflow (`statemachine/photo.asl.json`) that checks the file, makes
//! thumbnails and reads its metadata in parallel, and sends photos of new members to an admin
//! for moderation. One binary holds every function: on Lambda the function's name chooses the
//! handler; on a laptop `cargo run -p webapp` runs all of it on the local cloud.
//!
//! - [`api`]: the HTTP API (`#[svless::api]`).
//! - [`model`]: the single-table design.
//! - [`workflow`]: the workflow's tasks and the S3 handler that starts it.
//! - [`live`]: the WebSocket API and the stream handler that feeds it.
//! - [`sweep`]: the nightly clean-up.
//! - [`web`]: the single page and its settings.

pub mod api;
pub mod deploy;
pub mod live;
#[cfg(feature = "local")]
pub mod local;
pub mod model;
pub mod sweep;
pub mod web;
pub mod workflow;

use std::sync::Arc;
use svless::App;
use svless::auth::{CognitoAuthLayer, CognitoVerifier, JwksCache, TokenUse};
use svless::source::websocket::Connections;
use svless::store::dynamo::Table;
use svless::store::object::ObjectStore;

/// The workflow's definition, as deployed: each task's `FunctionName` is a `${…Function}`
/// placeholder the template's `DefinitionSubstitutions` fill with the function's alias;
/// [`deploy::local_workflow`] fills them with the task names for the local cloud.
pub const WORKFLOW: &str = include_str!("../statemachine/photo.asl.json");

/// The name the workflow is deployed under (and runs under on the local cloud).
pub const WORKFLOW_NAME: &str = "photo-processing";

/// `GET /health`'s response mapping template: API Gateway answers it (a REST API's mock
/// integration), or the app from the same template.
pub const HEALTH: &str =
    r#"{"status": "ok", "requestId": "$context.requestId", "time": "$context.requestTime"}"#;

/// The metrics namespace.
pub const NAMESPACE: &str = "PhotoAlbums";

/// Everything the app reads from its environment, with the local cloud's values as defaults.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The table (`TABLE_NAME`, default `webapp`).
    pub table: String,
    /// The photos bucket (`BUCKET`, default `webapp-photos`).
    pub bucket: String,
    /// The workflow's ARN (`PHOTO_WORKFLOW_ARN`; locally the local cloud's).
    pub workflow_arn: String,
    /// The region (`AWS_REGION`, default `us-east-1`).
    pub region: String,
    /// The user pool (`USER_POOL_ID`; locally the local pool).
    pub user_pool_id: String,
    /// The app client the browser signs in through (`USER_POOL_CLIENT_ID`).
    pub client_id: String,
    /// Where the browser calls Cognito (`COGNITO_ENDPOINT`; the local services port, or
    /// `https://cognito-idp.<region>.amazonaws.com/`).
    pub cognito_endpoint: String,
    /// Where the user pool's keys are (`USER_POOL_JWKS_URL`; locally the services port's).
    pub jwks_url: String,
    /// The WebSocket API the browser connects to (`WEBSOCKET_URL`).
    pub websocket_url: String,
    /// The WebSocket API's domain and stage, for posting to connections (`WEBSOCKET_DOMAIN`,
    /// `WEBSOCKET_STAGE`).
    pub websocket_domain: String,
    /// The stage.
    pub websocket_stage: String,
    /// The largest photo accepted (`MAX_PHOTO_BYTES`, default 10 MiB).
    pub max_photo_bytes: u64,
}

impl Settings {
    /// Reads the environment; a `MAX_PHOTO_BYTES` that is not a number is an error.
    pub fn from_env() -> Result<Self, svless::BoxError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// The settings of a local run with no environment variables set.
    pub fn defaults() -> Self {
        match Self::from_vars(|_| None) {
            Ok(settings) => settings,
            Err(err) => panic!("the default settings are valid: {err}"),
        }
    }

    /// Reads settings from `var`, with the local defaults for what it does not have.
    fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, svless::BoxError> {
        let env_or = |name: &str, default: &dyn Fn() -> String| match var(name) {
            Some(value) if !value.trim().is_empty() => value,
            _ => default(),
        };
        let region = env_or("AWS_REGION", &|| "us-east-1".into());
        let local_services = var("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER");
        let user_pool_id = env_or("USER_POOL_ID", &|| "us-east-1_svlessLcl".into());
        let cognito_endpoint = env_or("COGNITO_ENDPOINT", &|| match &local_services {
            Some(local) => format!("{}/", local.trim_end_matches('/')),
            None => format!("https://cognito-idp.{region}.amazonaws.com/"),
        });
        let jwks_url = env_or("USER_POOL_JWKS_URL", &|| match &local_services {
            Some(local) => format!(
                "{}/{user_pool_id}/.well-known/jwks.json",
                local.trim_end_matches('/')
            ),
            None => format!(
                "https://cognito-idp.{region}.amazonaws.com/{user_pool_id}/.well-known/jwks.json"
            ),
        });
        let websocket_port = env_or("SVLESS_WEBSOCKET_PORT", &|| "3002".into());
        let max_photo_bytes = env_or("MAX_PHOTO_BYTES", &|| (10 * 1024 * 1024).to_string())
            .parse()
            .map_err(|e| format!("MAX_PHOTO_BYTES is not a number of bytes: {e}"))?;
        Ok(Self {
            table: env_or("TABLE_NAME", &|| "webapp".into()),
            bucket: env_or("BUCKET", &|| "webapp-photos".into()),
            workflow_arn: env_or("PHOTO_WORKFLOW_ARN", &|| {
                format!("arn:aws:states:us-east-1:123456789012:stateMachine:{WORKFLOW_NAME}")
            }),
            user_pool_id,
            client_id: env_or("USER_POOL_CLIENT_ID", &|| {
                "svlesslocalclient000000000".into()
            }),
            cognito_endpoint,
            jwks_url,
            websocket_url: env_or("WEBSOCKET_URL", &|| {
                format!("ws://127.0.0.1:{websocket_port}")
            }),
            websocket_domain: env_or("WEBSOCKET_DOMAIN", &|| "localhost".into()),
            websocket_stage: env_or("WEBSOCKET_STAGE", &|| "local".into()),
            max_photo_bytes,
            region,
        })
    }

    /// The issuer of the pool's tokens (the pool's `ORIGINAL` issuer; the local pool signs
    /// with the same).
    pub fn issuer(&self) -> String {
        format!(
            "https://cognito-idp.{}.amazonaws.com/{}",
            self.region, self.user_pool_id
        )
    }
}

/// The photos bucket's lifecycle: originals (`uploads/…`) move to `STANDARD_IA` after 30 days
/// and to Glacier after 365, and multipart uploads never finished are aborted after a day;
/// noncurrent versions (the bucket is versioned) go after 30 days. Thumbnails stay in
/// `STANDARD`. The deployment template declares the same rules.
pub fn lifecycle_rules() -> Vec<svless::store::object::LifecycleRule> {
    use svless::store::object::{LifecycleRule, NoncurrentExpiration, StorageClass, Transition};
    vec![
        LifecycleRule::new("originals", "uploads/")
            .transition(Transition {
                days: 30,
                storage_class: StorageClass::StandardIa,
            })
            .transition(Transition {
                days: 365,
                storage_class: StorageClass::Glacier,
            })
            .abort_incomplete_multipart_uploads(1),
        LifecycleRule::new("old-versions", "").noncurrent_expiration(NoncurrentExpiration {
            noncurrent_days: 30,
            newer_noncurrent_versions: None,
        }),
    ]
}

/// What every handler shares: the stores, the clients and the settings.
#[derive(Clone)]
pub struct Services {
    /// The single table.
    pub table: Table,
    /// The photos bucket.
    pub photos: Arc<dyn ObjectStore>,
    /// Step Functions: built at the first call (see [`Services::sfn`]).
    sfn: Arc<std::sync::OnceLock<aws_sdk_sfn::Client>>,
    /// Posting to WebSocket connections: built at the first post, since only the stream
    /// function posts (see [`Services::connections`]).
    connections: Arc<std::sync::OnceLock<Connections>>,
    /// The SDK configuration the clients built on first use come from.
    sdk: aws_config::SdkConfig,
    /// Verifies the ID token a WebSocket client connects with.
    pub verifier: Arc<CognitoVerifier>,
    /// The settings.
    pub settings: Arc<Settings>,
}

impl Services {
    /// Opens the stores where the app runs (DynamoDB and S3 on Lambda, the data directory's
    /// elsewhere) and builds the clients from the environment.
    pub async fn from_env(settings: Settings) -> Result<Self, svless::BoxError> {
        // One SDK configuration for the table, the bucket and the clients.
        let config = svless::aws::config().await;
        let table = svless::store::local::table(model::table_def(&settings.table)).await?;
        let photos = svless::store::local::object_store(&settings.bucket).await?;
        Self::new(settings, table, photos, config)
    }

    /// Builds the services from stores and an SDK configuration (tests use in-memory stores).
    pub fn new(
        settings: Settings,
        table: Table,
        photos: Arc<dyn ObjectStore>,
        config: &aws_config::SdkConfig,
    ) -> Result<Self, svless::BoxError> {
        let keys = JwksCache::new(&settings.jwks_url)?;
        let verifier = CognitoVerifier::with_keys(
            &settings.issuer(),
            keys,
            TokenUse::Id,
            [settings.client_id.clone()],
        );
        Ok(Self {
            table,
            photos,
            sfn: Arc::default(),
            connections: Arc::default(),
            sdk: config.clone(),
            verifier: Arc::new(verifier),
            settings: Arc::new(settings),
        })
    }
}

impl Services {
    /// The Step Functions client (starting a photo's workflow, answering its moderation task),
    /// built at the first call. Only the upload function, the admin's moderation routes and
    /// deleting a photo that waits for a moderator use it; the API function's cold start does
    /// not build it (about 0.1 ms, `docs/performance.md`).
    pub fn sfn(&self) -> &aws_sdk_sfn::Client {
        self.sfn.get_or_init(|| aws_sdk_sfn::Client::new(&self.sdk))
    }

    /// The WebSocket management API client, built at the first call. Every function runs this
    /// binary but only the stream function posts to connections: the others never build it,
    /// and their cold starts do not pay for it.
    pub fn connections(&self) -> &Connections {
        self.connections.get_or_init(|| {
            Connections::for_stage(
                &self.sdk,
                &self.settings.websocket_domain,
                &self.settings.websocket_stage,
            )
        })
    }
}

/// The whole application: every route and every event handler.
///
/// The API trusts the claims of the gateway's JWT authorizer (an HTTP API JWT authorizer on
/// AWS, the local cloud's locally): the gateway has verified the token before the app sees the
/// request; the few public routes (the page, its settings) take no `Auth`.
pub fn app(services: Services) -> App<Services> {
    let app = App::new()
        .state(services)
        .metrics_namespace(NAMESPACE)
        .layer(CognitoAuthLayer::trust_api_gateway(TokenUse::Id).optional());
    let app = app.mock(
        "GET",
        "/health",
        svless::mock::MockIntegration::json(200, HEALTH),
    );
    let app = web::routes(app);
    let app = api::routes(app);
    let app = workflow::handlers(app);
    let app = live::handlers(app);
    sweep::handlers(app)
}
