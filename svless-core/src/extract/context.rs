use super::FromRequestParts;
use crate::Context;
use http::request::Parts;
use std::convert::Infallible;

impl<S: Sync> FromRequestParts<S> for Context {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(parts
            .extensions
            .get::<Context>()
            .cloned()
            .unwrap_or_default())
    }
}
