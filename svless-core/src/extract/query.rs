use super::FromRequestParts;
use crate::Error;
use http::request::Parts;
use serde::de::DeserializeOwned;

/// The query string, deserialized with serde.
///
/// Repeated keys (`?tag=a&tag=b`) fill `Vec` fields. They arrive that way from REST APIs'
/// `multiValueQueryStringParameters`, from HTTP APIs' raw query string, and from the load balancer.
/// A value of the wrong type is a 400 whose problem names the field.
///
/// ```
/// use svless_core::Query;
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Filter { tag: Vec<String>, limit: Option<u32> }
///
/// async fn list(Query(filter): Query<Filter>) -> String {
///     format!("{} tags, limit {:?}", filter.tag.len(), filter.limit)
/// }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> Query<T> {
    /// Deserializes a raw (percent-encoded) query string.
    ///
    /// ```
    /// use svless_core::Query;
    /// let Query(pairs) = Query::<Vec<(String, String)>>::from_query("a=1&a=2&b=x%20y").unwrap();
    /// assert_eq!(pairs[2], ("b".to_string(), "x y".to_string()));
    /// ```
    pub fn from_query(query: &str) -> Result<Self, Error> {
        let de = serde_html_form::Deserializer::from_bytes(query.as_bytes());
        serde_path_to_error::deserialize(de)
            .map(Query)
            .map_err(|err| {
                let path = err.path().to_string();
                let problem = Error::bad_request(format!("invalid query string: {}", err.inner()));
                if path == "." {
                    problem
                } else {
                    problem.with_extension("field", path)
                }
            })
    }
}

impl<S: Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = Error;

    /// A request without a query string that `T` needs is told as absent, so `Option<Query<T>>`
    /// is `None`; a query string that is there but does not fit `T` is a 400.
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Error> {
        let query = parts.uri.query().unwrap_or("");
        Self::from_query(query).map_err(|err| {
            if query.is_empty() {
                Error::missing(format!(
                    "a query string is required: {}",
                    err.detail().unwrap_or("")
                ))
            } else {
                err
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    struct Page {
        limit: u32,
        #[serde(default)]
        tag: Vec<String>,
    }

    #[test]
    fn wrong_type_names_the_field() {
        let err = Query::<Page>::from_query("limit=ten").unwrap_err();
        assert_eq!(err.status(), 400);
        assert_eq!(err.to_problem().extensions["field"], "limit");
    }

    #[tokio::test]
    async fn no_query_string_is_absent_and_a_wrong_one_is_not() {
        let (mut parts, ()) = http::Request::get("/items").body(()).unwrap().into_parts();
        let err = Query::<Page>::from_request_parts(&mut parts, &())
            .await
            .unwrap_err();
        assert!(err.is_absent());
        let (mut parts, ()) = http::Request::get("/items?limit=x")
            .body(())
            .unwrap()
            .into_parts();
        let err = Query::<Page>::from_request_parts(&mut parts, &())
            .await
            .unwrap_err();
        assert!(!err.is_absent());
    }

    #[test]
    fn repeated_keys_fill_a_vec() {
        let Query(page) = Query::<Page>::from_query("limit=3&tag=a&tag=b%2Cc").unwrap();
        assert_eq!(page.limit, 3);
        assert_eq!(page.tag, ["a", "b,c"]);
    }
}
