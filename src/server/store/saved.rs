//! `saved_chats`: the ⭐. Every function runs inside a [`super::scoped::ScopedTx`] as the user, so the row-level
//! security policies decide which rows exist for them; the user id written is `auth.uid()`, from the verified
//! claims, never from input.
use chrono::NaiveDateTime;
use sqlx::PgConnection;

use crate::api::{Page, RerunEvery, RerunReport, SavedChat, SavedRef, page_window};
use crate::domain::Note;

/// Why a favourites operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum SavedError {
    /// The chat log or saved chat does not exist for this user.
    #[error("not found")]
    NotFound,
    /// Postgres failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    chat_log_id: Option<i64>,
    conversation_id: Option<uuid::Uuid>,
    question: Option<String>,
    response: Option<String>,
    note: Option<String>,
    created_at: Option<NaiveDateTime>,
    checks: Option<serde_json::Value>,
    last_rerun: Option<serde_json::Value>,
    rerun_every: Option<String>,
}

impl From<Row> for SavedChat {
    fn from(r: Row) -> Self {
        Self {
            id: r.id,
            chat_log_id: r.chat_log_id,
            conversation_id: r.conversation_id,
            question: r.question.unwrap_or_default(),
            response: r.response.unwrap_or_default(),
            note: r.note,
            created_at: r.created_at.unwrap_or_default().and_utc(),
            checks: r.checks.and_then(|c| serde_json::from_value(c).ok()),
            last_rerun: r.last_rerun.and_then(|c| serde_json::from_value(c).ok()),
            rerun_every: r.rerun_every.as_deref().and_then(RerunEvery::parse),
        }
    }
}

/// A save's answer's checks (`s` the save, `c` its log): from the log while the saved copy is still its text, as
/// their offsets are into it.
macro_rules! copy_checks {
    () => {
        "CASE WHEN c.response = s.response THEN c.checks END"
    };
}

const COLUMNS: &str = concat!(
    "s.id, s.chat_log_id, c.conversation_id, s.question, s.response, s.note, s.created_at, ",
    copy_checks!(),
    " AS checks, s.last_rerun, s.rerun_every"
);

/// Saves the user's answer `chat_log_id` with an optional note, copying its question and response. Saving an
/// answer already saved returns the existing save unchanged.
pub async fn save(conn: &mut PgConnection, chat_log_id: i64, note: Option<&Note>) -> Result<SavedChat, SavedError> {
    sqlx::query(
        "INSERT INTO saved_chats (user_id, chat_log_id, question, response, note)
         SELECT auth.uid(), c.id, c.question, c.response, $2 FROM chat_logs c WHERE c.id = $1
         ON CONFLICT (user_id, chat_log_id) DO NOTHING",
    )
    .bind(chat_log_id)
    .bind(note.map(Note::as_str))
    .execute(&mut *conn)
    .await?;
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM saved_chats s LEFT JOIN chat_logs c ON c.id = s.chat_log_id
         WHERE s.chat_log_id = $1 AND s.user_id = auth.uid()"
    ))
    .bind(chat_log_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(SavedChat::from).ok_or(SavedError::NotFound)
}

/// ⭐ the user's answer `chat_log_id` with `note`: saved if it was not, its note set to `note` if it was.
pub async fn star(conn: &mut PgConnection, chat_log_id: i64, note: Option<&Note>) -> Result<SavedRef, SavedError> {
    let mut saved = save(conn, chat_log_id, note).await?;
    if saved.note.as_deref() != note.map(Note::as_str) {
        saved = update_note(conn, saved.id, note).await?;
    }
    Ok(SavedRef { id: saved.id, note: saved.note })
}

/// Removes the user's save of answer `chat_log_id`, if there is one (unstarring twice is not an error).
pub async fn unstar(conn: &mut PgConnection, chat_log_id: i64) -> Result<(), SavedError> {
    match remove_by_chat_log(conn, chat_log_id).await {
        Ok(()) | Err(SavedError::NotFound) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Sets (or clears) the note of the user's save `id`.
pub async fn update_note(conn: &mut PgConnection, id: i64, note: Option<&Note>) -> Result<SavedChat, SavedError> {
    let updated = sqlx::query("UPDATE saved_chats SET note = $2 WHERE id = $1")
        .bind(id)
        .bind(note.map(Note::as_str))
        .execute(&mut *conn)
        .await?;
    if updated.rows_affected() == 0 {
        return Err(SavedError::NotFound);
    }
    let row: Row = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM saved_chats s LEFT JOIN chat_logs c ON c.id = s.chat_log_id WHERE s.id = $1"
    ))
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.into())
}

/// Removes the user's save `id`.
pub async fn remove(conn: &mut PgConnection, id: i64) -> Result<(), SavedError> {
    let deleted = sqlx::query("DELETE FROM saved_chats WHERE id = $1").bind(id).execute(conn).await?;
    if deleted.rows_affected() == 0 { Err(SavedError::NotFound) } else { Ok(()) }
}

