//! `conversations` and the exchanges in them, read as the user (row-level security applies).
use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::api::{ConversationSummary, Exchange, Page, SavedRef, page_window};
use crate::domain::RunStatus;

#[derive(sqlx::FromRow)]
struct SummaryRow {
    id: Uuid,
    title: Option<String>,
    updated_at: NaiveDateTime,
    exchanges: i64,
}

/// The user's conversations, most recently active first.
pub async fn recent(conn: &mut PgConnection, limit: u32) -> Result<Vec<ConversationSummary>, sqlx::Error> {
    let rows: Vec<SummaryRow> = sqlx::query_as(
        "SELECT v.id, v.title, v.updated_at, (SELECT count(*) FROM chat_logs l WHERE l.conversation_id = v.id) AS exchanges
         FROM conversations v ORDER BY v.updated_at DESC LIMIT $1",
    )
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ConversationSummary {
            id: r.id,
            title: r.title.unwrap_or_else(|| "Conversation".into()),
            updated_at: r.updated_at.and_utc(),
            exchanges: r.exchanges,
        })
        .collect())
}

/// The title of the user's conversation `id`, if it is theirs.
pub async fn title(conn: &mut PgConnection, id: Uuid) -> Result<Option<String>, sqlx::Error> {
    let row: Option<(Option<String>,)> =
        sqlx::query_as("SELECT title FROM conversations WHERE id = $1").bind(id).fetch_optional(conn).await?;
    Ok(row.map(|(title,)| title.unwrap_or_else(|| "Conversation".into())))
}

/// Whether the conversation exists for the user.
pub async fn is_visible(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM conversations WHERE id = $1)").bind(id).fetch_one(conn).await
}

#[derive(sqlx::FromRow)]
struct ExchangeRow {
    id: i64,
    conversation_id: Option<Uuid>,
    conversation_title: Option<String>,
    question: String,
    response: String,
    tools_used: Option<serde_json::Value>,
    checks: Option<serde_json::Value>,
    edits: Option<serde_json::Value>,
    model: Option<String>,
    input_tokens: Option<i32>,
    output_tokens: Option<i32>,
    cost: Option<Decimal>,
    status: String,
    error: Option<String>,
    failure: Option<serde_json::Value>,
    created_at: Option<NaiveDateTime>,
    saved_id: Option<i64>,
    saved_note: Option<String>,
}

impl From<ExchangeRow> for Exchange {
    fn from(r: ExchangeRow) -> Self {
        Self {
            chat_log_id: r.id,
            conversation_id: r.conversation_id,
            conversation_title: r.conversation_title,
            question: r.question,
            response: r.response,
            tools_used: r.tools_used.unwrap_or_else(|| serde_json::json!([])),
            // A stored check this build cannot read is shown as none, not as an error.
            checks: r.checks.and_then(|c| serde_json::from_value(c).ok()),
            edits: r.edits.and_then(|e| serde_json::from_value(e).ok()).unwrap_or_default(),
            model: r.model,
            input_tokens: r.input_tokens,
            output_tokens: r.output_tokens,
            cost: r.cost.map(|c| c.normalize().to_string()),
            status: RunStatus::parse(&r.status).unwrap_or(RunStatus::Error),
            error: r.error,
            failure: r.failure.and_then(|f| serde_json::from_value(f).ok()),
            created_at: r.created_at.unwrap_or_default().and_utc(),
            saved: r.saved_id.map(|id| SavedRef { id, note: r.saved_note }),
        }
    }
}

const EXCHANGE_COLUMNS: &str = "l.id, l.conversation_id, \
     (SELECT c.title FROM conversations c WHERE c.id = l.conversation_id) AS conversation_title, l.question, l.response, l.tools_used, l.checks, \
     (SELECT jsonb_agg(jsonb_build_object('step', e.step, 'sql', e.sql) ORDER BY e.step) FROM step_edits e \
      WHERE e.chat_log_id = l.id) AS edits, l.model, \
     l.input_tokens, l.output_tokens, l.cost, l.status, l.error, l.failure, l.created_at, s.id AS saved_id, s.note AS saved_note";

