//! The one error type that crosses the server-function edge.
//!
//! Server modules have their own `thiserror` enums; a server function maps them into [`AppError`] once, which
//! picks the HTTP status and a message fit to show a user. Unexpected failures are logged on the server and
//! reach the browser only as an opaque [`AppError::Internal`].
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// An error returned by a server function, shown to the user as-is.
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
    NotFound(String),
    /// The request was malformed; the message says what to fix.
    #[error("{0}")]
    Invalid(String),
    /// A limit was reached; the message says when it resets.
    #[error("{message}")]
    RateLimited {
        /// What was exceeded and when it resets.
        message: String,
        /// Seconds until a retry can succeed.
        retry_after_secs: u64,
    },
    /// A dependency (database, model provider) is unavailable; retrying later may work.
    #[error("{0} is unavailable right now; please try again in a moment.")]
    Unavailable(String),
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
            ServerFnErrorErr::Args(m) | ServerFnErrorErr::MissingArg(m) => {
                Self::Invalid(format!("Invalid request: {m}"))
            }
            other => Self::Transport(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_user_facing_and_statuses_distinct() {
        assert_eq!(AppError::NotFound("Saved chat".into()).to_string(), "Saved chat was not found.");
        assert_eq!(AppError::Unauthorized.status(), 401);
        assert_eq!(AppError::RateLimited { message: "Daily budget reached".into(), retry_after_secs: 5 }.status(), 429);
        let bad = AppError::from_server_fn_error(ServerFnErrorErr::MissingArg("note".into()));
        assert_eq!(bad.status(), 400);
    }
}
