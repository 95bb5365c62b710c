//! Sign-in server functions: password, email link or code, the emailed link's "Continue" step, sign-out, the
//! current user and their display name. Sessions live in HttpOnly cookies the browser never reads; these functions
//! set and clear them.
//!
//! Each is called by an `ActionForm`, so it also works as a plain HTML form before the WASM has loaded: the browser
//! is then sent back to the page it came from (or, where the outcome must be shown, to `/login` with it in the URL).
#[cfg(feature = "ssr")]
use crate::api::reasons::Invalid;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::AppError;

/// The signed-in user as the UI shows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserInfo {
    /// `auth.users.id`.
    pub id: uuid::Uuid,
    /// The address they signed in with.
    pub email: Option<String>,
    /// What they chose to be called, if anything.
    pub display_name: Option<String>,
    /// Whether the admin pages are available.
    pub is_admin: bool,
    /// How many earlier exchanges of a conversation go to the model as context.
    pub context_exchanges: u32,
}

impl UserInfo {
    /// The name to show: the display name, else the email, else "you".
    pub fn label(&self) -> String {
        self.display_name.clone().or_else(|| self.email.clone()).unwrap_or_else(|| "you".into())
    }
}

/// How a visitor can sign in here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInOptions {
    /// Whether links and codes can be emailed (SMTP, Supabase, or the development outbox).
    pub email: bool,
    /// Where the development outbox can be read, when emails go there and this visitor is on this machine.
    pub outbox: Option<String>,
}

/// Which email to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum EmailMethod {
    /// "Email me a sign-in link".
    #[default]
    Link,
    /// "Email me a code" (the same email carries both).
    Code,
}

impl EmailMethod {
    /// The value in URLs and forms.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Link => "link",
            Self::Code => "code",
        }
    }

    /// Parses the URL/form value (unknown values are the link).
    pub fn parse(raw: &str) -> Self {
        if raw == "code" { Self::Code } else { Self::Link }
    }
}

/// A sign-in email that went out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailSent {
    /// To whom (normalised).
    pub email: String,
    /// Which form asked for it.
    pub method: EmailMethod,
}

/// What an emailed sign-in link is, before it is used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkState {
    /// Usable: "Continue as {email}" (the address is unknown in Supabase mode until the link is used).
    Ready {
        /// Whose link it is.
        email: Option<String>,
    },
    /// Already used, or replaced by a newer link.
    Used,
    /// Older than an hour.
    Expired,
    /// Not a link this server sent.
    Invalid,
}

impl LinkState {
    /// The `error=` value `/login` explains.
    pub fn error_code(&self) -> Option<&'static str> {
        match self {
            Self::Ready { .. } => None,
            Self::Used => Some("link_used"),
            Self::Expired => Some("link_expired"),
            Self::Invalid => Some("link_invalid"),
        }
    }
}

/// The signed-in user, or `None`.
#[server(endpoint = "auth/me")]
pub async fn current_user() -> Result<Option<UserInfo>, AppError> {
    crate::server::edge::anyone(async |state| match crate::server::auth::current_identity() {
        Some(identity) => Ok(Some(crate::server::auth::flows::user_info(state, &identity).await?)),
        None => Ok(None),
    })
    .await
}

/// How this visitor can sign in: whether email works here, and where the local outbox is (development only).
#[server(endpoint = "auth/methods")]
pub async fn sign_in_methods() -> Result<SignInOptions, AppError> {
    crate::server::edge::anyone(async |state| Ok(crate::server::auth::flows::sign_in_methods(state))).await
}

/// Signs in with email and password, or (`create`) creates the account and signs in.
#[server(endpoint = "auth/sign_in")]
pub async fn sign_in_with_password(
    email: String,
    password: String,
    #[server(default)] create: bool,
) -> Result<UserInfo, AppError> {
    crate::server::edge::anyone(async |state| {
        let gotrue = crate::server::auth::flows::gotrue(state);
        let pair = if create {
            gotrue.sign_up(email.trim(), &password).await?
        } else {
            gotrue.sign_in_password(email.trim(), &password).await?
        };
        crate::server::auth::flows::start_session(state, &pair).await
    })
    .await
}

