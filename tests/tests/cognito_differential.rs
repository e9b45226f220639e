//! The local user pool against moto's Cognito, driven by the same seeded random sequences
//! through `aws-sdk-cognitoidentityprovider`: sign-ups with good and weak passwords, admin
//! creation, passwords, confirmation, groups, disabling, sign-ins and `GetUser`. What the SDK
//! sees (error codes, user statuses, whether tokens came back) must agree.

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
use aws_sdk_cognitoidentityprovider::types::{AttributeType, AuthFlowType};
use std::collections::HashMap;
use svless::App;
use svless_local::cloud::Cloud;
use svless_tests::Rng;

const USERS: [&str; 3] = ["ann", "bob", "cy"];
const PASSWORDS: [&str; 5] = [
    "Correct-Horse-9!",
    "Other-Pass-7?",
    "short",
    "nouppercase1!",
    "NoSymbols123",
];

struct Side {
    client: Client,
    pool: String,
    app_client: String,
    /// The last access token of each user.
    tokens: HashMap<String, String>,
}

async fn client(endpoint: &str) -> Client {
    let config = svless_tests::config_for(endpoint).await;
    Client::new(&config)
}

fn code<T, E: ProvideErrorMetadata>(result: &Result<T, E>) -> String {
    match result {
        Ok(_) => "ok".to_owned(),
        Err(err) => {
            eprintln!("  message: {:?}", err.message());
            format!("error {}", err.code().unwrap_or("?"))
        }
    }
}

async fn step(side: &mut Side, prefix: &str, rng: &mut Rng) -> String {
    let user = format!("{prefix}{}", rng.pick(&USERS));
    let password = *rng.pick(&PASSWORDS);
    let op = rng.below(8);
    eprintln!("op {op} {user} {password}");
    let c = &side.client;
    match op {
        0 => {
            let email = AttributeType::builder()
                .name("email")
                .value(format!("{user}@example.com"))
                .build()
                .expect("an attribute");
            let out = c
                .sign_up()
                .client_id(&side.app_client)
                .username(&user)
                .password(password)
                .user_attributes(email)
                .send()
                .await;
            match &out {
                Ok(o) => format!("ok confirmed={}", o.user_confirmed()),
                Err(_) => code(&out),
            }
        }
        1 => {
            let out = c
                .admin_create_user()
                .user_pool_id(&side.pool)
                .username(&user)
                .temporary_password("Temp-Pass-1!")
                .message_action(aws_sdk_cognitoidentityprovider::types::MessageActionType::Suppress)
                .send()
                .await;
            match &out {
                Ok(o) => format!(
                    "ok {:?}",
                    o.user()
                        .and_then(|u| u.user_status())
                        .map(|s| s.as_str().to_owned())
                ),
                Err(_) => code(&out),
            }
        }
        2 => code(
            &c.admin_set_user_password()
                .user_pool_id(&side.pool)
                .username(&user)
                .password(password)
                .permanent(true)
                .send()
                .await,
        ),
        3 | 4 => {
            let out = c
                .initiate_auth()
                .client_id(&side.app_client)
                .auth_flow(AuthFlowType::UserPasswordAuth)
                .auth_parameters("USERNAME", &user)
                .auth_parameters("PASSWORD", password)
                .send()
                .await;
            match &out {
                Ok(o) => match o.authentication_result().and_then(|r| r.access_token()) {
                    Some(token) => {
                        side.tokens.insert(user.clone(), token.to_owned());
                        "ok tokens".to_owned()
                    }
                    None => format!("ok challenge {:?}", o.challenge_name()),
                },
                Err(_) => code(&out),
            }
        }
        5 => {
            let add = rng.chance(1, 2);
            if add {
                code(
                    &c.admin_add_user_to_group()
                        .user_pool_id(&side.pool)
                        .username(&user)
                        .group_name("admins")
                        .send()
                        .await,
                )
            } else {
                code(
                    &c.admin_remove_user_from_group()
                        .user_pool_id(&side.pool)
                        .username(&user)
                        .group_name("admins")
                        .send()
                        .await,
                )
            }
        }
        6 => {
            let disable = rng.chance(1, 3);
            if disable {
                code(
                    &c.admin_disable_user()
                        .user_pool_id(&side.pool)
                        .username(&user)
                        .send()
                        .await,
                )
            } else {
                code(
                    &c.admin_enable_user()
                        .user_pool_id(&side.pool)
                        .username(&user)
                        .send()
                        .await,
                )
            }
        }
        _ => match side.tokens.get(&user) {
            None => "no token".to_owned(),
            Some(token) => {
                let out = c.get_user().access_token(token).send().await;
                match &out {
                    Ok(o) => format!("ok {}", o.username() == user),
                    Err(_) => code(&out),
                }
            }
        },
    }
}

async fn moto_side(endpoint: &str) -> Side {
    let client = client(endpoint).await;
    let (pool_id, app_client) = svless_tests::moto_user_pool(&client, "admins").await;
    Side {
        client,
        pool: pool_id,
        app_client,
        tokens: HashMap::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_user_pool_and_moto_agree_on_random_operation_sequences() {
    let moto = std::env::var("SVLESS_MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!("SVLESS_MOTO_ENDPOINT is not set: run the README's test command (scripts/test.sh), which starts moto")
    });
    let dir = std::env::temp_dir().join(format!("svless-cognito-diff-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let running = Cloud::new(App::new())
        .data_dir(&dir)
        .http_addr(([127, 0, 0, 1], 0).into())
        .services_addr(([127, 0, 0, 1], 0).into())
        .user_pool(svless_local::cognito::PoolConfig {
            groups: vec!["admins".into()],
            ..svless_local::cognito::PoolConfig::default()
        })
        .start()
        .await
        .expect("the cloud starts");
    let mut local = Side {
        client: client(&running.services_url()).await,
        pool: running.user_pool().pool_id().to_owned(),
        app_client: running.user_pool().client_id().to_owned(),
        tokens: HashMap::new(),
    };
    let mut remote = moto_side(&moto).await;
    let (seeds, ops) = svless_tests::differential_runs(&[41, 42, 43], 150);
    for seed in seeds {
        let prefix = format!("u{}s{seed}", std::process::id());
        let (mut a, mut b) = (Rng::new(seed), Rng::new(seed));
        for i in 0..ops {
            let on_local = step(&mut local, &prefix, &mut a).await;
            let on_moto = step(&mut remote, &prefix, &mut b).await;
            eprintln!("  => {on_local} | {on_moto}");
            assert_eq!(on_local, on_moto, "seed {seed}, step {i}");
        }
    }
    running.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
