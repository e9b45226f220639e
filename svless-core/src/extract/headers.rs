use super::FromRequestParts;
use http::request::Parts;
use http::{HeaderMap, Method, Uri};
use std::convert::Infallible;

impl<S: Sync> FromRequestParts<S> for HeaderMap {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(parts.headers.clone())
    }
}

impl<S: Sync> FromRequestParts<S> for Method {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(parts.method.clone())
    }
}

impl<S: Sync> FromRequestParts<S> for Uri {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(parts.uri.clone())
    }
}
