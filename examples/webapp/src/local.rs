//! The whole application on one machine (feature `local`): the local cloud with the app's user
//! pool (sign-ups confirmed at once, an `admin` group and a seeded admin), the gateway's JWT
//! authorizer, the workflow and the nightly schedule.

use crate::{Services, Settings, WORKFLOW_NAME, app, web};
use serde_json::json;
use svless::cloud::{Cloud, JwtAuthorizer, PoolConfig, UserPool};

/// The seeded admin's user name (and e-mail address).
pub const ADMIN_EMAIL: &str = "admin@example.com";

/// The schedule of the nightly sweep.
pub const SWEEP_SCHEDULE: &str = "cron(0 3 * * ? *)";

/// The local user pool: the app's pool id and client, an `admin` group, sign-ups confirmed at
/// once (the code is logged either way).
pub fn pool(settings: &Settings) -> PoolConfig {
    PoolConfig {
        pool_id: settings.user_pool_id.clone(),
        client_id: settings.client_id.clone(),
        auto_confirm: true,
        groups: vec!["admin".into()],
        ..PoolConfig::default()
    }
}

/// The app on a local cloud with everything it needs, not yet started.
pub fn cloud(services: Services) -> Cloud<Services> {
    let pool = pool(&services.settings);
    Cloud::new(app(services))
        .user_pool(pool.clone())
        .jwt_authorizer(JwtAuthorizer::local_pool(&pool).public(web::PUBLIC_ROUTES))
        .state_machine(WORKFLOW_NAME, &crate::deploy::local_workflow())
        .schedule("nightly-sweep", SWEEP_SCHEDULE)
}

/// Creates (or resets) the admin with `password`, in the `admin` group.
pub fn seed_admin(pool: &UserPool, password: &str) -> Result<(), svless::BoxError> {
    let created = pool.call(
        "AdminCreateUser",
        &json!({
            "UserPoolId": pool.pool_id(),
            "Username": ADMIN_EMAIL,
            "UserAttributes": [
                {"Name": "email", "Value": ADMIN_EMAIL},
                {"Name": "email_verified", "Value": "true"},
                {"Name": "name", "Value": "Admin"}
            ],
            "MessageAction": "SUPPRESS"
        }),
    );
    match created {
        Ok(_) => {}
        Err(err) if err.code == "UsernameExistsException" => {}
        Err(err) => return Err(format!("seeding the admin: {}", err.message).into()),
    }
    pool.call(
        "AdminSetUserPassword",
        &json!({"UserPoolId": pool.pool_id(), "Username": ADMIN_EMAIL, "Password": password, "Permanent": true}),
    )
    .map_err(|e| format!("setting the admin's password: {}", e.message))?;
    pool.call(
        "AdminAddUserToGroup",
        &json!({"UserPoolId": pool.pool_id(), "Username": ADMIN_EMAIL, "GroupName": "admin"}),
    )
    .map_err(|e| format!("making the admin an admin: {}", e.message))?;
    Ok(())
}

/// A password Cognito's default policy accepts: `WEBAPP_ADMIN_PASSWORD`, else a new random one
/// each start.
pub fn admin_password() -> Result<String, svless::BoxError> {
    if let Ok(password) = std::env::var("WEBAPP_ADMIN_PASSWORD")
        && !password.is_empty()
    {
        return Ok(password);
    }
    Ok(format!("Adm1n-{}", crate::model::new_id()?))
}

/// Runs the app on the local cloud until Ctrl-C, printing where to open it and how to sign in
/// as the admin.
pub async fn run(settings: Settings) -> Result<(), svless::BoxError> {
    if std::env::var_os(svless::cloud::CHILD_MARK).is_none() {
        // This process only starts the child that serves (with the local endpoints in its
        // environment, which the SDK clients below read); it opens no store itself.
        return svless::cloud::run(svless::App::new()).await;
    }
    let services = Services::from_env(settings).await?;
    // The bucket as the template makes it on AWS: versioned, with the lifecycle rules.
    services.photos.set_versioning(true).await?;
    services
        .photos
        .put_lifecycle(&crate::lifecycle_rules())
        .await?;
    let password = admin_password()?;
    cloud(services)
        .run_with(move |running| {
            seed_admin(running.user_pool(), &password)?;
            eprintln!(
                "\nPhoto albums are at {url}\n  admin: {ADMIN_EMAIL} / {password}\n  sign up anyone else on the page\n",
                url = running.http_url()
            );
            Ok(())
        })
        .await
}
