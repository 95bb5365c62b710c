//! The agent: a fresh [`TradingAgent`] per question, a model behind [`llm::LlmClient`] (Anthropic, or the offline
//! demo model), tools over DuckDB, runs decoupled from connections, and the cost of every run.
//!
//! - [`llm`] — the model interface; [`anthropic`] — the Messages API client; [`openai`] — an OpenAI-compatible
//!   client for local models; [`offline`] — the demo model;
//! - [`tools`] — `describe_schema`, `run_sql`, `make_chart`; [`prices`] — the price table and cost;
//! - [`trading_agent`] — the tool loop; [`runs`] — in-flight runs and re-attachment;
//! - [`http`] — `POST /chat/stream`, `GET /chat/runs/{id}/events`, stop and active-run lookup;
//! - [`fake_anthropic`] — a local Messages API stand-in for tests and benchmarks.
pub mod anthropic;
pub mod fake_anthropic;
pub mod gate;
pub mod http;
pub mod llm;
pub mod offline;
pub mod openai;
pub mod prices;
pub mod runs;
pub mod tools;
pub mod trading_agent;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use chrono::Utc;
use futures_util::FutureExt as _;
use uuid::Uuid;

pub use trading_agent::{AgentLimits, RunOutput, TradingAgent};

use self::anthropic::{AnthropicClient, AnthropicConfig};
use self::llm::LlmClient;
use self::openai::{OpenAiClient, OpenAiConfig};
use self::prices::PriceTable;
use self::runs::{Run, RunRegistry};
use crate::api::{AppError, ChatRequest, RunEnd, RunEvent};
use crate::domain::{Question, RunStatus};
use crate::server::auth::Identity;
use crate::server::config::{Config, Provider};
use crate::server::duck::Duck;
use crate::server::limits::admission::{self, AdmissionError};
use crate::server::limits::alerts;
use crate::server::state::AppState;
use crate::server::store::chat_logs::ChatLogRecord;
use crate::server::store::conversations;
use crate::server::store::scoped::ScopedTx;

/// What the agent needs beyond the app state: the (shared) model client, prices, limits and the runs.
pub struct AgentService {
    /// The model. Shared (it is a connection pool); the agent itself is built per request.
    pub llm: Arc<dyn LlmClient>,
    /// Prices.
    pub prices: PriceTable,
    /// Per-run limits.
    pub limits: AgentLimits,
    /// Earlier exchanges sent as context.
    pub context_exchanges: u32,
    /// In-flight runs.
    pub runs: RunRegistry,
    /// Table and chart reloads: one per user at a time.
    pub reruns: gate::UserGate,
    /// For alert webhooks.
    pub http: reqwest::Client,
}

impl AgentService {
    /// The configured provider's client: Anthropic, OpenAI-compatible, or the offline demo model.
    pub fn new(config: &Config, duck: &Duck) -> anyhow::Result<Self> {
        let llm_config = &config.llm;
        let llm: Arc<dyn LlmClient> = match (llm_config.provider, &llm_config.api_key, &llm_config.openai_base_url) {
            (Provider::Anthropic, Some(key), _) => Arc::new(
                AnthropicClient::new(AnthropicConfig {
                    api_key: key.clone(),
                    base_url: llm_config.base_url.clone(),
                    model: llm_config.model.clone(),
                    max_retries: 4,
                    retry_base: std::time::Duration::from_millis(500),
                    connect_timeout: std::time::Duration::from_secs(10),
                    silence_timeout: std::time::Duration::from_secs(90),
                })
                .context("building the Anthropic client")?,
            ),
            (Provider::OpenAi, _, Some(base_url)) => Arc::new(
                OpenAiClient::new(OpenAiConfig {
                    base_url: base_url.clone(),
                    api_key: llm_config.openai_api_key.clone(),
                    model: llm_config.model.clone(),
                    max_retries: 4,
                    retry_base: std::time::Duration::from_millis(500),
                    silence_timeout: std::time::Duration::from_secs(120),
                })
                .context("building the OpenAI-compatible client")?,
            ),
            _ => {
                tracing::info!(
                    "no model provider configured (ANTHROPIC_API_KEY or OPENAI_BASE_URL): answering with the offline demo model"
                );
                offline::shared(duck.clone(), llm_config.offline_word_delay)
            }
        };
        Ok(Self {
            llm,
            prices: PriceTable::with_overrides(llm_config.model_prices.as_deref())
                .map_err(|e| anyhow::anyhow!("MODEL_PRICES: {e}"))?,
            limits: AgentLimits {
                max_tool_rounds: llm_config.max_tool_rounds,
                max_tool_calls_per_round: 8,
                max_tokens: llm_config.max_tokens,
            },
            context_exchanges: llm_config.context_exchanges,
            runs: RunRegistry::default(),
            reruns: gate::UserGate::default(),
            http: reqwest::Client::builder().connect_timeout(std::time::Duration::from_secs(5)).build()?,
        })
    }

