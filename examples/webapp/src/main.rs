//! Photo albums: on AWS Lambda when the Lambda Runtime API is there (every function of the
//! template runs this binary; its name chooses the handler), else the whole application on the
//! local cloud at `http://127.0.0.1:3000` (`PORT` overrides).

use webapp::{Services, Settings};

#[tokio::main]
async fn main() -> Result<(), svless::BoxError> {
    svless::logging::init();
    let settings = Settings::from_env()?;
    if svless::runtime::on_lambda() {
        let services = Services::from_env(settings).await?;
        return svless::runtime::run(webapp::app(services)).await;
    }
    #[cfg(feature = "local")]
    {
        webapp::local::run(settings).await
    }
    #[cfg(not(feature = "local"))]
    {
        Err(
            "not on AWS Lambda, and the local cloud is not built in: run with the `local` feature"
                .into(),
        )
    }
}
