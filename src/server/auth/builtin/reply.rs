//! The built-in auth's answers in GoTrue's shape: errors as `{"code", "error_code", "msg"}` with GoTrue's codes,
//! so clients written for Supabase read them unchanged.
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::crypto;

/// A GoTrue-style error response.
pub(super) struct GoTrueError {
    status: StatusCode,
    code: &'static str,
    msg: String,
}

impl IntoResponse for GoTrueError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "code": self.status.as_u16(), "error_code": self.code, "msg": self.msg })))
            .into_response()
    }
}

pub(super) fn err(status: StatusCode, code: &'static str, msg: impl Into<String>) -> GoTrueError {
    GoTrueError { status, code, msg: msg.into() }
}

impl From<sqlx::Error> for GoTrueError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "built-in auth: database error");
        err(StatusCode::INTERNAL_SERVER_ERROR, "unexpected_failure", "Database error")
    }
}

pub(super) type Reply = Result<Response, GoTrueError>;

pub(super) fn invalid_credentials() -> GoTrueError {
    err(StatusCode::BAD_REQUEST, "invalid_credentials", "Invalid login credentials")
}

pub(super) fn rate_limited(code: &'static str) -> GoTrueError {
    err(StatusCode::TOO_MANY_REQUESTS, code, "Too many attempts. Please wait a few minutes before trying again.")
}

pub(super) fn otp_invalid() -> GoTrueError {
    err(StatusCode::FORBIDDEN, "otp_expired", "Token has expired or is invalid")
}

/// A new password, checked (at least 8 characters) and hashed with Argon2id off the async threads.
pub(super) async fn hash_new_password(password: String) -> Result<String, GoTrueError> {
    crypto::check_password(&password)
        .map_err(|e| err(StatusCode::UNPROCESSABLE_ENTITY, "weak_password", e.to_string()))?;
    let hashing_failed = || err(StatusCode::INTERNAL_SERVER_ERROR, "unexpected_failure", "Hashing failed");
    tokio::task::spawn_blocking(move || crypto::hash_password(&password))
        .await
        .map_err(|_| hashing_failed())?
        .map_err(|_| hashing_failed())
}
