//! The agent's tools: `describe_schema`, `run_sql` (through the guarded query layer) and `make_chart` (a query
//! result turned into a chart spec for the UI). Tool results are data for the model, size-capped; failures go back
//! as `is_error` results so the model can correct itself.
use crate::api::reasons::{Invalid, Limit};
use std::sync::{Arc, LazyLock};
use std::time::Instant;

use serde_json::{Value, json};

use super::llm::ToolSpec;
use crate::api::{AppError, ChartKind, ChartSeries, ChartSpec, TablePreview, ToolRerun};
use crate::server::duck::{Duck, QueryResult, SchemaSummary};
use crate::server::edge::Caller;

/// Rows the model sees of a result.
pub const MODEL_ROWS: usize = 50;
/// Bytes the model sees of a result.
pub const MODEL_BYTES: usize = 8_000;
/// Rows sent to the browser with a tool result (more on demand, up to the query layer's cap).
pub const PREVIEW_ROWS: usize = 100;

/// What a tool call produced.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutcome {
    /// The text the model receives.
    pub model_text: String,
    /// Whether it failed.
    pub is_error: bool,
    /// Rows of the result, if a query ran.
    pub rows: Option<u64>,
    /// The first rows for the UI.
    pub preview: Option<TablePreview>,
    /// A chart for the UI.
    pub chart: Option<ChartSpec>,
    /// Wall time.
    pub duration_ms: u64,
    /// Look-ahead warnings about the step's SQL.
    pub warnings: Vec<String>,
    /// The base tables its SQL read (for "data as of").
    pub tables: Vec<String>,
}

impl ToolOutcome {
    fn error(message: String, started: Instant) -> Self {
        Self {
            model_text: message,
            is_error: true,
            rows: None,
            preview: None,
            chart: None,
            duration_ms: started.elapsed().as_millis() as u64,
            warnings: Vec::new(),
            tables: Vec::new(),
        }
    }
}

/// The tools' input schemas and descriptions, built once: every model round of every run offers the same ones.
pub fn specs() -> Arc<[ToolSpec]> {
    static SPECS: LazyLock<Arc<[ToolSpec]>> = LazyLock::new(|| build_specs().into());
    Arc::clone(&SPECS)
}

fn build_specs() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "describe_schema".into(),
            description: "Describe the DuckDB database: tables and views, columns with types and comments, row counts \
                          and sample values. Pass `table` for one table only."
                .into(),
            input_schema: json!({"type": "object", "properties": {"table": {"type": "string"}}}),
        },
        ToolSpec {
            name: "run_sql".into(),
            description:
                "Run ONE read-only DuckDB SQL query (SELECT/WITH/…) and get the result. The model sees up to 50 \
                          rows; aggregate and filter in SQL. Files, extensions and writes are not available."
                    .into(),
            input_schema: json!({
                "type": "object",
                "properties": {"sql": {"type": "string", "description": "One DuckDB SELECT statement"}},
                "required": ["sql"]
            }),
        },
        ToolSpec {
            name: "make_chart".into(),
            description: "Draw a chart for the user from a read-only SQL query. kind: line or bar (x plus one or more \
                          numeric y columns) or candlestick (x plus open, high, low, close columns). Order rows by x."
                .into(),
            input_schema: json!({
                "type": "object",
                "properties": {
                    "sql": {"type": "string"},
                    "kind": {"type": "string", "enum": ["line", "bar", "candlestick"]},
                    "x": {"type": "string", "description": "The x column (usually a date)"},
                    "y": {"type": "array", "items": {"type": "string"}, "description": "Numeric columns (line/bar)"},
                    "title": {"type": "string"}
                },
                "required": ["sql", "kind", "x", "title"]
            }),
        },
    ]
}

/// Runs the tool `name` with `input`.
pub async fn execute(duck: &Duck, schema: &Arc<SchemaSummary>, name: &str, input: &Value) -> ToolOutcome {
    let started = Instant::now();
    match name {
        "describe_schema" => {
            let text = match input.get("table").and_then(Value::as_str) {
                Some(table) => match schema.relation(table) {
                    Some(r) => SchemaSummary::relation_prompt(r),
                    None => {
                        let names: Vec<&str> = schema.relations.iter().map(|r| r.name.as_str()).collect();
                        return ToolOutcome::error(
                            format!("No table or view named {table:?}. Available: {}.", names.join(", ")),
                            started,
                        );
                    }
                },
                None => schema.to_prompt().to_string(),
            };
            ToolOutcome {
                model_text: cap(text, MODEL_BYTES * 2),
                is_error: false,
                rows: None,
                preview: None,
                chart: None,
                duration_ms: started.elapsed().as_millis() as u64,
                warnings: Vec::new(),
                tables: Vec::new(),
            }
        }
        "run_sql" => {
            let Some(sql) = input.get("sql").and_then(Value::as_str) else {
                return ToolOutcome::error("run_sql needs a `sql` string.".into(), started);
            };
            match duck.query(sql, PREVIEW_ROWS).await {
                Ok(result) => ToolOutcome {
                    model_text: result.for_model(MODEL_ROWS, MODEL_BYTES),
                    is_error: false,
                    rows: Some(result.total_rows),
                    preview: Some(preview(&result, PREVIEW_ROWS)),
                    chart: None,
                    duration_ms: started.elapsed().as_millis() as u64,
                    warnings: result.warnings.clone(),
                    tables: result.tables.clone(),
                },
                Err(e) => ToolOutcome::error(e.to_string(), started),
            }
        }
        "make_chart" => make_chart(duck, input, started).await,
        other => ToolOutcome::error(format!("There is no tool named {other:?}."), started),
    }
}

