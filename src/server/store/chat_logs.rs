//! `chat_logs`: the record a run leaves, its batched insert, and the reads a user makes of their own history.
use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::api::reasons::RunFailure;
use crate::domain::RunStatus;

/// What a finished (or failed, or cancelled) run leaves behind. `id` is reserved before the run ends, so the
/// browser can ⭐ it at once; inserts are idempotent on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatLogRecord {
    /// Reserved `chat_logs.id`; `None` only if no id could be reserved (Postgres unreachable for long), in which
    /// case one is assigned — and written to the spool — before the record is inserted.
    pub id: Option<i64>,
    /// The verified user.
    pub user_id: Uuid,
    /// The conversation, created with `conversation_title` if it does not exist yet.
    pub conversation_id: Option<Uuid>,
    /// Title for a new conversation (the first question, shortened).
    pub conversation_title: Option<String>,
    /// The user's question.
    pub question: String,
    /// The answer (partial if the run did not finish).
    pub response: String,
    /// `[{"name", "input", "duration_ms", "ok", "rows"}]`.
    pub tools_used: serde_json::Value,
    /// The answer's numbers checked against its steps' rows (`api::AnswerChecks`); `None` for an answer that did
    /// not complete. Defaulted so records spooled before it existed still load.
    #[serde(default)]
    pub checks: Option<serde_json::Value>,
    /// Tokens over all model rounds.
    pub input_tokens: Option<i32>,
    /// Tokens over all model rounds.
    pub output_tokens: Option<i32>,
    /// Prompt-cache writes.
    pub cache_creation_tokens: Option<i32>,
    /// Prompt-cache reads.
    pub cache_read_tokens: Option<i32>,
    /// USD; `None` when the model's price is unknown.
    pub cost: Option<Decimal>,
    /// Model name.
    pub model: String,
    /// How the run ended.
    pub status: RunStatus,
    /// Error text when `status` is `error` (English, for the admin and logs).
    pub error: Option<String>,
    /// Why, as data, when `status` is `error` (the UI words it per locale). Defaulted so records spooled before it
    /// existed still load.
    #[serde(default)]
    pub failure: Option<RunFailure>,
    /// Wall time of the run.
    pub duration_ms: Option<i32>,
    /// When the run started (UTC).
    pub created_at: NaiveDateTime,
}

impl ChatLogRecord {
    /// Makes the record storable whatever a user or a model put into it: Postgres `text` and `jsonb` cannot hold
    /// U+0000, and `model` is `VARCHAR(50)`. A record Postgres refuses would otherwise fail every batch it is in.
    pub fn make_storable(&mut self) {
        for text in [&mut self.question, &mut self.response, &mut self.model] {
            strip_nul(text);
        }
        let failure_text = self.failure.as_mut().and_then(RunFailure::text_mut);
        for text in [self.error.as_mut(), self.conversation_title.as_mut(), failure_text].into_iter().flatten() {
            strip_nul(text);
        }
        if self.model.chars().count() > MODEL_MAX_CHARS {
            self.model = self.model.chars().take(MODEL_MAX_CHARS).collect();
        }
        strip_nul_json(&mut self.tools_used);
        if let Some(checks) = self.checks.as_mut() {
            strip_nul_json(checks);
        }
    }
}

/// `chat_logs.model VARCHAR(50)`.
const MODEL_MAX_CHARS: usize = 50;

fn strip_nul(text: &mut String) {
    if text.contains('\0') {
        text.retain(|c| c != '\0');
    }
}

