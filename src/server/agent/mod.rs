//! The agent: a fresh [`TradingAgent`] per question, a model behind [`llm::LlmClient`] (Anthropic, or the offline
//! demo model), tools over DuckDB, runs decoupled from connections, and the cost of every run.
//!
//! - [`llm`] — the model interface; [`anthropic`] — the Messages API client; [`openai`] — an OpenAI-compatible
//!   client for local models; [`offline`] — the demo model;
//! - [`tools`] — `describe_schema`, `run_sql`, `make_chart`; [`prices`] — the price table and cost;
//! - [`trading_agent`] — the tool loop; [`run`] — starting one (admission, context, the task that logs and settles
//!   it); [`runs`] — in-flight runs and re-attachment; [`retry`] — retrying a model call before it streamed;
//! - [`http`] — `POST /chat/stream`, `GET /chat/runs/{id}/events`, stop and active-run lookup;
//! - [`fake_anthropic`] — a local Messages API stand-in for tests and benchmarks.
pub mod anthropic;
mod coalesce;
pub mod fake_anthropic;
pub mod gate;
pub mod http;
pub mod llm;
pub mod offline;
pub mod openai;
pub mod prices;
pub mod relay;
pub mod retry;
pub mod run;
pub mod runs;
pub mod tools;
pub mod trading_agent;

use std::sync::Arc;

use anyhow::Context as _;

pub use run::start_run;
pub use trading_agent::{AgentLimits, RunOutput, TradingAgent};

use self::anthropic::{AnthropicClient, AnthropicConfig};
use self::llm::LlmClient;
use self::openai::{OpenAiClient, OpenAiConfig};
use self::prices::PriceTable;
use self::runs::RunRegistry;
use crate::server::config::{Config, Provider};
use crate::server::duck::Duck;
use crate::server::limits::settler::Settler;

/// What the agent needs beyond the app state: the (shared) model client, prices, limits and the runs.
pub struct AgentService {
    /// The model. Shared (it is a connection pool); the agent itself is built per request.
    pub llm: Arc<dyn LlmClient>,
    pub prices: PriceTable,
    /// Per-run limits.
    pub limits: AgentLimits,
    /// Earlier exchanges sent as context.
    pub context_exchanges: u32,
    /// In-flight runs of this instance.
    pub runs: Arc<RunRegistry>,
    /// Runs of every instance, through Postgres: remote readers, stops and leases.
    pub relay: relay::Relay,
    /// Table and chart reloads: one per user at a time.
    pub reruns: gate::UserGate,
    /// For alert webhooks.
    pub http: reqwest::Client,
    /// Settles ended runs' reservations and checks their users' alerts, in batches.
    pub settler: Settler,
}

impl AgentService {
    /// The configured provider's client: Anthropic, OpenAI-compatible, or the offline demo model.
    pub fn new(
        config: &Config,
        duck: &Duck,
        settler: Settler,
        http: reqwest::Client,
        runs: Arc<RunRegistry>,
        relay: relay::Relay,
    ) -> anyhow::Result<Self> {
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
            runs,
            relay,
            reruns: gate::UserGate::default(),
            http,
            settler,
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
