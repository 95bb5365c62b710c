//! Domain values parsed at the edge ("parse, don't validate"): once a `Note` exists, it is a valid note.
//! Shared by the server (which enforces them) and the browser (which checks early, for a friendlier form).
mod local_path;
mod text;

pub use local_path::local_path;
pub use text::{ConversationTitle, DisplayName, Note, Question, TextError, TextField};

use serde::{Deserialize, Serialize};

/// A chat log row's id (`chat_logs.id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChatLogId(pub i64);

/// A conversation's id (`conversations.id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConversationId(pub uuid::Uuid);

impl std::fmt::Display for ConversationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for ConversationId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        uuid::Uuid::parse_str(s).map(Self)
    }
}

/// How a run ended (`chat_logs.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Finished normally.
    Ok,
    /// Ended by an error (the partial answer is kept).
    Error,
    /// Stopped by the user or by shutdown (the partial answer is kept).
    Cancelled,
}

impl RunStatus {
    /// The value stored in Postgres.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Error => "error",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parses the stored value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ok" => Some(Self::Ok),
            "error" => Some(Self::Error),
            "cancelled" => Some(Self::Cancelled),
            _ => None,
        }
    }
}
