//! Why a token was refused, and the HTTP answer each reason gets.

use http::StatusCode;

/// Why a request was not authenticated or authorized. Every variant fails closed.
///
/// ```
/// assert_eq!(svless_auth::AuthError::Signature.status(), 401);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No `Authorization: Bearer ...` header.
    #[error("the request has no bearer token")]
    Missing,
    /// The header or the token is not well formed (not three base64url parts, not JSON, too long).
    #[error("the token is malformed: {0}")]
    Malformed(String),
    /// The token is signed with an algorithm other than RS256 (`none` and HMAC included).
    #[error("the token's algorithm {0} is not accepted; only RS256 is")]
    Algorithm(String),
    /// The token's `kid` is not in the user pool's keys.
    #[error("the token's key is not one of the user pool's")]
    UnknownKey,
    /// The signature does not verify.
    #[error("the token's signature is invalid")]
    Signature,
    /// The token has expired.
    #[error("the token has expired")]
    Expired,
    /// The token is not valid yet (`nbf`, or `iat` in the future).
    #[error("the token is not valid yet")]
    NotYetValid,
    /// The issuer is not the user pool.
    #[error("the token was issued by another issuer")]
    Issuer,
    /// The audience (ID tokens) or client id (access tokens) is not an allowed app client.
    #[error("the token was issued to another app client")]
    Audience,
    /// An ID token where an access token is required, or the reverse.
    #[error("the token is an {0} token, which this API does not accept")]
    TokenUse(String),
    /// The token lacks a required scope or group.
    #[error("the token lacks `{0}`")]
    Insufficient(String),
    /// The user pool's keys could not be fetched: fail closed.
    #[error("the user pool's keys cannot be fetched: {0}")]
    KeysUnavailable(String),
}

impl AuthError {
    /// 401 for a missing or invalid token, 403 for a valid token that lacks a scope or group,
    /// 503 when the keys cannot be fetched.
    ///
    /// ```
    /// use svless_auth::AuthError;
    /// assert_eq!(AuthError::Expired.status(), 401);
    /// assert_eq!(AuthError::Insufficient("admin".into()).status(), 403);
    /// assert_eq!(AuthError::KeysUnavailable("down".into()).status(), 503);
    /// ```
    pub fn status(&self) -> StatusCode {
        match self {
            AuthError::Insufficient(_) => StatusCode::FORBIDDEN,
            AuthError::KeysUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// The `WWW-Authenticate` challenge (RFC 6750), if the answer carries one.
    ///
    /// ```
    /// use svless_auth::AuthError;
    /// assert_eq!(AuthError::Missing.www_authenticate().as_deref(), Some("Bearer"));
    /// assert_eq!(AuthError::Expired.www_authenticate().as_deref(), Some("Bearer error=\"invalid_token\""));
    /// ```
    pub fn www_authenticate(&self) -> Option<String> {
        match self {
            AuthError::Missing => Some("Bearer".into()),
            AuthError::Insufficient(_) => Some("Bearer error=\"insufficient_scope\"".into()),
            AuthError::KeysUnavailable(_) => None,
            _ => Some("Bearer error=\"invalid_token\"".into()),
        }
    }

    /// The problem response for this error.
    ///
    /// ```
    /// let response = svless_auth::AuthError::Missing.into_problem_response();
    /// assert_eq!(response.status(), 401);
    /// assert_eq!(response.headers()["www-authenticate"], "Bearer");
    /// ```
    pub fn into_problem_response(self) -> svless_core::Response {
        let challenge = self.www_authenticate();
        let mut response = svless_core::IntoResponse::into_response(
            svless_core::Error::new(self.status()).with_detail(self.to_string()),
        );
        if let Some(value) = challenge.and_then(|c| http::HeaderValue::try_from(c).ok()) {
            response
                .headers_mut()
                .insert(http::header::WWW_AUTHENTICATE, value);
        }
        response
    }
}
