//! Files a signed-in user downloads:
//! - `GET /chat/conversations/{id}/export?format=markdown|json` — one of their conversations: every question and
//!   answer with its tool steps (SQL included) and figures (model, tokens, cost, duration);
//! - `POST /chat/results.csv` (form field `sql`) — every row a tool step's query returns, as CSV. The SQL goes
//!   through the same read-only guard, deadline and per-user one-at-a-time gate as the table reloads; the file is
//!   capped at [`CSV_MAX_BYTES`].
use crate::api::reasons::{Limit, Missing};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::api::{AppError, Exchange};
use crate::server::edge::CurrentUser;
use crate::server::state::AppState;
use crate::server::store::conversations;
use crate::server::store::scoped::ScopedTx;

/// The largest CSV download, in bytes.
pub const CSV_MAX_BYTES: usize = 64 * 1024 * 1024;

/// `?format=`.
#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    #[serde(default)]
    format: ExportFormat,
}

/// What a conversation is exported as.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// A readable document.
    #[default]
    Markdown,
    /// Everything, for programs.
    Json,
}

/// An exported conversation (the JSON format).
#[derive(Debug, Serialize)]
pub struct ConversationExport {
    pub id: Uuid,
    pub title: String,
    /// When the export was made.
    pub exported_at: DateTime<Utc>,
    /// Its exchanges, oldest first.
    pub exchanges: Vec<ExchangeExport>,
}

/// One question and answer, exported.
#[derive(Debug, Serialize)]
pub struct ExchangeExport {
    /// When it was asked.
    pub asked_at: DateTime<Utc>,
    pub question: String,
    /// The answer (Markdown).
    pub answer: String,
    /// `ok`, `error` or `cancelled`.
    pub status: &'static str,
    /// The error, when it failed.
    pub error: Option<String>,
    pub model: Option<String>,
    /// Input tokens over all rounds.
    pub input_tokens: Option<i32>,
    /// Output tokens over all rounds.
    pub output_tokens: Option<i32>,
    /// USD, exact decimal text (absent when the model's price is unknown).
    pub cost_usd: Option<String>,
    /// Tool steps in order: `{"name", "input" (the SQL for queries), "ok", "rows", "duration_ms"}`.
    pub steps: Vec<Value>,
}

impl From<Exchange> for ExchangeExport {
    fn from(e: Exchange) -> Self {
        Self {
            asked_at: e.created_at,
            question: e.question,
            answer: e.response,
            status: e.status.as_str(),
            error: e.error,
            model: e.model,
            input_tokens: e.input_tokens,
            output_tokens: e.output_tokens,
            cost_usd: e.cost,
            steps: e.tools_used.as_array().cloned().unwrap_or_default(),
        }
    }
}

impl ConversationExport {
    /// The conversation as a Markdown document.
    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "# {}\n\nExported from tradechat on {} · {} question{}\n",
            self.title,
            self.exported_at.format("%Y-%m-%d %H:%M UTC"),
            self.exchanges.len(),
            if self.exchanges.len() == 1 { "" } else { "s" }
        );
        for (i, e) in self.exchanges.iter().enumerate() {
            out.push_str(&format!("\n## {}. {}\n\n", i + 1, one_line(&e.question)));
            let mut figures = vec![e.asked_at.format("%Y-%m-%d %H:%M UTC").to_string()];
            figures.extend(e.model.clone());
            if let (Some(i), Some(o)) = (e.input_tokens, e.output_tokens) {
                figures.push(format!("{i} in / {o} out tokens"));
            }
            figures.extend(e.cost_usd.as_ref().map(|c| format!("${c}")));
            if e.status != "ok" {
                figures.push(e.status.to_owned());
            }
            out.push_str(&format!("*{}*\n\n", figures.join(" · ")));
            if e.question.contains('\n') {
                out.push_str(&format!("> {}\n\n", e.question.replace('\n', "\n> ")));
            }
            for (n, step) in e.steps.iter().enumerate() {
                out.push_str(&step_markdown(n + 1, step));
            }
            if !e.answer.is_empty() {
                out.push_str(e.answer.trim_end());
                out.push('\n');
            }
            if let Some(error) = &e.error {
                out.push_str(&format!("\n**Error:** {error}\n"));
            }
        }
        out
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A tool step: its name and figures, then its SQL (or input) in a fenced block.
fn step_markdown(n: usize, step: &Value) -> String {
    let name = step["name"].as_str().unwrap_or("tool");
    let mut figures = Vec::new();
    if step["ok"].as_bool() == Some(false) {
        figures.push("failed".to_owned());
    }
    if let Some(rows) = step["rows"].as_u64() {
        figures.push(format!("{rows} row{}", if rows == 1 { "" } else { "s" }));
    }
    if let Some(ms) = step["duration_ms"].as_u64() {
        figures.push(format!("{ms} ms"));
    }
    let mut out = format!(
        "**Step {n}: {name}**{}\n\n",
        if figures.is_empty() { String::new() } else { format!(" ({})", figures.join(", ")) }
    );
    match step["input"].get("sql").and_then(Value::as_str) {
        Some(sql) => out.push_str(&format!("```sql\n{}\n```\n\n", sql.trim_end())),
        None if !step["input"].is_null() => out.push_str(&format!("```json\n{}\n```\n\n", step["input"])),
        None => {}
    }
    out
}

