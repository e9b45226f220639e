//! Cognito JWT verification for svless.
//!
//! [`CognitoVerifier`] checks ID and access tokens as AWS's own verifier does — RS256 only, the
//! key chosen by `kid` from the user pool's key set (never from the token), issuer, expiry,
//! `token_use`, app client, scopes — and fails closed: an unreachable key set is a 503, never a
//! pass. [`JwksCache`] fetches the keys once, refetches for an unknown `kid` at most once at a
//! time and once per penalty window, so forged `kid`s cannot hammer the endpoint.

pub mod authorizer;
mod error;
mod extract;
mod jwks;
mod layer;
#[cfg(feature = "users")]
pub mod users;
mod verifier;

pub use error::AuthError;
pub use extract::{
    Auth, AuthClaimsRejection, AuthRejection, AuthorizerContext, Require, Requirement,
};
pub use jwks::{Jwk, Jwks, JwksCache};
pub use layer::{CognitoAuth, CognitoAuthLayer, VerifiedClaims};
pub use verifier::{Claims, CognitoVerifier, IssuerFormat, MAX_TOKEN_BYTES, TokenUse};