/// Removes the user's save of answer `chat_log_id` (unstar from the chat).
pub async fn remove_by_chat_log(conn: &mut PgConnection, chat_log_id: i64) -> Result<(), SavedError> {
    let deleted = sqlx::query("DELETE FROM saved_chats WHERE chat_log_id = $1 AND user_id = auth.uid()")
        .bind(chat_log_id)
        .execute(conn)
        .await?;
    if deleted.rows_affected() == 0 { Err(SavedError::NotFound) } else { Ok(()) }
}

/// The user's saves, newest first, optionally matching `search` (full text over question, answer and note, plus
/// a plain substring match on the note), `per_page` at a time.
pub async fn list(
    conn: &mut PgConnection,
    search: Option<&str>,
    page: u32,
    per_page: u32,
) -> Result<Page<SavedChat>, SavedError> {
    let search = search.map(str::trim).filter(|s| !s.is_empty());
    let (limit, offset) = page_window(page, per_page);
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM saved_chats s LEFT JOIN chat_logs c ON c.id = s.chat_log_id
         WHERE $1::text IS NULL
            OR to_tsvector('english', coalesce(s.question, '') || ' ' || coalesce(s.response, '') || ' ' ||
                                      coalesce(s.note, '')) @@ websearch_to_tsquery('english', $1)
            OR s.note ILIKE '%' || $1 || '%' OR s.question ILIKE '%' || $1 || '%'
         ORDER BY s.created_at DESC, s.id DESC
         LIMIT $2 OFFSET $3"
    ))
    .bind(search)
    .bind(limit)
    .bind(offset)
    .fetch_all(conn)
    .await?;
    Ok(Page::from_window(rows.into_iter().map(SavedChat::from).collect(), page, per_page))
}

/// What a re-run of the user's save `id` needs: the answer's text and its checks (`None` when its log is gone or
/// no longer its text, or it predates checks).
pub async fn basis(conn: &mut PgConnection, id: i64) -> Result<(String, Option<serde_json::Value>), SavedError> {
    let row: Option<(String, Option<serde_json::Value>)> = sqlx::query_as(concat!(
        "SELECT s.response, ",
        copy_checks!(),
        " FROM saved_chats s LEFT JOIN chat_logs c ON c.id = s.chat_log_id WHERE s.id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.ok_or(SavedError::NotFound)
}

/// Keeps `report` as the latest re-run of the user's save `id`.
pub async fn record_rerun(conn: &mut PgConnection, id: i64, report: &RerunReport) -> Result<(), SavedError> {
    let updated = sqlx::query("UPDATE saved_chats SET last_rerun = $2 WHERE id = $1")
        .bind(id)
        .bind(sqlx::types::Json(report))
        .execute(conn)
        .await?;
    if updated.rows_affected() == 0 { Err(SavedError::NotFound) } else { Ok(()) }
}

/// Re-runs the user's save `id` on a schedule (`every`), or stops (`None`). The first scheduled run is one
/// period from now.
pub async fn set_schedule(conn: &mut PgConnection, id: i64, every: Option<RerunEvery>) -> Result<(), SavedError> {
    let updated = sqlx::query(
        "UPDATE saved_chats SET rerun_every = $2,
                next_rerun_at = CASE WHEN $2 IS NULL THEN NULL ELSE now() + $3 * interval '1 day' END
         WHERE id = $1",
    )
    .bind(id)
    .bind(every.map(RerunEvery::as_str))
    .bind(every.map_or(0, RerunEvery::days))
    .execute(conn)
    .await?;
    if updated.rows_affected() == 0 { Err(SavedError::NotFound) } else { Ok(()) }
}

/// A save whose scheduled re-run is due, claimed by this transaction.
#[derive(sqlx::FromRow)]
pub struct DueRerun {
    pub id: i64,
    pub user_id: uuid::Uuid,
    pub question: Option<String>,
    pub response: Option<String>,
    /// Its answer's checks (see `copy_checks`).
    pub checks: Option<serde_json::Value>,
    pub last_rerun: Option<serde_json::Value>,
    pub rerun_every: Option<String>,
}

/// Claims the save whose scheduled re-run is most overdue, if any (`FOR UPDATE SKIP LOCKED`: instances never
/// claim the same one). Runs as the server, for every user.
pub async fn claim_due(conn: &mut PgConnection) -> Result<Option<DueRerun>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT s.id, s.user_id, s.question, s.response, ",
        copy_checks!(),
        " AS checks, s.last_rerun, s.rerun_every
         FROM saved_chats s LEFT JOIN chat_logs c ON c.id = s.chat_log_id
         WHERE s.next_rerun_at <= now() ORDER BY s.next_rerun_at LIMIT 1 FOR UPDATE OF s SKIP LOCKED"
    ))
    .fetch_optional(conn)
    .await
}

/// Ends the claimed save `id`'s scheduled re-run: keeps `report` (when it could run) and sets the next one `days`
/// from now.
pub async fn finish_due(
    conn: &mut PgConnection,
    id: i64,
    report: Option<&RerunReport>,
    days: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE saved_chats SET last_rerun = coalesce($2, last_rerun), next_rerun_at = now() + $3 * interval '1 day'
         WHERE id = $1",
    )
    .bind(id)
    .bind(report.map(sqlx::types::Json))
    .bind(days)
    .execute(conn)
    .await?;
    Ok(())
}
