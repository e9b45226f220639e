//! One AWS SDK configuration per process, tuned for Lambda's init (feature `aws`, which the
//! SDK-client features turn on).
//!
//! [`config`] is what every svless store and client is built from, and what an app should build
//! its own clients from: the first call builds it, every later call shares it — so the SDK's
//! HTTPS client, its connection pool and its TLS configuration exist once, not once per client.
//!
//! On Lambda it skips what `aws_config::load_defaults` searches for and Lambda always gives: the
//! region is `AWS_REGION`, the credentials are the environment's (Lambda puts the function
//! role's in `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` for the life
//! of the execution environment), and the HTTPS client trusts the root certificate authorities
//! of Amazon Trust Services, which every AWS service endpoint chains to — five certificates
//! compiled in instead of the system's bundle of about 140 read and parsed at every cold start.
//! That saves about half a millisecond of init per configuration (`docs/performance.md`). The
//! TLS client configuration is built once, at the first request, and shared by every client:
//! the SDK's check that builds and drops one at each client's construction is not run, since
//! it only guards against a slow system certificate store, which is not read here.
//!
//! It falls back to `aws_config::load_defaults` — the system's roots and the full provider
//! chains — off Lambda, when any `AWS_ENDPOINT_URL…` variable points a client elsewhere (a local
//! server or a proxy may present another certificate), when the environment lacks the region
//! or the credentials, and when `SVLESS_NATIVE_ROOTS` is set.
//!
//! ```no_run
//! # async fn demo() {
//! let config = svless_core::aws::config().await;
//! let same = svless_core::aws::config().await;
//! assert_eq!(config.region(), same.region());
//! # }
//! ```

use aws_config::{BehaviorVersion, Region, SdkConfig};
use tokio::sync::OnceCell;

/// Amazon Trust Services' root CAs, PEM.
const AMAZON_ROOTS: &str = include_str!("amazon-trust-services.pem");

static CONFIG: OnceCell<SdkConfig> = OnceCell::const_new();

/// The process's SDK configuration: built at the first call, shared after. See the
/// [module](self) for what it trusts and when it falls back to `aws_config::load_defaults`.
///
/// ```no_run
/// # async fn demo() {
/// let config = svless_core::aws::config().await;
/// println!("{:?}", config.region());
/// # }
/// ```
pub async fn config() -> &'static SdkConfig {
    CONFIG.get_or_init(build).await
}

/// Whether the Lambda-tuned configuration applies to an environment (its variables).
fn tuned<'a>(env: impl IntoIterator<Item = (&'a str, &'a str)>) -> bool {
    let (mut lambda, mut region, mut key, mut secret) = (false, false, false, false);
    for (name, value) in env {
        if name.starts_with("AWS_ENDPOINT_URL")
            || (name == "SVLESS_NATIVE_ROOTS" && !value.is_empty())
        {
            return false;
        }
        let set = !value.is_empty();
        match name {
            "AWS_LAMBDA_RUNTIME_API" => lambda = set,
            "AWS_REGION" => region = set,
            "AWS_ACCESS_KEY_ID" => key = set,
            "AWS_SECRET_ACCESS_KEY" => secret = set,
            _ => {}
        }
    }
    lambda && region && key && secret
}

async fn build() -> SdkConfig {
    let env: Vec<(String, String)> = std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect();
    if !tuned(env.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        return aws_config::load_defaults(BehaviorVersion::latest()).await;
    }
    use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
    let trust = TrustStore::empty().with_pem_certificate(AMAZON_ROOTS.as_bytes());
    let context = match TlsContext::builder().with_trust_store(trust).build() {
        Ok(context) => context,
        // The certificates are compiled in; should the TLS stack refuse them, the defaults
        // still work.
        Err(_) => return aws_config::load_defaults(BehaviorVersion::latest()).await,
    };
    let http = OneConnector(
        aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
            .tls_context(context)
            .build_https(),
    );
    let region = env
        .into_iter()
        .find_map(|(name, value)| (name == "AWS_REGION").then_some(value))
        .unwrap_or_default();
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        )
        .http_client(http)
        .load()
        .await
}

/// The SDK's HTTPS client without its eager check. At each SDK client's construction, that
/// check builds a whole connector — the root certificates parsed, a TLS configuration — and
/// drops it, so that a slow system certificate store is read at init rather than at the first
/// request. The roots here are compiled in: the connector is built once, at the first request,
/// and every client shares it (the inner client caches it by timeout settings).
#[derive(Debug)]
struct OneConnector(aws_smithy_runtime_api::client::http::SharedHttpClient);

impl aws_smithy_runtime_api::client::http::HttpClient for OneConnector {
    fn http_connector(
        &self,
        settings: &aws_smithy_runtime_api::client::http::HttpConnectorSettings,
        components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
    ) -> aws_smithy_runtime_api::client::http::SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(
        &self,
    ) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tuned_configuration_applies_on_lambda_with_the_environment_lambda_gives() {
        let lambda = [
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
        ];
        assert!(tuned(lambda));
        let with = |extra: (&'static str, &'static str)| lambda.into_iter().chain([extra]);
        assert!(!tuned(with(("SVLESS_NATIVE_ROOTS", "1"))));
        assert!(!tuned(with((
            "AWS_ENDPOINT_URL_DYNAMODB",
            "http://127.0.0.1:4566"
        ))));
        assert!(tuned(with(("SVLESS_NATIVE_ROOTS", ""))));
        assert!(!tuned(
            lambda
                .into_iter()
                .filter(|(k, _)| *k != "AWS_LAMBDA_RUNTIME_API")
        ));
        assert!(!tuned(
            lambda
                .into_iter()
                .filter(|(k, _)| *k != "AWS_ACCESS_KEY_ID")
        ));
        assert!(!tuned(std::iter::empty()));
    }

    #[test]
    fn the_compiled_in_roots_are_amazon_trust_services_five() {
        assert_eq!(
            AMAZON_ROOTS.matches("-----BEGIN CERTIFICATE-----").count(),
            5
        );
        let context = aws_smithy_http_client::tls::TlsContext::builder()
            .with_trust_store(
                aws_smithy_http_client::tls::TrustStore::empty()
                    .with_pem_certificate(AMAZON_ROOTS.as_bytes()),
            )
            .build();
        assert!(context.is_ok());
        // The SDK parses the PEM when it builds its first connector, and panics on a bad one:
        // every certificate must parse, comments and all.
        use rustls_pki_types::CertificateDer;
        use rustls_pki_types::pem::PemObject;
        let certs = CertificateDer::pem_slice_iter(AMAZON_ROOTS.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .expect("the PEM parses");
        assert_eq!(certs.len(), 5);
    }
}
