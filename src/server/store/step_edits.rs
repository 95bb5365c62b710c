//! `step_edits`: the SQL a user edited on a query step of their answer and ran. Every function runs as the user
//! (row-level security: only on their own answers).
use sqlx::PgConnection;

/// Why an edit was not kept.
#[derive(Debug, thiserror::Error)]
pub enum StepEditError {
    /// The answer is not the user's, or has no query step there.
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Keeps `sql` as the user's version of step `step` (0-based) of their answer `chat_log_id`, which must be a
/// `run_sql` step.
pub async fn record(conn: &mut PgConnection, chat_log_id: i64, step: u32, sql: &str) -> Result<(), StepEditError> {
    let step = i32::try_from(step).map_err(|_| StepEditError::NotFound)?;
    let kept = sqlx::query(
        "INSERT INTO step_edits (chat_log_id, step, sql)
         SELECT c.id, $2, $3 FROM chat_logs c
         WHERE c.id = $1 AND c.tools_used -> $2 ->> 'name' = 'run_sql'
         ON CONFLICT (chat_log_id, step) DO UPDATE SET sql = EXCLUDED.sql, edited_at = now()",
    )
    .bind(chat_log_id)
    .bind(step)
    .bind(sql)
    .execute(conn)
    .await?;
    if kept.rows_affected() == 0 { Err(StepEditError::NotFound) } else { Ok(()) }
}
