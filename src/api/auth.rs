//! Sign-in server functions: password, email link or code, sign-out, the current user and their display name.
//! Sessions live in HttpOnly cookies the browser never reads; these functions set and clear them.
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::AppError;

/// The signed-in user as the UI shows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserInfo {
    /// User id.
    pub id: uuid::Uuid,
    /// Email.
    pub email: Option<String>,
    /// Display name, if set.
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

/// The signed-in user, or `None`.
#[server(endpoint = "auth/me")]
pub async fn current_user() -> Result<Option<UserInfo>, AppError> {
    crate::server::errors::at_edge(async move {
        let state = crate::server::state::AppState::from_context()?;
        match crate::server::auth::current_identity() {
            Some(identity) => Ok(Some(crate::server::auth::flows::user_info(&state, &identity).await?)),
            None => Ok(None),
        }
    })
    .await
}

/// Signs in with email and password.
#[server(endpoint = "auth/sign_in")]
pub async fn sign_in_with_password(email: String, password: String) -> Result<UserInfo, AppError> {
    crate::server::errors::at_edge(async move {
        let state = crate::server::state::AppState::from_context()?;
        let pair = crate::server::auth::flows::gotrue(&state).sign_in_password(email.trim(), &password).await?;
        crate::server::auth::flows::start_session(&state, &pair).await
    })
    .await
}

/// Creates an account with email and password, and signs in.
#[server(endpoint = "auth/sign_up")]
pub async fn sign_up_with_password(email: String, password: String) -> Result<UserInfo, AppError> {
    crate::server::errors::at_edge(async move {
        let state = crate::server::state::AppState::from_context()?;
        let pair = crate::server::auth::flows::gotrue(&state).sign_up(email.trim(), &password).await?;
        crate::server::auth::flows::start_session(&state, &pair).await
    })
    .await
}

/// Emails a sign-in link and a 6-digit code. Answers the same whether or not the address has an account.
#[server(endpoint = "auth/send_email")]
pub async fn send_sign_in_email(email: String) -> Result<(), AppError> {
    crate::server::errors::at_edge(async move {
        let state = crate::server::state::AppState::from_context()?;
        let redirect_to = format!("{}/auth/confirm", state.config.auth.site_url);
        crate::server::auth::flows::gotrue(&state).send_otp(email.trim(), &redirect_to).await?;
        Ok(())
    })
    .await
}

/// Signs in with the 6-digit code from the email.
#[server(endpoint = "auth/verify_code")]
pub async fn verify_email_code(email: String, code: String) -> Result<UserInfo, AppError> {
    crate::server::errors::at_edge(async move {
        let state = crate::server::state::AppState::from_context()?;
        let code: String = code.chars().filter(char::is_ascii_digit).collect();
        if code.len() != 6 {
            return Err(AppError::Invalid("The code has 6 digits; check the email and try again.".into()));
        }
        let pair = crate::server::auth::flows::gotrue(&state).verify_code(email.trim(), &code).await?;
        crate::server::auth::flows::start_session(&state, &pair).await
    })
    .await
}

/// Signs out: revokes the session and clears the cookies.
#[server(endpoint = "auth/sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    crate::server::errors::at_edge(async move {
        let state = crate::server::state::AppState::from_context()?;
        crate::server::auth::flows::end_session(&state).await;
        Ok(())
    })
    .await
}

/// Sets the display name (1–100 characters).
#[server(endpoint = "profile/display_name")]
pub async fn set_display_name(name: String) -> Result<UserInfo, AppError> {
    crate::server::errors::at_edge(async move {
        let state = crate::server::state::AppState::from_context()?;
        let identity = crate::server::auth::require_user()?;
        let name = crate::domain::DisplayName::parse(&name)?;
        let mut tx = crate::server::store::scoped::ScopedTx::as_user(&state.db, &identity).await?;
        crate::server::store::profiles::set_display_name(&mut tx, &name).await?;
        tx.commit().await?;
        crate::server::auth::flows::user_info(&state, &identity).await
    })
    .await
}

/// Sets a new password (at least 8 characters) for the signed-in user — also how someone who signed in with a
/// magic link after forgetting their password chooses a new one.
#[server(endpoint = "auth/password")]
pub async fn change_password(password: String) -> Result<(), AppError> {
    crate::server::errors::at_edge(async move {
        let state = crate::server::state::AppState::from_context()?;
        crate::server::auth::require_user()?;
        let token = crate::server::auth::flows::access_token(&state).ok_or(AppError::Unauthorized)?;
        state.auth.gotrue.set_password(&token, &password).await?;
        Ok(())
    })
    .await
}
