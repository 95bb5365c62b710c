//! The GoTrue (Supabase Auth) HTTP client the server uses in both modes — against Supabase, or against the
//! built-in provider under this app's own `/auth/v1`. It wraps the `supabase-auth` crate's `AuthClient` with
//! timeouts (the crate sets none) and maps its errors to what the UI needs to say.
use std::time::Duration;

use supabase_auth::error::Error as SbError;
use supabase_auth::models::{
    AuthClient, EmailSignUpResult, LoginEmailOtpParams, OtpType, Session, UpdatedUser, VerifyEmailOtpParams,
    VerifyOtpParams, VerifyTokenHashParams,
};
use uuid::Uuid;

const TIMEOUT: Duration = Duration::from_secs(15);

/// A session as the server keeps it (in cookies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPair {
    /// The access token (JWT).
    pub access_token: String,
    /// The refresh token.
    pub refresh_token: String,
    /// Unix time the access token expires.
    pub expires_at: i64,
    /// The user.
    pub user_id: Uuid,
    /// The user's email.
    pub email: Option<String>,
}

impl From<Session> for TokenPair {
    fn from(s: Session) -> Self {
        Self {
            access_token: s.access_token,
            refresh_token: s.refresh_token,
            expires_at: i64::try_from(s.expires_at).unwrap_or(i64::MAX),
            user_id: s.user.id,
            email: Some(s.user.email).filter(|e| !e.is_empty()),
        }
    }
}

/// What GoTrue answered instead of a session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GoTrueError {
    /// A 4xx with GoTrue's message (wrong credentials, expired code, …).
    #[error("{message}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// GoTrue's message.
        message: String,
    },
    /// Too many attempts.
    #[error("{0}")]
    RateLimited(String),
    /// Sign-up needs the emailed confirmation first.
    #[error("Check your email to confirm your address, then sign in.")]
    ConfirmationRequired,
    /// GoTrue could not be reached or failed.
    #[error("the sign-in service is unavailable: {0}")]
    Unavailable(String),
}

impl From<SbError> for GoTrueError {
    fn from(e: SbError) -> Self {
        match e {
            SbError::AuthError { status, message } if status.as_u16() == 429 => Self::RateLimited(message),
            SbError::AuthError { status, message } if status.is_client_error() => {
                Self::Rejected { status: status.as_u16(), message }
            }
            SbError::AuthError { status, message } => Self::Unavailable(format!("{status}: {message}")),
            SbError::Supabase(e) if e.code == 429 => Self::RateLimited(e.message),
            SbError::Supabase(e) if (400..500).contains(&e.code) => {
                Self::Rejected { status: u16::try_from(e.code).unwrap_or(400), message: e.message }
            }
            other => Self::Unavailable(other.to_string()),
        }
    }
}

/// GoTrue at `{base}/auth/v1`.
pub struct GoTrue {
    client: AuthClient,
}

async fn timed<T>(f: impl std::future::Future<Output = Result<T, SbError>>) -> Result<T, GoTrueError> {
    match tokio::time::timeout(TIMEOUT, f).await {
        Ok(result) => result.map_err(GoTrueError::from),
        Err(_) => Err(GoTrueError::Unavailable("no answer within 15 s".into())),
    }
}

impl GoTrue {
    /// A client for the project at `base_url` (GoTrue under `/auth/v1`), sending `anon_key` as `apikey`.
    pub fn new(base_url: &str, anon_key: &str) -> Self {
        Self { client: AuthClient::new(base_url.trim_end_matches('/'), anon_key, "") }
    }

    /// Password sign-in.
    pub async fn sign_in_password(&self, email: &str, password: &str) -> Result<TokenPair, GoTrueError> {
        timed(self.client.login_with_email(email, password)).await.map(TokenPair::from)
    }

    /// Password sign-up; a session when the project confirms emails automatically.
    pub async fn sign_up(&self, email: &str, password: &str) -> Result<TokenPair, GoTrueError> {
        match timed(self.client.sign_up_with_email_and_password(email, password, None)).await? {
            EmailSignUpResult::SessionResult(session) => Ok(session.into()),
            EmailSignUpResult::ConfirmationResult(_) => Err(GoTrueError::ConfirmationRequired),
        }
    }

    /// Sends a magic link and a 6-digit code to `email` (creating the user if new). The link lands on
    /// `redirect_to` (the app's `/auth/confirm`).
    pub async fn send_otp(&self, email: &str, redirect_to: &str) -> Result<(), GoTrueError> {
        let options = LoginEmailOtpParams {
            email_redirect_to: Some(redirect_to.to_owned()),
            should_create_user: Some(true),
            ..Default::default()
        };
        timed(self.client.send_email_with_otp(email, Some(options))).await.map(|_| ())
    }

    /// Verifies the 6-digit code sent to `email`.
    pub async fn verify_code(&self, email: &str, code: &str) -> Result<TokenPair, GoTrueError> {
        let params = VerifyOtpParams::Email(VerifyEmailOtpParams {
            email: email.to_owned(),
            token: code.to_owned(),
            otp_type: OtpType::Email,
            options: None,
        });
        timed(self.client.verify_otp(params)).await.map(TokenPair::from)
    }

    /// Verifies a magic link's `token_hash`.
    pub async fn verify_token_hash(&self, token_hash: &str) -> Result<TokenPair, GoTrueError> {
        let params = VerifyOtpParams::TokenHash(VerifyTokenHashParams {
            token_hash: token_hash.to_owned(),
            otp_type: OtpType::Email,
        });
        timed(self.client.verify_otp(params)).await.map(TokenPair::from)
    }

    /// Exchanges a refresh token for a new session (the old refresh token is spent).
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, GoTrueError> {
        timed(self.client.refresh_session(refresh_token)).await.map(TokenPair::from)
    }

    /// Sets a new password for the user of `access_token`.
    pub async fn set_password(&self, access_token: &str, password: &str) -> Result<(), GoTrueError> {
        let update = UpdatedUser { email: None, password: Some(password.to_owned()), data: None };
        timed(self.client.update_user(update, access_token)).await.map(|_| ())
    }

    /// Revokes the session of `access_token`.
    pub async fn logout(&self, access_token: &str) -> Result<(), GoTrueError> {
        timed(self.client.logout(None, access_token)).await
    }
}
