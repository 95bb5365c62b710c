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
//!
//! The same shapes are understood in Russian ("последняя цена NOVA", "доходность QBIT за 3 месяца", "лидеры роста",
//! "мой портфель", "VWAP по NOVA", "свечной график биткоина"), and answered in Russian.
//!
//! [`question`] reads a question, [`plan`] turns it into tool calls, [`answer`] writes the answer from their results;
//! this module is the model client around them.
mod answer;
mod plan;
mod question;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use self::question::{Intent, Lang};
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

    /// What `question` asks, with the instruments of the current data, and the language to answer in.
    async fn read(&self, question: &str) -> (Intent, Lang) {
        let symbols = question::symbols_in(question, &self.instruments().await);
        (question::intent(question, symbols), question::language(question))
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

    fn provider(&self) -> &'static str {
        "tradechat.offline"
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
                let (intent, lang) = self.read(&question).await;
                let (intro, calls) = match plan::plan(intent, lang) {
                    Some(plan) => plan,
                    None => {
                        let text = answer::capabilities(lang);
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
            let (intent, lang) = self.read(&question).await;
            answer::answer(intent, lang, &results)
        };
        self.stream(&text, on_text).await;
        Ok(ModelTurn {
            content: vec![Block::Text { text: text.clone() }],
            stop_reason: StopReason::EndTurn,
            usage: Usage { input_tokens, output_tokens: (text.len() / 4) as u64, ..Usage::default() },
        })
    }
}

/// A shared offline model.
pub fn shared(duck: Duck, word_delay: Duration) -> Arc<dyn LlmClient> {
    Arc::new(OfflineModel::new(duck, word_delay))
}
