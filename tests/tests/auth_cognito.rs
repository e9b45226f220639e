//! Real tokens: users made and signed in through the Cognito API of the moto server the test
//! command starts (`SVLESS_MOTO_ENDPOINT`), verified with the pool's key set fetched from that
//! server while the tokens keep the AWS issuer.

use svless::testing::TestRequest;
use svless_auth::users::{CognitoUsers, UsersError};
use svless_auth::{
    AuthError, CognitoAuthLayer, CognitoVerifier, JwksCache, Require, TokenUse, group_requirement,
};

group_requirement!(Admins, "admin");

#[svless::api(DELETE "/admin")]
async fn admin_only(_admin: Require<Admins>) -> &'static str {
    "done"
}

use svless_tests::moto_endpoint as endpoint;

async fn config() -> aws_config::SdkConfig {
    svless_tests::moto_config().await
}

#[tokio::test]
async fn tokens_issued_by_the_pool_verify_and_carry_their_groups() {
    let config = config().await;
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&config);
    let (pool_id, client_id) = svless_tests::moto_user_pool(&cognito, "admin").await;

    let users = CognitoUsers::new(&config, &pool_id, &client_id);
    for (name, email) in [("ann", "ann@example.com"), ("bob", "bob@example.com")] {
        users.create(name, email).await.expect("a user");
        users
            .set_password(name, "Correct-Horse-9!")
            .await
            .expect("a password");
    }
    assert!(matches!(
        users.create("ann", "again@example.com").await,
        Err(UsersError::UserExists)
    ));
    users
        .add_to_group("ann", "admin")
        .await
        .expect("ann is an admin");
    assert_eq!(
        users.list_group("admin").await.expect("the admins"),
        ["ann"]
    );

    let issuer = format!("https://cognito-idp.us-east-1.amazonaws.com/{pool_id}");
    let keys = || {
        JwksCache::new(&format!("{}/{pool_id}/.well-known/jwks.json", endpoint()))
            .expect("a key cache")
    };
    let ids = CognitoVerifier::with_keys(&issuer, keys(), TokenUse::Id, [client_id.as_str()]);
    let access =
        CognitoVerifier::with_keys(&issuer, keys(), TokenUse::Access, [client_id.as_str()]);

    let ann = users
        .sign_in("ann", "Correct-Horse-9!")
        .await
        .expect("ann signs in");
    let claims = ids
        .verify::<serde_json::Value>(&ann.id_token)
        .await
        .expect("ann's ID token verifies");
    assert_eq!(claims.username.as_deref(), Some("ann"));
    assert!(claims.groups.iter().any(|g| g == "admin"), "{claims:?}");
    let claims = access
        .verify::<serde_json::Value>(&ann.access_token)
        .await
        .expect("ann's access token verifies");
    assert_eq!(claims.client_id, client_id);
    // Each verifier takes only its kind of token.
    assert!(matches!(
        ids.verify::<serde_json::Value>(&ann.access_token).await,
        Err(AuthError::TokenUse(_))
    ));

    let bob = users
        .sign_in("bob", "Correct-Horse-9!")
        .await
        .expect("bob signs in");
    let claims = ids
        .verify::<serde_json::Value>(&bob.id_token)
        .await
        .expect("bob's ID token verifies");
    assert!(
        !claims.groups.iter().any(|g| g == "admin"),
        "bob is no admin: {claims:?}"
    );

    // Through the layer: the admin passes the admin route, the other user gets 403.
    let guarded = svless::App::new()
        .route(admin_only)
        .layer(CognitoAuthLayer::new(CognitoVerifier::with_keys(
            &issuer,
            keys(),
            TokenUse::Id,
            [client_id.as_str()],
        )));
    let as_ann = TestRequest::delete("/admin")
        .header("authorization", &format!("Bearer {}", ann.id_token))
        .send(&guarded)
        .await;
    assert_eq!(as_ann.status, 200);
    let as_bob = TestRequest::delete("/admin")
        .header("authorization", &format!("Bearer {}", bob.id_token))
        .send(&guarded)
        .await;
    assert_eq!(as_bob.status, 403);

    let refreshed = users
        .refresh(ann.refresh_token.as_deref().expect("a refresh token"))
        .await
        .expect("refresh");
    ids.verify::<serde_json::Value>(&refreshed.id_token)
        .await
        .expect("the refreshed token verifies");

    assert!(matches!(
        users.sign_in("ann", "wrong-password").await,
        Err(UsersError::NotAuthorized)
    ));
    users
        .remove_from_group("ann", "admin")
        .await
        .expect("ann leaves the group");
    assert!(
        users
            .list_group("admin")
            .await
            .expect("the admins")
            .is_empty()
    );
    users.disable("bob").await.expect("bob is disabled");

    // Another pool's token is refused: its issuer is not this pool's.
    let other = CognitoVerifier::with_keys(
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other",
        keys(),
        TokenUse::Id,
        [client_id.as_str()],
    );
    assert_eq!(
        other
            .verify::<serde_json::Value>(&ann.id_token)
            .await
            .expect_err("refused"),
        AuthError::Issuer
    );
}