fn strip_nul_json(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::String(s) => strip_nul(s),
        Value::Array(items) => items.iter_mut().for_each(strip_nul_json),
        Value::Object(fields) => {
            if fields.keys().any(|k| k.contains('\0')) {
                *fields = std::mem::take(fields)
                    .into_iter()
                    .map(|(mut k, v)| {
                        strip_nul(&mut k);
                        (k, v)
                    })
                    .collect();
            }
            fields.values_mut().for_each(strip_nul_json);
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Whether Postgres refused a record for what it contains (SQLSTATE class 22, data exception, or 23, integrity
/// constraint violation), as opposed to being unreachable: retrying such a record can never succeed.
pub fn is_refused_data(e: &sqlx::Error) -> bool {
    e.as_database_error().and_then(|d| d.code()).is_some_and(|code| code.starts_with("22") || code.starts_with("23"))
}

/// Inserts `records` in one transaction: conversations first (created or touched, only for their owner), then
/// the logs. A record whose id already exists is skipped, so a replay can never duplicate a row.
/// Returns how many logs were newly inserted.
pub async fn insert_batch(conn: &mut PgConnection, records: &[ChatLogRecord]) -> Result<u64, sqlx::Error> {
    if records.is_empty() {
        return Ok(0);
    }
    let ids: Option<Vec<i64>> = records.iter().map(|r| r.id).collect();
    let ids = ids.ok_or_else(|| sqlx::Error::Protocol("chat-log record without an id".into()))?;
    let mut tx = sqlx::Connection::begin(conn).await?;
    let conversation_ids: Vec<Option<Uuid>> = records.iter().map(|r| r.conversation_id).collect();
    let user_ids: Vec<Uuid> = records.iter().map(|r| r.user_id).collect();
    let created: Vec<NaiveDateTime> = records.iter().map(|r| r.created_at).collect();
    let titles: Vec<Option<String>> = records.iter().map(|r| r.conversation_title.clone()).collect();
    sqlx::query(
        "INSERT INTO conversations (id, user_id, title, created_at, updated_at)
         SELECT DISTINCT ON (id) id, user_id, coalesce(title, 'Conversation'), created_at, created_at
         FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::timestamp[]) AS t(id, user_id, title, created_at)
         WHERE id IS NOT NULL
         ORDER BY id, created_at
         ON CONFLICT (id) DO UPDATE SET updated_at = greatest(conversations.updated_at, EXCLUDED.updated_at)
         WHERE conversations.user_id = EXCLUDED.user_id",
    )
    .bind(&conversation_ids)
    .bind(&user_ids)
    .bind(&titles)
    .bind(&created)
    .execute(&mut *tx)
    .await?;

    let inserted = sqlx::query(
        "INSERT INTO chat_logs (id, user_id, conversation_id, question, response, tools_used, input_tokens,
                                output_tokens, cache_creation_tokens, cache_read_tokens, cost, model, status, error,
                                duration_ms, created_at, checks, failure)
         SELECT t.id, t.user_id,
                -- Only the user's own conversation: a foreign id degrades to no conversation, never to theirs.
                (SELECT c.id FROM conversations c WHERE c.id = t.conversation_id AND c.user_id = t.user_id),
                t.question, t.response, t.tools_used, t.input_tokens, t.output_tokens, t.cache_creation_tokens,
                t.cache_read_tokens, t.cost, t.model, t.status, t.error, t.duration_ms, t.created_at, t.checks, t.failure
         FROM UNNEST($1::bigint[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::jsonb[], $7::int[], $8::int[],
                     $9::int[], $10::int[], $11::numeric[], $12::text[], $13::text[], $14::text[], $15::int[],
                     $16::timestamp[], $17::jsonb[], $18::jsonb[])
              AS t(id, user_id, conversation_id, question, response, tools_used, input_tokens, output_tokens,
                   cache_creation_tokens, cache_read_tokens, cost, model, status, error, duration_ms, created_at,
                   checks, failure)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(&ids)
    .bind(&user_ids)
    .bind(&conversation_ids)
    .bind(records.iter().map(|r| r.question.clone()).collect::<Vec<_>>())
    .bind(records.iter().map(|r| r.response.clone()).collect::<Vec<_>>())
    .bind(records.iter().map(|r| r.tools_used.clone()).collect::<Vec<_>>())
    .bind(records.iter().map(|r| r.input_tokens).collect::<Vec<_>>())
    .bind(records.iter().map(|r| r.output_tokens).collect::<Vec<_>>())
    .bind(records.iter().map(|r| r.cache_creation_tokens).collect::<Vec<_>>())
    .bind(records.iter().map(|r| r.cache_read_tokens).collect::<Vec<_>>())
    .bind(records.iter().map(|r| r.cost).collect::<Vec<_>>())
    .bind(records.iter().map(|r| r.model.clone()).collect::<Vec<_>>())
    .bind(records.iter().map(|r| r.status.as_str().to_owned()).collect::<Vec<_>>())
    .bind(records.iter().map(|r| r.error.clone()).collect::<Vec<_>>())
    .bind(records.iter().map(|r| r.duration_ms).collect::<Vec<_>>())
    .bind(&created)
    .bind(records.iter().map(|r| r.checks.clone()).collect::<Vec<_>>())
    .bind(records.iter().map(|r| r.failure.as_ref().and_then(|f| serde_json::to_value(f).ok())).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(inserted)
}

/// Gives every record without an id one from the table's sequence (one round trip for all of them).
pub async fn assign_missing_ids(conn: &mut PgConnection, records: &mut [ChatLogRecord]) -> Result<(), sqlx::Error> {
    let missing = records.iter().filter(|r| r.id.is_none()).count();
    if missing == 0 {
        return Ok(());
    }
    let fresh: Vec<i64> =
        sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence('chat_logs', 'id')) FROM generate_series(1, $1)")
            .bind(missing as i64)
            .fetch_all(conn)
            .await?;
    for (record, id) in records.iter_mut().filter(|r| r.id.is_none()).zip(fresh) {
        record.id = Some(id);
    }
    Ok(())
}

/// Inserts one record with a plain single-row statement (what batching is measured against in `bench/`).
pub async fn insert_one(conn: &mut PgConnection, r: &ChatLogRecord) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "INSERT INTO chat_logs (id, user_id, question, response, tools_used, input_tokens, output_tokens,
                                cache_creation_tokens, cache_read_tokens, cost, model, status, error, duration_ms,
                                created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT (id) DO NOTHING",
    )
    .bind(r.id)
    .bind(r.user_id)
    .bind(&r.question)
    .bind(&r.response)
    .bind(&r.tools_used)
    .bind(r.input_tokens)
    .bind(r.output_tokens)
    .bind(r.cache_creation_tokens)
    .bind(r.cache_read_tokens)
    .bind(r.cost)
    .bind(&r.model)
    .bind(r.status.as_str())
    .bind(&r.error)
    .bind(r.duration_ms)
    .bind(r.created_at)
    .execute(conn)
    .await?
    .rows_affected())
}
