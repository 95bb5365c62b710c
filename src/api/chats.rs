//! Server functions over the user's own chat data — favourites, conversations, history — all run as the user
//! under row-level security.
use leptos::prelude::*;

use super::{AppError, ConversationSummary, Exchange, Page, SavedChat, SavedRef};

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
    crate::server::errors::at_edge(async move {
        use crate::server::{auth, errors::saved_error, store};
        let state = crate::server::state::AppState::from_context()?;
        let identity = auth::require_user()?;
        let note = crate::domain::Note::parse_optional(note.as_deref().unwrap_or_default())?;
        if !unstar {
            // The answer may have finished a moment ago: give the log writer a moment to store it.
            state.log_writer.wait_settled(chat_log_id, std::time::Duration::from_secs(3)).await;
        }
        let mut tx = store::scoped::ScopedTx::as_user(&state.db, &identity).await?;
        let star = if unstar {
            match store::saved::remove_by_chat_log(&mut tx, chat_log_id).await {
                Ok(()) | Err(store::saved::SavedError::NotFound) => None,
                Err(e) => return Err(saved_error(e)),
            }
        } else {
            let mut saved = store::saved::save(&mut tx, chat_log_id, note.as_ref()).await.map_err(saved_error)?;
            if saved.note.as_deref() != note.as_ref().map(crate::domain::Note::as_str) {
                saved = store::saved::update_note(&mut tx, saved.id, note.as_ref()).await.map_err(saved_error)?;
            }
            Some(SavedRef { id: saved.id, note: saved.note })
        };
        tx.commit().await?;
        Ok(star)
    })
    .await
}

/// Sets or clears the note of a save.
#[server(endpoint = "saved/note")]
pub async fn update_saved_note(saved_id: i64, #[server(default)] note: Option<String>) -> Result<SavedChat, AppError> {
    crate::server::errors::at_edge(async move {
        use crate::server::{auth, errors::saved_error, store};
        let state = crate::server::state::AppState::from_context()?;
        let identity = auth::require_user()?;
        let note = crate::domain::Note::parse_optional(note.as_deref().unwrap_or_default())?;
        let mut tx = store::scoped::ScopedTx::as_user(&state.db, &identity).await?;
        let saved = store::saved::update_note(&mut tx, saved_id, note.as_ref()).await.map_err(saved_error)?;
        tx.commit().await?;
        Ok(saved)
    })
    .await
}

/// Removes a save by its id.
#[server(endpoint = "saved/remove")]
pub async fn remove_saved(saved_id: i64) -> Result<(), AppError> {
    crate::server::errors::at_edge(async move {
        use crate::server::{auth, errors::saved_error, store};
        let state = crate::server::state::AppState::from_context()?;
        let identity = auth::require_user()?;
        let mut tx = store::scoped::ScopedTx::as_user(&state.db, &identity).await?;
        store::saved::remove(&mut tx, saved_id).await.map_err(saved_error)?;
        tx.commit().await?;
        Ok(())
    })
    .await
}

/// The user's saves, newest first, optionally searched.
#[server(endpoint = "saved/list")]
pub async fn list_saved(search: Option<String>, page: u32) -> Result<Page<SavedChat>, AppError> {
    crate::server::errors::at_edge(async move {
        use crate::server::{auth, errors::saved_error, store};
        let state = crate::server::state::AppState::from_context()?;
        let identity = auth::require_user()?;
        let search = bounded_search(search)?;
        let mut tx = store::scoped::ScopedTx::as_user(&state.db, &identity).await?;
        let page = store::saved::list(&mut tx, search.as_deref(), page, PAGE_SIZE).await.map_err(saved_error)?;
        tx.commit().await?;
        Ok(page)
    })
    .await
}

/// The user's recent conversations.
#[server(endpoint = "conversations/list")]
pub async fn list_conversations() -> Result<Vec<ConversationSummary>, AppError> {
    crate::server::errors::at_edge(async move {
        use crate::server::{auth, store};
        let state = crate::server::state::AppState::from_context()?;
        let identity = auth::require_user()?;
        // Asked right after an answer ended (the sidebar refreshes then): let its log, which creates or touches its
        // conversation, reach Postgres first.
        for log_id in state.agent.runs.recently_finished(identity.user_id, std::time::Duration::from_secs(5)) {
            state.log_writer.wait_settled(log_id, std::time::Duration::from_secs(2)).await;
        }
        let mut tx = store::scoped::ScopedTx::as_user(&state.db, &identity).await?;
        let list = store::conversations::recent(&mut tx, 50).await?;
        tx.commit().await?;
        Ok(list)
    })
    .await
}

