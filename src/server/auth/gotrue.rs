//! The GoTrue (Supabase Auth) client the server uses in both modes: over HTTP to Supabase (the `supabase-auth`
//! crate's `AuthClient`, with timeouts — the crate sets none), or in-process to the built-in provider's router
//! (the same GoTrue endpoints, requests and answers, without a loopback connection). Errors are mapped to what
//! the UI needs to say.
//!
//! Per-IP limits: in-process calls carry the end user's address ([`GoTrue::for_client`]) as a request extension
//! no network request can set, so the built-in provider counts each user's address rather than one loopback
//! address for everyone. Supabase's GoTrue sees this server's address on every call, whatever is done here: its
//! own per-IP limits there apply to all users of this server together (raise them in the Supabase project's
//! rate-limit settings); the per-email limits still apply per address.
use std::net::IpAddr;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, header};
use serde_json::{Value, json};
use tower::ServiceExt as _;

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
    pub refresh_token: String,
    /// Unix time the access token expires.
    pub expires_at: i64,
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

/// GoTrue at `{base}/auth/v1`, or the built-in provider in-process.
#[derive(Clone)]
pub struct GoTrue {
    transport: Transport,
    /// The end user's address, passed to the built-in provider for its per-IP limits.
    client_ip: Option<IpAddr>,
}

#[derive(Clone)]
enum Transport {
    /// Over HTTP, through the `supabase-auth` crate.
    Http(AuthClient),
    /// The built-in provider's router (its `/auth/v1` routes), called in-process.
    InProcess(axum::Router),
}

/// Largest answer read from the built-in provider.
const MAX_BODY: usize = 1 << 20;

/// `f` with the client timeout.
async fn within<T>(f: impl std::future::Future<Output = Result<T, GoTrueError>>) -> Result<T, GoTrueError> {
    match tokio::time::timeout(TIMEOUT, f).await {
        Ok(result) => result,
        Err(_) => Err(GoTrueError::Unavailable("no answer within 15 s".into())),
    }
}

/// A `supabase-auth` call with the client timeout, its errors mapped.
async fn timed<T>(f: impl std::future::Future<Output = Result<T, SbError>>) -> Result<T, GoTrueError> {
    within(async { f.await.map_err(GoTrueError::from) }).await
}

/// An error answer of GoTrue (`{"code", "error_code", "msg"}`) as a [`GoTrueError`].
fn error_answer(status: u16, body: &[u8]) -> GoTrueError {
    let message = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("msg").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    match status {
        429 => GoTrueError::RateLimited(message),
        400..=499 => GoTrueError::Rejected { status, message },
        _ => GoTrueError::Unavailable(format!("{status}: {message}")),
    }
}

impl GoTrue {
    /// A client for the project at `base_url` (GoTrue under `/auth/v1`), sending `anon_key` as `apikey`.
    pub fn new(base_url: &str, anon_key: &str) -> Self {
        let client = AuthClient::new(base_url.trim_end_matches('/'), anon_key, "");
        Self { transport: Transport::Http(client), client_ip: None }
    }

    /// A client calling the built-in provider's `router` (see [`super::builtin::BuiltInAuth::router`]) in-process.
    pub fn in_process(router: axum::Router) -> Self {
        Self { transport: Transport::InProcess(router), client_ip: None }
    }

    /// This client acting for the end user at `ip` (the built-in provider keys its per-IP limits on it; Supabase
    /// cannot be told).
    pub fn for_client(&self, ip: Option<IpAddr>) -> Self {
        Self { transport: self.transport.clone(), client_ip: ip }
    }

