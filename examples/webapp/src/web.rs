//! The single page: HTML, CSS and JavaScript compiled into the binary (no framework, nothing
//! fetched from elsewhere at run time), and `/config.json`, which tells it where Cognito and the
//! WebSocket API are. Deployed, the same files are served from a bucket with a `config.json`
//! written by the template.

use crate::Services;
use serde::Serialize;
use svless::{App, Html, Json, State, api};

/// The page.
pub const INDEX_HTML: &str = include_str!("../web/index.html");
/// Its script.
pub const APP_JS: &str = include_str!("../web/app.js");
/// Its style sheet.
pub const STYLE_CSS: &str = include_str!("../web/style.css");

/// The routes that need no sign-in (the gateway's authorizer lets them through).
pub const PUBLIC_ROUTES: [&str; 5] = [
    "GET /",
    "GET /health",
    "GET /config.json",
    "GET /static/app.js",
    "GET /static/style.css",
];

/// Adds the page's routes.
pub fn routes(app: App<Services>) -> App<Services> {
    app.route(index).route(script).route(style).route(config)
}

/// `GET /`.
#[api(GET "/")]
pub async fn index() -> Html<&'static str> {
    Html(INDEX_HTML)
}

const CACHE: &str = "no-cache";

/// `GET /static/app.js`.
#[api(GET "/static/app.js")]
pub async fn script() -> ([(&'static str, &'static str); 2], &'static str) {
    (
        [
            ("content-type", "text/javascript; charset=utf-8"),
            ("cache-control", CACHE),
        ],
        APP_JS,
    )
}

/// `GET /static/style.css`.
#[api(GET "/static/style.css")]
pub async fn style() -> ([(&'static str, &'static str); 2], &'static str) {
    (
        [
            ("content-type", "text/css; charset=utf-8"),
            ("cache-control", CACHE),
        ],
        STYLE_CSS,
    )
}

/// What the page needs to know.
#[derive(Debug, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct PageConfig {
    /// Cognito's endpoint (the local services port locally).
    pub cognito_endpoint: String,
    /// The region.
    pub region: String,
    /// The user pool.
    pub user_pool_id: String,
    /// The app client.
    pub client_id: String,
    /// The WebSocket API.
    pub websocket_url: String,
    /// The largest photo accepted.
    pub max_photo_bytes: u64,
}

/// `GET /config.json`.
#[api(GET "/config.json")]
pub async fn config(State(services): State<Services>) -> Json<PageConfig> {
    let s = &services.settings;
    Json(PageConfig {
        cognito_endpoint: s.cognito_endpoint.clone(),
        region: s.region.clone(),
        user_pool_id: s.user_pool_id.clone(),
        client_id: s.client_id.clone(),
        websocket_url: s.websocket_url.clone(),
        max_photo_bytes: s.max_photo_bytes,
    })
}
