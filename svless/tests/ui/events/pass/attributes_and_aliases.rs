//! The user's attributes go where they belong, and record types may be aliases.

use svless::source::s3::S3Object;
use svless::{App, api};

/// The uploads, under another name.
type Upload = S3Object;

/// Greets someone: this doc comment documents the route's public item.
#[api(GET "/hello")]
pub async fn hello() -> &'static str {
    "hello"
}

/// A route that exists only with a feature nobody enables: nothing of it is left behind.
#[cfg(any())]
#[api(GET "/never")]
pub async fn never() -> &'static str {
    "never"
}

/// An old route, still served.
#[deprecated(note = "use `hello`")]
#[api(GET "/old")]
pub async fn old() -> &'static str {
    "old"
}

/// Thumbnails uploads.
#[svless::s3(prefix = "uploads/")]
pub async fn on_upload(object: Upload) {
    let _ = object.key;
}

/// Configured out too.
#[cfg(any())]
#[svless::sqs]
pub async fn gone(message: svless::source::sqs::Message<String>) {
    let _ = message;
}

fn main() {
    #[allow(deprecated)]
    let app = App::new().route(hello).route(old).on(on_upload);
    assert!(app.check().is_ok());
}
