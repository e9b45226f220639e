//! Handler arguments: the verified claims, and requirements on them.

use crate::error::AuthError;
use crate::layer::VerifiedClaims;
use crate::verifier::Claims;
use http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::marker::PhantomData;
use svless_core::extract::FromRequestParts;
use svless_core::{IntoResponse, Response};

/// Why an auth extractor refused a request: the problem response with its challenge.
///
/// ```
/// use svless_core::IntoResponse;
/// let response = svless_auth::AuthRejection(svless_auth::AuthError::Missing).into_response();
/// assert_eq!(response.status(), 401);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRejection(pub AuthError);

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        self.0.into_problem_response()
    }
}

/// Marks a request that carried no token through an optional layer.
///
/// A caller that sent no token to a route behind an
/// [`optional`](crate::CognitoAuthLayer::optional) layer: `Option<Auth>` is `None` for it, `Auth`
/// refuses it with 401.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Anonymous;

impl svless_core::extract::Absent for AuthRejection {
    fn is_absent(&self) -> bool {
        false
    }
}

/// The rejection of [`Auth`]: the problem response, and whether the caller was simply anonymous.
///
/// ```
/// use svless_core::IntoResponse;
/// use svless_core::extract::Absent;
/// let rejection = svless_auth::AuthClaimsRejection::from(svless_auth::AuthError::Missing);
/// assert!(!rejection.is_absent());
/// assert_eq!(rejection.into_response().status(), 401);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthClaimsRejection {
    error: AuthError,
    anonymous: bool,
}

impl AuthClaimsRejection {
    /// Why the request was refused.
    pub fn error(&self) -> &AuthError {
        &self.error
    }
}

impl From<AuthError> for AuthClaimsRejection {
    fn from(error: AuthError) -> Self {
        AuthClaimsRejection {
            error,
            anonymous: false,
        }
    }
}

impl IntoResponse for AuthClaimsRejection {
    fn into_response(self) -> Response {
        self.error.into_problem_response()
    }
}

impl svless_core::extract::Absent for AuthClaimsRejection {
    fn is_absent(&self) -> bool {
        self.anonymous
    }
}

/// The verified caller: `Auth<X>` gives the [`Claims`], with custom attributes decoded into `X`.
/// The route must sit behind a [`CognitoAuthLayer`](crate::CognitoAuthLayer); without one, the
/// request is refused with 401, never let through. `Option<Auth>` is `None` for a caller who
/// sent no token through an [`optional`](crate::CognitoAuthLayer::optional) layer (an invalid
/// token is still refused).
///
/// ```
/// use svless_auth::Auth;
///
/// async fn me(Auth(claims): Auth) -> String {
///     format!("{} in {:?}", claims.sub, claims.groups)
/// }
///
/// async fn greeting(caller: Option<Auth>) -> String {
///     match caller {
///         Some(Auth(claims)) => format!("hello, {}", claims.sub),
///         None => "hello, stranger".into(),
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Auth<X = Map<String, Value>>(pub Claims<X>);

impl<S: Sync, X: DeserializeOwned> FromRequestParts<S> for Auth<X> {
    type Rejection = AuthClaimsRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Self, AuthClaimsRejection> {
        let Some(VerifiedClaims(claims)) = parts.extensions.get::<VerifiedClaims>().cloned() else {
            return Err(AuthClaimsRejection {
                error: AuthError::Missing,
                anonymous: parts.extensions.get::<Anonymous>().is_some(),
            });
        };
        claims
            .try_map_extra()
            .map(Auth)
            .map_err(AuthClaimsRejection::from)
    }
}

/// A rule a verified caller must meet: implement it, or declare one with
/// [`group_requirement!`](crate::group_requirement) / [`scope_requirement!`](crate::scope_requirement).
///
/// ```
/// struct Verified;
/// impl svless_auth::Requirement for Verified {
///     fn check(claims: &svless_auth::Claims) -> Result<(), svless_auth::AuthError> {
///         match claims.email { Some(_) => Ok(()), None => Err(svless_auth::AuthError::Insufficient("an e-mail".into())) }
///     }
/// }
/// ```
pub trait Requirement {
    /// `Ok` when the claims meet the rule; else the error to answer (a 403 `Insufficient`).
    fn check(claims: &Claims) -> Result<(), AuthError>;
}

