//! Mapping server-module errors to the one error type at the edge ([`AppError`]), in one place. Unexpected
//! failures are logged here, once, with their detail; users get an opaque message.
use crate::api::AppError;
use crate::api::reasons::{Dependency, Invalid, Limit, Missing, SignInRefusal};
use crate::domain::TextError;
use crate::server::auth::gotrue::GoTrueError;
use crate::server::duck::DuckError;
use crate::server::store::saved::SavedError;

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                tracing::warn!(error = %e, "database unavailable");
                AppError::Unavailable(Dependency::Database)
            }
            other => {
                tracing::error!(error = ?other, "database error");
                AppError::Internal
            }
        }
    }
}

impl From<TextError> for AppError {
    fn from(e: TextError) -> Self {
        AppError::Invalid(Invalid::Text(e))
    }
}

impl From<GoTrueError> for AppError {
    fn from(e: GoTrueError) -> Self {
        match e {
            GoTrueError::Rejected { message, .. } => Invalid::SignIn(SignInRefusal::from_message(message)).into(),
            GoTrueError::RateLimited(_) => AppError::RateLimited { limit: Limit::SignInAttempts, retry_after_secs: 60 },
            GoTrueError::ConfirmationRequired => Invalid::SignIn(SignInRefusal::ConfirmationRequired).into(),
            GoTrueError::Unavailable(detail) => {
                tracing::warn!(detail, "sign-in service unavailable");
                AppError::Unavailable(Dependency::SignIn)
            }
        }
    }
}

impl From<DuckError> for AppError {
    fn from(e: DuckError) -> Self {
        duck_error(&e)
    }
}

fn duck_error(e: &DuckError) -> AppError {
    match e {
        DuckError::Rejected(_) | DuckError::Engine(_) => Invalid::Query(e.to_string()).into(),
        DuckError::Timeout(limit) => Invalid::QueryTimeout { secs: limit.as_secs_f64().round() as u64 }.into(),
        DuckError::TooLarge { limit, .. } => Invalid::CsvTooLarge { limit: *limit }.into(),
        DuckError::Missing(_) | DuckError::Busy => AppError::Unavailable(Dependency::TradingDatabase),
        DuckError::Task(detail) => {
            tracing::error!(detail, "DuckDB task failed");
            AppError::Internal
        }
        DuckError::Shared(inner) => duck_error(inner),
    }
}

impl From<crate::server::store::step_edits::StepEditError> for AppError {
    fn from(e: crate::server::store::step_edits::StepEditError) -> Self {
        use crate::server::store::step_edits::StepEditError;
        match e {
            StepEditError::NotFound => AppError::NotFound(Missing::QueryStep),
            StepEditError::Database(e) => e.into(),
        }
    }
}

impl From<SavedError> for AppError {
    fn from(e: SavedError) -> Self {
        match e {
            SavedError::NotFound => AppError::NotFound(Missing::SavedAnswer),
            SavedError::Database(e) => e.into(),
        }
    }
}

/// `Retry-After` of a question refused while the server drains.
const DRAINING_RETRY_AFTER_SECS: u64 = 5;

impl axum::response::IntoResponse for AppError {
    /// JSON `{"error": message, "reason": AppError}` with the error's status (and `Retry-After` when rate limited or
    /// draining): how plain HTTP endpoints such as `/chat/stream` report errors. `error` is the English text for API
    /// clients; `reason` is the typed error the browser words in its own language.
    fn into_response(self) -> axum::response::Response {
        let status =
            axum::http::StatusCode::from_u16(self.status()).unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        let mut response =
            (status, axum::Json(serde_json::json!({ "error": self.to_string(), "reason": self }))).into_response();
        let retry_after = match &self {
            AppError::RateLimited { retry_after_secs, .. } => Some(*retry_after_secs),
            // Long enough for a load balancer to have taken this instance out of rotation.
            AppError::Draining => Some(DRAINING_RETRY_AFTER_SECS),
            _ => None,
        };
        if let Some(secs) = retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
        }
        response
    }
}