/// Emails a sign-in link and a 6-digit code. Answers the same whether or not the address has an account. As a
/// plain form (no JavaScript) it goes on to `/login`, which says where the email went.
#[server(endpoint = "auth/send_email")]
pub async fn send_sign_in_email(
    email: String,
    #[server(default)] method: Option<String>,
    #[server(default)] next: Option<String>,
) -> Result<EmailSent, AppError> {
    crate::server::edge::anyone(async |state| {
        let email = email.trim().to_ascii_lowercase();
        let method = EmailMethod::parse(method.as_deref().unwrap_or_default());
        let redirect_to = format!("{}/auth/confirm", state.config.auth.site_url);
        crate::server::auth::flows::gotrue(state).send_otp(&email, &redirect_to).await?;
        let next = crate::domain::local_path(next.as_deref());
        crate::server::auth::flows::remember_next(state, next);
        let login = crate::app::LoginLink { next, email: Some(&email), sent: Some(method), error: None };
        crate::server::forms::after_plain_form(&login.url());
        Ok(EmailSent { email, method })
    })
    .await
}

/// Signs in with the 6-digit code from the email.
#[server(endpoint = "auth/verify_code")]
pub async fn verify_email_code(email: String, code: String) -> Result<UserInfo, AppError> {
    crate::server::edge::anyone(async |state| {
        let code: String = code.chars().filter(char::is_ascii_digit).collect();
        if code.len() != 6 {
            return Err(AppError::Invalid(Invalid::CodeDigits));
        }
        let pair = crate::server::auth::flows::gotrue(state).verify_code(email.trim(), &code).await?;
        crate::server::auth::flows::start_session(state, &pair).await
    })
    .await
}

/// What the emailed link `token_hash` is, without using it (the "Continue as …" page shows it).
#[server(endpoint = "auth/link")]
pub async fn sign_in_link(token_hash: String) -> Result<LinkState, AppError> {
    crate::server::edge::anyone(async |state| crate::server::auth::flows::link_state(state, &token_hash).await).await
}

/// Signs in with the emailed link `token_hash` — on POST only, from the "Continue" button, so neither a mail
/// scanner opening the link nor a cross-site page can spend it or sign someone into another account — and goes
/// on to `next`, or where the visitor was going when they asked for the email (a path of this site either way).
#[server(endpoint = "auth/confirm")]
pub async fn confirm_sign_in(token_hash: String, #[server(default)] next: Option<String>) -> Result<(), AppError> {
    crate::server::edge::anyone(async |state| {
        let pair =
            crate::server::auth::flows::gotrue(state).verify_token_hash(token_hash.trim()).await.map_err(|e| {
                tracing::info!(error = %e, "sign-in link refused");
                AppError::Invalid(Invalid::SignInLink)
            })?;
        crate::server::auth::flows::start_session(state, &pair).await?;
        leptos_axum::redirect(&crate::server::auth::flows::next_after_link(state, next.as_deref()));
        Ok(())
    })
    .await
}

/// Signs out: revokes the session and clears the cookies.
#[server(endpoint = "auth/sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    crate::server::edge::anyone(async |state| {
        crate::server::auth::flows::end_session(state).await;
        Ok(())
    })
    .await
}

/// Sets the display name (1–100 characters).
#[server(endpoint = "profile/display_name")]
pub async fn set_display_name(name: String) -> Result<UserInfo, AppError> {
    crate::server::edge::signed_in(async |caller| {
        let (state, identity) = (&caller.state, &caller.identity);
        let name = crate::domain::DisplayName::parse(&name)?;
        let mut tx = crate::server::store::scoped::ScopedTx::as_user(&state.db, identity).await?;
        crate::server::store::profiles::set_display_name(&mut tx, &name).await?;
        tx.commit().await?;
        crate::server::auth::flows::user_info(state, identity).await
    })
    .await
}

/// Sets a new password (at least 8 characters) for the signed-in user — also how someone who signed in with a
/// magic link after forgetting their password chooses a new one.
#[server(endpoint = "auth/password")]
pub async fn change_password(password: String) -> Result<(), AppError> {
    crate::server::edge::signed_in(async |caller| {
        let state = &caller.state;
        let token = crate::server::auth::flows::access_token(state).ok_or(AppError::Unauthorized)?;
        state.auth.gotrue.set_password(&token, &password).await?;
        Ok(())
    })
    .await
}
