//! `App::openapi`: routes described from their types, with API Gateway's extensions, and the
//! local answer of a mock integration.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use svless::auth::Auth;
use svless::http::StatusCode;
use svless::mock::MockIntegration;
use svless::openapi::{CognitoAuthorizer, Flavor, OpenApi};
use svless::testing::TestRequest;
use svless::{App, Json, Path, Query, api};

#[derive(Deserialize, JsonSchema)]
struct Search {
    /// Words to look for.
    q: String,
    #[serde(default)]
    limit: Option<u32>,
}

#[derive(Deserialize, JsonSchema)]
struct NewTodo {
    title: String,
    done: bool,
}

#[derive(Serialize, JsonSchema)]
struct Todo {
    id: u32,
    title: String,
}

/// Not deriving `JsonSchema`: listed, marked undescribed.
#[derive(Deserialize, Serialize)]
struct Opaque {
    anything: String,
}

/// Finds todos.
///
/// Matches titles.
#[api(GET "/todos")]
async fn search(Query(q): Query<Search>) -> Json<Vec<Todo>> {
    Json(vec![Todo {
        id: q.limit.unwrap_or(0),
        title: q.q,
    }])
}

#[api(POST "/lists/{list}/todos")]
async fn create(
    Auth(_claims): Auth,
    Path(_list): Path<u32>,
    Json(todo): Json<NewTodo>,
) -> Result<(StatusCode, Json<Todo>), svless::Error> {
    let title = if todo.done {
        format!("{} (done)", todo.title)
    } else {
        todo.title
    };
    Ok((StatusCode::CREATED, Json(Todo { id: 1, title })))
}

#[api(PUT "/lists/{list}/todos/{id}")]
async fn replace(
    Path((_list, _id)): Path<(u32, String)>,
    Json(body): Json<Opaque>,
) -> Json<Opaque> {
    Json(body)
}

#[api(DELETE "/raw/{key+}")]
async fn raw(
    Path(_key): Path<String>,
    _body: svless::extract::RawBody,
) -> impl svless::IntoResponse {
    StatusCode::NO_CONTENT
}

#[api(POST "/typed")]
async fn typed(Json(todo): Json<NewTodo>) -> Result<svless::Created<Json<Todo>>, svless::Error> {
    Ok(svless::Created(Json(Todo {
        id: u32::from(todo.done),
        title: todo.title,
    })))
}

#[api(DELETE "/typed/{id}")]
async fn gone(Path(_id): Path<u32>) -> svless::NoContent {
    svless::NoContent
}

#[api(PUT "/unit")]
async fn unit() {}

async fn by_hand() -> &'static str {
    "hand"
}

fn app() -> App {
    App::new()
        .route(search)
        .route(create)
        .route(replace)
        .route(raw)
        .route(typed)
        .route(gone)
        .route(unit)
        .route_fn("GET", "/hand", by_hand)
        .mock(
            "GET",
            "/health",
            MockIntegration::json(200, r#"{"status": "ok", "id": "$context.requestId", "method": "${context.httpMethod}"}"#),
        )
}

fn options(flavor: Flavor) -> OpenApi {
    OpenApi::new("Todos", "1.2.3", flavor)
        .lambda_uri(json!({"Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn.Arn}/invocations"}))
        .authorizer(CognitoAuthorizer {
            name: "cognito".into(),
            issuer: json!("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"),
            audience: vec![json!("client")],
            provider_arns: vec![json!("arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_abc")],
        })
        .cors(["https://example.com"])
}

fn op<'a>(definition: &'a Value, method: &str, path: &str) -> &'a Value {
    let op = &definition["paths"][path][method];
    assert!(op.is_object(), "no {method} {path} in {definition:#}");
    op
}

