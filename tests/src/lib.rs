//! Helpers shared by the integration tests: fixtures and a Lambda context.

use svless::{App, Context};

/// The text of `tests/fixtures/<name>`.
///
/// # Panics
/// Panics when the fixture is missing: the tests cannot run without it.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(err) => panic!("cannot read the fixture {}: {err}", path.display()),
    }
}

/// A context such as Lambda gives an invocation.
pub fn lambda_context() -> Context {
    let mut ctx = Context::default();
    ctx.request_id = "8476a536-e9f4-11e8-9739-2dfe598c3fcd".into();
    ctx.function_name = "todos".into();
    ctx.function_version = "$LATEST".into();
    ctx.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:todos:live".into();
    ctx
}

/// Sends a fixture through [`App::dispatch`] and returns the response payload as JSON.
///
/// # Panics
/// Panics when the app refuses the payload or answers something that is not JSON.
pub async fn dispatch<S: Send + Sync + 'static>(
    app: &App<S>,
    fixture_name: &str,
) -> serde_json::Value {
    let payload = fixture(fixture_name);
    let out = match app.dispatch(&payload, lambda_context()).await {
        Ok(out) => out,
        Err(err) => panic!("the app refused {fixture_name}: {err}"),
    };
    match serde_json::from_slice(&out) {
        Ok(value) => value,
        Err(err) => panic!("the response to {fixture_name} is not JSON: {err}"),
    }
}

/// The moto server's endpoint, which the README's test command starts.
///
/// # Panics
/// Panics when `SVLESS_MOTO_ENDPOINT` is unset: the tests need the server and do not skip.
pub fn moto_endpoint() -> String {
    match std::env::var("SVLESS_MOTO_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => endpoint,
        _ => panic!(
            "SVLESS_MOTO_ENDPOINT is not set: run the README's test command (scripts/test.sh), which starts the moto server"
        ),
    }
}

/// An AWS SDK configuration for the moto server: its endpoint, `us-east-1`, dummy credentials.
pub async fn moto_config() -> aws_config::SdkConfig {
    config_for(moto_endpoint()).await
}

/// An AWS SDK configuration for a local endpoint (moto, the local cloud's services port):
/// `us-east-1`, dummy credentials.
pub async fn config_for(endpoint: impl Into<String>) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint.into())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await
}

/// A user pool on moto with an app client that signs in with passwords and refresh tokens and
/// the group `group`: its pool id and client id.
pub async fn moto_user_pool(
    cognito: &aws_sdk_cognitoidentityprovider::Client,
    group: &str,
) -> (String, String) {
    use aws_sdk_cognitoidentityprovider::types::ExplicitAuthFlowsType;
    let pool = cognito
        .create_user_pool()
        .pool_name(format!("pool-{}-{group}", std::process::id()))
        .send()
        .await
        .expect("a user pool");
    let pool_id = pool
        .user_pool()
        .and_then(|p| p.id())
        .expect("a pool id")
        .to_owned();
    let app = cognito
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name("web")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await
        .expect("an app client");
    let client_id = app
        .user_pool_client()
        .and_then(|c| c.client_id())
        .expect("a client id")
        .to_owned();
    cognito
        .create_group()
        .user_pool_id(&pool_id)
        .group_name(group)
        .send()
        .await
        .expect("a group");
    (pool_id, client_id)
}

/// The endpoint of the moto server that answers one request at a time
/// (`scripts/moto_serial.py`), which the README's test command starts beside the other: its
/// conditional writes are atomic under contention, as DynamoDB's are.
///
/// # Panics
/// Panics when `SVLESS_MOTO_SERIAL_ENDPOINT` is unset: the tests need the server and do not skip.
pub fn moto_serial_endpoint() -> String {
    match std::env::var("SVLESS_MOTO_SERIAL_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => endpoint,
        _ => panic!(
            "SVLESS_MOTO_SERIAL_ENDPOINT is not set: run the README's test command (scripts/test.sh), which starts the serial moto server"
        ),
    }
}

/// An AWS SDK configuration for the serial moto server.
pub async fn moto_serial_config() -> aws_config::SdkConfig {
    config_for(moto_serial_endpoint()).await
}

/// The endpoint of the moto server that executes state machines, which the README's test
/// command starts with `{"stepfunctions": {"execute_state_machine": true}}` set.
///
/// # Panics
/// Panics when `SVLESS_MOTO_SFN_ENDPOINT` is unset: the tests need the server and do not skip.
pub fn moto_sfn_endpoint() -> String {
    match std::env::var("SVLESS_MOTO_SFN_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => endpoint,
        _ => panic!(
            "SVLESS_MOTO_SFN_ENDPOINT is not set: run the README's test command (scripts/test.sh), which starts the executing moto server"
        ),
    }
}

/// An AWS SDK configuration for the moto server that executes state machines.
pub async fn moto_sfn_config() -> aws_config::SdkConfig {
    config_for(moto_sfn_endpoint()).await
}

/// An S3 client for the moto server, with path-style addressing.
pub async fn s3_client() -> aws_sdk_s3::Client {
    let config = moto_config().await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    )
}

/// The URL of the test user pool's key set, which the README's test command serves.
///
/// # Panics
/// Panics when `SVLESS_JWKS_URL` is unset: the tests need the server and do not skip.
pub fn jwks_url() -> String {
    match std::env::var("SVLESS_JWKS_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "SVLESS_JWKS_URL is not set: run the README's test command (scripts/test.sh), which serves the test key set"
        ),
    }
}

/// The PEM of the test-only RSA key whose public half the key set holds (`kid` `svless-test-1`).
pub fn test_key_pem() -> Vec<u8> {
    fixture("../fixtures/keys/test-only-rsa.pem")
}

/// A small seeded pseudo-random generator (SplitMix64) for the randomised tests: the same seed
/// gives the same sequence on every machine, so a failure names the seed that reproduces it.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator started at `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound.max(1)
    }

    /// True with probability `numerator / denominator`.
    pub fn chance(&mut self, numerator: u64, denominator: u64) -> bool {
        self.below(denominator) < numerator
    }

    /// One element of `items` (non-empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// The seed for a randomised test: `SVLESS_SEED` when set (to reproduce a failure), else
/// `default`.
pub fn seed(default: u64) -> u64 {
    std::env::var("SVLESS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The runs of a differential test: the seed `SVLESS_SEED` names (to replay a failure), else
/// `default_seeds`; and the operations per run, `SVLESS_DIFF_OPS` or `default_ops`.
pub fn differential_runs(default_seeds: &[u64], default_ops: usize) -> (Vec<u64>, usize) {
    let ops = std::env::var("SVLESS_DIFF_OPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_ops);
    let seeds = match std::env::var("SVLESS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        Some(seed) => vec![seed],
        None => default_seeds.to_vec(),
    };
    (seeds, ops)
}
