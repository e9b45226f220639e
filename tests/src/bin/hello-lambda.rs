//! The example todo API on the Lambda Runtime API (for the runtime tests).

#[tokio::main]
async fn main() -> Result<(), svless::BoxError> {
    hello_api::app().run().await
}
