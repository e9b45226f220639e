//! `svless::aws::config()` in the environment Lambda gives (the Runtime API's address, the
//! region and the role's credentials in variables): the tuned configuration, whose one HTTPS
//! client every SDK client shares. Clients of two services built from it reach a real server —
//! the moto server `scripts/test.sh` starts, at each client's own endpoint over plain HTTP, since
//! the configuration itself trusts only Amazon's roots.
//!
//! The configuration reads the process's environment once, so the test runs itself again as a
//! child process with Lambda's variables set.

use std::process::Command;

const CHILD: &str = "SVLESS_LAMBDA_CONFIG_CHILD";
const TEST: &str = "clients_built_from_the_lambda_configuration_reach_their_endpoints";

#[test]
fn clients_built_from_the_lambda_configuration_reach_their_endpoints() {
    if std::env::var_os(CHILD).is_some() {
        return in_lambdas_environment();
    }
    let endpoint = svless_tests::moto_endpoint();
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut child = Command::new(exe);
    child
        .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD, &endpoint)
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")
        .env("AWS_LAMBDA_FUNCTION_NAME", "tuned")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "AKIDTUNED")
        .env("AWS_SECRET_ACCESS_KEY", "tuned-secret")
        .env("AWS_SESSION_TOKEN", "tuned-token")
        .env_remove("SVLESS_NATIVE_ROOTS");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AWS_ENDPOINT_URL") {
            child.env_remove(name);
        }
    }
    let output = child.output().expect("the child test starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "the child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn in_lambdas_environment() {
    let endpoint = std::env::var(CHILD).expect("the parent passes moto's endpoint");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let config = svless::aws::config().await;
        assert_eq!(config.region().map(|r| r.as_ref()), Some("us-east-1"));
        let http = format!("{:?}", config.http_client());
        assert!(
            http.contains("OneConnector"),
            "not the tuned configuration's HTTPS client: {http}"
        );

        let table = "lambda-config-probe";
        let dynamodb = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(config)
                .endpoint_url(&endpoint)
                .build(),
        );
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(config)
                .endpoint_url(&endpoint)
                .force_path_style(true)
                .build(),
        );
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        let created = dynamodb
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("pk")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .expect("an attribute definition"),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("pk")
                    .key_type(KeyType::Hash)
                    .build()
                    .expect("a key schema"),
            )
            .send()
            .await;
        if let Err(err) = created {
            let err = aws_sdk_dynamodb::Error::from(err);
            assert!(
                matches!(err, aws_sdk_dynamodb::Error::ResourceInUseException(_)),
                "{err:?}"
            );
        }
        let tables = dynamodb
            .list_tables()
            .send()
            .await
            .expect("ListTables through the shared HTTPS client");
        assert!(tables.table_names().iter().any(|t| t == table));

        let bucket = "lambda-config-probe";
        let _ = s3.create_bucket().bucket(bucket).send().await;
        let buckets = s3
            .list_buckets()
            .send()
            .await
            .expect("ListBuckets through the shared HTTPS client");
        assert!(buckets.buckets().iter().any(|b| b.name() == Some(bucket)));
    });
}
