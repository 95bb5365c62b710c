//! Operator metrics in the Prometheus text format at `GET /metrics`, through the `metrics` facade and its
//! Prometheus exporter (recorder only: the app serves the endpoint itself, behind its own access check).
//!
//! What is counted where it happens: runs by status, time to first token, run duration, tool durations by tool,
//! tokens and cost by model, admission refusals by reason. What is read at scrape time (no cost on the hot path):
//! the log writer (queue depth, spooled, flush latency), DuckDB query slots, the Postgres pool. Labels are bounded
//! (statuses, reasons, tool and model names; never a user).
//!
//! Access: requests that plainly started on this machine (loopback, no forwarding header), or any request with
//! `Authorization: Bearer $METRICS_TOKEN`.
use std::sync::OnceLock;
use std::time::Duration;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use crate::domain::RunStatus;
use crate::server::agent::llm::Usage;
use crate::server::state::AppState;

/// Latency buckets in seconds, for first tokens, tool calls and whole runs.
const SECONDS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];

/// The process-wide recorder (installed once; every app in a process — tests run many — shares it).
fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new();
        let builder = [
            "tradechat_run_duration_seconds",
            "tradechat_time_to_first_token_seconds",
            "tradechat_tool_duration_seconds",
        ]
        .into_iter()
        .fold(builder, |b, name| {
            b.set_buckets_for_metric(Matcher::Full(name.into()), SECONDS).unwrap_or_else(|_| PrometheusBuilder::new())
        });
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if let Err(e) = metrics::set_global_recorder(recorder) {
            tracing::warn!(error = %e, "another metrics recorder is installed; /metrics will stay empty");
        }
        handle
    })
}

/// Installs the recorder and keeps its histograms drained (the exporter's upkeep) until the process ends.
pub fn install() {
    let handle = handle();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            handle.run_upkeep();
        }
    });
}

/// A question refused at admission, by the limit that refused it (`rate`, `concurrency`, `daily`, `monthly`).
pub fn admission_refused(reason: &'static str) {
    counter!("tradechat_admission_refusals_total", "reason" => reason).increment(1);
}

/// What a run left behind, recorded when it ends.
pub struct RunRecord<'a> {
    /// How it ended.
    pub status: RunStatus,
    /// The model it used.
    pub model: &'a str,
    /// Its tokens.
    pub usage: Usage,
    /// What it cost, if the price is known.
    pub cost: Option<Decimal>,
    /// From start to end.
    pub duration: Duration,
    /// From start to the first text of the answer, if any came.
    pub first_token: Option<Duration>,
    /// `tools_used` as logged: `{"name", "duration_ms", …}`.
    pub tools: &'a [serde_json::Value],
}

/// Records a finished run.
pub fn run_ended(run: &RunRecord<'_>) {
    let model = run.model.to_owned();
    counter!("tradechat_runs_total", "status" => run.status.as_str()).increment(1);
    histogram!("tradechat_run_duration_seconds").record(run.duration.as_secs_f64());
    if let Some(first) = run.first_token {
        histogram!("tradechat_time_to_first_token_seconds").record(first.as_secs_f64());
    }
    for (kind, n) in [
        ("input", run.usage.input_tokens),
        ("output", run.usage.output_tokens),
        ("cache_write", run.usage.cache_creation_tokens),
        ("cache_read", run.usage.cache_read_tokens),
    ] {
        counter!("tradechat_tokens_total", "model" => model.clone(), "kind" => kind).increment(n);
    }
    if let Some(usd) = run.cost.and_then(|c| c.to_f64()) {
        // A counter of micro-dollars: integral, so sums are exact.
        counter!("tradechat_cost_microusd_total", "model" => model).increment((usd * 1e6).round() as u64);
    }
    for tool in run.tools {
        let (Some(name), Some(ms)) = (tool["name"].as_str(), tool["duration_ms"].as_f64()) else { continue };
        // Tool names come from the model: only ours are labels.
        let name = match name {
            "run_sql" | "describe_schema" | "make_chart" => name.to_owned(),
            _ => "other".to_owned(),
        };
        histogram!("tradechat_tool_duration_seconds", "tool" => name).record(ms / 1000.0);
    }
}

/// `GET /metrics`.
pub async fn endpoint(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if !allowed(&state, peer, &headers) {
        return (StatusCode::FORBIDDEN, "metrics are served to this machine or with the metrics token\n")
            .into_response();
    }
    scrape_time_gauges(&state);
    let body = handle().render();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
}

fn allowed(state: &AppState, peer: std::net::SocketAddr, headers: &HeaderMap) -> bool {
    let bearer =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    match (&state.config.metrics_token, bearer) {
        (Some(token), Some(given)) => bool::from(token.expose_secret().as_bytes().ct_eq(given.as_bytes())),
        _ => crate::server::auth::routes::is_local_request(peer, headers),
    }
}

/// Gauges read from the app's parts at scrape time.
fn scrape_time_gauges(state: &AppState) {
    let w = state.log_writer.metrics();
    gauge!("tradechat_log_writer_queue_depth").set(w.queue_depth as f64);
    gauge!("tradechat_log_writer_queue_capacity").set(w.queue_capacity as f64);
    gauge!("tradechat_log_writer_inserted").set(w.inserted as f64);
    gauge!("tradechat_log_writer_spooled").set(w.spooled as f64);
    gauge!("tradechat_log_writer_lost").set(w.lost as f64);
    gauge!("tradechat_log_writer_failed_flushes").set(w.failed_flushes as f64);
    gauge!("tradechat_log_writer_last_flush_seconds").set(w.last_flush_ms / 1000.0);
    gauge!("tradechat_log_writer_max_flush_seconds").set(w.max_flush_ms / 1000.0);
    gauge!("tradechat_log_writer_degraded").set(if w.degraded { 1.0 } else { 0.0 });
    let slots = state.duck.slots();
    gauge!("tradechat_duckdb_slots").set(slots.total as f64);
    gauge!("tradechat_duckdb_slots_in_use").set(slots.in_use as f64);
    gauge!("tradechat_duckdb_slot_waits").set(slots.waits as f64);
    gauge!("tradechat_postgres_pool_connections").set(f64::from(state.db.size()));
    gauge!("tradechat_postgres_pool_idle").set(state.db.num_idle() as f64);
    gauge!("tradechat_postgres_pool_max").set(f64::from(state.db.options().get_max_connections()));
    gauge!("tradechat_runs_in_progress").set(state.agent.runs.running() as f64);
}
