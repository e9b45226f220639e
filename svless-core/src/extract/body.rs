use super::FromRequest;
use crate::Error;
use crate::body::{Body, Request};
use bytes::Bytes;

impl<S: Sync> FromRequest<S> for Bytes {
    type Rejection = Error;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Error> {
        Ok(req.into_body().into_bytes())
    }
}

impl<S: Sync> FromRequest<S> for Vec<u8> {
    type Rejection = Error;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Error> {
        Ok(req.into_body().into_bytes().to_vec())
    }
}

impl<S: Sync> FromRequest<S> for Body {
    type Rejection = Error;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Error> {
        Ok(req.into_body())
    }
}

impl<S: Sync> FromRequest<S> for String {
    type Rejection = Error;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Error> {
        String::from_utf8(req.into_body().into_bytes().to_vec())
            .map_err(|e| Error::bad_request(format!("the request body is not valid UTF-8: {e}")))
    }
}

/// The raw request body, rejected as absent when it is empty (so `Option<RawBody>` is `None`).
///
/// ```
/// use svless_core::extract::RawBody;
///
/// async fn upload(body: Option<RawBody>) -> String {
///     match body {
///         Some(RawBody(bytes)) => format!("{} bytes", bytes.len()),
///         None => "nothing".into(),
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct RawBody(pub Bytes);

impl<S: Sync> FromRequest<S> for RawBody {
    type Rejection = Error;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Error> {
        let bytes = req.into_body().into_bytes();
        if bytes.is_empty() {
            return Err(Error::missing("the request has no body"));
        }
        Ok(RawBody(bytes))
    }
}
