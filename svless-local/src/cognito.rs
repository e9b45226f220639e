//! A local Cognito user pool: the API subset `aws-sdk-cognitoidentityprovider` and a browser
//! need (JSON 1.1, `X-Amz-Target: AWSCognitoIdentityProviderService.<Operation>`), RS256 ID,
//! access and refresh tokens with Cognito's claims, and the key set at
//! `/<pool id>/.well-known/jwks.json`. Users, groups and the signing key live in the data
//! directory and survive restarts.
//!
//! Tokens carry the issuer the pool would have on AWS
//! (`https://cognito-idp.us-east-1.amazonaws.com/<pool id>`), so svless-auth's verifier checks
//! them unchanged; only its key-set URL points at the local cloud.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The issuer of a pool's tokens, as Cognito writes it (`iss`).
///
/// ```
/// assert_eq!(svless_local::cognito::issuer("us-east-1_X"), "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_X");
/// ```
pub fn issuer(pool_id: &str) -> String {
    format!("https://cognito-idp.us-east-1.amazonaws.com/{pool_id}")
}

/// How long ID and access tokens last (Cognito's default: one hour).
pub const TOKEN_SECONDS: i64 = 3600;

/// The local pool's settings.
///
/// ```
/// let config = svless_local::cognito::PoolConfig::default();
/// assert!(config.pool_id.starts_with("us-east-1_"));
/// ```
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// The pool id (`us-east-1_…`).
    pub pool_id: String,
    /// The app client id the browser and the app sign in through.
    pub client_id: String,
    /// Confirm sign-ups at once instead of waiting for the code (which is logged either way).
    pub auto_confirm: bool,
    /// Groups created at start-up (`admin`, …).
    pub groups: Vec<String>,
    /// The app client's `PreventUserExistenceErrors`: when on, signing in as an unknown user is
    /// `NotAuthorizedException` like a wrong password; off (`LEGACY`, the API's default), it
    /// is `UserNotFoundException`.
    pub prevent_user_existence_errors: bool,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            pool_id: "us-east-1_svlessLcl".into(),
            client_id: "svlesslocalclient000000000".into(),
            auto_confirm: false,
            groups: Vec::new(),
            prevent_user_existence_errors: false,
        }
    }
}

/// A Cognito API error: the `__type` the SDK reads, and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CognitoError {
    /// `NotAuthorizedException`, `UsernameExistsException`, …
    pub code: &'static str,
    /// What went wrong, in Cognito's words where it has them.
    pub message: String,
}

impl std::fmt::Display for CognitoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for CognitoError {}