/// Every exchange of one of the user's conversations, oldest first.
#[server(endpoint = "conversations/get")]
pub async fn conversation_exchanges(conversation_id: uuid::Uuid) -> Result<Vec<Exchange>, AppError> {
    crate::server::errors::at_edge(async move {
        use crate::server::{auth, store};
        let state = crate::server::state::AppState::from_context()?;
        let identity = auth::require_user()?;
        // A conversation's first answer is stored when its run ends; until then (a reload mid-stream) the run in
        // memory is what makes the conversation exist. A just-finished answer is waited for briefly.
        let in_memory = state.agent.runs.latest(identity.user_id, conversation_id);
        if let Some(log_id) = in_memory.as_ref().filter(|r| r.is_finished()).and_then(|r| r.chat_log_id()) {
            state.log_writer.wait_settled(log_id, std::time::Duration::from_secs(2)).await;
        }
        let mut tx = store::scoped::ScopedTx::as_user(&state.db, &identity).await?;
        if !store::conversations::is_visible(&mut tx, conversation_id).await? {
            return match in_memory {
                Some(_) => Ok(Vec::new()),
                None => Err(AppError::NotFound("That conversation".into())),
            };
        }
        let exchanges = store::conversations::exchanges(&mut tx, conversation_id).await?;
        tx.commit().await?;
        Ok(exchanges)
    })
    .await
}

/// Renames one of the user's conversations (1–200 characters).
#[server(endpoint = "conversations/rename")]
pub async fn rename_conversation(conversation_id: uuid::Uuid, title: String) -> Result<(), AppError> {
    crate::server::errors::at_edge(async move {
        use crate::server::{auth, store};
        let state = crate::server::state::AppState::from_context()?;
        let identity = auth::require_user()?;
        let title = crate::domain::ConversationTitle::parse(&title)?;
        let mut tx = store::scoped::ScopedTx::as_user(&state.db, &identity).await?;
        if !store::conversations::rename(&mut tx, conversation_id, title.as_str()).await? {
            return Err(AppError::NotFound("That conversation".into()));
        }
        tx.commit().await?;
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
    crate::server::errors::at_edge(async move {
        use crate::server::{auth, store};
        let state = crate::server::state::AppState::from_context()?;
        let identity = auth::require_user()?;
        if state.agent.runs.active(identity.user_id, conversation_id).is_some() {
            return Err(AppError::Invalid(
                "An answer is still being written in this conversation; stop it, then delete the conversation.".into(),
            ));
        }
        let mut tx = store::scoped::ScopedTx::as_user(&state.db, &identity).await?;
        if !store::conversations::delete(&mut tx, conversation_id).await? {
            return Err(AppError::NotFound("That conversation".into()));
        }
        tx.commit().await?;
        crate::server::forms::after_plain_form("/");
        Ok(conversation_id)
    })
    .await
}

/// The user's past questions and answers, newest first, optionally full-text searched.
#[server(endpoint = "history/search")]
pub async fn search_history(search: Option<String>, page: u32) -> Result<Page<Exchange>, AppError> {
    crate::server::errors::at_edge(async move {
        use crate::server::{auth, store};
        let state = crate::server::state::AppState::from_context()?;
        let identity = auth::require_user()?;
        let search = bounded_search(search)?;
        let mut tx = store::scoped::ScopedTx::as_user(&state.db, &identity).await?;
        let page = store::conversations::search_exchanges(&mut tx, search.as_deref(), page, PAGE_SIZE).await?;
        tx.commit().await?;
        Ok(page)
    })
    .await
}

/// Search text, trimmed, at most 200 characters.
#[cfg(feature = "ssr")]
fn bounded_search(search: Option<String>) -> Result<Option<String>, AppError> {
    match search.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()) {
        Some(s) if s.chars().count() > 200 => {
            Err(AppError::Invalid("Search text can be at most 200 characters.".into()))
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
}

/// Runs a `run_sql` or `make_chart` step again (through the same read-only guard), returning up to `rows` rows.
#[server(endpoint = "tools/rerun")]
pub async fn rerun_tool(name: String, input: String, rows: u32) -> Result<ToolRerun, AppError> {
    crate::server::errors::at_edge(async move {
        let state = crate::server::state::AppState::from_context()?;
        let identity = crate::server::auth::require_user()?;
        let _entered = state.agent.reruns.try_enter(identity.user_id).ok_or_else(|| AppError::RateLimited {
            message: "Another table or chart of yours is still loading; try again when it has finished.".into(),
            retry_after_secs: 1,
        })?;
        let input: serde_json::Value =
            serde_json::from_str(&input).map_err(|e| AppError::Invalid(format!("Invalid tool input: {e}")))?;
        let sql = input
            .get("sql")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| AppError::Invalid("The step has no SQL to run.".into()))?;
        match name.as_str() {
            "run_sql" => {
                let result = state.duck.query(sql, rows as usize).await?;
                Ok(ToolRerun {
                    preview: Some(crate::server::agent::tools::preview(&result, rows as usize)),
                    chart: None,
                })
            }
            "make_chart" => {
                let schema = state.duck.schema().await?;
                let outcome = crate::server::agent::tools::execute(&state.duck, &schema, "make_chart", &input).await;
                if outcome.is_error {
                    return Err(AppError::Invalid(outcome.model_text));
                }
                Ok(ToolRerun { preview: outcome.preview, chart: outcome.chart })
            }
            other => Err(AppError::Invalid(format!("The step {other:?} cannot be run again."))),
        }
    })
    .await
}
