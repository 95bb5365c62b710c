//! System status: proves the page, Postgres and DuckDB are wired together.
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::AppError;

/// The health of one backing store, as shown on the status panel and served by `/healthz`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentStatus {
    /// Whether the store answered a query.
    pub ok: bool,
    /// Engine version when `ok`, else `unavailable` or `timed out` (the reason is in the server log, not here: it
    /// may name files or hosts).
    pub detail: String,
    /// Round-trip time of the probe query.
    pub latency_ms: f64,
}

/// A table and its row count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableCount {
    /// Qualified table name.
    pub name: String,
    /// Number of rows.
    pub rows: i64,
}

/// What the status panel shows: both stores' health plus a little of the data each holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    /// Postgres (Supabase or the local cluster).
    pub postgres: ComponentStatus,
    /// Migrations applied to Postgres.
    pub migrations_applied: i64,
    /// The DuckDB trading database.
    pub duckdb: ComponentStatus,
    /// Tables in the DuckDB database with their row counts.
    pub duckdb_tables: Vec<TableCount>,
    /// Server time when the status was taken (RFC 3339).
    pub checked_at: String,
}

/// Reports the health of Postgres and DuckDB, with a little data from each.
#[server(endpoint = "system_status")]
pub async fn system_status() -> Result<StatusReport, AppError> {
    crate::server::edge::anyone(async |state| Ok(crate::server::health::system_status(state).await)).await
}
