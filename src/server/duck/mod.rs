//! DuckDB: read-only access to the trading data, shared by the agent's tools and the status probe.
//!
//! - `connection` opens the file hardened (read-only, no external access, limits, locked configuration);
//! - [`Duck`] is the cheap, cloneable handle in the app state: it keeps one open database, hands out
//!   connections to blocking tasks, bounds how many queries run at once, and reopens the file when it changes.
mod connection;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tokio::sync::Semaphore;

use crate::api::TableCount;
use crate::server::config::DuckConfig;

/// Errors from the DuckDB layer.
#[derive(Debug, thiserror::Error)]
pub enum DuckError {
    /// The configured file does not exist.
    #[error(
        "DuckDB file {0} not found; generate the demo data with `tradechat generate-demo-data` or set DATABASE_PATH"
    )]
    Missing(PathBuf),
    /// DuckDB reported an error.
    #[error("{0}")]
    Engine(#[from] duckdb::Error),
    /// The blocking task running the query failed (panicked or was cancelled).
    #[error("query task failed: {0}")]
    Task(String),
}

/// Identifies one version of the database file, so a replaced file is reopened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
}

impl FileStamp {
    fn of(path: &std::path::Path) -> Result<Self, DuckError> {
        let meta = std::fs::metadata(path).map_err(|_| DuckError::Missing(path.to_path_buf()))?;
        Ok(Self { modified: meta.modified().ok(), len: meta.len() })
    }
}

struct Inner {
    config: DuckConfig,
    /// The open database and the file version it was opened at. Connections are cloned from it.
    open: Mutex<Option<(duckdb::Connection, FileStamp)>>,
    permits: Semaphore,
}

/// Handle to the DuckDB trading database. Clones share one open database.
#[derive(Clone)]
pub struct Duck {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Duck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Duck").field("path", &self.inner.config.path).finish_non_exhaustive()
    }
}

impl Duck {
    /// A handle for the configured file. Nothing is opened until the first query, so the server starts (and
    /// reports DuckDB as down on `/healthz`) even when the file is missing.
    pub fn new(config: DuckConfig) -> Self {
        let permits = Semaphore::new(config.max_concurrent_queries);
        Self { inner: Arc::new(Inner { config, open: Mutex::new(None), permits }) }
    }

    /// The settings this handle was made with.
    pub fn config(&self) -> &DuckConfig {
        &self.inner.config
    }

    /// Runs `work` on a connection of its own, on a blocking thread, once a concurrency permit is free.
    pub async fn run<T, F>(&self, work: F) -> Result<T, DuckError>
    where
        T: Send + 'static,
        F: FnOnce(&duckdb::Connection) -> Result<T, DuckError> + Send + 'static,
    {
        let _permit = self.inner.permits.acquire().await.map_err(|e| DuckError::Task(e.to_string()))?;
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let conn = inner.connection()?;
            work(&conn)
        })
        .await
        .map_err(|e| DuckError::Task(e.to_string()))?
    }

    /// DuckDB's version and the row count of every table: the DuckDB half of the status probe.
    pub async fn probe(&self) -> Result<(String, Vec<TableCount>), DuckError> {
        self.run(|conn| {
            let version: String = conn.query_row("SELECT version()", [], |r| r.get(0))?;
            let mut stmt = conn.prepare(
                "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal \
                 ORDER BY schema_name, table_name LIMIT 100",
            )?;
            let names = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            let mut tables = Vec::with_capacity(names.len());
            for (schema, table) in names {
                let sql = format!("SELECT count(*) FROM {}.{}", quote_ident(&schema), quote_ident(&table));
                let rows: i64 = conn.query_row(&sql, [], |r| r.get(0))?;
                let name = if schema == "main" { table } else { format!("{schema}.{table}") };
                tables.push(TableCount { name, rows });
            }
            Ok((version, tables))
        })
        .await
    }
}

impl Inner {
    /// A new connection to the current version of the file, (re)opening the database when needed.
    fn connection(&self) -> Result<duckdb::Connection, DuckError> {
        let stamp = FileStamp::of(&self.config.path)?;
        let mut open = self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match open.as_ref() {
            Some((conn, opened_at)) if *opened_at == stamp => Ok(conn.try_clone()?),
            _ => {
                let conn = connection::open_read_only(&self.config)?;
                let clone = conn.try_clone()?;
                *open = Some((conn, stamp));
                Ok(clone)
            }
        }
    }
}

/// Quotes an identifier for DuckDB SQL (names come from the catalog, but are quoted all the same).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