/// A `run_sql` or `make_chart` step run again for `caller`'s screen (a stored answer's table or chart, or more rows
/// of a live one), through the same guard, at most one at a time per user so nobody holds every DuckDB slot.
pub async fn rerun(caller: &Caller, name: &str, input: &str, rows: u32) -> Result<ToolRerun, AppError> {
    let state = &caller.state;
    let _entered = state
        .agent
        .reruns
        .try_enter(caller.identity.user_id)
        .ok_or(AppError::RateLimited { limit: Limit::OneAtATime, retry_after_secs: 1 })?;
    let input: Value =
        serde_json::from_str(input).map_err(|e| AppError::Invalid(Invalid::Request(format!("tool input: {e}"))))?;
    let sql = input.get("sql").and_then(Value::as_str).ok_or(AppError::Invalid(Invalid::StepHasNoSql))?;
    match name {
        "run_sql" => {
            let result = state.duck.query(sql, rows as usize).await?;
            Ok(ToolRerun { preview: Some(preview(&result, rows as usize)), chart: None, warnings: result.warnings })
        }
        "make_chart" => {
            let schema = state.duck.schema().await?;
            let outcome = execute(&state.duck, &schema, "make_chart", &input).await;
            if outcome.is_error {
                return Err(AppError::Invalid(Invalid::Query(outcome.model_text)));
            }
            Ok(ToolRerun { preview: outcome.preview, chart: outcome.chart, warnings: outcome.warnings })
        }
        other => Err(AppError::Invalid(Invalid::StepNotRerunnable(other.to_string()))),
    }
}

/// The first `rows` rows of a result as the UI shows them.
pub fn preview(result: &QueryResult, rows: usize) -> TablePreview {
    TablePreview {
        columns: result.columns.iter().map(|c| c.name.clone()).collect(),
        types: result.columns.iter().map(|c| c.type_name.clone()).collect(),
        rows: result.rows.iter().take(rows).cloned().collect(),
        total_rows: result.total_rows,
    }
}

fn cap(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str("\n[truncated]");
    }
    text
}

/// A number from a JSON value (numbers, and numeric strings such as exact decimals).
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

async fn make_chart(duck: &Duck, input: &Value, started: Instant) -> ToolOutcome {
    let field = |name: &str| input.get(name).and_then(Value::as_str).map(str::to_owned);
    let (Some(sql), Some(kind), Some(x)) = (field("sql"), field("kind"), field("x")) else {
        return ToolOutcome::error("make_chart needs `sql`, `kind` and `x`.".into(), started);
    };
    let kind = match kind.as_str() {
        "line" => ChartKind::Line,
        "bar" => ChartKind::Bar,
        "candlestick" => ChartKind::Candlestick,
        other => {
            return ToolOutcome::error(format!("Unknown chart kind {other:?}; use line, bar or candlestick."), started);
        }
    };
    let title = field("title").unwrap_or_else(|| "Chart".into());
    let result = match duck.query(&sql, crate::server::duck::MAX_FETCH_ROWS).await {
        Ok(r) => r,
        Err(e) => return ToolOutcome::error(e.to_string(), started),
    };
    let column = |name: &str| result.columns.iter().position(|c| c.name.eq_ignore_ascii_case(name));
    let Some(x_index) = column(&x) else {
        let names: Vec<&str> = result.columns.iter().map(|c| c.name.as_str()).collect();
        return ToolOutcome::error(format!("The result has no column {x:?}; it has {}.", names.join(", ")), started);
    };
    let y_names: Vec<String> = match kind {
        ChartKind::Candlestick => ["open", "high", "low", "close"].map(String::from).to_vec(),
        _ => {
            let given: Vec<String> = input
                .get("y")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default();
            if given.is_empty() {
                result.columns.iter().enumerate().filter(|(i, _)| *i != x_index).map(|(_, c)| c.name.clone()).collect()
            } else {
                given
            }
        }
    };
    let mut series = Vec::new();
    for name in &y_names {
        let Some(i) = column(name) else {
            return ToolOutcome::error(format!("The result has no column {name:?} for the chart."), started);
        };
        series.push(ChartSeries { name: name.clone(), values: result.rows.iter().map(|r| number(&r[i])).collect() });
    }
    if series.iter().all(|s| s.values.iter().all(Option::is_none)) {
        return ToolOutcome::error("The y columns hold no numbers to chart.".into(), started);
    }
    let xs: Vec<String> = result.rows.iter().map(|r| text(&r[x_index])).collect();
    let summary = format!(
        "Chart \"{title}\" ({}) drawn for the user: {} points from {} to {}; series {}.{}",
        serde_json::to_string(&kind).unwrap_or_default().trim_matches('"'),
        xs.len(),
        xs.first().map_or("-", String::as_str),
        xs.last().map_or("-", String::as_str),
        y_names.join(", "),
        if result.truncated() { " Only the first 10 000 rows are drawn." } else { "" }
    );
    let summary = match result.warnings_for_model() {
        warnings if warnings.is_empty() => summary,
        warnings => format!("{summary}\n{}", warnings.trim_end()),
    };
    ToolOutcome {
        model_text: summary,
        is_error: false,
        rows: Some(result.total_rows),
        preview: Some(preview(&result, PREVIEW_ROWS)),
        chart: Some(ChartSpec { kind, title, x_label: result.columns[x_index].name.clone(), x: xs, series }),
        duration_ms: started.elapsed().as_millis() as u64,
        warnings: result.warnings.clone(),
        tables: result.tables.clone(),
    }
}
