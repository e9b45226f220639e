//! The attack table: every forged, stale or misdirected token is refused with the right status.
//! The user pool's keys come from a real HTTP server on loopback (`SVLESS_JWKS_URL`, which the
//! README's test command starts over `tests/fixtures/jwks/`); the signing key, in `tests/fixtures/keys/`, is a test-only key.

use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use svless_auth::{AuthError, CognitoVerifier, JwksCache, TokenUse};

const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TESTPOOL";
const CLIENT: &str = "7example23c9lk4mbuh6example";
const KID: &str = "svless-test-1";

use svless_tests::jwks_url;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

fn private_key() -> EncodingKey {
    let pem = svless_tests::test_key_pem();
    EncodingKey::from_rsa_pem(&pem).expect("an RSA key")
}

fn id_claims() -> Value {
    json!({
        "sub": "4711a7b8-1f2e-4c3d-9e8f-0a1b2c3d4e5f",
        "cognito:username": "ann",
        "cognito:groups": ["admin"],
        "email": "ann@example.com",
        "iss": ISSUER,
        "aud": CLIENT,
        "token_use": "id",
        "iat": now(),
        "exp": now() + 3600,
        "custom:tenant": "acme",
    })
}

fn access_claims() -> Value {
    json!({
        "sub": "4711a7b8-1f2e-4c3d-9e8f-0a1b2c3d4e5f",
        "username": "ann",
        "iss": ISSUER,
        "client_id": CLIENT,
        "token_use": "access",
        "scope": "todos/read openid",
        "iat": now(),
        "exp": now() + 3600,
    })
}

fn sign(claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(KID.into());
    jsonwebtoken::encode(&header, claims, &private_key()).expect("a token")
}

fn verifier(token_use: TokenUse) -> CognitoVerifier {
    let keys = JwksCache::new(&jwks_url())
        .expect("a key cache")
        .penalty(Duration::from_secs(10));
    CognitoVerifier::with_keys(ISSUER, keys, token_use, [CLIENT])
}

async fn refused(verifier: &CognitoVerifier, token: &str) -> AuthError {
    verifier.verify::<Value>(token).await.expect_err("refused")
}

