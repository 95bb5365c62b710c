//! Server functions over the user's own chat data — favourites, conversations, history — all run as the user
//! under row-level security.
#[cfg(feature = "ssr")]
use crate::api::reasons::{Invalid, Missing};
use leptos::prelude::*;

use super::{AppError, ConversationSummary, Exchange, Page, RerunReport, SavedChat, SavedRef};

/// Items per page of the saved and history lists.
pub const PAGE_SIZE: u32 = 20;

/// ⭐ an answer (by its `chat_log_id`) with an optional note (≤ 500 characters), or sets the note of its save;
/// with `unstar`, removes the save. Returns the star as it now is. Idempotent: saving twice keeps one save,
/// unstarring an answer that is not saved is not an error.
#[server(endpoint = "saved/star")]
pub async fn set_star(
    chat_log_id: i64,
    #[server(default)] note: Option<String>,
    #[server(default)] unstar: bool,
) -> Result<Option<SavedRef>, AppError> {
    use crate::server::store::saved;
    crate::server::edge::signed_in(async |caller| {
        let note = crate::domain::Note::parse_optional(note.as_deref().unwrap_or_default())?;
        if unstar {
            let mut tx = caller.transaction().await?;
            saved::unstar(&mut tx, chat_log_id).await?;
            tx.commit().await?;
            return Ok(None);
        }
        // The answer may have finished a moment ago: give the log writer a moment to store it.
        caller.state.log_writer.wait_settled(chat_log_id, std::time::Duration::from_secs(3)).await;
        let mut tx = caller.transaction().await?;
        let star = saved::star(&mut tx, chat_log_id, note.as_ref()).await?;
        tx.commit().await?;
        Ok(Some(star))
    })
    .await
}

/// Sets or clears the note of a save.
#[server(endpoint = "saved/note")]
pub async fn update_saved_note(saved_id: i64, #[server(default)] note: Option<String>) -> Result<SavedChat, AppError> {
    crate::server::edge::as_user(async |_, tx| {
        let note = crate::domain::Note::parse_optional(note.as_deref().unwrap_or_default())?;
        Ok(crate::server::store::saved::update_note(tx, saved_id, note.as_ref()).await?)
    })
    .await
}

/// Removes a save by its id.
#[server(endpoint = "saved/remove")]
pub async fn remove_saved(saved_id: i64) -> Result<(), AppError> {
    crate::server::edge::as_user(async |_, tx| Ok(crate::server::store::saved::remove(tx, saved_id).await?)).await
}

/// Runs a saved answer's steps again on the current data and compares: rows added and removed, cells changed,
/// and which checked numbers no longer hold. Kept with the save; counts against the per-user re-run gate.
#[server(endpoint = "saved/rerun")]
pub async fn rerun_saved(saved_id: i64) -> Result<RerunReport, AppError> {
    crate::server::edge::signed_in(async |caller| crate::server::saved_rerun::rerun(caller, saved_id).await).await
}

/// Re-runs a saved answer by itself `daily` or `weekly`, or stops (`every` empty or `never`); a change in its
/// checked numbers then raises an alert.
#[server(endpoint = "saved/schedule")]
pub async fn schedule_saved(saved_id: i64, #[server(default)] every: String) -> Result<(), AppError> {
    crate::server::edge::signed_in(async |caller| {
        let every = match every.as_str() {
            "" | "never" => None,
            other => Some(super::RerunEvery::parse(other).ok_or_else(|| {
                AppError::Invalid(Invalid::Request(format!(
                    "{other:?} is not a schedule: choose never, daily or weekly"
                )))
            })?),
        };
        crate::server::saved_rerun::schedule(caller, saved_id, every).await
    })
    .await
}

/// The user's saves, newest first, optionally searched.
#[server(endpoint = "saved/list")]
pub async fn list_saved(search: Option<String>, page: u32) -> Result<Page<SavedChat>, AppError> {
    crate::server::edge::as_user(async |_, tx| {
        let search = bounded_search(search)?;
        Ok(crate::server::store::saved::list(tx, search.as_deref(), page, PAGE_SIZE).await?)
    })
    .await
}

/// The user's recent conversations.
#[server(endpoint = "conversations/list")]
pub async fn list_conversations() -> Result<Vec<ConversationSummary>, AppError> {
    crate::server::edge::signed_in(async |caller| {
        // Asked right after an answer ended (the sidebar refreshes then): its log creates or touches its
        // conversation, so let it reach Postgres first.
        crate::server::agent::run::await_recent_logs(&caller.state, caller.identity.user_id).await;
        let mut tx = caller.transaction().await?;
        let list = crate::server::store::conversations::recent(&mut tx, 50).await?;
        tx.commit().await?;
        Ok(list)
    })
    .await
}