fn err(code: &'static str, message: impl Into<String>) -> CognitoError {
    CognitoError {
        code,
        message: message.into(),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct User {
    username: String,
    sub: String,
    /// PBKDF2-HMAC-SHA256: salt and hash, base64.
    salt: String,
    hash: String,
    attributes: BTreeMap<String, String>,
    /// `UNCONFIRMED`, `CONFIRMED`, `FORCE_CHANGE_PASSWORD`.
    status: String,
    enabled: bool,
    created: i64,
    modified: i64,
    groups: BTreeSet<String>,
    code: Option<String>,
    /// Tokens issued at or before this time are revoked (GlobalSignOut).
    signed_out_at: Option<i64>,
}

#[derive(Default, Serialize, Deserialize)]
struct Stored {
    users: BTreeMap<String, User>,
    groups: BTreeMap<String, String>,
    /// Refresh token → user name.
    refresh: HashMap<String, String>,
}

/// A local user pool.
#[derive(Clone)]
pub struct UserPool {
    config: Arc<PoolConfig>,
    key: Arc<RsaKeyPair>,
    kid: Arc<str>,
    dir: PathBuf,
    stored: Arc<Mutex<Stored>>,
    rng: SystemRandom,
}

impl std::fmt::Debug for UserPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserPool")
            .field("pool_id", &self.config.pool_id)
            .finish_non_exhaustive()
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn io(e: impl std::fmt::Display) -> CognitoError {
    err("InternalErrorException", e.to_string())
}

/// Writes a file through a temporary one and a rename, so a crash leaves the old one whole.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write as _;
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(tmp, path)
}

impl UserPool {
    /// Opens the pool kept in `dir` (creating it, its signing key and its groups if needed).
    ///
    /// ```
    /// use svless_local::cognito::{PoolConfig, UserPool};
    /// let dir = std::env::temp_dir().join(format!("svless-doc-pool-{}", std::process::id()));
    /// let pool = UserPool::open(&dir, PoolConfig::default()).expect("a pool");
    /// assert_eq!(pool.jwks()["keys"][0]["alg"], "RS256");
    /// # std::fs::remove_dir_all(&dir).ok();
    /// ```
    pub fn open(dir: &Path, config: PoolConfig) -> Result<Self, CognitoError> {
        std::fs::create_dir_all(dir).map_err(io)?;
        let key_path = dir.join("signing-key.pk8");
        let key = match std::fs::read(&key_path) {
            Ok(der) => RsaKeyPair::from_pkcs8(&der).map_err(io)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).map_err(io)?;
                let der = key.as_der().map_err(io)?;
                write_atomically(&key_path, der.as_ref()).map_err(io)?;
                key
            }
            Err(e) => return Err(io(e)),
        };
        let kid = {
            use sha2::Digest as _;
            let public = key.public_key().as_ref().to_vec();
            URL_SAFE_NO_PAD.encode(&sha2::Sha256::digest(&public)[..16])
        };
        let stored: Stored = match std::fs::read(dir.join("users.json")) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(io)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Stored::default(),
            Err(e) => return Err(io(e)),
        };
        let pool = Self {
            config: Arc::new(config),
            key: Arc::new(key),
            kid: kid.into(),
            dir: dir.to_owned(),
            stored: Arc::new(Mutex::new(stored)),
            rng: SystemRandom::new(),
        };
        {
            let mut stored = pool.lock();
            for group in &pool.config.groups {
                stored.groups.entry(group.clone()).or_default();
            }
        }
        pool.save()?;
        Ok(pool)
    }

    /// The pool id.
    pub fn pool_id(&self) -> &str {
        &self.config.pool_id
    }

    /// The app client id.
    pub fn client_id(&self) -> &str {
        &self.config.client_id
    }

    /// The issuer of the pool's tokens: the one the pool would have on AWS.
    pub fn issuer(&self) -> String {
        issuer(&self.config.pool_id)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Stored> {
        self.stored
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn save(&self) -> Result<(), CognitoError> {
        let bytes = serde_json::to_vec_pretty(&*self.lock()).map_err(io)?;
        write_atomically(&self.dir.join("users.json"), &bytes).map_err(io)
    }

    fn random(&self, bytes: usize) -> Vec<u8> {
        let mut out = vec![0u8; bytes];
        // The system generator does not fail on the platforms the local cloud runs on; a
        // failure leaves zeros, which still work locally.
        let _ = self.rng.fill(&mut out);
        out
    }

    fn uuid(&self) -> String {
        let b = self.random(16);
        let h = hex(&b);
        format!(
            "{}-{}-4{}-a{}-{}",
            &h[..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        )
    }

    fn hash(password: &str, salt: &[u8]) -> String {
        let mut out = [0u8; 32];
        aws_lc_rs::pbkdf2::derive(
            aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA256,
            NonZeroU32::new(10_000).unwrap_or(NonZeroU32::MIN),
            salt,
            password.as_bytes(),
            &mut out,
        );
        STANDARD.encode(out)
    }

    /// The key set served at `/<pool id>/.well-known/jwks.json`.
    pub fn jwks(&self) -> Value {
        let public = self.key.public_key();
        json!({"keys": [{
            "alg": "RS256",
            "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
            "kid": &*self.kid,
            "kty": "RSA",
            "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
            "use": "sig",
        }]})
    }

    fn sign(&self, claims: &Value) -> Result<String, CognitoError> {
        let header = json!({"kid": &*self.kid, "alg": "RS256"});
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &self.rng,
                message.as_bytes(),
                &mut signature,
            )
            .map_err(io)?;
        Ok(format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }

    /// The claims of a token this pool signed, if its signature holds (for `GetUser`).
    fn claims_of(&self, token: &str) -> Option<Value> {
        let mut parts = token.split('.');
        let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        let public = aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            self.key.public_key().as_ref(),
        );
        public
            .verify(format!("{header}.{payload}").as_bytes(), &signature)
            .ok()?;
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
    }

    fn tokens(&self, user: &User, refresh: Option<String>) -> Result<Value, CognitoError> {
        let now = now();
        let origin = self.uuid();
        let event = self.uuid();
        let groups: Vec<&String> = user.groups.iter().collect();
        let mut id = json!({
            "sub": user.sub,
            "iss": self.issuer(),
            "cognito:username": user.username,
            "origin_jti": origin,
            "aud": self.config.client_id,
            "event_id": event,
            "token_use": "id",
            "auth_time": now,
            "exp": now + TOKEN_SECONDS,
            "iat": now,
            "jti": self.uuid(),
        });
        for (name, value) in &user.attributes {
            if name == "sub" {
                continue;
            }
            id[name] = match value.as_str() {
                "true" if name.ends_with("_verified") => json!(true),
                "false" if name.ends_with("_verified") => json!(false),
                _ => json!(value),
            };
        }
        let mut access = json!({
            "sub": user.sub,
            "iss": self.issuer(),
            "client_id": self.config.client_id,
            "origin_jti": origin,
            "event_id": event,
            "token_use": "access",
            "scope": "aws.cognito.signin.user.admin",
            "auth_time": now,
            "exp": now + TOKEN_SECONDS,
            "iat": now,
            "jti": self.uuid(),
            "username": user.username,
        });
        if !groups.is_empty() {
            id["cognito:groups"] = json!(groups);
            access["cognito:groups"] = json!(groups);
        }
        let mut result = json!({
            "AccessToken": self.sign(&access)?,
            "ExpiresIn": TOKEN_SECONDS,
            "TokenType": "Bearer",
            "IdToken": self.sign(&id)?,
        });
        if let Some(refresh) = refresh {
            result["RefreshToken"] = json!(refresh);
        }
        Ok(json!({"AuthenticationResult": result, "ChallengeParameters": {}}))
    }

    fn check_client(&self, body: &Value) -> Result<(), CognitoError> {
        match body["ClientId"].as_str() {
            Some(id) if id == self.config.client_id => Ok(()),
            Some(_) => Err(err(
                "ResourceNotFoundException",
                "User pool client does not exist.",
            )),
            None => Err(missing("clientId")),
        }
    }

    fn check_pool(&self, body: &Value) -> Result<(), CognitoError> {
        match body["UserPoolId"].as_str() {
            Some(id) if id == self.config.pool_id => Ok(()),
            Some(id) => Err(err(
                "ResourceNotFoundException",
                format!("User pool {id} does not exist."),
            )),
            None => Err(missing("userPoolId")),
        }
    }

    /// Answers one operation (`SignUp`, `InitiateAuth`, …) with its JSON body.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use svless_local::cognito::{PoolConfig, UserPool};
    /// let dir = std::env::temp_dir().join(format!("svless-doc-call-{}", std::process::id()));
    /// let pool = UserPool::open(&dir, PoolConfig { auto_confirm: true, ..PoolConfig::default() })?;
    /// let client = pool.client_id().to_owned();
    /// pool.call("SignUp", &serde_json::json!({"ClientId": client, "Username": "ann", "Password": "Correct-Horse-9!",
    ///     "UserAttributes": [{"Name": "email", "Value": "ann@example.com"}]}))?;
    /// let out = pool.call("InitiateAuth", &serde_json::json!({"ClientId": client, "AuthFlow": "USER_PASSWORD_AUTH",
    ///     "AuthParameters": {"USERNAME": "ann", "PASSWORD": "Correct-Horse-9!"}}))?;
    /// assert!(out["AuthenticationResult"]["IdToken"].is_string());
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok(()) }
    /// ```
    pub fn call(&self, operation: &str, body: &Value) -> Result<Value, CognitoError> {
        let out = match operation {
            "SignUp" => self.sign_up(body)?,
            "ConfirmSignUp" => self.confirm_sign_up(body)?,
            "InitiateAuth" => return self.initiate_auth(body),
            "GetUser" => return self.get_user(body),
            "GlobalSignOut" => self.global_sign_out(body)?,
            "AdminCreateUser" => self.admin_create_user(body)?,
            "AdminSetUserPassword" => self.admin_set_password(body)?,
            "AdminAddUserToGroup" => self.admin_group(body, true)?,
            "AdminRemoveUserFromGroup" => self.admin_group(body, false)?,
            "AdminDisableUser" => self.admin_enable(body, false)?,
            "AdminEnableUser" => self.admin_enable(body, true)?,
            "AdminGetUser" => return self.admin_get_user(body),
            "CreateGroup" => self.create_group(body)?,
            "ListUsersInGroup" => return self.list_users_in_group(body),
            other => {
                return Err(err(
                    "UnknownOperationException",
                    format!("`{other}` is not an operation the local user pool answers"),
                ));
            }
        };
        self.save()?;
        Ok(out)
    }

    fn sign_up(&self, body: &Value) -> Result<Value, CognitoError> {
        self.check_client(body)?;
        let username = text(body, "Username", "username")?;
        let password = text(body, "Password", "password")?;
        let attributes = attributes(body)?;
        let mut stored = self.lock();
        if stored.users.contains_key(username) {
            return Err(err("UsernameExistsException", "User already exists"));
        }
        check_password(password)?;
        let salt = self.random(16);
        let code = format!(
            "{:06}",
            u32::from_be_bytes(random4(&self.random(4))) % 1_000_000
        );
        let sub = self.uuid();
        let mut attributes = attributes;
        attributes.insert("sub".into(), sub.clone());
        let confirmed = self.config.auto_confirm;
        if confirmed && attributes.contains_key("email") {
            attributes.insert("email_verified".into(), "true".into());
        }
        tracing::info!(
            username,
            code,
            "local user pool: the sign-up confirmation code"
        );
        let destination = attributes.get("email").cloned().unwrap_or_default();
        stored.users.insert(
            username.to_owned(),
            User {
                username: username.to_owned(),
                sub: sub.clone(),
                hash: Self::hash(password, &salt),
                salt: STANDARD.encode(salt),
                attributes,
                status: if confirmed {
                    "CONFIRMED"
                } else {
                    "UNCONFIRMED"
                }
                .into(),
                enabled: true,
                created: now(),
                modified: now(),
                groups: BTreeSet::new(),
                code: (!confirmed).then_some(code),
                signed_out_at: None,
            },
        );
        Ok(json!({
            "UserConfirmed": confirmed,
            "UserSub": sub,
            "CodeDeliveryDetails": {
                "Destination": mask(&destination),
                "DeliveryMedium": "EMAIL",
                "AttributeName": "email",
            },
        }))
    }

    /// The confirmation code of a user who has not confirmed yet (what the log shows).
    ///
    /// ```
    /// # use svless_local::cognito::{PoolConfig, UserPool};
    /// # let dir = std::env::temp_dir().join(format!("svless-doc-code-{}", std::process::id()));
    /// # let pool = UserPool::open(&dir, PoolConfig::default()).expect("a pool");
    /// assert_eq!(pool.confirmation_code("nobody"), None);
    /// # std::fs::remove_dir_all(&dir).ok();
    /// ```
    pub fn confirmation_code(&self, username: &str) -> Option<String> {
        self.lock().users.get(username).and_then(|u| u.code.clone())
    }

    fn confirm_sign_up(&self, body: &Value) -> Result<Value, CognitoError> {
        self.check_client(body)?;
        let username = text(body, "Username", "username")?;
        let code = text(body, "ConfirmationCode", "confirmationCode")?;
        let mut stored = self.lock();
        let user = stored.users.get_mut(username).ok_or_else(|| {
            err(
                "UserNotFoundException",
                "Username/client id combination not found.",
            )
        })?;
        if user.status == "CONFIRMED" {
            return Err(err(
                "NotAuthorizedException",
                "User cannot be confirmed. Current status is CONFIRMED",
            ));
        }
        if user.code.as_deref() != Some(code) {
            return Err(err(
                "CodeMismatchException",
                "Invalid verification code provided, please try again.",
            ));
        }
        user.code = None;
        user.status = "CONFIRMED".into();
        user.modified = now();
        if user.attributes.contains_key("email") {
            user.attributes
                .insert("email_verified".into(), "true".into());
        }
        Ok(json!({}))
    }

    fn initiate_auth(&self, body: &Value) -> Result<Value, CognitoError> {
        self.check_client(body)?;
        let params = &body["AuthParameters"];
        match body["AuthFlow"].as_str() {
            Some("USER_PASSWORD_AUTH") => {
                let username = params["USERNAME"].as_str().ok_or_else(|| {
                    err(
                        "InvalidParameterException",
                        "Missing required parameter USERNAME",
                    )
                })?;
                let password = params["PASSWORD"].as_str().ok_or_else(|| {
                    err(
                        "InvalidParameterException",
                        "Missing required parameter PASSWORD",
                    )
                })?;
                let refresh = URL_SAFE_NO_PAD.encode(self.random(48));
                let user = {
                    let mut stored = self.lock();
                    let wrong = || err("NotAuthorizedException", "Incorrect username or password.");
                    let Some(user) = stored.users.get(username) else {
                        return Err(if self.config.prevent_user_existence_errors {
                            wrong()
                        } else {
                            err("UserNotFoundException", "User does not exist.")
                        });
                    };
                    let salt = STANDARD.decode(&user.salt).map_err(io)?;
                    if !constant_eq(Self::hash(password, &salt).as_bytes(), user.hash.as_bytes()) {
                        return Err(wrong());
                    }
                    if !user.enabled {
                        return Err(err("NotAuthorizedException", "User is disabled."));
                    }
                    match user.status.as_str() {
                        "UNCONFIRMED" => {
                            return Err(err("UserNotConfirmedException", "User is not confirmed."));
                        }
                        "FORCE_CHANGE_PASSWORD" => {
                            return Err(err(
                                "NotAuthorizedException",
                                "The user must set a new password (NEW_PASSWORD_REQUIRED is not answered locally: use AdminSetUserPassword with Permanent)",
                            ));
                        }
                        _ => {}
                    }
                    let user = user.clone();
                    stored.refresh.insert(refresh.clone(), username.to_owned());
                    user
                };
                self.save()?;
                self.tokens(&user, Some(refresh))
            }
            Some("REFRESH_TOKEN_AUTH" | "REFRESH_TOKEN") => {
                let token = params["REFRESH_TOKEN"].as_str().ok_or_else(|| {
                    err(
                        "InvalidParameterException",
                        "Missing required parameter REFRESH_TOKEN",
                    )
                })?;
                let stored = self.lock();
                let invalid = || err("NotAuthorizedException", "Invalid Refresh Token");
                let username = stored.refresh.get(token).ok_or_else(invalid)?;
                let user = stored.users.get(username).ok_or_else(invalid)?;
                if !user.enabled {
                    return Err(err("NotAuthorizedException", "User is disabled."));
                }
                let user = user.clone();
                drop(stored);
                self.tokens(&user, None)
            }
            Some(other) => Err(err(
                "InvalidParameterException",
                format!(
                    "the local user pool answers USER_PASSWORD_AUTH and REFRESH_TOKEN_AUTH, not {other}"
                ),
            )),
            None => Err(missing("authFlow")),
        }
    }

    /// The user an access token names, if it is valid and not revoked.
    fn user_of_access_token(&self, body: &Value) -> Result<User, CognitoError> {
        let token = text(body, "AccessToken", "accessToken")?;
        let invalid = || err("NotAuthorizedException", "Invalid Access Token");
        let claims = self.claims_of(token).ok_or_else(invalid)?;
        if claims["token_use"] != "access" {
            return Err(invalid());
        }
        if claims["exp"].as_i64().is_none_or(|exp| exp < now()) {
            return Err(err("NotAuthorizedException", "Access Token has expired"));
        }
        let username = claims["username"].as_str().ok_or_else(invalid)?;
        let stored = self.lock();
        let user = stored.users.get(username).ok_or_else(invalid)?;
        let issued = claims["iat"].as_i64().unwrap_or(0);
        if user.signed_out_at.is_some_and(|at| issued <= at) {
            return Err(err(
                "NotAuthorizedException",
                "Access Token has been revoked",
            ));
        }
        if !user.enabled {
            return Err(err("NotAuthorizedException", "User is disabled."));
        }
        Ok(user.clone())
    }

    fn get_user(&self, body: &Value) -> Result<Value, CognitoError> {
        let user = self.user_of_access_token(body)?;
        Ok(json!({
            "Username": user.username,
            "UserAttributes": attribute_list(&user),
        }))
    }

    fn global_sign_out(&self, body: &Value) -> Result<Value, CognitoError> {
        let user = self.user_of_access_token(body)?;
        let mut stored = self.lock();
        stored.refresh.retain(|_, name| *name != user.username);
        if let Some(user) = stored.users.get_mut(&user.username) {
            user.signed_out_at = Some(now());
        }
        Ok(json!({}))
    }

    fn admin_create_user(&self, body: &Value) -> Result<Value, CognitoError> {
        self.check_pool(body)?;
        let username = text(body, "Username", "username")?;
        let mut attributes = attributes(body)?;
        let temporary = match body["TemporaryPassword"].as_str() {
            Some(password) => {
                check_password(password)?;
                password.to_owned()
            }
            None => format!("Tmp-{}9!", hex(&self.random(6))),
        };
        let mut stored = self.lock();
        if stored.users.contains_key(username) {
            return Err(err(
                "UsernameExistsException",
                "User account already exists",
            ));
        }
        let salt = self.random(16);
        let sub = self.uuid();
        attributes.insert("sub".into(), sub.clone());
        let user = User {
            username: username.to_owned(),
            sub,
            hash: Self::hash(&temporary, &salt),
            salt: STANDARD.encode(salt),
            attributes,
            status: "FORCE_CHANGE_PASSWORD".into(),
            enabled: true,
            created: now(),
            modified: now(),
            groups: BTreeSet::new(),
            code: None,
            signed_out_at: None,
        };
        let out = json!({"User": user_type(&user)});
        stored.users.insert(username.to_owned(), user);
        Ok(out)
    }

    fn with_user<T>(
        &self,
        body: &Value,
        f: impl FnOnce(&mut User, &BTreeMap<String, String>) -> Result<T, CognitoError>,
    ) -> Result<T, CognitoError> {
        self.check_pool(body)?;
        let username = text(body, "Username", "username")?;
        let mut stored = self.lock();
        let groups = stored.groups.clone();
        let user = stored
            .users
            .get_mut(username)
            .ok_or_else(|| err("UserNotFoundException", "User does not exist."))?;
        let out = f(user, &groups)?;
        user.modified = now();
        Ok(out)
    }

    fn admin_set_password(&self, body: &Value) -> Result<Value, CognitoError> {
        let password = text(body, "Password", "password")?.to_owned();
        let permanent = body["Permanent"].as_bool().unwrap_or(false);
        let salt = self.random(16);
        self.with_user(body, |user, _| {
            // The user is looked up before the password is judged, as Cognito does.
            check_password(&password)?;
            user.hash = Self::hash(&password, &salt);
            user.salt = STANDARD.encode(&salt);
            user.status = if permanent {
                "CONFIRMED"
            } else {
                "FORCE_CHANGE_PASSWORD"
            }
            .into();
            Ok(json!({}))
        })
    }

    fn admin_group(&self, body: &Value, add: bool) -> Result<Value, CognitoError> {
        let group = text(body, "GroupName", "groupName")?.to_owned();
        self.with_user(body, |user, groups| {
            if !groups.contains_key(&group) {
                return Err(err("ResourceNotFoundException", "Group not found."));
            }
            if add {
                user.groups.insert(group);
            } else {
                user.groups.remove(&group);
            }
            Ok(json!({}))
        })
    }

    fn admin_enable(&self, body: &Value, enabled: bool) -> Result<Value, CognitoError> {
        self.with_user(body, |user, _| {
            user.enabled = enabled;
            Ok(json!({}))
        })
    }

    fn admin_get_user(&self, body: &Value) -> Result<Value, CognitoError> {
        self.with_user(body, |user, _| {
            let mut out = user_type(user);
            out["UserAttributes"] = out["Attributes"].take();
            if let Some(map) = out.as_object_mut() {
                map.remove("Attributes");
            }
            Ok(out)
        })
    }

    fn create_group(&self, body: &Value) -> Result<Value, CognitoError> {
        self.check_pool(body)?;
        let group = text(body, "GroupName", "groupName")?;
        let description = body["Description"].as_str().unwrap_or_default();
        let mut stored = self.lock();
        if stored.groups.contains_key(group) {
            return Err(err(
                "GroupExistsException",
                "A group with the name already exists.",
            ));
        }
        stored
            .groups
            .insert(group.to_owned(), description.to_owned());
        Ok(json!({"Group": {
            "GroupName": group,
            "UserPoolId": self.config.pool_id,
            "Description": description,
            "CreationDate": now(),
            "LastModifiedDate": now(),
        }}))
    }

    fn list_users_in_group(&self, body: &Value) -> Result<Value, CognitoError> {
        self.check_pool(body)?;
        let group = text(body, "GroupName", "groupName")?;
        let limit = body["Limit"].as_u64().unwrap_or(60).clamp(1, 60) as usize;
        let after = body["NextToken"].as_str();
        let stored = self.lock();
        if !stored.groups.contains_key(group) {
            return Err(err("ResourceNotFoundException", "Group not found."));
        }
        let members: Vec<&User> = stored
            .users
            .values()
            .filter(|u| u.groups.contains(group))
            .filter(|u| after.is_none_or(|a| u.username.as_str() > a))
            .collect();
        let page: Vec<Value> = members.iter().take(limit).map(|u| user_type(u)).collect();
        let mut out = json!({"Users": page});
        if members.len() > limit
            && let Some(last) = members.get(limit - 1)
        {
            out["NextToken"] = json!(last.username);
        }
        Ok(out)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn random4(bytes: &[u8]) -> [u8; 4] {
    let mut out = [0u8; 4];
    for (o, b) in out.iter_mut().zip(bytes) {
        *o = *b;
    }
    out
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn missing(field: &str) -> CognitoError {
    err(
        "InvalidParameterException",
        format!(
            "1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null"
        ),
    )
}

fn text<'v>(body: &'v Value, name: &str, wire: &str) -> Result<&'v str, CognitoError> {
    body[name].as_str().ok_or_else(|| missing(wire))
}

fn attributes(body: &Value) -> Result<BTreeMap<String, String>, CognitoError> {
    let mut out = BTreeMap::new();
    for attribute in body["UserAttributes"].as_array().into_iter().flatten() {
        let (Some(name), Some(value)) = (attribute["Name"].as_str(), attribute["Value"].as_str())
        else {
            return Err(err(
                "InvalidParameterException",
                "every user attribute needs a Name and a Value",
            ));
        };
        out.insert(name.to_owned(), value.to_owned());
    }
    Ok(out)
}

fn attribute_list(user: &User) -> Vec<Value> {
    user.attributes
        .iter()
        .map(|(name, value)| json!({"Name": name, "Value": value}))
        .collect()
}

fn user_type(user: &User) -> Value {
    json!({
        "Username": user.username,
        "Attributes": attribute_list(user),
        "UserCreateDate": user.created,
        "UserLastModifiedDate": user.modified,
        "Enabled": user.enabled,
        "UserStatus": user.status,
    })
}

fn mask(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => format!(
            "{}***@{}",
            local.chars().next().unwrap_or('*'),
            domain
                .chars()
                .next()
                .map(|c| format!("{c}***"))
                .unwrap_or_default()
        ),
        None => String::new(),
    }
}

/// Cognito's default password policy: at least 8 characters, with a lower-case letter, an
/// upper-case letter, a digit and a symbol.
fn check_password(password: &str) -> Result<(), CognitoError> {
    let problems = [
        (password.chars().count() >= 8, "Password not long enough"),
        (
            password.chars().any(|c| c.is_lowercase()),
            "Password must have lowercase characters",
        ),
        (
            password.chars().any(|c| c.is_uppercase()),
            "Password must have uppercase characters",
        ),
        (
            password.chars().any(|c| c.is_ascii_digit()),
            "Password must have numeric characters",
        ),
        (
            password
                .chars()
                .any(|c| !c.is_alphanumeric() && !c.is_whitespace()),
            "Password must have symbol characters",
        ),
    ];
    for (ok, problem) in problems {
        if !ok {
            return Err(err(
                "InvalidPasswordException",
                format!("Password did not conform with policy: {problem}"),
            ));
        }
    }
    Ok(())
}
