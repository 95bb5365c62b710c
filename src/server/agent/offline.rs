//! The offline demo model (`offline-demo`, cost 0): what runs when `ANTHROPIC_API_KEY` is unset, and what the
//! end-to-end tests use. It is not a language model: it recognises a documented set of question shapes, calls the
//! same tools through the same agent loop as Claude would, and writes its answer from the tool results. Anything
//! else gets a plain statement of what it can do.
//!
//! Question shapes (symbols by ticker or name, e.g. `NOVA`, `bitcoin`):
//! - latest price — "latest price of NOVA", "where is BTC trading";
//! - returns over a period — "30-day return of QBIT", "performance of NOVA and SEMX over 3 months", "YTD";
//! - top movers — "top movers today", "biggest gainers";
//! - portfolio P&L — "how is my portfolio doing", "positions", "P&L";
//! - VWAP — "VWAP of NOVA";
//! - charts — "chart NOVA", "candlestick chart of ETH".
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::llm::{Block, LlmClient, LlmError, ModelRequest, ModelTurn, Role, StopReason, TextSink, Usage};
use crate::server::duck::{Duck, FileStamp};

/// (symbol, lower-case name) of every instrument.
type Instruments = Arc<Vec<(String, String)>>;

/// The model name it logs under.
pub const OFFLINE_MODEL: &str = "offline-demo";

/// The offline demo model.
pub struct OfflineModel {
    duck: Duck,
    /// The instruments, read once per version of the DuckDB file (a failed read is not kept: the next question
    /// tries again).
    instruments: Mutex<Option<(FileStamp, Instruments)>>,
    /// Pause between streamed words (so the UI streams like with a real model).
    word_delay: Duration,
}

enum Intent {
    Price(Vec<String>),
    Returns(Vec<String>, u32, String),
    Movers,
    Portfolio,
    Vwap(Vec<String>),
    Chart(Vec<String>, bool),
    Unknown,
}

impl OfflineModel {
    /// A model reading instruments from `duck`, streaming a word every `word_delay`.
    pub fn new(duck: Duck, word_delay: Duration) -> Self {
        Self { duck, instruments: Mutex::new(None), word_delay }
    }

    /// The instruments of the current file version; none while the file cannot be read.
    async fn instruments(&self) -> Instruments {
        let stamp = match self.duck.file_stamp() {
            Ok(stamp) => stamp,
            Err(e) => {
                tracing::debug!(error = %e, "offline model: no instruments");
                return Instruments::default();
            }
        };
        if let Some((at, cached)) = self.instruments.lock().unwrap_or_else(|p| p.into_inner()).as_ref()
            && *at == stamp
        {
            return Arc::clone(cached);
        }
        let sql = "SELECT symbol, lower(name) FROM instruments ORDER BY symbol";
        match self.duck.query(sql, 10_000).await {
            Ok(r) => {
                let read: Instruments = Arc::new(
                    r.rows
                        .iter()
                        .filter_map(|row| Some((row.first()?.as_str()?.to_owned(), row.get(1)?.as_str()?.to_owned())))
                        .collect(),
                );
                *self.instruments.lock().unwrap_or_else(|p| p.into_inner()) = Some((stamp, Arc::clone(&read)));
                read
            }
            Err(e) => {
                tracing::warn!(error = %e, "offline model: reading the instruments failed");
                Instruments::default()
            }
        }
    }

