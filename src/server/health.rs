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
    /// `ok` when every store answered, else `degraded`.
    pub status: &'static str,
    /// Postgres health.
    pub postgres: ComponentStatus,
    /// DuckDB health.
    pub duckdb: ComponentStatus,
}

/// `GET /healthz`: 200 when Postgres and DuckDB both answer, 503 otherwise; the body says which is down.
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let ((postgres, _), (duckdb, _)) = tokio::join!(probe_postgres(&state), probe_duckdb(&state));
    let ok = postgres.ok && duckdb.ok;
    let code = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(Health { status: if ok { "ok" } else { "degraded" }, postgres, duckdb }))
}

/// The status panel's data: both probes plus what each store holds.
pub async fn system_status(state: &AppState) -> StatusReport {
    let ((postgres, migrations_applied), (duckdb, duckdb_tables)) =
        tokio::join!(probe_postgres(state), probe_duckdb(state));
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
            (ComponentStatus { ok: false, detail: e.to_string(), latency_ms }, 0)
        }
        Err(_) => (ComponentStatus { ok: false, detail: "timed out".into(), latency_ms }, 0),
    }
}

async fn probe_duckdb(state: &AppState) -> (ComponentStatus, Vec<TableCount>) {
    let started = Instant::now();
    let outcome = tokio::time::timeout(PROBE_TIMEOUT, state.duck.probe()).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    match outcome {
        Ok(Ok((version, tables))) => {
            (ComponentStatus { ok: true, detail: format!("DuckDB {version}"), latency_ms }, tables)
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "duckdb health probe failed");
            (ComponentStatus { ok: false, detail: e.to_string(), latency_ms }, Vec::new())
        }
        Err(_) => (ComponentStatus { ok: false, detail: "timed out".into(), latency_ms }, Vec::new()),
    }
}