#[test]
fn every_route_is_listed_with_what_its_types_say() {
    let d = app().openapi(&options(Flavor::HttpApi));
    assert_eq!(d["openapi"], "3.0.1");
    assert_eq!(d["info"]["version"], "1.2.3");

    let search_op = op(&d, "get", "/todos");
    assert_eq!(search_op["summary"], "Finds todos.");
    let params = search_op["parameters"]
        .as_array()
        .expect("query parameters");
    let q = params.iter().find(|p| p["name"] == "q").expect("q");
    assert_eq!(
        (q["in"].clone(), q["required"].clone()),
        (json!("query"), json!(true))
    );
    assert_eq!(q["description"], "Words to look for.");
    let limit = params.iter().find(|p| p["name"] == "limit").expect("limit");
    assert_eq!(limit["required"], false);
    assert_eq!(
        search_op["responses"]["200"]["content"]["application/json"]["schema"]["type"],
        "array"
    );
    assert!(
        search_op.get("security").is_none(),
        "no Auth, no security: {search_op:#}"
    );

    let create_op = op(&d, "post", "/lists/{list}/todos");
    assert_eq!(create_op["security"], json!([{"cognito": []}]));
    assert_eq!(create_op["parameters"][0]["schema"]["type"], "integer");
    let body = &create_op["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(body["required"], json!(["title", "done"]));
    assert!(
        create_op["responses"]["2XX"].is_object(),
        "a status chosen at run time is 2XX"
    );
    assert!(create_op["responses"]["401"].is_object());
    assert_eq!(
        create_op["responses"]["4XX"]["$ref"],
        "#/components/responses/Problem"
    );
    let integration = &create_op["x-amazon-apigateway-integration"];
    assert_eq!(integration["type"], "aws_proxy");
    assert_eq!(integration["payloadFormatVersion"], "2.0");
    assert!(
        integration["uri"]["Fn::Sub"].is_string(),
        "intrinsic functions pass through"
    );

    let replace_op = op(&d, "put", "/lists/{list}/todos/{id}");
    let p = replace_op["parameters"]
        .as_array()
        .expect("path parameters");
    assert_eq!(
        (
            p[0]["schema"]["type"].clone(),
            p[1]["schema"]["type"].clone()
        ),
        (json!("integer"), json!("string"))
    );
    let undescribed = replace_op["x-svless-undescribed"].to_string();
    assert!(
        undescribed.contains("Opaque"),
        "a type without a schema is named: {undescribed}"
    );
    assert!(replace_op.get("requestBody").is_none());

    let raw_op = op(&d, "delete", "/raw/{key+}");
    assert_eq!(raw_op["parameters"][0]["name"], "key");
    assert_eq!(
        raw_op["requestBody"]["content"]["application/octet-stream"]["schema"]["format"],
        "binary"
    );
    assert_eq!(
        raw_op["requestBody"]["required"], false,
        "a raw body is described as such"
    );
    assert!(
        raw_op["x-svless-undescribed"]
            .to_string()
            .contains("impl IntoResponse")
    );

    let hand_op = op(&d, "get", "/hand");
    assert!(
        hand_op["x-svless-undescribed"]
            .to_string()
            .contains("by hand")
    );

    let auth = &d["components"]["securitySchemes"]["cognito"]["x-amazon-apigateway-authorizer"];
    assert_eq!(auth["type"], "jwt");
    assert_eq!(auth["jwtConfiguration"]["audience"], json!(["client"]));
    assert_eq!(
        d["x-amazon-apigateway-cors"]["allowOrigins"],
        json!(["https://example.com"])
    );
    // An HTTP API has no mock integrations: the function answers the health route too.
    assert_eq!(
        op(&d, "get", "/health")["x-amazon-apigateway-integration"]["type"],
        "aws_proxy"
    );
}

#[test]
fn statuses_in_the_types_are_named_exactly() {
    let d = app().openapi(&options(Flavor::HttpApi));
    let created = &op(&d, "post", "/typed")["responses"];
    assert!(
        created["201"]["content"]["application/json"].is_object(),
        "{created:#}"
    );
    assert!(created.get("200").is_none() && created.get("2XX").is_none());
    assert!(op(&d, "delete", "/typed/{id}")["responses"]["204"].is_object());
    assert!(
        op(&d, "put", "/unit")["responses"]["204"].is_object(),
        "`()` answers 204"
    );
}

#[tokio::test]
async fn typed_statuses_are_the_statuses_sent() {
    let app = app();
    let created = TestRequest::post("/typed")
        .json(&json!({"title": "a", "done": true}))
        .send(&app)
        .await;
    assert_eq!(created.status, 201);
    assert_eq!(TestRequest::delete("/typed/3").send(&app).await.status, 204);
    assert_eq!(TestRequest::put("/unit").send(&app).await.status, 204);
}

#[test]
fn a_rest_api_gets_validators_method_responses_mocks_and_preflights() {
    let d = app().openapi(&options(Flavor::RestApi));
    let validators = &d["x-amazon-apigateway-request-validators"];
    assert_eq!(
        validators["body-and-parameters"]["validateRequestBody"],
        true
    );
    let create_op = op(&d, "post", "/lists/{list}/todos");
    assert_eq!(
        create_op["x-amazon-apigateway-request-validator"],
        "body-and-parameters"
    );
    assert!(
        create_op["responses"]["200"].is_object() && create_op["responses"]["400"].is_object(),
        "method responses have explicit codes: {:#}",
        create_op["responses"]
    );
    assert!(
        create_op["x-amazon-apigateway-integration"]
            .get("payloadFormatVersion")
            .is_none()
    );
    assert_eq!(
        op(&d, "get", "/todos")["x-amazon-apigateway-request-validator"],
        "parameters"
    );

    let health = op(&d, "get", "/health")["x-amazon-apigateway-integration"].clone();
    assert_eq!(health["type"], "mock");
    assert_eq!(
        health["requestTemplates"]["application/json"],
        "{\"statusCode\": 200}"
    );
    let template = &health["responses"]["default"]["responseTemplates"]["application/json"];
    assert!(
        template
            .as_str()
            .is_some_and(|t| t.contains("$context.requestId"))
    );

    let preflight = op(&d, "options", "/todos");
    assert_eq!(preflight["x-amazon-apigateway-integration"]["type"], "mock");
    let origin = &preflight["x-amazon-apigateway-integration"]["responses"]["default"]["responseParameters"]
        ["method.response.header.Access-Control-Allow-Origin"];
    assert_eq!(origin, "'https://example.com'");
    let scheme = &d["components"]["securitySchemes"]["cognito"];
    assert_eq!(scheme["x-amazon-apigateway-authtype"], "cognito_user_pools");
}

#[test]
fn the_definition_is_byte_identical_across_builds() {
    for flavor in [Flavor::HttpApi, Flavor::RestApi] {
        let a = serde_json::to_string(&app().openapi(&options(flavor))).expect("JSON");
        let b = serde_json::to_string(&app().openapi(&options(flavor))).expect("JSON");
        assert_eq!(a, b);
    }
}

#[tokio::test]
async fn the_app_answers_a_mock_route_from_its_mapping_template() {
    let response = TestRequest::get("/health").send(&app()).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    let body: Value = response.json();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["method"], "GET");
    let id = body["id"].as_str().expect("the request id");
    assert!(!id.is_empty() && !id.contains('$'), "{body}");
}

#[test]
fn a_mapping_template_the_app_cannot_render_fails_the_build() {
    let err = App::new()
        .mock(
            "GET",
            "/x",
            MockIntegration::json(200, r#"{"ip": "$context.identity.sourceIp"}"#),
        )
        .check()
        .expect_err("unsupported variable");
    assert!(err.to_string().contains("$context.identity"), "{err}");
}
