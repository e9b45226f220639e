//! The second cold-start peer: a hello function on `lambda_http` + `axum`, as their READMEs
//! write one (`cold_start` starts it).

use axum::{Json, Router, routing::get};
use serde_json::{Value, json};

async fn hello() -> Json<Value> {
    Json(json!({ "message": "Hello, world!" }))
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::run(Router::new().route("/hello", get(hello))).await
}
