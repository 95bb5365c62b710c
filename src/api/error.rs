//! The one error type that crosses the server-function edge.
//!
//! Server modules have their own `thiserror` enums; a server function maps them into [`AppError`] once, which
//! picks the HTTP status and a reason ([`super::reasons`]) that the UI words in the reader's language. Unexpected
//! failures are logged on the server and reach the browser only as an opaque [`AppError::Internal`].
use super::reasons::{Dependency, Invalid, Limit, Missing};
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// An error returned by a server function. `Display` is the English text (logs, the JSON API); the UI renders it
/// with `app::components::ErrorText`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// No valid session: the user must sign in.
    #[error("Please sign in to continue.")]
    Unauthorized,
    /// Signed in, but not allowed to do this.
    #[error("You do not have access to this.")]
    Forbidden,
    /// The thing asked for does not exist (or is not the caller's).
    #[error("{0} was not found.")]
    NotFound(Missing),
    /// The request cannot be carried out as sent; the reason says what to fix.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// A limit was reached; the reason says when it resets.
    #[error("{limit}")]
    RateLimited {
        /// What was exceeded and when it resets.
        limit: Limit,
        /// Seconds until a retry can succeed.
        retry_after_secs: u64,
    },
    /// A dependency (database, model provider) is unavailable; retrying later may work.
    #[error("{0} is unavailable right now; please try again in a moment.")]
    Unavailable(Dependency),
    /// The server is shutting down (a deploy): it finishes the answers it is writing but starts no new ones.
    #[error("The server is restarting; ask again in a few seconds.")]
    Draining,
    /// Something unexpected; details are in the server log under this request.
    #[error("Something went wrong on our side; please try again.")]
    Internal,
    /// The transport failed (network, serialization) before the server could answer.
    #[error("Could not reach the server: {0}")]
    Transport(String),
}

impl AppError {
    /// The HTTP status this error is reported with.
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthorized => 401,
            Self::Forbidden => 403,
            Self::NotFound(_) => 404,
            Self::Invalid(_) => 400,
            Self::RateLimited { .. } => 429,
            Self::Unavailable(_) | Self::Draining => 503,
            Self::Internal => 500,
            Self::Transport(_) => 502,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(m) | ServerFnErrorErr::MissingArg(m) => Self::Invalid(Invalid::Request(m)),
            other => Self::Transport(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_user_facing_and_statuses_distinct() {
        assert_eq!(AppError::NotFound(Missing::SavedAnswer).to_string(), "That saved answer was not found.");
        assert_eq!(AppError::Unauthorized.status(), 401);
        let budget = Limit::DailyBudget { usd: "$2.00".into() };
        assert_eq!(AppError::RateLimited { limit: budget, retry_after_secs: 5 }.status(), 429);
        let bad = AppError::from_server_fn_error(ServerFnErrorErr::MissingArg("note".into()));
        assert_eq!(bad.status(), 400);
        assert_eq!(bad.to_string(), "Invalid request: note");
    }
}
