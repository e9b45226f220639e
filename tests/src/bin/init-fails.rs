//! A function that cannot start, to check that it reports a named init error to the Runtime API.
//! With `SVLESS_FAIL=build` its routes clash; otherwise its configuration is missing.

use svless::runtime::{InitError, run_with};
use svless::{App, BoxError};

async fn list() -> &'static str {
    "todos"
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    if std::env::var("SVLESS_FAIL").as_deref() == Ok("build") {
        return svless::runtime::run(
            App::new()
                .route_fn("GET", "/todos", list)
                .route_fn("GET", "/todos", list),
        )
        .await;
    }
    run_with(async {
        let table =
            std::env::var("TODO_TABLE").map_err(|e| InitError::new("Config.MissingTable", e))?;
        Ok::<_, InitError>(App::new().state(table))
    })
    .await
}
