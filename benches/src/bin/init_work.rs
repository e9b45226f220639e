//! What a function does before its first event, step by step, measured in one process (release
//! build): logging, the SDK configuration, each client, the JWKS cache, the app's route table.
//!
//! `cargo run --release -p svless-benches --bin init_work` builds the configuration as svless
//! apps do (`svless::aws::config`); `… --bin init_work -- sdk` with `aws_config::load_defaults`,
//! as a hand-written function does. Run it with Lambda's environment as `cold_start` sets it
//! (the Runtime API's address, the region and credentials in variables, `SSL_CERT_FILE`), or
//! `svless::aws::config` takes its general path.

use std::time::Instant;

#[tokio::main]
async fn main() {
    let plain_sdk = std::env::args().nth(1).as_deref() == Some("sdk");
    let mut last = Instant::now();
    let mut step = |name: &str| {
        let now = Instant::now();
        println!(
            "| {name} | {:.3} ms |",
            now.duration_since(last).as_secs_f64() * 1e3
        );
        last = Instant::now();
    };
    println!("| step | time |");
    println!("| --- | --- |");
    step("(start)");
    svless::logging::init();
    step("logging::init");
    let config = if plain_sdk {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        step("aws_config::load_defaults");
        config
    } else {
        let config = svless::aws::config().await.clone();
        step("svless::aws::config");
        config
    };
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    step("aws_sdk_dynamodb::Client::new");
    let s3 = aws_sdk_s3::Client::new(&config);
    step("aws_sdk_s3::Client::new");
    let keys = svless_auth::JwksCache::new(
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x/.well-known/jwks.json",
    );
    step("svless_auth::JwksCache::new");
    let app = hello_api::app();
    step("hello_api::app() (routes)");
    let _ = (dynamodb, s3, keys, app);
}
