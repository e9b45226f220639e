//! Managing a user pool's users and signing in, for backends and tests (feature `users`).

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{AttributeType, AuthFlowType};

/// Why a user operation failed.
///
/// ```no_run
/// # async fn doc(users: svless_auth::users::CognitoUsers) {
/// if let Err(svless_auth::users::UsersError::NotAuthorized) = users.sign_in("ann", "wrong").await {
///     println!("wrong password");
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UsersError {
    /// The user name or password is wrong, or the user is disabled.
    #[error("the credentials are not accepted")]
    NotAuthorized,
    /// No such user.
    #[error("no such user")]
    UserNotFound,
    /// The user already exists.
    #[error("the user already exists")]
    UserExists,
    /// The pool answered without the tokens it should have sent.
    #[error("the user pool sent no tokens")]
    NoTokens,
    /// Any other failure of the Cognito API.
    #[error("the user pool refused: {0}")]
    Service(#[source] Box<aws_sdk_cognitoidentityprovider::Error>),
}

impl<E, R> From<aws_sdk_cognitoidentityprovider::error::SdkError<E, R>> for UsersError
where
    aws_sdk_cognitoidentityprovider::Error:
        From<aws_sdk_cognitoidentityprovider::error::SdkError<E, R>>,
{
    fn from(err: aws_sdk_cognitoidentityprovider::error::SdkError<E, R>) -> Self {
        match aws_sdk_cognitoidentityprovider::Error::from(err) {
            aws_sdk_cognitoidentityprovider::Error::NotAuthorizedException(_)
            | aws_sdk_cognitoidentityprovider::Error::UserNotConfirmedException(_) => {
                UsersError::NotAuthorized
            }
            aws_sdk_cognitoidentityprovider::Error::UserNotFoundException(_) => {
                UsersError::UserNotFound
            }
            aws_sdk_cognitoidentityprovider::Error::UsernameExistsException(_) => {
                UsersError::UserExists
            }
            other => UsersError::Service(Box::new(other)),
        }
    }
}

/// The tokens of a sign-in.
///
/// ```no_run
/// # async fn doc(users: svless_auth::users::CognitoUsers) -> Result<(), svless_auth::users::UsersError> {
/// let tokens = users.sign_in("ann", "Correct-Horse-9!").await?;
/// println!("{} expires in {} s", tokens.id_token, tokens.expires_in);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Tokens {
    /// The ID token.
    pub id_token: String,
    /// The access token.
    pub access_token: String,
    /// The refresh token (absent after a refresh).
    pub refresh_token: Option<String>,
    /// Seconds until the tokens expire.
    pub expires_in: i32,
}

/// A user pool's users, through the Cognito API.
///
/// ```no_run
/// # async fn doc() -> Result<(), svless_auth::users::UsersError> {
/// let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
/// let users = svless_auth::users::CognitoUsers::new(&config, "us-east-1_EXAMPLE", "7example23c9lk4mbuh6example");
/// users.create("ann", "ann@example.com").await?;
/// users.set_password("ann", "Correct-Horse-9").await?;
/// users.add_to_group("ann", "admin").await?;
/// let tokens = users.sign_in("ann", "Correct-Horse-9").await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct CognitoUsers {
    client: Client,
    pool_id: String,
    client_id: String,
}

impl CognitoUsers {
    /// The users of `pool_id`, signing in through the app client `client_id`.
    ///
    /// ```no_run
    /// # async fn doc(users: svless_auth::users::CognitoUsers) -> Result<(), svless_auth::users::UsersError> {
    /// users.clone();
    /// # Ok(()) }
    /// ```
    pub fn new(config: &aws_config::SdkConfig, pool_id: &str, client_id: &str) -> Self {
        CognitoUsers {
            client: Client::new(config),
            pool_id: pool_id.to_owned(),
            client_id: client_id.to_owned(),
        }
    }

    /// Creates a user (as an administrator), with a verified e-mail and no invitation message.
    ///
    /// ```no_run
    /// # async fn doc(users: svless_auth::users::CognitoUsers) -> Result<(), svless_auth::users::UsersError> {
    /// users.create("ann", "ann@example.com").await?;
    /// # Ok(()) }
    /// ```
    pub async fn create(&self, username: &str, email: &str) -> Result<(), UsersError> {
        let attribute =
            |name: &str, value: &str| AttributeType::builder().name(name).value(value).build();
        let email_attr =
            attribute("email", email).map_err(|e| UsersError::Service(Box::new(e.into())))?;
        let verified = attribute("email_verified", "true")
            .map_err(|e| UsersError::Service(Box::new(e.into())))?;
        self.client
            .admin_create_user()
            .user_pool_id(&self.pool_id)
            .username(username)
            .user_attributes(email_attr)
            .user_attributes(verified)
            .message_action(aws_sdk_cognitoidentityprovider::types::MessageActionType::Suppress)
            .send()
            .await?;
        Ok(())
    }