    /// Calls the built-in provider in-process: `method` on `uri` (below `/auth/v1`) with a JSON `body`; the
    /// answer's body on success.
    async fn call(
        &self,
        router: &axum::Router,
        method: Method,
        uri: &str,
        bearer: Option<&str>,
        body: Value,
    ) -> Result<axum::body::Bytes, GoTrueError> {
        let mut request = Request::builder().method(method).uri(uri).header(header::CONTENT_TYPE, "application/json");
        if let Some(token) = bearer {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let mut request = request
            .body(Body::from(body.to_string()))
            .map_err(|e| GoTrueError::Rejected { status: 400, message: format!("invalid request: {e}") })?;
        request.extensions_mut().insert(super::builtin::InternalCaller { client_ip: self.client_ip });
        let response = match router.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let status = response.status();
        tracing::debug!(uri, %status, "built-in auth call");
        let body = axum::body::to_bytes(response.into_body(), MAX_BODY)
            .await
            .map_err(|e| GoTrueError::Unavailable(format!("reading the answer: {e}")))?;
        if status.is_success() { Ok(body) } else { Err(error_answer(status.as_u16(), &body)) }
    }

    /// An in-process call answered with a session.
    async fn session_call(
        &self,
        router: &axum::Router,
        method: Method,
        uri: &str,
        body: Value,
    ) -> Result<TokenPair, GoTrueError> {
        let answer = within(self.call(router, method, uri, None, body)).await?;
        serde_json::from_slice::<Session>(&answer)
            .map(TokenPair::from)
            .map_err(|e| GoTrueError::Unavailable(format!("unexpected session answer: {e}")))
    }

    /// Password sign-in.
    pub async fn sign_in_password(&self, email: &str, password: &str) -> Result<TokenPair, GoTrueError> {
        match &self.transport {
            Transport::Http(client) => timed(client.login_with_email(email, password)).await.map(TokenPair::from),
            Transport::InProcess(router) => {
                let body = json!({ "email": email, "password": password });
                self.session_call(router, Method::POST, "/token?grant_type=password", body).await
            }
        }
    }

    /// Password sign-up; a session when the project confirms emails automatically.
    pub async fn sign_up(&self, email: &str, password: &str) -> Result<TokenPair, GoTrueError> {
        match &self.transport {
            Transport::Http(client) => {
                match timed(client.sign_up_with_email_and_password(email, password, None)).await? {
                    EmailSignUpResult::SessionResult(session) => Ok(session.into()),
                    EmailSignUpResult::ConfirmationResult(_) => Err(GoTrueError::ConfirmationRequired),
                }
            }
            // The built-in provider always answers a sign-up with a session.
            Transport::InProcess(router) => {
                let body = json!({ "email": email, "password": password });
                self.session_call(router, Method::POST, "/signup", body).await
            }
        }
    }

    /// Sends a magic link and a 6-digit code to `email` (creating the user if new). The link lands on
    /// `redirect_to` (the app's `/auth/confirm`).
    pub async fn send_otp(&self, email: &str, redirect_to: &str) -> Result<(), GoTrueError> {
        match &self.transport {
            Transport::Http(client) => {
                let options = LoginEmailOtpParams {
                    email_redirect_to: Some(redirect_to.to_owned()),
                    should_create_user: Some(true),
                    ..Default::default()
                };
                timed(client.send_email_with_otp(email, Some(options))).await.map(|_| ())
            }
            Transport::InProcess(router) => {
                let body = json!({ "email": email, "create_user": true, "redirect_to": redirect_to });
                within(self.call(router, Method::POST, "/otp", None, body)).await.map(|_| ())
            }
        }
    }

    /// Verifies the 6-digit code sent to `email`.
    pub async fn verify_code(&self, email: &str, code: &str) -> Result<TokenPair, GoTrueError> {
        match &self.transport {
            Transport::Http(client) => {
                let params = VerifyOtpParams::Email(VerifyEmailOtpParams {
                    email: email.to_owned(),
                    token: code.to_owned(),
                    otp_type: OtpType::Email,
                    options: None,
                });
                timed(client.verify_otp(params)).await.map(TokenPair::from)
            }
            Transport::InProcess(router) => {
                let body = json!({ "type": "email", "email": email, "token": code });
                self.session_call(router, Method::POST, "/verify", body).await
            }
        }
    }

    /// Verifies a magic link's `token_hash`.
    pub async fn verify_token_hash(&self, token_hash: &str) -> Result<TokenPair, GoTrueError> {
        match &self.transport {
            Transport::Http(client) => {
                let params = VerifyOtpParams::TokenHash(VerifyTokenHashParams {
                    token_hash: token_hash.to_owned(),
                    otp_type: OtpType::Email,
                });
                timed(client.verify_otp(params)).await.map(TokenPair::from)
            }
            Transport::InProcess(router) => {
                let body = json!({ "type": "email", "token_hash": token_hash });
                self.session_call(router, Method::POST, "/verify", body).await
            }
        }
    }

    /// Exchanges a refresh token for a new session (the old refresh token is spent).
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, GoTrueError> {
        match &self.transport {
            Transport::Http(client) => timed(client.refresh_session(refresh_token)).await.map(TokenPair::from),
            Transport::InProcess(router) => {
                let body = json!({ "refresh_token": refresh_token });
                self.session_call(router, Method::POST, "/token?grant_type=refresh_token", body).await
            }
        }
    }

    /// Sets a new password for the user of `access_token`.
    pub async fn set_password(&self, access_token: &str, password: &str) -> Result<(), GoTrueError> {
        match &self.transport {
            Transport::Http(client) => {
                let update = UpdatedUser { email: None, password: Some(password.to_owned()), data: None };
                timed(client.update_user(update, access_token)).await.map(|_| ())
            }
            Transport::InProcess(router) => {
                let body = json!({ "password": password });
                within(self.call(router, Method::PUT, "/user", Some(access_token), body)).await.map(|_| ())
            }
        }
    }

    /// Revokes the session of `access_token`.
    pub async fn logout(&self, access_token: &str) -> Result<(), GoTrueError> {
        match &self.transport {
            Transport::Http(client) => timed(client.logout(None, access_token)).await,
            Transport::InProcess(router) => {
                within(self.call(router, Method::POST, "/logout", Some(access_token), Value::Null)).await.map(|_| ())
            }
        }
    }
}
