//! Types that cross the wire between server functions and the UI.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::RunStatus;

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items, newest first.
    pub items: Vec<T>,
    /// Zero-based page number.
    pub page: u32,
    /// Whether another page follows.
    pub has_more: bool,
}

/// `LIMIT` and `OFFSET` for page `page` of `per_page` rows: one row more than a page, to learn whether another
/// follows without counting ([`Page::from_window`] makes the page).
pub fn page_window(page: u32, per_page: u32) -> (i64, i64) {
    (i64::from(per_page) + 1, i64::from(page) * i64::from(per_page))
}

impl<T> Page<T> {
    /// Page `page` from the rows [`page_window`] fetched.
    pub fn from_window(mut rows: Vec<T>, page: u32, per_page: u32) -> Self {
        let has_more = rows.len() > per_page as usize;
        rows.truncate(per_page as usize);
        Self { items: rows, page, has_more }
    }
}

/// A ⭐ saved answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedChat {
    /// `saved_chats.id`.
    pub id: i64,
    /// The answer it saves, while the log exists.
    pub chat_log_id: Option<i64>,
    /// The conversation the answer belongs to (to jump back to it).
    pub conversation_id: Option<uuid::Uuid>,
    /// The question (copied, so the save survives log retention).
    pub question: String,
    /// The answer (copied).
    pub response: String,
    /// The user's note.
    pub note: Option<String>,
    /// When it was saved.
    pub created_at: DateTime<Utc>,
    /// The answer's checked numbers, while its log is kept.
    #[serde(default)]
    pub checks: Option<super::AnswerChecks>,
    /// Its latest re-run on current data.
    #[serde(default)]
    pub last_rerun: Option<super::RerunReport>,
    /// How often it re-runs by itself, if it does.
    #[serde(default)]
    pub rerun_every: Option<RerunEvery>,
}

/// How often a saved answer re-runs by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RerunEvery {
    Daily,
    Weekly,
}

impl RerunEvery {
    /// Its name, as stored and in forms.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Daily => "daily",
            Self::Weekly => "weekly",
        }
    }

    /// Parses [`Self::as_str`]'s names.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "daily" => Some(Self::Daily),
            "weekly" => Some(Self::Weekly),
            _ => None,
        }
    }

    /// Days between runs.
    pub fn days(self) -> i32 {
        match self {
            Self::Daily => 1,
            Self::Weekly => 7,
        }
    }
}

/// A conversation in the sidebar or on the history page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationSummary {
    pub id: uuid::Uuid,
    /// Title (the first question, shortened).
    pub title: String,
    /// Last activity.
    pub updated_at: DateTime<Utc>,
    /// Exchanges in it.
    pub exchanges: i64,
}

/// One question and its answer, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    /// `chat_logs.id`.
    pub chat_log_id: i64,
    pub conversation_id: Option<uuid::Uuid>,
    /// That conversation's title.
    pub conversation_title: Option<String>,
    pub question: String,
    /// The answer (partial when the run did not finish).
    pub response: String,
    /// Tools the agent called: `[{"name", "input", "duration_ms", "ok", "rows"}]`.
    pub tools_used: serde_json::Value,
    /// Its numbers checked against its steps' rows (complete answers logged since checks exist).
    #[serde(default)]
    pub checks: Option<super::AnswerChecks>,
    /// The user's own SQL for some of its query steps (Edit SQL), by step.
    #[serde(default)]
    pub edits: Vec<StepEdit>,
    /// Model name.
    pub model: Option<String>,
    /// Input tokens over all rounds.
    pub input_tokens: Option<i32>,
    /// Output tokens over all rounds.
    pub output_tokens: Option<i32>,
    /// USD, exact decimal text; `None` when the model's price is unknown.
    pub cost: Option<String>,
    /// How the run ended.
    pub status: RunStatus,
    /// The error, when it failed (English).
    pub error: Option<String>,
    /// Why it failed, as data (the UI words it); `None` for runs stored before failures were kept as data.
    #[serde(default)]
    pub failure: Option<super::reasons::RunFailure>,
    /// When it was asked.
    pub created_at: DateTime<Utc>,
    /// The save, if the user starred it.
    pub saved: Option<SavedRef>,
}

/// SQL the user edited on a query step and ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepEdit {
    /// The step's index among the answer's tool steps.
    pub step: u32,
    pub sql: String,
}

/// The ⭐ state of an exchange.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedRef {
    /// `saved_chats.id`.
    pub id: i64,
    pub note: Option<String>,
}

/// The signed-in user's profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub user_id: uuid::Uuid,
    pub email: Option<String>,
    /// Display name, if set.
    pub display_name: Option<String>,
}