    /// The most one run can cost on `date`: every round producing `max_tokens` on a large input. Reserved against
    /// the user's budget before the run starts. Zero when the model's price is unknown (nothing to reserve with).
    pub fn worst_case_cost(&self, date: chrono::NaiveDate) -> rust_decimal::Decimal {
        use rust_decimal::Decimal;
        /// A generous input per round: schema, context and tool results.
        const INPUT_TOKENS_PER_ROUND: u32 = 30_000;
        match self.prices.price(self.llm.model(), date) {
            Some(p) => {
                let rounds = Decimal::from(self.limits.max_tool_rounds as u64 + 1);
                let per_round = Decimal::from(self.limits.max_tokens) * p.output_per_mtok
                    + Decimal::from(INPUT_TOKENS_PER_ROUND) * p.input_per_mtok;
                (rounds * per_round / Decimal::from(1_000_000u32)).round_dp(6)
            }
            None => Decimal::ZERO,
        }
    }
}

/// A conversation title from its first question.
fn title_of(question: &str) -> String {
    let one_line = question.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= 80 {
        one_line
    } else {
        format!("{}…", one_line.chars().take(79).collect::<String>())
    }
}

/// Starts a run for `identity`: validates the question, checks the conversation is theirs and reads its context
/// (one query, as the user), reserves the log id, and spawns the agent. Returns at once; the run goes on even if
/// the client disconnects.
pub async fn start_run(state: &AppState, identity: &Identity, request: ChatRequest) -> Result<Arc<Run>, AppError> {
    let question = Question::parse(&request.message)?;
    let service = &state.agent;
    let (conversation_id, history, is_new) = match request.conversation_id {
        Some(id) => {
            // A follow-up right after an answer: let the writer store that answer first, so it is in the context.
            let previous = service.runs.latest(identity.user_id, id);
            if let Some(log_id) = previous.as_ref().filter(|r| r.is_finished()).and_then(|r| r.chat_log_id()) {
                state.log_writer.wait_settled(log_id, std::time::Duration::from_secs(2)).await;
            }
            let mut tx = ScopedTx::as_user(&state.db, identity).await?;
            let visible = conversations::is_visible(&mut tx, id).await? || previous.is_some();
            if !visible {
                return Err(AppError::NotFound("That conversation".into()));
            }
            let history = conversations::context(&mut tx, id, service.context_exchanges).await?;
            tx.commit().await?;
            (id, history, false)
        }
        None => (Uuid::new_v4(), Vec::new(), true),
    };
    if service.runs.active(identity.user_id, conversation_id).is_some() {
        return Err(AppError::Invalid(
            "An answer is still being written in this conversation; wait for it or stop it.".into(),
        ));
    }
    let schema = state.duck.schema().await?;
    let today = Utc::now().date_naive();
    let run_id = Uuid::new_v4();
    admission::admit(&state.db, identity.user_id, run_id, service.worst_case_cost(today), &state.config.limits)
        .await
        .map_err(|e| match e {
        AdmissionError::Refused(r) => {
            AppError::RateLimited { message: r.message, retry_after_secs: r.retry_after_secs }
        }
        AdmissionError::Database(e) => AppError::from(e),
    })?;
    let chat_log_id = state.log_writer.reserve_id();
    let run = service.runs.create(run_id, identity.user_id, conversation_id);
    run.push(RunEvent::RunStarted {
        run_id: run.id,
        conversation_id,
        chat_log_id,
        model: service.llm.model().to_owned(),
        question: question.as_str().to_owned(),
        context_ids: history.iter().map(|(id, _, _)| *id).collect(),
    });

    let mut agent = TradingAgent::new(Arc::clone(&service.llm), state.duck.clone(), schema, service.limits, today);
    let reserved = service.worst_case_cost(today);
    if reserved > rust_decimal::Decimal::ZERO {
        // Another round may cost at most one round's share of the reservation.
        let per_round = reserved / rust_decimal::Decimal::from(service.limits.max_tool_rounds as u64 + 1);
        let (prices, model) = (service.prices.clone(), service.llm.model().to_owned());
        agent = agent.with_cost_cap(Box::new(move |usage: &llm::Usage| {
            prices.cost(&model, today, usage).is_some_and(|spent| spent + per_round > reserved)
        }));
    }
    let (state, user_id, task_run) = (state.clone(), identity.user_id, Arc::clone(&run));
    service.runs.spawn(async move {
        let run = task_run;
        let started = Instant::now();
        let created_at = Utc::now().naive_utc();
        let pairs: Vec<(String, String)> = history.into_iter().map(|(_, q, a)| (q, a)).collect();
        let emit = |event| run.push(event);
        // A bug in the loop must still end the run (clients waiting, the conversation unblocked) and log it.
        let output =
            match AssertUnwindSafe(agent.run(question.as_str(), &pairs, &emit, &run.cancel)).catch_unwind().await {
                Ok(output) => output,
                Err(_) => {
                    tracing::error!(run_id = %run.id, "the agent panicked; ending the run with an error");
                    RunOutput {
                        response: run.text(),
                        tools_used: Vec::new(),
                        usage: llm::Usage::default(),
                        status: RunStatus::Error,
                        error: Some("Something went wrong while writing this answer; please ask again.".into()),
                    }
                }
            };
        let model = state.agent.llm.model().to_owned();
        let cost = state.agent.prices.cost(&model, today, &output.usage);
        if let Some(message) = &output.error {
            run.push(RunEvent::Error { message: message.clone() });
        }
        let tokens = |n: u64| i32::try_from(n).ok();
        state
            .log_writer
            .enqueue(ChatLogRecord {
                id: chat_log_id,
                user_id,
                conversation_id: Some(conversation_id),
                conversation_title: is_new.then(|| title_of(question.as_str())),
                question: question.as_str().to_owned(),
                response: output.response.clone(),
                tools_used: serde_json::Value::Array(output.tools_used.clone()),
                input_tokens: tokens(output.usage.input_tokens),
                output_tokens: tokens(output.usage.output_tokens),
                cache_creation_tokens: tokens(output.usage.cache_creation_tokens),
                cache_read_tokens: tokens(output.usage.cache_read_tokens),
                cost,
                model,
                status: output.status,
                error: output.error.clone(),
                duration_ms: i32::try_from(started.elapsed().as_millis()).ok(),
                created_at,
            })
            .await;
        run.push(RunEvent::Done {
            status: match output.status {
                RunStatus::Ok => RunEnd::Ok,
                RunStatus::Error => RunEnd::Error,
                RunStatus::Cancelled => RunEnd::Cancelled,
            },
            chat_log_id,
            input_tokens: output.usage.input_tokens,
            output_tokens: output.usage.output_tokens,
            cost: cost.map(|c| c.normalize().to_string()),
        });
        settle_and_alert(&state, run.id, user_id, cost).await;
    });
    Ok(run)
}

/// After a run: its reservation settles to the real cost (retried briefly: an unsettled reservation keeps
/// counting at its worst case), then the cost alerts are checked. Neither delays the stream, which has ended.
async fn settle_and_alert(state: &AppState, run_id: Uuid, user_id: Uuid, cost: Option<rust_decimal::Decimal>) {
    let mut delay = std::time::Duration::from_millis(200);
    for attempt in 1..=5 {
        match admission::settle(&state.db, run_id, cost).await {
            Ok(()) => break,
            Err(e) if attempt < 5 => {
                tracing::warn!(error = %e, attempt, "settling the run's reservation failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(e) => {
                tracing::error!(error = %e, %run_id, "the run's reservation stays at its worst case until it expires");
                return;
            }
        }
    }
    if let Err(e) = alerts::check(&state.db, &state.agent.http, &state.config.limits, user_id).await {
        tracing::warn!(error = %e, "checking cost alerts failed");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn titles_are_one_line_and_short() {
        assert_eq!(super::title_of("latest\n price   of NOVA"), "latest price of NOVA");
        let long = "x".repeat(200);
        assert_eq!(super::title_of(&long).chars().count(), 80);
    }
}
