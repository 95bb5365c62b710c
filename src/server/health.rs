//! Health: `/healthz` for load balancers and the status panel's server function.
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use crate::api::{ComponentStatus, StatusReport, TableCount};
use crate::server::state::AppState;

/// A probe that has not answered within this time counts as down.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// The `/healthz` body.
#[derive(Debug, Serialize)]
pub struct Health {
    /// `ok` when every store answered, `degraded` when one did not, `draining` while the server shuts down.
    pub status: &'static str,
    /// Postgres health.
    pub postgres: ComponentStatus,
    /// DuckDB health.
    pub duckdb: ComponentStatus,
}

/// What a probe that failed says publicly; the detail goes to the log.
const UNAVAILABLE: &str = "unavailable";

/// `GET /healthz`: 200 when Postgres and DuckDB both answer, 503 otherwise; the body says which is down (not why:
/// the reason may name files or hosts, so it is logged instead). Cheap: it never starts the DuckDB schema scan.
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let ((postgres, _), duckdb) = tokio::join!(probe_postgres(&state), probe_duckdb(&state));
    let ok = postgres.ok && duckdb.ok;
    // A draining instance answers 503 so load balancers stop sending it questions while it finishes its answers.
    let status = match (state.draining.is_cancelled(), ok) {
        (true, _) => "draining",
        (false, true) => "ok",
        (false, false) => "degraded",
    };
    let code = if status == "ok" { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(Health { status, postgres, duckdb }))
}

/// The status panel's data: both probes plus what each store holds. The DuckDB table counts come from the schema
/// summary; when it is being (re)computed and not ready within the probe timeout the list is empty this time, and
/// the scan goes on in the background (one scan, however many callers ask).
pub async fn system_status(state: &AppState) -> StatusReport {
    let ((postgres, migrations_applied), duckdb, duckdb_tables) =
        tokio::join!(probe_postgres(state), probe_duckdb(state), duckdb_tables(state));
    StatusReport {
        postgres,
        migrations_applied,
        duckdb,
        duckdb_tables,
        checked_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

async fn probe_postgres(state: &AppState) -> (ComponentStatus, i64) {
    let started = Instant::now();
    let outcome = tokio::time::timeout(PROBE_TIMEOUT, crate::server::store::probe(&state.db)).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    match outcome {
        Ok(Ok((version, applied))) => {
            (ComponentStatus { ok: true, detail: format!("PostgreSQL {version}"), latency_ms }, applied)
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "postgres health probe failed");
            (ComponentStatus { ok: false, detail: UNAVAILABLE.into(), latency_ms }, 0)
        }
        Err(_) => {
            tracing::warn!(timeout_ms = PROBE_TIMEOUT.as_millis(), "postgres health probe timed out");
            (ComponentStatus { ok: false, detail: "timed out".into(), latency_ms }, 0)
        }
    }
}

async fn probe_duckdb(state: &AppState) -> ComponentStatus {
    let started = Instant::now();
    // `ping` enforces the deadline itself (interrupting its query); the outer timeout also bounds waiting for a slot
    // and the unwinding.
    let outcome = tokio::time::timeout(PROBE_TIMEOUT, state.duck.ping(PROBE_TIMEOUT)).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    match outcome {
        Ok(Ok(version)) => ComponentStatus { ok: true, detail: format!("DuckDB {version}"), latency_ms },
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "duckdb health probe failed");
            ComponentStatus { ok: false, detail: UNAVAILABLE.into(), latency_ms }
        }
        Err(_) => {
            tracing::warn!(timeout_ms = PROBE_TIMEOUT.as_millis(), "duckdb health probe timed out");
            ComponentStatus { ok: false, detail: "timed out".into(), latency_ms }
        }
    }
}

async fn duckdb_tables(state: &AppState) -> Vec<TableCount> {
    match tokio::time::timeout(PROBE_TIMEOUT, state.duck.table_counts()).await {
        Ok(Ok(tables)) => tables,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "duckdb table counts unavailable");
            Vec::new()
        }
        Err(_) => {
            tracing::info!("duckdb schema scan still running; table counts shown once it is done");
            Vec::new()
        }
    }
}
