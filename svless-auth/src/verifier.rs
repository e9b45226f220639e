//! Verifying Cognito ID and access tokens, with the checks AWS's own verifier makes.

use crate::error::AuthError;
use crate::jwks::JwksCache;
use jsonwebtoken::{Algorithm, Validation};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;

/// Which tokens an API accepts.
///
/// ```
/// let verifier = svless_auth::CognitoVerifier::new("us-east-1", "us-east-1_X", svless_auth::TokenUse::Access, ["client"]);
/// assert!(verifier.is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenUse {
    /// ID tokens (`token_use: id`, checked against `aud`).
    Id,
    /// Access tokens (`token_use: access`, checked against `client_id`).
    Access,
}

impl TokenUse {
    fn name(self) -> &'static str {
        match self {
            TokenUse::Id => "id",
            TokenUse::Access => "access",
        }
    }
}

/// Tokens longer than this are refused before any work (Cognito's are a few KiB).
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// The claims of a verified token. `X` takes custom attributes and any other claim by name
/// (`#[serde(rename = "custom:tenant")]`); by default, the other claims as a JSON map.
///
/// ```
/// #[derive(serde::Deserialize, Debug)]
/// struct Tenant {
///     #[serde(rename = "custom:tenant")]
///     tenant: Option<String>,
/// }
/// fn is_admin(claims: &svless_auth::Claims<Tenant>) -> bool {
///     claims.groups.iter().any(|g| g == "admin")
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Claims<X = Map<String, Value>> {
    /// The user's id.
    pub sub: String,
    /// The user name (`cognito:username`, or `username` in access tokens).
    pub username: Option<String>,
    /// The e-mail address (ID tokens).
    pub email: Option<String>,
    /// The groups (`cognito:groups`).
    pub groups: Vec<String>,
    /// The scopes (access tokens).
    pub scopes: Vec<String>,
    /// `id` or `access`.
    pub token_use: TokenUse,
    /// The app client the token was issued to (`aud` or `client_id`).
    pub client_id: String,
    /// Federated identities (`identities`), as sent.
    pub identities: Vec<Value>,
    /// Expiry, seconds since the epoch.
    pub expires_at: u64,
    /// Everything else, decoded into `X`.
    pub extra: X,
}

impl<X> Claims<X> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn from_parts(
        sub: String,
        username: Option<String>,
        email: Option<String>,
        groups: Vec<String>,
        scopes: Vec<String>,
        token_use: TokenUse,
        client_id: String,
        expires_at: u64,
        extra: X,
    ) -> Self {
        Claims {
            sub,
            username,
            email,
            groups,
            scopes,
            token_use,
            client_id,
            identities: Vec::new(),
            expires_at,
            extra,
        }
    }
}

impl Claims<Map<String, Value>> {
    /// Decodes the other claims into `X`.
    pub(crate) fn try_map_extra<X: DeserializeOwned>(self) -> Result<Claims<X>, AuthError> {
        let extra = serde_json::from_value(Value::Object(self.extra)).map_err(|e| {
            AuthError::Malformed(format!("the claims do not match the expected shape: {e}"))
        })?;
        Ok(Claims {
            sub: self.sub,
            username: self.username,
            email: self.email,
            groups: self.groups,
            scopes: self.scopes,
            token_use: self.token_use,
            client_id: self.client_id,
            identities: self.identities,
            expires_at: self.expires_at,
            extra,
        })
    }
}

/// The claims svless reads, taken out of the decoded claim set; the rest stays for `X`.
struct Raw {
    sub: String,
    token_use: String,
    aud: Option<String>,
    client_id: Option<String>,
    iat: Option<u64>,
    exp: u64,
    cognito_username: Option<String>,
    username: Option<String>,
    email: Option<String>,
    groups: Vec<String>,
    scope: Option<String>,
    identities: Vec<Value>,
    rest: Map<String, Value>,
}