/// Refuses callers that do not meet `R` with 403 (and unauthenticated ones with 401).
///
/// ```
/// use svless_auth::{Require, group_requirement};
///
/// group_requirement!(Admins, "admin");
///
/// async fn delete_everything(_: Require<Admins>) -> &'static str { "done" }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Require<R>(PhantomData<R>);

impl<S: Sync, R: Requirement> FromRequestParts<S> for Require<R> {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AuthRejection> {
        let VerifiedClaims(claims) = parts
            .extensions
            .get::<VerifiedClaims>()
            .ok_or(AuthRejection(AuthError::Missing))?;
        R::check(claims)
            .map(|()| Require(PhantomData))
            .map_err(AuthRejection)
    }
}

/// Declares a [`Requirement`] that the caller be in a Cognito group.
///
/// ```
/// svless_auth::group_requirement!(Editors, "editor");
/// ```
#[macro_export]
macro_rules! group_requirement {
    ($name:ident, $group:literal) => {
        #[doc = concat!("Callers in the `", $group, "` group.")]
        #[derive(Debug, Clone, Copy)]
        pub struct $name;
        impl $crate::Requirement for $name {
            fn check(claims: &$crate::Claims) -> ::core::result::Result<(), $crate::AuthError> {
                if claims.groups.iter().any(|g| g == $group) {
                    Ok(())
                } else {
                    Err($crate::AuthError::Insufficient(
                        concat!("group ", $group).into(),
                    ))
                }
            }
        }
    };
}

/// Declares a [`Requirement`] that the caller's access token have a scope.
///
/// ```
/// svless_auth::scope_requirement!(CanWrite, "todos/write");
/// ```
#[macro_export]
macro_rules! scope_requirement {
    ($name:ident, $scope:literal) => {
        #[doc = concat!("Callers whose token has the `", $scope, "` scope.")]
        #[derive(Debug, Clone, Copy)]
        pub struct $name;
        impl $crate::Requirement for $name {
            fn check(claims: &$crate::Claims) -> ::core::result::Result<(), $crate::AuthError> {
                if claims.scopes.iter().any(|s| s == $scope) {
                    Ok(())
                } else {
                    Err($crate::AuthError::Insufficient(
                        concat!("scope ", $scope).into(),
                    ))
                }
            }
        }
    };
}

/// The context a Lambda authorizer passed on, typed: on REST APIs the `authorizer` object, on
/// HTTP APIs its `lambda` object.
///
/// ```
/// use svless_auth::AuthorizerContext;
///
/// #[derive(serde::Deserialize)]
/// struct Caller { tenant: String }
///
/// async fn whoami(AuthorizerContext(caller): AuthorizerContext<Caller>) -> String { caller.tenant }
/// ```
#[derive(Debug, Clone)]
pub struct AuthorizerContext<T>(pub T);

impl<S: Sync, T: DeserializeOwned> FromRequestParts<S> for AuthorizerContext<T> {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AuthRejection> {
        let ctx = parts
            .extensions
            .get::<std::sync::Arc<svless_core::Context>>()
            .ok_or(AuthRejection(AuthError::Missing))?;
        let fields = match ctx.authorizer.get("lambda") {
            Some(Value::Object(lambda)) => lambda.clone(),
            _ => ctx.authorizer.clone(),
        };
        if fields.is_empty() {
            return Err(AuthRejection(AuthError::Missing));
        }
        serde_json::from_value(Value::Object(fields))
            .map(AuthorizerContext)
            .map_err(|e| {
                AuthRejection(AuthError::Malformed(format!(
                    "the authorizer context does not match: {e}"
                )))
            })
    }
}

#[cfg(feature = "openapi")]
mod openapi {
    use super::{Auth, AuthorizerContext, Require};
    use svless_core::openapi::{ArgSchema, Operation};

    impl<X> ArgSchema for Auth<X> {
        fn describe(op: &mut Operation<'_>) {
            op.requires_auth();
        }
    }

    impl<R> ArgSchema for Require<R> {
        fn describe(op: &mut Operation<'_>) {
            op.requires_auth();
        }
    }

    impl<T> ArgSchema for AuthorizerContext<T> {
        fn describe(op: &mut Operation<'_>) {
            op.requires_auth();
        }
    }
}