/// Every exchange of a conversation, oldest first, with its ⭐ state.
pub async fn exchanges(conn: &mut PgConnection, conversation_id: Uuid) -> Result<Vec<Exchange>, sqlx::Error> {
    let rows: Vec<ExchangeRow> = sqlx::query_as(&format!(
        "SELECT {EXCHANGE_COLUMNS} FROM chat_logs l
         LEFT JOIN saved_chats s ON s.chat_log_id = l.id AND s.user_id = l.user_id
         WHERE l.conversation_id = $1 ORDER BY l.created_at, l.id"
    ))
    .bind(conversation_id)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(Exchange::from).collect())
}

/// One exchange by id (whatever the caller may see).
pub async fn exchange_by_id(conn: &mut PgConnection, id: i64) -> Result<Option<Exchange>, sqlx::Error> {
    let row: Option<ExchangeRow> = sqlx::query_as(&format!(
        "SELECT {EXCHANGE_COLUMNS} FROM chat_logs l
         LEFT JOIN saved_chats s ON s.chat_log_id = l.id AND s.user_id = l.user_id WHERE l.id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Exchange::from))
}

/// The user's exchanges across conversations, newest first, optionally full-text matching `search`.
pub async fn search_exchanges(
    conn: &mut PgConnection,
    search: Option<&str>,
    page: u32,
    per_page: u32,
) -> Result<Page<Exchange>, sqlx::Error> {
    let search = search.map(str::trim).filter(|s| !s.is_empty());
    let (limit, offset) = page_window(page, per_page);
    let rows: Vec<ExchangeRow> = sqlx::query_as(&format!(
        "SELECT {EXCHANGE_COLUMNS} FROM chat_logs l
         LEFT JOIN saved_chats s ON s.chat_log_id = l.id AND s.user_id = l.user_id
         WHERE $1::text IS NULL
            OR to_tsvector('english', l.question || ' ' || l.response) @@ websearch_to_tsquery('english', $1)
            OR l.question ILIKE '%' || $1 || '%'
         ORDER BY l.created_at DESC, l.id DESC LIMIT $2 OFFSET $3"
    ))
    .bind(search)
    .bind(limit)
    .bind(offset)
    .fetch_all(conn)
    .await?;
    Ok(Page::from_window(rows.into_iter().map(Exchange::from).collect(), page, per_page))
}

/// The last `n` exchanges of a conversation that have an answer, oldest first: the model's context.
pub async fn context(
    conn: &mut PgConnection,
    conversation_id: Uuid,
    n: u32,
) -> Result<Vec<(i64, String, String)>, sqlx::Error> {
    // The model is told of the user's edits to a step's SQL with the answer they belong to.
    let mut rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT l.id, l.question, l.response || coalesce((
                    SELECT string_agg(format(E'\n\n(The user changed the SQL of step %s of this answer and ran it:\n'
                                             '```sql\n%s\n```)', e.step + 1, e.sql), '' ORDER BY e.step)
                    FROM step_edits e WHERE e.chat_log_id = l.id), '')
         FROM chat_logs l
         WHERE l.conversation_id = $1 AND l.response <> '' ORDER BY l.created_at DESC, l.id DESC LIMIT $2",
    )
    .bind(conversation_id)
    .bind(i64::from(n))
    .fetch_all(conn)
    .await?;
    rows.reverse();
    Ok(rows)
}

/// Renames the user's conversation; false if it is not theirs.
pub async fn rename(conn: &mut PgConnection, id: Uuid, title: &str) -> Result<bool, sqlx::Error> {
    let r = sqlx::query("UPDATE conversations SET title = $2 WHERE id = $1").bind(id).bind(title).execute(conn).await?;
    Ok(r.rows_affected() == 1)
}

/// Deletes the user's conversation (see `tradechat_delete_conversation`: its exchanges leave history, their text
/// is erased, their cost figures stay); false if it is not theirs.
pub async fn delete(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT tradechat_delete_conversation($1)").bind(id).fetch_one(conn).await
}
