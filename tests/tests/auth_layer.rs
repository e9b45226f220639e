//! The auth layer and extractors through the one dispatch path: 401 with a challenge, 403 for a
//! missing group, claims in handlers, and the explicit trust-the-gateway mode.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};
use svless::testing::TestRequest;
use svless::{App, api};
use svless_auth::{
    Auth, CognitoAuthLayer, CognitoVerifier, JwksCache, Require, TokenUse, group_requirement,
};

const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TESTPOOL";
const CLIENT: &str = "7example23c9lk4mbuh6example";

use svless_tests::jwks_url;

fn token(groups: &[&str], exp_offset: i64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    let claims = json!({
        "sub": "user-1", "cognito:username": "ann", "cognito:groups": groups, "iss": ISSUER, "aud": CLIENT,
        "token_use": "id", "iat": now, "exp": now + exp_offset, "custom:tenant": "acme",
    });
    let pem = svless_tests::test_key_pem();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("svless-test-1".into());
    jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_rsa_pem(&pem).expect("a key"),
    )
    .expect("a token")
}

#[derive(Debug, serde::Deserialize)]
struct Tenant {
    #[serde(rename = "custom:tenant")]
    tenant: String,
}

group_requirement!(Admins, "admin");

#[api(GET "/me")]
async fn me(Auth(claims): Auth<Tenant>) -> String {
    format!(
        "{} of {}",
        claims.username.unwrap_or_default(),
        claims.extra.tenant
    )
}

#[api(DELETE "/everything")]
async fn wipe(_admin: Require<Admins>) -> &'static str {
    "wiped"
}

#[api(GET "/health")]
async fn health() -> &'static str {
    "ok"
}

fn app() -> App {
    let keys = JwksCache::new(&jwks_url()).expect("a key cache");
    let verifier = CognitoVerifier::with_keys(ISSUER, keys, TokenUse::Id, [CLIENT]);
    App::new()
        .route(me)
        .route(wipe)
        .layer(CognitoAuthLayer::new(verifier))
}

#[tokio::test]
async fn requests_without_a_valid_token_get_401_with_a_challenge() {
    let app = app();
    let missing = TestRequest::get("/me").send(&app).await;
    assert_eq!(missing.status, 401);
    assert_eq!(missing.header("www-authenticate"), Some("Bearer"));
    assert_eq!(
        missing.header("content-type"),
        Some("application/problem+json")
    );
    let expired = TestRequest::get("/me")
        .header("authorization", &format!("Bearer {}", token(&[], -600)))
        .send(&app)
        .await;
    assert_eq!(expired.status, 401);
    assert_eq!(
        expired.header("www-authenticate"),
        Some("Bearer error=\"invalid_token\"")
    );
    let misspelt = TestRequest::get("/me")
        .header("authorization", &format!("Bearr {}", token(&[], 600)))
        .send(&app)
        .await;
    assert_eq!(misspelt.status, 401);
}

#[tokio::test]
async fn claims_reach_handlers_and_groups_guard_routes() {
    let app = app();
    let member = format!("Bearer {}", token(&["editor"], 600));
    let admin = format!("Bearer {}", token(&["admin"], 600));
    let who = TestRequest::get("/me")
        .header("authorization", &member)
        .send(&app)
        .await;
    assert_eq!(
        (who.status.as_u16(), who.text()),
        (200, "ann of acme".into())
    );
    let refused = TestRequest::delete("/everything")
        .header("authorization", &member)
        .send(&app)
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        refused.header("www-authenticate"),
        Some("Bearer error=\"insufficient_scope\"")
    );
    let allowed = TestRequest::delete("/everything")
        .header("authorization", &admin)
        .send(&app)
        .await;
    assert_eq!(allowed.status, 200);
}

#[tokio::test]
async fn a_layer_on_one_route_leaves_the_others_open_and_extractors_fail_closed() {
    let keys = JwksCache::new(&jwks_url()).expect("a key cache");
    let verifier = CognitoVerifier::with_keys(ISSUER, keys, TokenUse::Id, [CLIENT]);
    let app = App::new()
        .route(health)
        .route_layer(me, CognitoAuthLayer::new(verifier))
        .route(wipe);
    assert_eq!(TestRequest::get("/health").send(&app).await.status, 200);
    assert_eq!(TestRequest::get("/me").send(&app).await.status, 401);
    // `wipe` is outside the layer: its extractor finds no verified claims and refuses.
    let admin = format!("Bearer {}", token(&["admin"], 600));
    assert_eq!(
        TestRequest::delete("/everything")
            .header("authorization", &admin)
            .send(&app)
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn trusting_the_gateway_reads_the_authorizers_claims_and_refuses_requests_without_them() {
    let app = App::new()
        .route(me)
        .route(wipe)
        .layer(CognitoAuthLayer::trust_api_gateway(TokenUse::Id));
    let authorizer: Value = json!({"jwt": {"claims": {
        "sub": "user-1", "cognito:username": "ann", "cognito:groups": "[admin editor]", "custom:tenant": "acme",
        "aud": CLIENT, "token_use": "id"
    }, "scopes": null}});
    let who = TestRequest::get("/me")
        .authorizer(authorizer.clone())
        .send(&app)
        .await;
    assert_eq!(
        (who.status.as_u16(), who.text()),
        (200, "ann of acme".into())
    );
    let wiped = TestRequest::delete("/everything")
        .authorizer(authorizer)
        .send(&app)
        .await;
    assert_eq!(wiped.status, 200);
    let rest = json!({"claims": {"sub": "user-2", "cognito:username": "bob", "cognito:groups": "editor", "custom:tenant": "acme"}});
    let refused = TestRequest::delete("/everything")
        .v1()
        .authorizer(rest)
        .send(&app)
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        TestRequest::get("/me").send(&app).await.status,
        401,
        "no authorizer claims: refused, never a pass"
    );
}

#[api(GET "/greeting")]
async fn greeting(caller: Option<Auth>) -> String {
    match caller {
        Some(Auth(claims)) => format!("hello, {}", claims.sub),
        None => "hello, stranger".into(),
    }
}

#[tokio::test]
async fn an_optional_caller_is_none_without_a_token_and_still_verified_with_one() {
    let keys = JwksCache::new(&jwks_url()).expect("a key cache");
    let verifier = CognitoVerifier::with_keys(ISSUER, keys, TokenUse::Id, [CLIENT]);
    let app = App::new()
        .route(greeting)
        .route(me)
        .layer(CognitoAuthLayer::new(verifier).optional());

    let anonymous = TestRequest::get("/greeting").send(&app).await;
    assert_eq!(
        (anonymous.status.as_u16(), anonymous.text()),
        (200, "hello, stranger".into())
    );

    let bearer = format!("Bearer {}", token(&[], 3600));
    let known = TestRequest::get("/greeting")
        .header("authorization", &bearer)
        .send(&app)
        .await;
    assert_eq!(known.text(), "hello, user-1");

    // A token that is present but invalid is refused, never taken for absent.
    let expired = TestRequest::get("/greeting")
        .header("authorization", &format!("Bearer {}", token(&[], -3600)))
        .send(&app)
        .await;
    assert_eq!(expired.status, 401);

    // A route that needs a caller still refuses an anonymous one.
    let needs_caller = TestRequest::get("/me").send(&app).await;
    assert_eq!(needs_caller.status, 401);

    // Without any auth layer, `Option<Auth>` refuses: a missing layer never lets callers through
    // as anonymous.
    let unguarded = App::new().route(greeting);
    assert_eq!(
        TestRequest::get("/greeting").send(&unguarded).await.status,
        401
    );
}