/// A file name from a title: letters, digits and dashes.
fn file_name(title: &str, extension: &str) -> String {
    let slug: String = title
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .take(8)
        .collect::<Vec<_>>()
        .join("-");
    format!("{}.{extension}", if slug.is_empty() { "conversation".to_owned() } else { slug })
}

fn attachment(content_type: &'static str, name: &str, body: impl Into<axum::body::Body>) -> Response {
    // The name is ASCII letters, digits, dashes and a dot (see `file_name`): safe inside the quotes.
    let name: String = name.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')).collect();
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body.into(),
    )
        .into_response()
}

/// `GET /chat/conversations/{id}/export`.
pub async fn export_conversation(
    State(state): State<AppState>,
    CurrentUser(identity): CurrentUser,
    Path(id): Path<Uuid>,
    Query(query): Query<ExportQuery>,
) -> Result<Response, AppError> {
    let mut tx = ScopedTx::as_user(&state.db, &identity).await?;
    let title = conversations::title(&mut tx, id).await?.ok_or(AppError::NotFound(Missing::Conversation))?;
    let exchanges = conversations::exchanges(&mut tx, id).await?;
    tx.commit().await?;
    let export = ConversationExport {
        id,
        title,
        exported_at: Utc::now(),
        exchanges: exchanges.into_iter().map(ExchangeExport::from).collect(),
    };
    Ok(match query.format {
        ExportFormat::Markdown => {
            attachment("text/markdown; charset=utf-8", &file_name(&export.title, "md"), export.to_markdown())
        }
        ExportFormat::Json => {
            let json = serde_json::to_vec_pretty(&export).map_err(|e| {
                tracing::error!(error = %e, "serialising an export");
                AppError::Internal
            })?;
            attachment("application/json", &file_name(&export.title, "json"), json)
        }
    })
}

/// `POST /chat/results.csv` form.
#[derive(Debug, Deserialize)]
pub struct CsvForm {
    sql: String,
}

/// `POST /chat/results.csv`.
pub async fn results_csv(
    State(state): State<AppState>,
    CurrentUser(identity): CurrentUser,
    Form(form): Form<CsvForm>,
) -> Result<Response, AppError> {
    let _entered = state
        .agent
        .reruns
        .try_enter(identity.user_id)
        .ok_or(AppError::RateLimited { limit: Limit::OneAtATime, retry_after_secs: 1 })?;
    let csv = state.duck.query_csv(&form.sql, CSV_MAX_BYTES).await?;
    Ok(attachment("text/csv; charset=utf-8", "result.csv", csv))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_has_each_question_its_steps_with_sql_and_the_figures() {
        let export = ConversationExport {
            id: Uuid::nil(),
            title: "NOVA vs QBIT".into(),
            exported_at: DateTime::from_timestamp(1_764_547_200, 0).expect("time"),
            exchanges: vec![ExchangeExport {
                asked_at: DateTime::from_timestamp(1_764_547_200, 0).expect("time"),
                question: "30-day return of NOVA".into(),
                answer: "NOVA returned **4.2%**.".into(),
                status: "ok",
                error: None,
                model: Some("offline-demo".into()),
                input_tokens: Some(10),
                output_tokens: Some(5),
                cost_usd: Some("0".into()),
                steps: vec![
                    serde_json::json!({"name": "run_sql", "input": {"sql": "SELECT 1"}, "ok": true, "rows": 1, "duration_ms": 3}),
                ],
            }],
        };
        let md = export.to_markdown();
        assert!(md.starts_with("# NOVA vs QBIT\n"), "{md}");
        assert!(md.contains("## 1. 30-day return of NOVA"), "{md}");
        assert!(md.contains("offline-demo · 10 in / 5 out tokens · $0"), "{md}");
        assert!(md.contains("**Step 1: run_sql** (1 row, 3 ms)\n\n```sql\nSELECT 1\n```"), "{md}");
        assert!(md.contains("NOVA returned **4.2%**."), "{md}");
        assert_eq!(file_name("NOVA vs QBIT?", "md"), "nova-vs-qbit.md");
        assert_eq!(file_name("¿?", "json"), "conversation.json");
    }
}
