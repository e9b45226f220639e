//! Photo albums: on AWS Lambda when the Lambda Runtime API is there (every function of the
//! template runs this binary; its name chooses the handler), else the whole application on the
//! local cloud at `http://127.0.0.1:3000` (`PORT` overrides). `webapp openapi [http|rest]`
//! prints the API definition the deployment template includes.

use webapp::{Services, Settings};

#[tokio::main]
async fn main() -> Result<(), svless::BoxError> {
    #[cfg(feature = "openapi")]
    if let Some(flavor) = openapi_flavor()? {
        print!("{}", webapp::deploy::openapi_json(flavor));
        return Ok(());
    }
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

/// `webapp openapi [http|rest]`: print the API definition instead of serving.
#[cfg(feature = "openapi")]
fn openapi_flavor() -> Result<Option<svless::openapi::Flavor>, svless::BoxError> {
    use svless::openapi::Flavor;
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() != Some("openapi") {
        return Ok(None);
    }
    match args.next().as_deref() {
        None | Some("http") => Ok(Some(Flavor::HttpApi)),
        Some("rest") => Ok(Some(Flavor::RestApi)),
        Some(other) => Err(format!(
            "`{other}` is no API flavor: write `openapi http` or `openapi rest`"
        )
        .into()),
    }
}