impl Raw {
    fn from_map(mut claims: Map<String, Value>) -> Result<Self, AuthError> {
        let mut text = |key: &str| match claims.remove(key) {
            Some(Value::String(s)) => Ok(Some(s)),
            None | Some(Value::Null) => Ok(None),
            Some(_) => Err(AuthError::Malformed(format!(
                "the claim `{key}` is not a string"
            ))),
        };
        let sub =
            text("sub")?.ok_or_else(|| AuthError::Malformed("the token has no `sub`".into()))?;
        let token_use = text("token_use")?.ok_or_else(|| AuthError::TokenUse("unstated".into()))?;
        let aud = text("aud")?;
        let client_id = text("client_id")?;
        let cognito_username = text("cognito:username")?;
        let username = text("username")?;
        let email = text("email")?;
        let scope = text("scope")?;
        let number = |v: Option<Value>| v.and_then(|v| v.as_u64());
        let iat = number(claims.remove("iat"));
        let exp = number(claims.remove("exp"))
            .ok_or_else(|| AuthError::Malformed("the token has no `exp`".into()))?;
        let groups = match claims.remove("cognito:groups") {
            Some(Value::Array(items)) => items
                .into_iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        let identities = match claims.remove("identities") {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        };
        Ok(Raw {
            sub,
            token_use,
            aud,
            client_id,
            iat,
            exp,
            cognito_username,
            username,
            email,
            groups,
            scope,
            identities,
            rest: claims,
        })
    }
}

/// Verifies a user pool's tokens.
///
/// ```no_run
/// # async fn doc(token: &str) -> Result<(), svless_auth::AuthError> {
/// use svless_auth::{CognitoVerifier, TokenUse};
/// let verifier = CognitoVerifier::new("us-east-1", "us-east-1_EXAMPLE", TokenUse::Access, ["7example23c9lk4mbuh6example"])?;
/// let claims = verifier.verify::<serde_json::Map<String, serde_json::Value>>(token).await?;
/// println!("{} in {:?}", claims.sub, claims.groups);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct CognitoVerifier {
    issuer: String,
    token_use: TokenUse,
    client_ids: Vec<String>,
    scopes: Vec<String>,
    leeway: Duration,
    keys: Arc<JwksCache>,
    validation: Validation,
}

/// The two header members the key lookup needs, read without the rest.
#[derive(serde::Deserialize)]
struct PeekedHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

fn peek_header(token: &str) -> Result<PeekedHeader, AuthError> {
    use base64::Engine as _;
    let encoded = token.split('.').next().unwrap_or("");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|e| AuthError::Malformed(format!("the token header is not base64url: {e}")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| AuthError::Malformed(format!("the token header is not JSON: {e}")))
}

fn validation(issuer: &str, leeway: Duration) -> Validation {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[issuer]);
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    validation.validate_aud = false;
    validation.validate_nbf = true;
    validation.leeway = leeway.as_secs();
    validation
}

/// Which issuer a user pool signs its tokens with: the pool's `IssuerConfiguration` (the
/// `IssuerConfiguration.Type` of `DescribeUserPool`, or of `AWS::Cognito::UserPool` in a
/// template) decides. The key set is at `<issuer>/.well-known/jwks.json` for both.
///
/// ```
/// use svless_auth::IssuerFormat;
/// assert_eq!(
///     IssuerFormat::Original.issuer("eu-west-1", "eu-west-1_EXAMPLE"),
///     "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_EXAMPLE"
/// );
/// assert_eq!(
///     IssuerFormat::Updated.issuer("eu-west-1", "eu-west-1_EXAMPLE"),
///     "https://issuer-cognito-idp.eu-west-1.amazonaws.com/eu-west-1_EXAMPLE"
/// );
/// assert_eq!("UPDATED".parse::<IssuerFormat>(), Ok(IssuerFormat::Updated));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IssuerFormat {
    /// `ORIGINAL`: `https://cognito-idp.<region>.amazonaws.com/<pool id>`, the issuer of pools
    /// that do not say otherwise.
    #[default]
    Original,
    /// `UPDATED` (what the Cognito API reference recommends, and the one multi-Region
    /// replication needs): `https://issuer-cognito-idp.<region>.amazonaws.com/<pool id>`, where
    /// the region is the pool's primary region.
    Updated,
}

impl IssuerFormat {
    /// The issuer (`iss`) of the pool's tokens.
    ///
    /// ```
    /// let iss = svless_auth::IssuerFormat::Updated.issuer("us-east-1", "us-east-1_X");
    /// assert!(iss.starts_with("https://issuer-cognito-idp."));
    /// ```
    pub fn issuer(self, region: &str, user_pool_id: &str) -> String {
        match self {
            IssuerFormat::Original => {
                format!("https://cognito-idp.{region}.amazonaws.com/{user_pool_id}")
            }
            IssuerFormat::Updated => {
                format!("https://issuer-cognito-idp.{region}.amazonaws.com/{user_pool_id}")
            }
        }
    }

    /// The URL of the pool's key set.
    ///
    /// ```
    /// let url = svless_auth::IssuerFormat::Original.jwks_url("us-east-1", "us-east-1_X");
    /// assert_eq!(url, "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_X/.well-known/jwks.json");
    /// ```
    pub fn jwks_url(self, region: &str, user_pool_id: &str) -> String {
        format!(
            "{}/.well-known/jwks.json",
            self.issuer(region, user_pool_id)
        )
    }
}

impl std::str::FromStr for IssuerFormat {
    type Err = AuthError;

