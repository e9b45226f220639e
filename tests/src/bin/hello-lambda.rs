//! The example todo API on the Lambda Runtime API (for the runtime tests).

#[tokio::main]
async fn main() -> Result<(), svless::BoxError> {
    svless::runtime::run(hello_api::app()).await
}