fn b64(value: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

#[derive(Debug, serde::Deserialize)]
struct Tenant {
    #[serde(rename = "custom:tenant")]
    tenant: Option<String>,
}

#[tokio::test]
async fn a_valid_token_passes_with_its_claims() {
    let claims = verifier(TokenUse::Id)
        .verify::<Tenant>(&sign(&id_claims()))
        .await
        .expect("valid");
    assert_eq!(claims.username.as_deref(), Some("ann"));
    assert_eq!(claims.groups, ["admin"]);
    assert_eq!(claims.client_id, CLIENT);
    assert_eq!(claims.extra.tenant.as_deref(), Some("acme"));
    let access = verifier(TokenUse::Access).require_scopes(["todos/read"]);
    let claims = access
        .verify::<Value>(&sign(&access_claims()))
        .await
        .expect("valid");
    assert_eq!(claims.scopes, ["todos/read", "openid"]);
}

#[tokio::test]
async fn the_attack_table_is_refused_with_the_right_status() {
    let v = verifier(TokenUse::Id);
    let valid = sign(&id_claims());
    let parts: Vec<&str> = valid.split('.').collect();

    // alg: none, unsigned.
    let mut none_claims = id_claims();
    none_claims["sub"] = json!("mallory");
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "kid": KID, "typ": "JWT"})),
        b64(&none_claims)
    );
    // HS256 with the public key as the secret.
    let public = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/jwks/jwks.json"
    ))
    .expect("the public key set");
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = Some(KID.into());
    let hs256 = jsonwebtoken::encode(&hs_header, &id_claims(), &EncodingKey::from_secret(&public))
        .expect("a token");

    let with = |change: &dyn Fn(&mut Value)| {
        let mut claims = id_claims();
        change(&mut claims);
        sign(&claims)
    };
    let expired = with(&|c| c["exp"] = json!(now() - 600));
    let not_before = with(&|c| c["nbf"] = json!(now() + 600));
    let issued_later = with(&|c| c["iat"] = json!(now() + 600));
    let wrong_issuer =
        with(&|c| c["iss"] = json!("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_OTHER"));
    let wrong_audience = with(&|c| c["aud"] = json!("another-client"));
    let access_token = sign(&access_claims());
    let mut unknown_header = Header::new(Algorithm::RS256);
    unknown_header.kid = Some("forged-kid".into());
    let unknown_kid =
        jsonwebtoken::encode(&unknown_header, &id_claims(), &private_key()).expect("a token");
    let mut tampered = id_claims();
    tampered["cognito:groups"] = json!(["admin", "root"]);
    let tampered_payload = format!("{}.{}.{}", parts[0], b64(&tampered), parts[2]);
    let mut signature = parts[2].to_owned();
    let flipped = if signature.ends_with('A') { 'B' } else { 'A' };
    signature.pop();
    signature.push(flipped);
    let tampered_signature = format!("{}.{}.{}", parts[0], parts[1], signature);
    let truncated = valid[..valid.len() - 20].to_owned();
    let oversized = format!(
        "{}.{}.{}",
        parts[0],
        "A".repeat(svless_auth::MAX_TOKEN_BYTES),
        parts[2]
    );

    let table: Vec<(&str, String, u16)> = vec![
        ("alg none", none, 401),
        ("HS256 with the public key as secret", hs256, 401),
        ("expired", expired, 401),
        ("not yet valid", not_before, 401),
        ("issued in the future", issued_later, 401),
        ("wrong issuer", wrong_issuer, 401),
        ("wrong audience", wrong_audience, 401),
        (
            "access token where an ID token is required",
            access_token,
            401,
        ),
        ("unknown kid", unknown_kid, 401),
        ("tampered payload", tampered_payload, 401),
        ("tampered signature", tampered_signature, 401),
        ("truncated", truncated, 401),
        ("oversized", oversized, 401),
    ];
    for (name, token, status) in table {
        let err = refused(&v, &token).await;
        assert_eq!(err.status().as_u16(), status, "{name}: {err}");
        assert_eq!(
            err.www_authenticate().as_deref(),
            Some("Bearer error=\"invalid_token\""),
            "{name}"
        );
    }

    // The reverse: an ID token where an access token is required.
    let err = refused(&verifier(TokenUse::Access), &sign(&id_claims())).await;
    assert_eq!(err, AuthError::TokenUse("id".into()));
    // A valid access token without the required scope: 403.
    let scoped = verifier(TokenUse::Access).require_scopes(["todos/write"]);
    let err = refused(&scoped, &sign(&access_claims())).await;
    assert_eq!(
        (err.status().as_u16(), err),
        (403, AuthError::Insufficient("todos/write".into()))
    );
    // Missing header, misspelt scheme.
    assert_eq!(
        CognitoVerifier::bearer(None).expect_err("missing").status(),
        401
    );
    assert_eq!(
        CognitoVerifier::bearer(Some(&format!("Bearr {valid}")))
            .expect_err("misspelt")
            .status(),
        401
    );
    assert!(
        CognitoVerifier::bearer(Some(&format!("bearer {valid}"))).is_ok(),
        "the scheme is case-insensitive"
    );
}

