//! The user pool's signing keys: fetched once, cached, refetched for an unknown `kid` at most
//! once at a time and at most once per penalty window.

use crate::error::AuthError;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use jsonwebtoken::DecodingKey;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// A JSON Web Key Set.
///
/// ```
/// let jwks: svless_auth::Jwks = serde_json::from_str(r#"{"keys": [{"kid": "k1", "kty": "RSA", "n": "AQAB", "e": "AQAB"}]}"#).expect("a key set");
/// assert_eq!(jwks.keys[0].kid, "k1");
/// ```
///
/// ```
/// let jwk: svless_auth::Jwk = serde_json::from_str(r#"{"kid": "k1", "kty": "RSA", "n": "AQAB", "e": "AQAB"}"#).expect("a key");
/// assert_eq!(jwk.kty, "RSA");
/// ```
#[derive(Debug, Clone, Deserialize)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

/// One RSA key of a key set.
#[derive(Debug, Clone, Deserialize)]
pub struct Jwk {
    /// The key id tokens name in their header.
    pub kid: String,
    /// The key type; only `RSA` keys are used.
    pub kty: String,
    /// The modulus, base64url.
    #[serde(default)]
    pub n: String,
    /// The exponent, base64url.
    #[serde(default)]
    pub e: String,
}

/// The largest key set svless reads (Cognito's has two keys).
const MAX_JWKS_BYTES: usize = 64 * 1024;

type Client = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Empty<Bytes>,
>;

/// The HTTPS client of the key fetches (HTTP too, for a local server), with the system's roots.
fn build_client() -> Result<Client, String> {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|e| format!("no TLS roots: {e}"))?
        .https_or_http()
        .enable_http1()
        .build();
    Ok(
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(connector),
    )
}

/// Fetches and caches a user pool's keys.
///
/// ```
/// use std::time::Duration;
/// let keys = svless_auth::JwksCache::new("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_EXAMPLE/.well-known/jwks.json")
///     .expect("a client")
///     .penalty(Duration::from_secs(10))
///     .timeout(Duration::from_secs(2));
/// assert_eq!(keys.fetches(), 0);
/// ```
pub struct JwksCache {
    url: http::Uri,
    /// Built at the first fetch: loading the TLS roots costs about 2 ms, which a function that
    /// never fetches (or fetches later) should not pay during its cold start.
    client: std::sync::OnceLock<Result<Client, String>>,
    keys: RwLock<HashMap<String, Arc<DecodingKey>>>,
    /// Held while a fetch is under way: one fetch at a time.
    state: tokio::sync::Mutex<FetchState>,
    /// Fetches finished (either way); a request that waited for the lock compares it with what
    /// it saw before waiting, to take the outcome of the fetch it waited for.
    finished: AtomicU64,
    penalty: Duration,
    retry_after: Duration,
    timeout: Duration,
    fetches: AtomicUsize,
}

/// What the last fetches found.
#[derive(Debug, Default)]
struct FetchState {
    /// When the last fetch failed and why, until one succeeds.
    failure: Option<(Instant, String)>,
    /// When a fetch for an unknown `kid` last succeeded: it starts the penalty window.
    refetched: Option<Instant>,
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksCache")
            .field("url", &self.url)
            .field("fetches", &self.fetches())
            .finish_non_exhaustive()
    }
}

impl JwksCache {
    /// A cache of the keys at `url` (HTTPS, or HTTP for a local server), fetched with the
    /// hyper + rustls stack the AWS SDK uses.
    ///
    /// ```
    /// assert!(svless_auth::JwksCache::new("not a url").is_err());
    /// ```
    pub fn new(url: &str) -> Result<Self, AuthError> {
        let url: http::Uri = url
            .parse()
            .map_err(|e| AuthError::KeysUnavailable(format!("the JWKS URL is invalid: {e}")))?;
        Ok(JwksCache {
            url,
            client: std::sync::OnceLock::new(),
            keys: RwLock::new(HashMap::new()),
            state: tokio::sync::Mutex::new(FetchState::default()),
            finished: AtomicU64::new(0),
            penalty: Duration::from_secs(10),
            retry_after: Duration::from_secs(1),
            timeout: Duration::from_secs(3),
            fetches: AtomicUsize::new(0),
        })
    }

    /// A cache that starts with `jwks` and can still fetch from `url` for keys it lacks (for
    /// pinned keys, and for benchmarks and tests that must not fetch).
    ///
    /// ```
    /// let jwks: svless_auth::Jwks = serde_json::from_str(r#"{"keys": []}"#).expect("a key set");
    /// let keys = svless_auth::JwksCache::with_keys("https://example.com/jwks.json", &jwks).expect("a cache");
    /// assert_eq!(keys.fetches(), 0);
    /// ```
    pub fn with_keys(url: &str, jwks: &Jwks) -> Result<Self, AuthError> {
        let cache = Self::new(url)?;
        cache.install(jwks);
        Ok(cache)
    }

    fn install(&self, jwks: &Jwks) {
        let mut keys = HashMap::new();
        for jwk in jwks.keys.iter().filter(|k| k.kty == "RSA") {
            match DecodingKey::from_rsa_components(&jwk.n, &jwk.e) {
                Ok(key) => {
                    keys.insert(jwk.kid.clone(), Arc::new(key));
                }
                Err(err) => {
                    tracing::warn!(kid = %jwk.kid, error = %err, "a key of the set is unusable")
                }
            }
        }
        *self
            .keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = keys;
    }