    /// `ORIGINAL` or `UPDATED`, as the Cognito API spells them (any case).
    fn from_str(s: &str) -> Result<Self, AuthError> {
        if s.eq_ignore_ascii_case("ORIGINAL") {
            Ok(IssuerFormat::Original)
        } else if s.eq_ignore_ascii_case("UPDATED") {
            Ok(IssuerFormat::Updated)
        } else {
            Err(AuthError::Malformed(format!(
                "`{s}` is not an issuer configuration: write ORIGINAL or UPDATED"
            )))
        }
    }
}

impl CognitoVerifier {
    /// A verifier for the pool `user_pool_id` in `region` with the original issuer format
    /// (see [`CognitoVerifier::for_pool`] for a pool with the updated one), its keys at the
    /// pool's JWKS URL.
    ///
    /// ```
    /// let verifier = svless_auth::CognitoVerifier::new("us-east-1", "us-east-1_EXAMPLE", svless_auth::TokenUse::Id, ["client"]);
    /// assert!(verifier.is_ok());
    /// ```
    pub fn new<I, C>(
        region: &str,
        user_pool_id: &str,
        token_use: TokenUse,
        client_ids: I,
    ) -> Result<Self, AuthError>
    where
        I: IntoIterator<Item = C>,
        C: Into<String>,
    {
        Self::for_pool(
            region,
            user_pool_id,
            IssuerFormat::Original,
            token_use,
            client_ids,
        )
    }

    /// A verifier for the pool `user_pool_id` in `region` whose issuer configuration is
    /// `format`: the issuer it checks and the key set it fetches both follow the format.
    ///
    /// ```
    /// use svless_auth::{CognitoVerifier, IssuerFormat, TokenUse};
    /// let verifier = CognitoVerifier::for_pool(
    ///     "us-east-1", "us-east-1_EXAMPLE", IssuerFormat::Updated, TokenUse::Id, ["client"])
    ///     .expect("a verifier");
    /// assert_eq!(verifier.issuer(), "https://issuer-cognito-idp.us-east-1.amazonaws.com/us-east-1_EXAMPLE");
    /// assert_eq!(
    ///     verifier.keys().url(),
    ///     "https://issuer-cognito-idp.us-east-1.amazonaws.com/us-east-1_EXAMPLE/.well-known/jwks.json"
    /// );
    /// ```
    pub fn for_pool<I, C>(
        region: &str,
        user_pool_id: &str,
        format: IssuerFormat,
        token_use: TokenUse,
        client_ids: I,
    ) -> Result<Self, AuthError>
    where
        I: IntoIterator<Item = C>,
        C: Into<String>,
    {
        let keys = JwksCache::new(&format.jwks_url(region, user_pool_id))?;
        Ok(Self::with_keys(
            &format.issuer(region, user_pool_id),
            keys,
            token_use,
            client_ids,
        ))
    }

    /// The issuer this verifier accepts.
    ///
    /// ```
    /// let verifier = svless_auth::CognitoVerifier::new("us-east-1", "us-east-1_X", svless_auth::TokenUse::Id, ["c"]).expect("a verifier");
    /// assert_eq!(verifier.issuer(), "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_X");
    /// ```
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// A verifier for `issuer` with its keys from `keys` — a JWKS URL configured apart from the
    /// issuer, so a local server can serve the keys while tokens keep the AWS issuer.
    ///
    /// ```
    /// use svless_auth::{CognitoVerifier, JwksCache, TokenUse};
    /// let keys = JwksCache::new("http://127.0.0.1:5000/us-east-1_EXAMPLE/.well-known/jwks.json").expect("a client");
    /// let verifier = CognitoVerifier::with_keys(
    ///     "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_EXAMPLE", keys, TokenUse::Id, ["client"]);
    /// ```
    pub fn with_keys<I, C>(
        issuer: &str,
        keys: JwksCache,
        token_use: TokenUse,
        client_ids: I,
    ) -> Self
    where
        I: IntoIterator<Item = C>,
        C: Into<String>,
    {
        CognitoVerifier {
            issuer: issuer.to_owned(),
            token_use,
            client_ids: client_ids.into_iter().map(Into::into).collect(),
            scopes: Vec::new(),
            leeway: Duration::from_secs(5),
            keys: Arc::new(keys),
            validation: validation(issuer, Duration::from_secs(5)),
        }
    }