/// Every exchange of one of the user's conversations, oldest first.
#[server(endpoint = "conversations/get")]
pub async fn conversation_exchanges(conversation_id: uuid::Uuid) -> Result<Vec<Exchange>, AppError> {
    use crate::server::store::conversations;
    crate::server::edge::signed_in(async |caller| {
        // A conversation's first answer is stored when its run ends; until then (a reload mid-stream) the run in
        // memory is what makes the conversation exist.
        let in_memory =
            crate::server::agent::run::await_run_log(&caller.state, caller.identity.user_id, conversation_id).await;
        let mut tx = caller.transaction().await?;
        if !conversations::is_visible(&mut tx, conversation_id).await? {
            return if in_memory { Ok(Vec::new()) } else { Err(AppError::NotFound(Missing::Conversation)) };
        }
        let exchanges = conversations::exchanges(&mut tx, conversation_id).await?;
        tx.commit().await?;
        Ok(exchanges)
    })
    .await
}

/// Renames one of the user's conversations (1–200 characters).
#[server(endpoint = "conversations/rename")]
pub async fn rename_conversation(conversation_id: uuid::Uuid, title: String) -> Result<(), AppError> {
    crate::server::edge::as_user(async |_, tx| {
        let title = crate::domain::ConversationTitle::parse(&title)?;
        if !crate::server::store::conversations::rename(tx, conversation_id, title.as_str()).await? {
            return Err(AppError::NotFound(Missing::Conversation));
        }
        Ok(())
    })
    .await
}

/// Deletes one of the user's conversations: it and its questions and answers leave the sidebar, history, search
/// and the model's context. Saved answers from it stay in Saved (they are the user's own copies). What stays in
/// `chat_logs` is what the cost figures need: tokens, cost, model, status, timings and tool names — the text of
/// questions, answers, errors and tool inputs is erased. As a plain form it goes on to a new conversation.
#[server(endpoint = "conversations/delete")]
pub async fn delete_conversation(conversation_id: uuid::Uuid) -> Result<uuid::Uuid, AppError> {
    crate::server::edge::as_user(async |caller, tx| {
        if caller.state.agent.runs.active(caller.identity.user_id, conversation_id).is_some() {
            return Err(AppError::Invalid(Invalid::ConversationBusyToDelete));
        }
        if !crate::server::store::conversations::delete(tx, conversation_id).await? {
            return Err(AppError::NotFound(Missing::Conversation));
        }
        crate::server::forms::after_plain_form("/");
        Ok(conversation_id)
    })
    .await
}

/// The user's past questions and answers, newest first, optionally full-text searched.
#[server(endpoint = "history/search")]
pub async fn search_history(search: Option<String>, page: u32) -> Result<Page<Exchange>, AppError> {
    crate::server::edge::as_user(async |_, tx| {
        let search = bounded_search(search)?;
        Ok(crate::server::store::conversations::search_exchanges(tx, search.as_deref(), page, PAGE_SIZE).await?)
    })
    .await
}

/// The longest history search, in characters.
#[cfg(feature = "ssr")]
const MAX_SEARCH_CHARS: usize = 200;

/// Search text, trimmed, at most [`MAX_SEARCH_CHARS`].
#[cfg(feature = "ssr")]
fn bounded_search(search: Option<String>) -> Result<Option<String>, AppError> {
    match search.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()) {
        Some(s) if s.chars().count() > MAX_SEARCH_CHARS => {
            Err(AppError::Invalid(Invalid::SearchTooLong { max: MAX_SEARCH_CHARS }))
        }
        other => Ok(other),
    }
}

/// A tool's output, computed again for the UI (a stored answer's table or chart, or more rows of a live one).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ToolRerun {
    /// Rows (up to the requested number, at most 10 000).
    pub preview: Option<super::TablePreview>,
    /// The chart, for `make_chart`.
    pub chart: Option<super::ChartSpec>,
    /// Look-ahead warnings about the SQL that ran.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// Runs the user's own SQL for query step `step` (0-based) of their answer `chat_log_id` in place — the same
/// guard, deadline and per-user re-run gate as any re-run — and keeps it: the step shows it after a reload, and
/// the model is told with the next question of the conversation. Returns the edited query's first rows.
#[server(endpoint = "chat/edit-step")]
pub async fn edit_step(chat_log_id: i64, step: u32, sql: String) -> Result<ToolRerun, AppError> {
    crate::server::edge::signed_in(async |caller| {
        let sql = sql.trim();
        if sql.is_empty() {
            return Err(AppError::Invalid(Invalid::EditedSqlEmpty));
        }
        let input = serde_json::json!({ "sql": sql }).to_string();
        let result = crate::server::agent::tools::rerun(caller, "run_sql", &input, 100).await?;
        // The answer may have ended a moment ago: give the log writer a moment to store it.
        caller.state.log_writer.wait_settled(chat_log_id, std::time::Duration::from_secs(3)).await;
        let mut tx = caller.transaction().await?;
        crate::server::store::step_edits::record(&mut tx, chat_log_id, step, sql).await?;
        tx.commit().await?;
        Ok(result)
    })
    .await
}

/// Runs a `run_sql` or `make_chart` step again (through the same read-only guard), returning up to `rows` rows.
#[server(endpoint = "tools/rerun")]
pub async fn rerun_tool(name: String, input: String, rows: u32) -> Result<ToolRerun, AppError> {
    crate::server::edge::signed_in(async |caller| crate::server::agent::tools::rerun(caller, &name, &input, rows).await)
        .await
}
