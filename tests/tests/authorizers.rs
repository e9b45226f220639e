//! Lambda authorizers: REST TOKEN and REQUEST authorizers answer with IAM policies that cover
//! the method, HTTP API authorizers with simple responses, and the handler behind reads the
//! authorizer's context typed.

use serde_json::{Value, json};
use svless::policy::{Decision, PolicyDocument, Request as PolicyRequest};
use svless::testing::TestRequest;
use svless::{App, Context, api};
use svless_auth::AuthorizerContext;
use svless_auth::authorizer::{Authorization, Authorizer, AuthorizerRequest};
use svless_tests::fixture;

async fn authorize(request: AuthorizerRequest) -> Authorization {
    let header_ok = match &request {
        AuthorizerRequest::Request { headers, query, .. } => {
            headers.get("HeaderAuth1").map(String::as_str) == Some("headerValue1")
                && query.get("QueryString1").map(String::as_str) == Some("queryValue1")
        }
        AuthorizerRequest::HttpApi {
            identity_source, ..
        } => identity_source.first().map(String::as_str) == Some("user1"),
        AuthorizerRequest::Token { .. } => false,
        _ => false,
    };
    match request.bearer_token() {
        Some("allow") => Authorization::Allow {
            principal_id: "user|a1b2c3d4".into(),
            context: [
                ("tenant".to_owned(), json!("acme")),
                ("tier".to_owned(), json!({"level": 2})),
            ]
            .into_iter()
            .collect(),
        },
        Some("deny") => Authorization::Deny {
            principal_id: "user|mallory".into(),
        },
        _ if header_ok => Authorization::Allow {
            principal_id: "user|headers".into(),
            context: Default::default(),
        },
        _ => Authorization::Unauthorized,
    }
}

fn app() -> App {
    App::new().on(Authorizer::new("authorize", authorize))
}

fn ctx() -> Context {
    let mut ctx = svless_tests::lambda_context();
    ctx.function_name = "authorize".into();
    ctx
}

async fn answer(payload: &[u8]) -> Result<Value, svless::NamedError> {
    let out = app().dispatch(payload, ctx()).await?;
    Ok(serde_json::from_slice(&out).expect("JSON"))
}

fn allows(answer: &Value, method_arn: &str) -> Decision {
    let policy: PolicyDocument =
        serde_json::from_value(answer["policyDocument"].clone()).expect("an IAM policy");
    policy.evaluate(&PolicyRequest {
        action: "execute-api:Invoke",
        resource: method_arn,
        ..PolicyRequest::default()
    })
}

#[tokio::test]
async fn a_token_authorizer_allows_the_whole_stage_and_passes_flat_context() {
    let out = answer(&fixture("authorizer-token.json"))
        .await
        .expect("an answer");
    assert_eq!(out["principalId"], "user|a1b2c3d4");
    assert_eq!(
        allows(
            &out,
            "arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/*/GET/"
        ),
        Decision::Allow
    );
    assert_eq!(
        allows(
            &out,
            "arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/*/DELETE/todos/7"
        ),
        Decision::Allow
    );
    assert_eq!(
        allows(
            &out,
            "arn:aws:execute-api:us-west-2:123456789012:otherapi/*/GET/"
        ),
        Decision::ImplicitDeny
    );
    assert_eq!(
        out["context"],
        json!({"tenant": "acme", "tier": "{\"level\":2}"}),
        "context values are scalars"
    );

    let mut deny: Value = serde_json::from_slice(&fixture("authorizer-token.json")).expect("JSON");
    deny["authorizationToken"] = json!("deny");
    let out = answer(&serde_json::to_vec(&deny).expect("JSON"))
        .await
        .expect("an answer");
    assert_eq!(
        allows(
            &out,
            "arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/*/GET/"
        ),
        Decision::ExplicitDeny
    );

    deny["authorizationToken"] = json!("forged");
    let err = answer(&serde_json::to_vec(&deny).expect("JSON"))
        .await
        .expect_err("401");
    assert_eq!(
        (err.error_type(), err.message()),
        ("Unauthorized", "Unauthorized")
    );
}

#[tokio::test]
async fn a_request_authorizer_reads_headers_and_query() {
    let out = answer(&fixture("authorizer-request.json"))
        .await
        .expect("an answer");
    assert_eq!(out["principalId"], "user|headers");
    assert_eq!(
        allows(
            &out,
            "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/request"
        ),
        Decision::Allow
    );
}

#[tokio::test]
async fn an_http_api_authorizer_answers_simply() {
    let out = answer(&fixture("authorizer-http-api.json"))
        .await
        .expect("an answer");
    assert_eq!(out, json!({"isAuthorized": true, "context": {}}));
    let mut other: Value =
        serde_json::from_slice(&fixture("authorizer-http-api.json")).expect("JSON");
    other["identitySource"] = json!(["nobody"]);
    other["headers"]["authorization"] = json!("Bearer deny");
    let out = answer(&serde_json::to_vec(&other).expect("JSON"))
        .await
        .expect("an answer");
    assert_eq!(out, json!({"isAuthorized": false}));
}

#[derive(Debug, serde::Deserialize)]
struct Caller {
    tenant: String,
}

#[api(GET "/whoami")]
async fn whoami(AuthorizerContext(caller): AuthorizerContext<Caller>) -> String {
    caller.tenant
}

#[tokio::test]
async fn the_handler_behind_reads_the_authorizer_context_typed() {
    let app = App::new().route(whoami);
    let rest = TestRequest::get("/whoami")
        .v1()
        .authorizer(json!({"principalId": "u1", "tenant": "acme"}))
        .send(&app)
        .await;
    assert_eq!(rest.text(), "acme");
    let http = TestRequest::get("/whoami")
        .authorizer(json!({"lambda": {"tenant": "globex"}}))
        .send(&app)
        .await;
    assert_eq!(http.text(), "globex");
    assert_eq!(TestRequest::get("/whoami").send(&app).await.status, 401);
}

#[svless::authorizer(name = "gate")]
async fn gate(request: AuthorizerRequest) -> Authorization {
    match request.bearer_token() {
        Some("allow") => Authorization::Allow {
            principal_id: "user|macro".into(),
            context: Default::default(),
        },
        _ => Authorization::Unauthorized,
    }
}

#[tokio::test]
async fn the_authorizer_attribute_registers_a_named_authorizer() {
    let app = App::new().on(gate).task("gate");
    let out = app
        .dispatch(
            &fixture("authorizer-token.json"),
            svless_tests::lambda_context(),
        )
        .await
        .expect("an answer");
    let out: Value = serde_json::from_slice(&out).expect("JSON");
    assert_eq!(out["principalId"], "user|macro");
}
