//! Runs the todo API: on AWS Lambda when the Lambda Runtime API is there, else on a local port.

#[tokio::main]
async fn main() -> Result<(), svless::BoxError> {
    svless::logging::init();
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        return hello_api::app().run().await;
    }
    let port = match std::env::var("PORT") {
        Ok(port) => port
            .parse::<u16>()
            .map_err(|e| format!("PORT must be a port number: {e}"))?,
        Err(_) => 3000,
    };
    hello_api::app().serve(([127, 0, 0, 1], port).into()).await
}
