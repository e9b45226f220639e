//! Runs the todo API: on AWS Lambda when the Lambda Runtime API is there, else on the local
//! cloud (`http://127.0.0.1:3000`, `PORT` overrides).

use svless::Run as _;

#[tokio::main]
async fn main() -> Result<(), svless::BoxError> {
    svless::logging::init();
    hello_api::app().run().await
}
