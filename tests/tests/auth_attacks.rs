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