    /// Requires these scopes in access tokens.
    ///
    /// ```
    /// # let verifier = svless_auth::CognitoVerifier::new("us-east-1", "us-east-1_X", svless_auth::TokenUse::Access, ["c"]).expect("a verifier");
    /// let verifier = verifier.require_scopes(["todos/read"]);
    /// ```
    pub fn require_scopes<I: IntoIterator<Item = S>, S: Into<String>>(mut self, scopes: I) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The clock skew allowed on `exp`, `nbf` and `iat` (default 5 s).
    ///
    /// ```
    /// # let verifier = svless_auth::CognitoVerifier::new("us-east-1", "us-east-1_X", svless_auth::TokenUse::Id, ["c"]).expect("a verifier");
    /// let verifier = verifier.leeway(std::time::Duration::from_secs(1));
    /// ```
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self.validation = validation(&self.issuer, leeway);
        self
    }

    /// The key cache (to hydrate it during cold start, or to read its fetch count).
    ///
    /// ```
    /// # let verifier = svless_auth::CognitoVerifier::new("us-east-1", "us-east-1_X", svless_auth::TokenUse::Id, ["c"]).expect("a verifier");
    /// assert_eq!(verifier.keys().fetches(), 0);
    /// ```
    pub fn keys(&self) -> &JwksCache {
        &self.keys
    }

    /// Verifies a token: RS256 only, key by `kid` from the pool's keys (never from the token),
    /// signature, `iss`, `exp`/`nbf`/`iat` with the leeway, `token_use`, `aud` or `client_id`,
    /// required scopes.
    ///
    /// ```no_run
    /// # async fn doc(verifier: svless_auth::CognitoVerifier, token: &str) {
    /// match verifier.verify::<serde_json::Map<String, serde_json::Value>>(token).await {
    ///     Ok(claims) => println!("{} in {:?}", claims.sub, claims.groups),
    ///     Err(err) => println!("{} ({})", err, err.status()),
    /// }
    /// # }
    /// ```
    pub async fn verify<X: DeserializeOwned>(&self, token: &str) -> Result<Claims<X>, AuthError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::Malformed(format!(
                "the token is longer than {MAX_TOKEN_BYTES} bytes"
            )));
        }
        let header = peek_header(token)?;
        if header.alg != "RS256" {
            return Err(AuthError::Algorithm(header.alg));
        }
        let kid = header.kid.ok_or(AuthError::UnknownKey)?;
        let key = self.keys.key(&kid).await?;
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &self.validation)
            .map_err(|err| {
                use jsonwebtoken::errors::ErrorKind;
                match err.kind() {
                    ErrorKind::InvalidSignature => AuthError::Signature,
                    ErrorKind::ExpiredSignature => AuthError::Expired,
                    ErrorKind::ImmatureSignature => AuthError::NotYetValid,
                    ErrorKind::InvalidIssuer => AuthError::Issuer,
                    ErrorKind::InvalidAlgorithm => AuthError::Algorithm("not RS256".into()),
                    _ => AuthError::Malformed(err.to_string()),
                }
            })?;
        let raw = Raw::from_map(data.claims)?;

        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        if raw.iat.is_some_and(|iat| iat > now + self.leeway.as_secs()) {
            return Err(AuthError::NotYetValid);
        }
        if raw.token_use != self.token_use.name() {
            return Err(AuthError::TokenUse(raw.token_use));
        }
        let client_id = match self.token_use {
            TokenUse::Id => raw.aud,
            TokenUse::Access => raw.client_id,
        }
        .ok_or(AuthError::Audience)?;
        if !self.client_ids.iter().any(|c| c == &client_id) {
            return Err(AuthError::Audience);
        }
        let scopes: Vec<String> = raw
            .scope
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        if let Some(missing) = self.scopes.iter().find(|s| !scopes.contains(s)) {
            return Err(AuthError::Insufficient(missing.clone()));
        }
        let extra = serde_json::from_value(Value::Object(raw.rest)).map_err(|e| {
            AuthError::Malformed(format!("the claims do not match the expected shape: {e}"))
        })?;
        Ok(Claims {
            sub: raw.sub,
            username: raw.cognito_username.or(raw.username),
            email: raw.email,
            groups: raw.groups,
            scopes,
            token_use: self.token_use,
            client_id,
            identities: raw.identities,
            expires_at: raw.exp,
            extra,
        })
    }

    /// Reads the bearer token of an `Authorization` header value (`Bearer <token>`, the scheme
    /// in any case).
    ///
    /// ```
    /// use svless_auth::CognitoVerifier;
    /// assert_eq!(CognitoVerifier::bearer(Some("Bearer abc")), Ok("abc"));
    /// assert!(CognitoVerifier::bearer(Some("Bearr abc")).is_err());
    /// assert!(CognitoVerifier::bearer(None).is_err());
    /// ```
    pub fn bearer(header: Option<&str>) -> Result<&str, AuthError> {
        let header = header.ok_or(AuthError::Missing)?;
        match header.split_once(' ') {
            Some((scheme, token))
                if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
            {
                Ok(token.trim())
            }
            _ => Err(AuthError::Malformed(
                "the Authorization header is not `Bearer <token>`".into(),
            )),
        }
    }
}