    async fn symbols_in(&self, question: &str) -> Vec<String> {
        let lower = question.to_lowercase();
        let words: Vec<String> = lower
            .split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '.'))
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        let mut found = Vec::new();
        let instruments = self.instruments().await;
        for (symbol, name) in instruments.iter() {
            let sym = symbol.to_lowercase();
            let base = sym.split('-').next().unwrap_or(&sym).to_owned();
            let first_name_word = name.split_whitespace().next().unwrap_or_default();
            let hit = words.iter().any(|w| *w == sym || (base.len() >= 3 && *w == base && symbol.contains('-')))
                || (first_name_word.len() >= 4 && words.iter().any(|w| w == first_name_word));
            if hit && !found.contains(symbol) {
                found.push(symbol.clone());
            }
        }
        found
    }

    async fn intent(&self, question: &str) -> Intent {
        let q = question.to_lowercase();
        let has = |words: &[&str]| words.iter().any(|w| q.contains(w));
        let symbols = self.symbols_in(question).await;
        if has(&["chart", "plot", "graph", "candle"]) && !symbols.is_empty() {
            return Intent::Chart(symbols, q.contains("candle"));
        }
        if has(&["portfolio", "p&l", "pnl", "position", "holding", "my account"]) {
            return Intent::Portfolio;
        }
        if has(&["mover", "gainer", "loser", "biggest move"]) {
            return Intent::Movers;
        }
        if symbols.is_empty() {
            return Intent::Unknown;
        }
        if q.contains("vwap") {
            return Intent::Vwap(symbols);
        }
        if has(&[
            "return",
            "performance",
            "perform",
            "change",
            "gain",
            "ytd",
            "over the last",
            "over 1",
            "over 2",
            "over 3",
            "over 6",
        ]) {
            let (days, label) = period(&q);
            return Intent::Returns(symbols, days, label);
        }
        if has(&["price", "close", "quote", "trading", "worth", "last", "latest", "how much"]) {
            return Intent::Price(symbols);
        }
        Intent::Price(symbols)
    }

    /// Streams `text` a word at a time.
    async fn stream(&self, text: &str, on_text: TextSink<'_>) {
        let mut first = true;
        for piece in text.split_inclusive(' ') {
            if !first {
                tokio::time::sleep(self.word_delay).await;
            }
            first = false;
            on_text(piece);
        }
    }
}

fn list(symbols: &[String]) -> String {
    symbols.iter().map(|s| format!("'{}'", s.replace('\'', "''"))).collect::<Vec<_>>().join(", ")
}

/// The period of a returns question in days, and how to say it.
fn period(q: &str) -> (u32, String) {
    if q.contains("ytd") || q.contains("year to date") || q.contains("this year") {
        return (0, "year to date".into());
    }
    let words: Vec<&str> = q.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    for pair in words.windows(2) {
        let n = pair[0].parse::<u32>().ok().or_else(|| pair[0].strip_suffix("d").and_then(|d| d.parse().ok()));
        if let Some(n) = n {
            let (days, unit) = match pair[1] {
                u if u.starts_with("day") => (n, "day"),
                u if u.starts_with("week") => (n * 7, "week"),
                u if u.starts_with("month") => (n * 30, "month"),
                u if u.starts_with("year") => (n * 365, "year"),
                _ => continue,
            };
            return (days.clamp(1, 3650), format!("{n} {unit}{}", if n == 1 { "" } else { "s" }));
        }
        if let Some(n) = pair[0].strip_suffix('d').and_then(|d| d.parse::<u32>().ok()) {
            return (n.clamp(1, 3650), format!("{n} days"));
        }
    }
    for w in &words {
        if let Some(n) = w.strip_suffix('d').and_then(|d| d.parse::<u32>().ok()) {
            return (n.clamp(1, 3650), format!("{n} days"));
        }
    }
    if q.contains("month") {
        return (30, "1 month".into());
    }
    if q.contains("week") {
        return (7, "1 week".into());
    }
    if q.contains("year") {
        return (365, "1 year".into());
    }
    (30, "30 days".into())
}

fn tool(id: &str, name: &str, input: Value) -> Block {
    Block::ToolUse { id: id.into(), name: name.into(), input }
}

/// The rows of a `run_sql` result as the model sees it: columns, then JSON rows.
fn parse_result(text: &str) -> (Vec<String>, Vec<Vec<Value>>) {
    let mut lines = text.lines();
    let columns = lines
        .next()
        .and_then(|l| l.strip_prefix("columns: "))
        .map(|l| l.split(", ").map(|c| c.split(' ').next().unwrap_or_default().to_owned()).collect())
        .unwrap_or_default();
    let rows = lines.filter(|l| l.starts_with('[')).filter_map(|l| serde_json::from_str(l).ok()).collect();
    (columns, rows)
}

fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "–".into(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => format!("{}", (f * 10_000.0).round() / 10_000.0),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

fn markdown_table(columns: &[String], rows: &[Vec<Value>]) -> String {
    let mut out =
        format!("| {} |\n|{}|\n", columns.join(" | "), columns.iter().map(|_| "---").collect::<Vec<_>>().join("|"));
    for row in rows {
        out.push_str(&format!("| {} |\n", row.iter().map(cell).collect::<Vec<_>>().join(" | ")));
    }
    out
}

fn approx_tokens(request: &ModelRequest) -> u64 {
    let chars: usize = request.system.len()
        + request.messages.iter().map(|m| serde_json::to_string(&m.content).map_or(0, |s| s.len())).sum::<usize>();
    (chars / 4) as u64
}

#[async_trait::async_trait]
impl LlmClient for OfflineModel {
    fn model(&self) -> &str {
        OFFLINE_MODEL
    }

    async fn complete(&self, request: &ModelRequest, on_text: TextSink<'_>) -> Result<ModelTurn, LlmError> {
        let input_tokens = approx_tokens(request);
        let last = request.messages.last();
        let results: Vec<(&str, bool)> = last
            .filter(|m| m.role == Role::User)
            .map(|m| {
                m.content
                    .iter()
                    .filter_map(|b| match b {
                        Block::ToolResult { content, is_error, .. } => Some((content.as_str(), *is_error)),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();

        let text = if results.is_empty() {
            let question = last
                .and_then(|m| {
                    m.content.iter().find_map(|b| if let Block::Text { text } = b { Some(text.clone()) } else { None })
                })
                .unwrap_or_default();
            if !request.tool_use || request.tools.is_empty() {
                "I could not finish looking this up.".to_owned()
            } else {
                let (intro, calls) = match self.plan(&question).await {
                    Some(plan) => plan,
                    None => {
                        let text = capabilities();
                        self.stream(&text, on_text).await;
                        return Ok(ModelTurn {
                            content: vec![Block::Text { text: text.clone() }],
                            stop_reason: StopReason::EndTurn,
                            usage: Usage { input_tokens, output_tokens: (text.len() / 4) as u64, ..Usage::default() },
                        });
                    }
                };
                self.stream(&intro, on_text).await;
                let mut content = vec![Block::Text { text: intro.clone() }];
                content.extend(calls);
                return Ok(ModelTurn {
                    content,
                    stop_reason: StopReason::ToolUse,
                    usage: Usage { input_tokens, output_tokens: (intro.len() / 4) as u64, ..Usage::default() },
                });
            }
        } else {
            let question = request
                .messages
                .iter()
                .rev()
                .filter(|m| m.role == Role::User)
                .find_map(|m| {
                    m.content.iter().find_map(|b| if let Block::Text { text } = b { Some(text.clone()) } else { None })
                })
                .unwrap_or_default();
            self.answer(&question, &results).await
        };
        self.stream(&text, on_text).await;
        Ok(ModelTurn {
            content: vec![Block::Text { text: text.clone() }],
            stop_reason: StopReason::EndTurn,
            usage: Usage { input_tokens, output_tokens: (text.len() / 4) as u64, ..Usage::default() },
        })
    }
}

fn capabilities() -> String {
    "I'm the **offline demo model**: no AI provider is configured (set `ANTHROPIC_API_KEY` to use Claude), so I can \
     only answer a few kinds of questions about the demo data:\n\n\
     - the latest price of a symbol — *\"latest price of NOVA\"*\n\
     - returns over a period — *\"30-day return of QBIT and SEMX\"*\n\
     - top movers — *\"top movers today\"*\n\
     - your demo portfolio — *\"how is my portfolio doing?\"*\n\
     - VWAP from minute bars — *\"VWAP of NOVA\"*\n\
     - charts — *\"chart BTC-USD\"* or *\"candlestick chart of NOVA\"*\n\n\
     I can't answer this question as asked."
        .into()
}

impl OfflineModel {
    /// The first turn: a sentence and the tool calls for the question, or `None` if it is not a known shape.
    async fn plan(&self, question: &str) -> Option<(String, Vec<Block>)> {
        let intent = self.intent(question).await;
        let plan = match intent {
            Intent::Unknown => return None,
            Intent::Price(symbols) => (
                format!("Looking up the latest daily bar for {}.", symbols.join(", ")),
                vec![tool(
                    "offline_1",
                    "run_sql",
                    json!({"sql": format!(
                    "SELECT symbol, date, open, high, low, close, volume FROM daily_bars WHERE symbol IN ({}) \
                     QUALIFY row_number() OVER (PARTITION BY symbol ORDER BY date DESC) = 1 ORDER BY symbol", list(&symbols))}),
                )],
            ),
            Intent::Returns(symbols, days, label) => {
                let window = if days == 0 {
                    "date >= date_trunc('year', last.d)".to_owned()
                } else {
                    format!("date >= last.d - INTERVAL {days} DAY")
                };
                (
                    format!("Computing the {label} return of {}.", symbols.join(", ")),
                    vec![tool(
                        "offline_1",
                        "run_sql",
                        json!({"sql": format!(
                        "WITH last AS (SELECT max(date) AS d FROM daily_bars WHERE symbol IN ({s})), \
                         w AS (SELECT symbol, date, close FROM daily_bars, last WHERE symbol IN ({s}) AND {window}) \
                         SELECT symbol, min(date) AS from_date, max(date) AS to_date, arg_min(close, date) AS start_close, \
                         arg_max(close, date) AS end_close, round(100 * (arg_max(close, date) / arg_min(close, date) - 1), 2) AS return_pct \
                         FROM w GROUP BY symbol ORDER BY return_pct DESC", s = list(&symbols))}),
                    )],
                )
            }
            Intent::Movers => (
                "Finding the biggest moves of the latest trading day.".into(),
                vec![tool(
                    "offline_1",
                    "run_sql",
                    json!({"sql":
                    "WITH r AS (SELECT symbol, date, close, close / lag(close) OVER (PARTITION BY symbol ORDER BY date) - 1 AS ret \
                     FROM daily_bars) SELECT symbol, date, close, round(100 * ret, 2) AS change_pct FROM r \
                     WHERE date = (SELECT max(date) FROM daily_bars) AND ret IS NOT NULL ORDER BY abs(ret) DESC LIMIT 5"}),
                )],
            ),
            Intent::Portfolio => (
                "Summing up the positions and P&L of your accounts.".into(),
                vec![
                    tool(
                        "offline_1",
                        "run_sql",
                        json!({"sql":
                        "SELECT a.name AS account, count(*) FILTER (WHERE p.quantity > 0) AS open_positions, \
                         round(sum(p.market_value), 2) AS market_value, round(sum(p.total_pnl), 2) AS total_pnl \
                         FROM positions p JOIN accounts a USING (account_id) GROUP BY a.name ORDER BY a.name"}),
                    ),
                    tool(
                        "offline_2",
                        "run_sql",
                        json!({"sql":
                        "SELECT date, round(sum(pnl), 2) AS pnl FROM daily_pnl GROUP BY date ORDER BY date DESC LIMIT 1"}),
                    ),
                ],
            ),
            Intent::Vwap(symbols) => (
                format!("Computing VWAP from minute bars for {}.", symbols.join(", ")),
                vec![tool(
                    "offline_1",
                    "run_sql",
                    json!({"sql": format!(
                    "SELECT symbol, CAST(ts AS DATE) AS day, round(sum(close * volume) / sum(volume), 4) AS vwap, sum(volume) AS volume \
                     FROM minute_bars WHERE symbol IN ({}) AND CAST(ts AS DATE) = (SELECT max(CAST(ts AS DATE)) FROM minute_bars) \
                     GROUP BY ALL ORDER BY symbol", list(&symbols))}),
                )],
            ),
            Intent::Chart(symbols, candles) => {
                let symbol = &symbols[0];
                let series = format!(
                    "SELECT date, open, high, low, close FROM (SELECT * FROM daily_bars WHERE symbol = '{}' ORDER BY date DESC LIMIT 90) ORDER BY date",
                    symbol.replace('\'', "''")
                );
                (
                    format!("Charting {symbol} over its last 90 trading days."),
                    vec![
                        tool(
                            "offline_1",
                            "run_sql",
                            json!({"sql": format!(
                            "WITH s AS ({series}) SELECT min(date) AS from_date, max(date) AS to_date, arg_min(close, date) AS first_close, \
                             arg_max(close, date) AS last_close, min(low) AS low, max(high) AS high FROM s")}),
                        ),
                        tool(
                            "offline_2",
                            "make_chart",
                            json!({
                                "sql": series,
                                "kind": if candles { "candlestick" } else { "line" },
                                "x": "date",
                                "y": ["close"],
                                "title": format!("{symbol} — last 90 trading days"),
                            }),
                        ),
                    ],
                )
            }
        };
        Some(plan)
    }

    /// The final turn: an answer written from the tool results.
    async fn answer(&self, question: &str, results: &[(&str, bool)]) -> String {
        if let Some((error, _)) = results.iter().find(|(_, is_error)| *is_error) {
            return format!("I could not get that from the database: {error}");
        }
        let (columns, rows) = parse_result(results[0].0);
        if rows.is_empty() && !matches!(self.intent(question).await, Intent::Chart(..)) {
            return "The database has no data for that (check the symbol and the dates covered).".into();
        }
        match self.intent(question).await {
            Intent::Price(_) => {
                let mut text = String::new();
                for row in &rows {
                    text.push_str(&format!(
                        "**{}** closed at **{}** on {} (open {}, high {}, low {}, volume {}).\n\n",
                        cell(&row[0]),
                        cell(&row[5]),
                        cell(&row[1]),
                        cell(&row[2]),
                        cell(&row[3]),
                        cell(&row[4]),
                        cell(&row[6])
                    ));
                }
                text.push_str("Prices are the latest daily bar in the database.");
                text
            }
            Intent::Returns(_, _, label) => format!(
                "Returns over the last {label}, close to close:\n\n{}\nThe window runs from {} to {}.",
                markdown_table(&columns, &rows),
                rows.first().map(|r| cell(&r[1])).unwrap_or_default(),
                rows.first().map(|r| cell(&r[2])).unwrap_or_default()
            ),
            Intent::Movers => format!(
                "The biggest moves on {} (close-to-close change):\n\n{}",
                rows.first().map(|r| cell(&r[1])).unwrap_or_default(),
                markdown_table(&columns, &rows)
            ),
            Intent::Portfolio => {
                let (_, pnl_rows) = results.get(1).map(|(t, _)| parse_result(t)).unwrap_or_default();
                let day = pnl_rows
                    .first()
                    .map(|r| {
                        format!("\n\nOn {} the portfolio's P&L for the day was **{}** USD.", cell(&r[0]), cell(&r[1]))
                    })
                    .unwrap_or_default();
                format!("Your demo accounts, valued at the latest close:\n\n{}{day}", markdown_table(&columns, &rows))
            }
            Intent::Vwap(_) => format!("VWAP from one-minute bars:\n\n{}", markdown_table(&columns, &rows)),
            Intent::Chart(symbols, _) => {
                let chart_note = results.get(1).map(|(t, _)| *t).unwrap_or_default();
                match rows.first() {
                    Some(r) => format!(
                        "Here is **{}** from {} to {}: it went from {} to {} (range {} – {}).\n\n{}",
                        symbols[0],
                        cell(&r[0]),
                        cell(&r[1]),
                        cell(&r[2]),
                        cell(&r[3]),
                        cell(&r[4]),
                        cell(&r[5]),
                        if chart_note.starts_with("Chart") { "The chart is above." } else { "" }
                    ),
                    None => format!("There is no price history for {} to chart.", symbols[0]),
                }
            }
            Intent::Unknown => capabilities(),
        }
    }
}

/// A shared offline model.
pub fn shared(duck: Duck, word_delay: Duration) -> Arc<dyn LlmClient> {
    Arc::new(OfflineModel::new(duck, word_delay))
}