    /// How long an unknown `kid` waits before the keys are fetched again (default 10 s). The
    /// window starts only when a fetch *succeeded* without the `kid`: while the key set cannot
    /// be fetched, every request is answered 503, never 401.
    ///
    /// ```
    /// let keys = svless_auth::JwksCache::new("https://example.com/jwks.json").expect("a client")
    ///     .penalty(std::time::Duration::from_secs(30));
    /// ```
    pub fn penalty(mut self, penalty: Duration) -> Self {
        self.penalty = penalty;
        self
    }

    /// How long a failed fetch is remembered (default 1 s): requests in that time are answered
    /// 503 at once instead of each waiting for another fetch to time out. The first request after
    /// it fetches again.
    ///
    /// ```
    /// let keys = svless_auth::JwksCache::new("https://example.com/jwks.json").expect("a client")
    ///     .retry_after(std::time::Duration::from_millis(250));
    /// ```
    pub fn retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// How long one fetch may take, from the request to the last byte of the key set (default
    /// 3 s).
    ///
    /// ```
    /// let keys = svless_auth::JwksCache::new("https://example.com/jwks.json").expect("a client")
    ///     .timeout(std::time::Duration::from_millis(500));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The URL the keys are fetched from.
    ///
    /// ```
    /// let keys = svless_auth::JwksCache::new("https://example.com/jwks.json").expect("a client");
    /// assert_eq!(keys.url(), "https://example.com/jwks.json");
    /// ```
    pub fn url(&self) -> String {
        self.url.to_string()
    }

    /// How many times the keys were fetched.
    ///
    /// ```
    /// assert_eq!(svless_auth::JwksCache::new("https://example.com/jwks.json").expect("a client").fetches(), 0);
    /// ```
    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::Relaxed)
    }

    fn cached(&self, kid: &str) -> Option<Arc<DecodingKey>> {
        self.keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(kid)
            .cloned()
    }

    /// Fetches the keys now (during cold start, so no request pays for it). It does not start
    /// the penalty window: a token signed with a key rotated in after it still triggers a fetch.
    ///
    /// ```no_run
    /// # async fn doc(keys: svless_auth::JwksCache) -> Result<(), svless_auth::AuthError> {
    /// keys.hydrate().await?;
    /// # Ok(()) }
    /// ```
    pub async fn hydrate(&self) -> Result<(), AuthError> {
        let mut state = self.state.lock().await;
        self.fetch_recorded(&mut state).await
    }

    /// The key for `kid`: from the cache, else from one fetch (single-flight: requests that
    /// arrive while a fetch is under way wait for it and share its outcome). A `kid` that a
    /// successful fetch did not contain is refused as unknown for the penalty window; a key set
    /// that cannot be fetched is `KeysUnavailable` (503) for everyone until a fetch succeeds.
    pub(crate) async fn key(&self, kid: &str) -> Result<Arc<DecodingKey>, AuthError> {
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        let seen = self.finished.load(Ordering::Acquire);
        let mut state = self.state.lock().await;
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        if self.finished.load(Ordering::Acquire) != seen {
            // A fetch finished while this request waited: its outcome is this request's.
            return Err(match &state.failure {
                Some((_, why)) => AuthError::KeysUnavailable(why.clone()),
                None => AuthError::UnknownKey,
            });
        }
        match &state.failure {
            Some((at, why)) if at.elapsed() < self.retry_after => {
                return Err(AuthError::KeysUnavailable(why.clone()));
            }
            Some(_) => {}
            None => {
                if state
                    .refetched
                    .is_some_and(|at| at.elapsed() < self.penalty)
                {
                    return Err(AuthError::UnknownKey);
                }
            }
        }
        self.fetch_recorded(&mut state).await?;
        state.refetched = Some(Instant::now());
        self.cached(kid).ok_or(AuthError::UnknownKey)
    }

    /// One fetch, its outcome recorded for the requests waiting on the lock.
    async fn fetch_recorded(&self, state: &mut FetchState) -> Result<(), AuthError> {
        let result = self.fetch().await;
        state.failure = match &result {
            Ok(()) => None,
            Err(err) => Some((Instant::now(), err.to_string())),
        };
        self.finished.fetch_add(1, Ordering::Release);
        result
    }

    async fn fetch(&self) -> Result<(), AuthError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let body = tokio::time::timeout(self.timeout, self.download())
            .await
            .map_err(|_| {
                AuthError::KeysUnavailable(format!(
                    "the key set did not arrive within {:?}",
                    self.timeout
                ))
            })??;
        let jwks: Jwks = serde_json::from_slice(&body)
            .map_err(|e| AuthError::KeysUnavailable(format!("the key set is not JWKS: {e}")))?;
        self.install(&jwks);
        Ok(())
    }

    /// The key set's bytes: the request, the headers and the whole body.
    async fn download(&self) -> Result<Bytes, AuthError> {
        let unavailable = |why: String| AuthError::KeysUnavailable(why);
        let request = http::Request::get(self.url.clone())
            .body(Empty::<Bytes>::new())
            .map_err(|e| unavailable(e.to_string()))?;
        let client = self
            .client
            .get_or_init(build_client)
            .as_ref()
            .map_err(|e| unavailable(e.clone()))?;
        let response = client
            .request(request)
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        if !response.status().is_success() {
            return Err(unavailable(format!(
                "the JWKS endpoint answered {}",
                response.status()
            )));
        }
        Ok(
            http_body_util::Limited::new(response.into_body(), MAX_JWKS_BYTES)
                .collect()
                .await
                .map_err(|e| unavailable(e.to_string()))?
                .to_bytes(),
        )
    }
}
