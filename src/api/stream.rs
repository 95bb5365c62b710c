//! The chat stream: what `POST /chat/stream` and `GET /chat/runs/{id}/events` send, as Server-Sent Events.
//!
//! Each event is `event: <kind>` + `id: <seq>` + `data: <json of RunEvent>` (kinds: `run_started`, `text_delta`,
//! `tool_call`, `tool_result`, `usage`, `checked`, `run_error`, `done`; `run_error` rather than `error`, which `EventSource`
//! reserves for connection failures); `seq` counts from 0 within a run,
//! so a client that reconnects with `?after=N` (or `Last-Event-ID: N-1`) gets every event from `N` on, once.
use serde::{Deserialize, Serialize};

/// A chart the UI draws from a query result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartSpec {
    /// `line`, `bar` or `candlestick`.
    pub kind: ChartKind,
    pub title: String,
    /// X-axis label (the x column).
    pub x_label: String,
    /// X values (dates as ISO strings, or categories).
    pub x: Vec<String>,
    /// Y series (line/bar): name and values; for candlestick, exactly `open`, `high`, `low`, `close`.
    pub series: Vec<ChartSeries>,
}

/// Chart kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChartKind {
    /// Lines over x.
    Line,
    /// Bars per x.
    Bar,
    /// OHLC candles over x.
    Candlestick,
}

/// One named series of numbers (`None` for missing values).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartSeries {
    /// Name (the column).
    pub name: String,
    /// Values, aligned with `x`.
    pub values: Vec<Option<f64>>,
}

/// A query result as the UI shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TablePreview {
    /// Column names.
    pub columns: Vec<String>,
    /// DuckDB types of the columns.
    pub types: Vec<String>,
    /// The first rows (JSON values).
    pub rows: Vec<Vec<serde_json::Value>>,
    /// Rows in the whole result.
    pub total_rows: u64,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunEnd {
    /// Finished.
    Ok,
    /// Failed (the partial answer is kept).
    Error,
    /// Stopped.
    Cancelled,
}

/// One event of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RunEvent {
    /// The run began.
    RunStarted {
        /// Run id (for re-attaching and stopping).
        run_id: uuid::Uuid,
        conversation_id: uuid::Uuid,
        /// Where it will be logged (⭐ works with it as soon as the run ends); `None` if no id could be reserved.
        chat_log_id: Option<i64>,
        /// The model answering (`offline-demo` for the offline model).
        model: String,
        question: String,
        /// Earlier exchanges sent as context (their `chat_log_id`s).
        context_ids: Vec<i64>,
    },
    /// More answer text.
    TextDelta {
        /// The text to append.
        text: String,
    },
    /// The agent called a tool.
    ToolCall {
        /// The model's id for this call; the matching `ToolResult` carries it.
        id: String,
        /// `run_sql`, `make_chart` or `describe_schema`.
        name: String,
        input: serde_json::Value,
    },
    /// A tool finished.
    ToolResult {
        /// The call this answers ([`RunEvent::ToolCall`]'s `id`).
        id: String,
        /// The tool's name, as in the call.
        name: String,
        /// Whether it succeeded.
        ok: bool,
        /// Wall time of the tool, milliseconds.
        duration_ms: u64,
        /// Rows the query returned in all (the preview may hold fewer).
        rows: Option<u64>,
        /// The first rows, for a table.
        preview: Option<TablePreview>,
        /// A chart to draw.
        chart: Option<ChartSpec>,
        /// The error, if it failed.
        error: Option<String>,
        /// Look-ahead warnings about the step's SQL (a window over FOLLOWING rows, a decision made with a later
        /// bar, …): shown on the step; the model was told too.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        warnings: Vec<String>,
    },
    /// Tokens so far.
    Usage {
        input_tokens: u64,
        output_tokens: u64,
        /// Prompt-cache writes.
        cache_creation_tokens: u64,
        /// Prompt-cache reads.
        cache_read_tokens: u64,
    },
    /// The answer's numbers, checked against its steps' rows (once the answer is complete, before `Done`).
    Checked { checks: super::AnswerChecks },
    /// Something went wrong; the run ends (after a `Done`).
    Error {
        /// What the user can read and do, in English (for API clients; the UI words `reason`).
        message: String,
        /// Why, as data. Absent in events relayed by an older build.
        #[serde(default)]
        reason: Option<super::reasons::RunFailure>,
    },
    /// The run ended. Always the last event.
    Done {
        status: RunEnd,
        /// The `chat_logs` id it is stored under (`None` if none could be reserved).
        chat_log_id: Option<i64>,
        /// Input tokens over all rounds.
        input_tokens: u64,
        /// Output tokens over all rounds.
        output_tokens: u64,
        /// USD as exact decimal text; `None` when the model's price is unknown.
        cost: Option<String>,
    },
}

impl RunEvent {
    /// The `run_error` event for `failure`: its English text for API clients, and the reason as data for the UI.
    pub fn failed(failure: &super::reasons::RunFailure) -> Self {
        Self::Error { message: failure.to_string(), reason: Some(failure.clone()) }
    }

    /// The SSE `event:` name.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::RunStarted { .. } => "run_started",
            Self::TextDelta { .. } => "text_delta",
            Self::ToolCall { .. } => "tool_call",
            Self::ToolResult { .. } => "tool_result",
            Self::Usage { .. } => "usage",
            Self::Checked { .. } => "checked",
            Self::Error { .. } => "run_error",
            Self::Done { .. } => "done",
        }
    }
}

/// `POST /chat/stream` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The question (1–8000 characters).
    pub message: String,
    /// The conversation to continue; a new one when absent.
    #[serde(default)]
    pub conversation_id: Option<uuid::Uuid>,
}

/// `POST /chat/stream` with `Accept: application/json`: the run was started; follow it at
/// `GET /chat/runs/{run_id}/events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunHandle {
    pub run_id: uuid::Uuid,
    pub conversation_id: uuid::Uuid,
}
