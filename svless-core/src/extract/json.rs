use super::FromRequest;
use crate::Error;
use crate::body::{Body, Request, Response};
use crate::response::IntoResponse;
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A JSON body: as an argument it deserializes the request body, as a result it serializes the response.
///
/// The request must say `Content-Type: application/json` (or `application/*+json`), else 415.
/// Malformed JSON is a 400; JSON of the wrong shape is a 422 whose problem names the field
/// (`field`, a serde path such as `items[2].title`).
///
/// ```
/// use svless_core::Json;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Deserialize, Serialize)]
/// struct NewTodo { title: String }
///
/// async fn create(Json(todo): Json<NewTodo>) -> Json<NewTodo> {
///     Json(todo)
/// }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);

pub(crate) fn is_json_content_type(value: &HeaderValue) -> bool {
    let Ok(value) = value.to_str() else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json")
            || subtype.len() > 5 && subtype[subtype.len() - 5..].eq_ignore_ascii_case("+json"))
}

impl<T> Json<T>
where
    T: DeserializeOwned,
{
    /// Deserializes JSON bytes, with the rejection a handler argument would give.
    ///
    /// ```
    /// use svless_core::Json;
    /// let err = Json::<Vec<u32>>::from_bytes(b"[1, \"two\"]").unwrap_err();
    /// assert_eq!(err.status(), 422);
    /// assert_eq!(err.to_problem().extensions["field"], "[1]");
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        // The common case pays for no path tracking; a failure is decoded again to name the field.
        if let Ok(value) = serde_json::from_slice(bytes) {
            return Ok(Json(value));
        }
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let value: T = serde_path_to_error::deserialize(&mut de).map_err(|err| {
            let path = err.path().to_string();
            let inner = err.into_inner();
            let problem = match inner.classify() {
                serde_json::error::Category::Data => Error::unprocessable(format!(
                    "the JSON body does not match the expected shape: {inner}"
                )),
                _ => Error::bad_request(format!("the request body is not valid JSON: {inner}")),
            };
            if path == "." {
                problem
            } else {
                problem.with_extension("field", path)
            }
        })?;
        de.end()
            .map_err(|e| Error::bad_request(format!("the request body is not valid JSON: {e}")))?;
        Ok(Json(value))
    }
}

impl<S, T> FromRequest<S> for Json<T>
where
    S: Sync,
    T: DeserializeOwned,
{
    type Rejection = Error;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Error> {
        let (parts, body) = req.into_parts();
        match parts.headers.get(header::CONTENT_TYPE) {
            Some(value) if is_json_content_type(value) => {}
            None if body.is_empty() => return Err(Error::missing("the request has no JSON body")),
            _ => {
                return Err(Error::new(StatusCode::UNSUPPORTED_MEDIA_TYPE)
                    .with_detail("expected a request with `Content-Type: application/json`"));
            }
        }
        Self::from_bytes(body.as_bytes())
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(bytes) => {
                let mut response = Response::new(Body::from(bytes));
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                response
            }
            Err(err) => Error::internal(err).into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types_are_recognised() {
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "application/problem+json",
            "Application/JSON",
        ] {
            assert!(is_json_content_type(&HeaderValue::from_static(ok)), "{ok}");
        }
        for bad in [
            "text/plain",
            "application/jsonx",
            "json",
            "application/+json",
        ] {
            assert!(
                !is_json_content_type(&HeaderValue::from_static(bad)),
                "{bad}"
            );
        }
    }

    #[test]
    fn syntax_error_is_400_and_shape_error_is_422_with_field() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Todo {
            title: String,
        }
        let err = Json::<Todo>::from_bytes(b"{\"title\": ").unwrap_err();
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        let err = Json::<Todo>::from_bytes(b"{\"title\": 5}").unwrap_err();
        assert_eq!(err.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(err.to_problem().extensions["field"], "title");
        let err = Json::<Todo>::from_bytes(b"{\"title\": \"a\"} trailing").unwrap_err();
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    }
}