    /// Sets a permanent password.
    ///
    /// ```no_run
    /// # async fn doc(users: svless_auth::users::CognitoUsers) -> Result<(), svless_auth::users::UsersError> {
    /// users.set_password("ann", "Correct-Horse-9!").await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_password(&self, username: &str, password: &str) -> Result<(), UsersError> {
        self.client
            .admin_set_user_password()
            .user_pool_id(&self.pool_id)
            .username(username)
            .password(password)
            .permanent(true)
            .send()
            .await?;
        Ok(())
    }

    /// Adds the user to a group.
    ///
    /// ```no_run
    /// # async fn doc(users: svless_auth::users::CognitoUsers) -> Result<(), svless_auth::users::UsersError> {
    /// users.add_to_group("ann", "admin").await?;
    /// # Ok(()) }
    /// ```
    pub async fn add_to_group(&self, username: &str, group: &str) -> Result<(), UsersError> {
        self.client
            .admin_add_user_to_group()
            .user_pool_id(&self.pool_id)
            .username(username)
            .group_name(group)
            .send()
            .await?;
        Ok(())
    }

    /// Removes the user from a group.
    ///
    /// ```no_run
    /// # async fn doc(users: svless_auth::users::CognitoUsers) -> Result<(), svless_auth::users::UsersError> {
    /// users.remove_from_group("ann", "admin").await?;
    /// # Ok(()) }
    /// ```
    pub async fn remove_from_group(&self, username: &str, group: &str) -> Result<(), UsersError> {
        self.client
            .admin_remove_user_from_group()
            .user_pool_id(&self.pool_id)
            .username(username)
            .group_name(group)
            .send()
            .await?;
        Ok(())
    }

    /// Disables the user: they can no longer sign in.
    ///
    /// ```no_run
    /// # async fn doc(users: svless_auth::users::CognitoUsers) -> Result<(), svless_auth::users::UsersError> {
    /// users.disable("ann").await?;
    /// # Ok(()) }
    /// ```
    pub async fn disable(&self, username: &str) -> Result<(), UsersError> {
        self.client
            .admin_disable_user()
            .user_pool_id(&self.pool_id)
            .username(username)
            .send()
            .await?;
        Ok(())
    }

    /// The user names of a group's members.
    ///
    /// ```no_run
    /// # async fn doc(users: svless_auth::users::CognitoUsers) -> Result<(), svless_auth::users::UsersError> {
    /// let admins = users.list_group("admin").await?;
    /// # Ok(()) }
    /// ```
    pub async fn list_group(&self, group: &str) -> Result<Vec<String>, UsersError> {
        let mut names = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .client
                .list_users_in_group()
                .user_pool_id(&self.pool_id)
                .group_name(group)
                .set_next_token(next.take())
                .send()
                .await?;
            names.extend(
                page.users()
                    .iter()
                    .filter_map(|u| u.username().map(str::to_owned)),
            );
            match page.next_token() {
                Some(token) if !token.is_empty() => next = Some(token.to_owned()),
                _ => return Ok(names),
            }
        }
    }

    /// Signs in with a user name and password (`USER_PASSWORD_AUTH`).
    ///
    /// ```no_run
    /// # async fn doc(users: svless_auth::users::CognitoUsers) -> Result<(), svless_auth::users::UsersError> {
    /// let tokens = users.sign_in("ann", "Correct-Horse-9!").await?;
    /// # Ok(()) }
    /// ```
    pub async fn sign_in(&self, username: &str, password: &str) -> Result<Tokens, UsersError> {
        let out = self
            .client
            .initiate_auth()
            .client_id(&self.client_id)
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .auth_parameters("USERNAME", username)
            .auth_parameters("PASSWORD", password)
            .send()
            .await?;
        tokens(out.authentication_result())
    }

    /// New ID and access tokens from a refresh token (`REFRESH_TOKEN_AUTH`).
    ///
    /// ```no_run
    /// # async fn doc(users: svless_auth::users::CognitoUsers) -> Result<(), svless_auth::users::UsersError> {
    /// let tokens = users.refresh("eyJj...").await?;
    /// # Ok(()) }
    /// ```
    pub async fn refresh(&self, refresh_token: &str) -> Result<Tokens, UsersError> {
        let out = self
            .client
            .initiate_auth()
            .client_id(&self.client_id)
            .auth_flow(AuthFlowType::RefreshTokenAuth)
            .auth_parameters("REFRESH_TOKEN", refresh_token)
            .send()
            .await?;
        tokens(out.authentication_result())
    }
}

fn tokens(
    result: Option<&aws_sdk_cognitoidentityprovider::types::AuthenticationResultType>,
) -> Result<Tokens, UsersError> {
    let result = result.ok_or(UsersError::NoTokens)?;
    Ok(Tokens {
        id_token: result.id_token().ok_or(UsersError::NoTokens)?.to_owned(),
        access_token: result
            .access_token()
            .ok_or(UsersError::NoTokens)?
            .to_owned(),
        refresh_token: result.refresh_token().map(str::to_owned),
        expires_in: result.expires_in(),
    })
}
