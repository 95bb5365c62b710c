//! Mapping server-module errors to the one error type at the edge ([`AppError`]), in one place. Unexpected
//! failures are logged here, once, with their detail; users get an opaque message.
use crate::api::AppError;
use crate::domain::TextError;
use crate::server::auth::gotrue::GoTrueError;
use crate::server::duck::DuckError;
use crate::server::store::saved::SavedError;

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                tracing::warn!(error = %e, "database unavailable");
                AppError::Unavailable("The database".into())
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
        AppError::Invalid(e.to_string())
    }
}

impl From<GoTrueError> for AppError {
    fn from(e: GoTrueError) -> Self {
        match e {
            GoTrueError::Rejected { message, .. } => AppError::Invalid(message),
            GoTrueError::RateLimited(message) => AppError::RateLimited { message, retry_after_secs: 60 },
            GoTrueError::ConfirmationRequired => AppError::Invalid(e.to_string()),
            GoTrueError::Unavailable(detail) => {
                tracing::warn!(detail, "sign-in service unavailable");
                AppError::Unavailable("The sign-in service".into())
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
        DuckError::Rejected(_) | DuckError::Engine(_) | DuckError::Timeout(_) | DuckError::TooLarge { .. } => {
            AppError::Invalid(e.to_string())
        }
        DuckError::Missing(_) | DuckError::Busy => AppError::Unavailable("The trading database".into()),
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
            StepEditError::NotFound => AppError::NotFound("That answer's query step".into()),
            StepEditError::Database(e) => e.into(),
        }
    }
}

impl From<SavedError> for AppError {
    fn from(e: SavedError) -> Self {
        match e {
            SavedError::NotFound => AppError::NotFound("That saved answer".into()),
            SavedError::Database(e) => e.into(),
        }
    }
}

/// `Retry-After` of a question refused while the server drains.
const DRAINING_RETRY_AFTER_SECS: u64 = 5;

impl axum::response::IntoResponse for AppError {
    /// JSON `{"error": message}` with the error's status (and `Retry-After` when rate limited or draining): how plain HTTP
    /// endpoints such as `/chat/stream` report errors.
    fn into_response(self) -> axum::response::Response {
        let status =
            axum::http::StatusCode::from_u16(self.status()).unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(serde_json::json!({ "error": self.to_string() }))).into_response();
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