#[tokio::test]
async fn an_unreachable_key_set_fails_closed() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a port")
        .port();
    let keys = JwksCache::new(&format!("http://127.0.0.1:{closed}/jwks.json"))
        .expect("a key cache")
        .timeout(Duration::from_millis(500));
    let v = CognitoVerifier::with_keys(ISSUER, keys, TokenUse::Id, [CLIENT]);
    let err = refused(&v, &sign(&id_claims())).await;
    assert_eq!(err.status().as_u16(), 503, "{err}");
    assert!(matches!(err, AuthError::KeysUnavailable(_)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_unknown_kids_fetches_the_keys_once() {
    let v = std::sync::Arc::new(verifier(TokenUse::Id));
    let mut header = Header::new(Algorithm::RS256);
    let mut tasks = Vec::new();
    for i in 0..50 {
        header.kid = Some(format!("forged-{i}"));
        let token = jsonwebtoken::encode(&header, &id_claims(), &private_key()).expect("a token");
        let v = v.clone();
        tasks.push(tokio::spawn(async move { v.verify::<Value>(&token).await }));
    }
    for task in tasks {
        assert_eq!(
            task.await.expect("the task ran").expect_err("refused"),
            AuthError::UnknownKey
        );
    }
    assert_eq!(
        v.keys().fetches(),
        1,
        "single flight, then the penalty window"
    );
    // The real key still verifies from the cache, without another fetch.
    v.verify::<Value>(&sign(&id_claims())).await.expect("valid");
    assert_eq!(v.keys().fetches(), 1);
}

/// How the loopback key server of the outage tests answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyServer {
    /// Accepts the connection, reads the request, never answers.
    Hangs,
    /// Sends the headers after `delay`, then the body one byte every 100 ms, forever.
    Trickles { delay: Duration },
    /// Serves a key set without the test key (`other-key` only).
    ServesOtherKeys,
    /// Serves the test key set.
    ServesKeys,
}

/// A key server on loopback whose behaviour the test switches; returns its URL and the switch.
async fn key_server(mode: KeyServer) -> (String, std::sync::Arc<std::sync::Mutex<KeyServer>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let url = format!(
        "http://{}/jwks.json",
        listener.local_addr().expect("an address")
    );
    let mode = std::sync::Arc::new(std::sync::Mutex::new(mode));
    let switch = mode.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mode = *mode.lock().expect("the mode");
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let keys = match mode {
                    KeyServer::Hangs => {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        return;
                    }
                    KeyServer::Trickles { delay } => {
                        tokio::time::sleep(delay).await;
                        let _ = socket
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n")
                            .await;
                        loop {
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            if socket.write_all(b" ").await.is_err() {
                                return;
                            }
                        }
                    }
                    KeyServer::ServesOtherKeys => {
                        String::from_utf8(svless_tests::fixture("jwks/jwks.json"))
                            .expect("UTF-8")
                            .replace(KID, "other-key")
                    }
                    KeyServer::ServesKeys => {
                        String::from_utf8(svless_tests::fixture("jwks/jwks.json")).expect("UTF-8")
                    }
                };
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{keys}",
                    keys.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    (url, switch)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_set_outage_is_503_for_everyone_until_a_fetch_succeeds() {
    let (url, switch) = key_server(KeyServer::Hangs).await;
    let keys = JwksCache::new(&url)
        .expect("a key cache")
        .timeout(Duration::from_millis(400))
        .retry_after(Duration::from_millis(300));
    let v = std::sync::Arc::new(CognitoVerifier::with_keys(
        ISSUER,
        keys,
        TokenUse::Id,
        [CLIENT],
    ));
    let token = sign(&id_claims());
    // Eight requests on a cold cache: one fetch, and every one of them is told 503.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (v, token) = (v.clone(), token.clone());
        tasks.push(tokio::spawn(async move { v.verify::<Value>(&token).await }));
    }
    for task in tasks {
        let err = task.await.expect("the task ran").expect_err("refused");
        assert!(matches!(err, AuthError::KeysUnavailable(_)), "{err:?}");
        assert_eq!(err.status().as_u16(), 503);
    }
    assert_eq!(v.keys().fetches(), 1, "single flight");
    // Inside the retry window: 503 at once, no fetch, never 401.
    let err = refused(&v, &token).await;
    assert!(matches!(err, AuthError::KeysUnavailable(_)), "{err:?}");
    assert_eq!(v.keys().fetches(), 1);
    // After it, the next request fetches again; once the keys are back, the token passes.
    *switch.lock().expect("the mode") = KeyServer::ServesKeys;
    tokio::time::sleep(Duration::from_millis(350)).await;
    v.verify::<Value>(&token)
        .await
        .expect("valid once the keys are back");
    assert_eq!(v.keys().fetches(), 2);
}

#[tokio::test]
async fn the_fetch_timeout_bounds_headers_and_body_together() {
    // Headers arrive just inside the timeout, then the body trickles: the whole fetch is cut at
    // the timeout, not after a second timeout for the body.
    let timeout = Duration::from_millis(1000);
    let (url, _switch) = key_server(KeyServer::Trickles {
        delay: Duration::from_millis(800),
    })
    .await;
    let keys = JwksCache::new(&url).expect("a key cache").timeout(timeout);
    let v = CognitoVerifier::with_keys(ISSUER, keys, TokenUse::Id, [CLIENT]);
    let started = std::time::Instant::now();
    let err = refused(&v, &sign(&id_claims())).await;
    let took = started.elapsed();
    assert!(matches!(err, AuthError::KeysUnavailable(_)), "{err:?}");
    assert!(
        took < timeout + Duration::from_millis(500),
        "the fetch took {took:?} with a timeout of {timeout:?}"
    );
}

#[tokio::test]
async fn hydrate_does_not_hold_back_a_newly_rotated_key() {
    let (url, switch) = key_server(KeyServer::ServesOtherKeys).await;
    let keys = JwksCache::new(&url)
        .expect("a key cache")
        .penalty(Duration::from_secs(60));
    keys.hydrate().await.expect("the keys at cold start");
    let v = CognitoVerifier::with_keys(ISSUER, keys, TokenUse::Id, [CLIENT]);
    // The pool rotates in the test key after the cold start.
    *switch.lock().expect("the mode") = KeyServer::ServesKeys;
    v.verify::<Value>(&sign(&id_claims()))
        .await
        .expect("the rotated key is fetched at once");
    assert_eq!(v.keys().fetches(), 2);
}

#[tokio::test]
async fn a_successful_fetch_without_the_kid_starts_the_penalty_window() {
    let (url, switch) = key_server(KeyServer::ServesOtherKeys).await;
    let keys = JwksCache::new(&url)
        .expect("a key cache")
        .penalty(Duration::from_secs(60));
    let v = CognitoVerifier::with_keys(ISSUER, keys, TokenUse::Id, [CLIENT]);
    let token = sign(&id_claims());
    assert_eq!(refused(&v, &token).await, AuthError::UnknownKey);
    *switch.lock().expect("the mode") = KeyServer::ServesKeys;
    assert_eq!(
        refused(&v, &token).await,
        AuthError::UnknownKey,
        "inside the window, no second fetch"
    );
    assert_eq!(v.keys().fetches(), 1);
}

#[tokio::test]
async fn a_pool_with_the_updated_issuer_format_is_verified_by_its_format() {
    use svless_auth::IssuerFormat;
    // The issuer an `UPDATED` pool signs with (Cognito API reference, IssuerConfigurationType).
    let updated = IssuerFormat::Updated.issuer("us-east-1", "us-east-1_TESTPOOL");
    assert_eq!(
        updated,
        "https://issuer-cognito-idp.us-east-1.amazonaws.com/us-east-1_TESTPOOL"
    );
    let mut claims = id_claims();
    claims["iss"] = json!(updated);
    let token = sign(&claims);
    let keys = JwksCache::new(&jwks_url()).expect("a key cache");
    let v = CognitoVerifier::with_keys(&updated, keys, TokenUse::Id, [CLIENT]);
    v.verify::<Value>(&token).await.expect("the updated issuer");
    // A verifier configured for the original format refuses it, and the reverse.
    assert_eq!(
        refused(&verifier(TokenUse::Id), &token).await,
        AuthError::Issuer
    );
    assert_eq!(refused(&v, &sign(&id_claims())).await, AuthError::Issuer);
    // The constructor for a pool follows the format with both the issuer and the key set URL.
    let pool = CognitoVerifier::for_pool(
        "eu-central-1",
        "eu-central-1_ABC",
        IssuerFormat::Updated,
        TokenUse::Id,
        [CLIENT],
    )
    .expect("a verifier");
    assert_eq!(
        pool.keys().url(),
        "https://issuer-cognito-idp.eu-central-1.amazonaws.com/eu-central-1_ABC/.well-known/jwks.json"
    );
}
