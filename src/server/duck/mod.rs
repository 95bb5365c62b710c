//! DuckDB: read-only access to the trading data, for the agent's tools and the status probe.
//!
//! - `connection` opens the file hardened (read-only, no external access, limits, locked configuration);
//! - [`guard`] refuses anything but one read-only statement, lexically and with DuckDB's own parser;
//! - `query` runs a guarded statement and collects JSON-safe rows ([`values`] converts each DuckDB type);
//! - [`schema`] describes the database for the model;
//! - `stop` interrupts blocking work until it really ends;
//! - [`Duck`] is the cheap, cloneable handle in the app state: one open database, connections handed to blocking
//!   tasks, bounded concurrency, deadlines enforced by interrupting the query, the file reopened (and the schema
//!   recomputed, by one scan however many callers wait for it) when it changes on disk.
mod connection;
mod csv_export;
pub mod guard;
pub mod lookahead;
mod query;
pub mod schema;
mod session;
mod stop;
pub mod values;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use tokio::sync::Semaphore;

use stop::{FinishOnDrop, InterruptOnDrop, Stop};

pub use query::{Column, MAX_FETCH_ROWS, QueryResult};
pub use schema::SchemaSummary;
pub use session::Session;

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
    /// The statement guard refused the query.
    #[error(transparent)]
    Rejected(#[from] guard::Rejection),
    /// The query passed its deadline and was interrupted.
    #[error("{}", query::timeout_message(*.0))]
    Timeout(Duration),
    /// Every query slot stayed busy until the deadline.
    #[error("The database is busy with other queries; try again in a moment.")]
    Busy,
    /// DuckDB reported an error (binder, catalog, conversion …); its message is meant for people and models alike.
    #[error("{0}")]
    Engine(#[from] duckdb::Error),
    /// The blocking task running the query failed (panicked or was cancelled).
    #[error("query task failed: {0}")]
    Task(String),
    /// A result grew past its byte budget.
    #[error("The result is too large for {what} (over {limit} bytes); aggregate, filter or select fewer columns.")]
    TooLarge {
        /// The budget, in bytes.
        limit: usize,
        /// What it was for ("a CSV download", "the answer").
        what: &'static str,
    },
    /// The schema scan that several callers waited for failed with this error.
    #[error(transparent)]
    Shared(Arc<DuckError>),
}

/// Identifies one version of the database file (modification time and length), so a replaced file is reopened and
/// whatever was derived from the old one is recomputed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
}

impl FileStamp {
    fn of(path: &std::path::Path) -> Result<Self, DuckError> {
        let meta = std::fs::metadata(path).map_err(|_| DuckError::Missing(path.to_path_buf()))?;
        Ok(Self { modified: meta.modified().ok(), len: meta.len() })
    }
}

/// A schema scan's outcome, shared by everyone waiting for it.
type ScanOutcome = Result<Arc<SchemaSummary>, Arc<DuckError>>;

/// The schema summary of the last file version scanned, and the scan in flight, if any.
#[derive(Default)]
struct SchemaCache {
    /// The summary and the file version it describes. Failed scans are not cached.
    ready: Option<(FileStamp, Arc<SchemaSummary>)>,
    /// The scan running now and the file version it describes: later callers wait for it instead of scanning too.
    scanning: Option<(FileStamp, Shared<BoxFuture<'static, ScanOutcome>>)>,
}

struct Inner {
    config: DuckConfig,
    /// The file version opened last: its connections and plans.
    open: Mutex<Option<Arc<session::Version>>>,
    schema: Mutex<SchemaCache>,
    /// Query slots. A slot is held by the blocking task itself, so it stays taken until the query has really ended.
    permits: Arc<Semaphore>,
    /// Queries that found every slot taken and waited.
    waits: std::sync::atomic::AtomicU64,
}

/// DuckDB's query slots, for the operator's metrics.
#[derive(Debug, Clone, Copy)]
pub struct Slots {
    /// `DUCKDB_MAX_CONCURRENT_QUERIES`.
    pub total: usize,
    /// Held by a query now.
    pub in_use: usize,
    /// Queries so far that had to wait for one.
    pub waits: u64,
}

/// Longest a schema scan may take: it counts the rows of every table.
const SCHEMA_SCAN_DEADLINE: Duration = Duration::from_secs(120);
/// How long past its deadline a caller waits for the interrupted work to unwind before answering anyway.
const UNWIND_GRACE: Duration = Duration::from_secs(1);

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
        let permits = Arc::new(Semaphore::new(config.max_concurrent_queries));
        Self {
            inner: Arc::new(Inner {
                config,
                open: Mutex::new(None),
                schema: Mutex::new(SchemaCache::default()),
                permits,
                waits: std::sync::atomic::AtomicU64::new(0),
            }),
        }
    }

    /// The settings this handle was made with.
    pub fn config(&self) -> &DuckConfig {
        &self.inner.config
    }

    /// The query slots now.
    pub fn slots(&self) -> Slots {
        let total = self.inner.config.max_concurrent_queries;
        Slots {
            total,
            in_use: total.saturating_sub(self.inner.permits.available_permits()),
            waits: self.inner.waits.load(std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// The current version of the database file, for caches of what is derived from it.
    pub fn file_stamp(&self) -> Result<FileStamp, DuckError> {
        FileStamp::of(&self.inner.config.path)
    }

    /// Runs `work` on a connection of its own (lent for the work, then reused), on a blocking thread, once a
    /// concurrency slot is free, within `deadline`: past it the work is interrupted (again and again, until it ends)
    /// and [`DuckError::Timeout`] returned, at most [`UNWIND_GRACE`] later even if the work has not ended yet.
    ///
    /// The slot is released only when the work has really ended. Dropping the returned future (the run was stopped,
    /// the caller's own timeout fired) interrupts the work too; a connection whose work was interrupted is not
    /// reused.
    pub async fn run_with_deadline<T, F>(&self, deadline: Duration, work: F) -> Result<T, DuckError>
    where
        T: Send + 'static,
        F: FnOnce(&Session) -> Result<T, DuckError> + Send + 'static,
    {
        let started = Instant::now();
        let permit = match Arc::clone(&self.inner.permits).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                self.inner.waits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tokio::time::timeout(deadline, Arc::clone(&self.inner.permits).acquire_owned())
                    .await
                    .map_err(|_| DuckError::Busy)?
                    .map_err(|e| DuckError::Task(e.to_string()))?
            }
        };
        let remaining = deadline.saturating_sub(started.elapsed());
        let inner = Arc::clone(&self.inner);
        let stop = Arc::new(Stop::default());
        let worker_stop = Arc::clone(&stop);
        let mut task = tokio::task::spawn_blocking(move || {
            let _slot = permit;
            let _finished = FinishOnDrop(Arc::clone(&worker_stop));
            let session = inner.session()?;
            if !worker_stop.attach(session.interrupt_handle()) {
                return Err(DuckError::Timeout(deadline));
            }
            let outcome = work(&session);
            if worker_stop.detach() {
                session.recycle();
            }
            outcome
        });
        // From here on, however this future ends, the work is interrupted until it stops.
        let _interrupt_on_drop = InterruptOnDrop(Arc::clone(&stop));
        tokio::select! {
            joined = &mut task => return joined.map_err(|e| DuckError::Task(e.to_string()))?,
            () = tokio::time::sleep(remaining) => {}
        }
        let unwound = tokio::time::timeout(UNWIND_GRACE, async {
            loop {
                stop.interrupt();
                tokio::select! {
                    _ = &mut task => break,
                    () = tokio::time::sleep(stop::INTERRUPT_EVERY) => {}
                }
            }
        })
        .await;
        if unwound.is_err() {
            tracing::warn!(
                deadline_ms = deadline.as_millis(),
                "DuckDB work did not stop within 1 s of its deadline; it keeps its slot until it does"
            );
        }
        Err(DuckError::Timeout(deadline))
    }

    /// [`Self::run_with_deadline`] with the configured query timeout.
    pub async fn run<T, F>(&self, work: F) -> Result<T, DuckError>
    where
        T: Send + 'static,
        F: FnOnce(&Session) -> Result<T, DuckError> + Send + 'static,
    {
        self.run_with_deadline(self.inner.config.query_timeout, work).await
    }

    /// Runs untrusted SQL: the guard, then the query with the configured deadline, keeping up to `fetch_rows` rows
    /// (at most [`MAX_FETCH_ROWS`]).
    pub async fn query(&self, sql: &str, fetch_rows: usize) -> Result<QueryResult, DuckError> {
        let checked = guard::check_lexically(sql)?;
        let fetch_rows = fetch_rows.min(MAX_FETCH_ROWS);
        self.run(move |session| query::run(session, &checked, fetch_rows)).await
    }

    /// Runs untrusted SQL (the same guard and deadline as [`Self::query`]) and returns every row as CSV with a
    /// header, at most `max_bytes` ([`DuckError::TooLarge`] past that).
    pub async fn query_csv(&self, sql: &str, max_bytes: usize) -> Result<Vec<u8>, DuckError> {
        let checked = guard::check_lexically(sql)?;
        self.run(move |session| csv_export::run(session, &checked, max_bytes)).await
    }

    /// The schema summary of the current file version, computed on first use after the file changes.
    ///
    /// The scan runs in a task of its own, one per file version however many callers wait for it, and finishes
    /// (filling the cache) even if every caller stops waiting. A failed scan is not cached: the next call retries.
    pub async fn schema(&self) -> Result<Arc<SchemaSummary>, DuckError> {
        let stamp = self.file_stamp()?;
        let scan = {
            let mut cache = self.inner.schema.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((at, summary)) = &cache.ready
                && *at == stamp
            {
                return Ok(Arc::clone(summary));
            }
            match &cache.scanning {
                // (A scan that ended in an error is normally gone already; never reuse one that is not.)
                Some((at, scan)) if *at == stamp && !matches!(scan.peek(), Some(Err(_))) => scan.clone(),
                _ => {
                    let scan = self.start_schema_scan(stamp);
                    cache.scanning = Some((stamp, scan.clone()));
                    scan
                }
            }
        };
        scan.await.map_err(DuckError::Shared)
    }

    /// Starts the schema scan for the current file version unless it is cached or running already, without waiting
    /// for it.
    pub fn refresh_schema_in_background(&self) {
        let duck = self.clone();
        tokio::spawn(async move {
            if let Err(e) = duck.schema().await {
                tracing::warn!(error = %e, "DuckDB schema scan failed");
            }
        });
    }

    /// Spawns the scan of file version `stamp`; it records its outcome in the cache when done.
    fn start_schema_scan(&self, stamp: FileStamp) -> Shared<BoxFuture<'static, ScanOutcome>> {
        let duck = self.clone();
        let task = tokio::spawn(async move {
            let outcome = duck.run_with_deadline(SCHEMA_SCAN_DEADLINE, |session| schema::introspect(session)).await;
            let outcome = outcome.map(Arc::new).map_err(Arc::new);
            let mut cache = duck.inner.schema.lock().unwrap_or_else(|p| p.into_inner());
            if cache.scanning.as_ref().is_some_and(|(at, _)| *at == stamp) {
                cache.scanning = None;
            }
            if let Ok(summary) = &outcome {
                cache.ready = Some((stamp, Arc::clone(summary)));
            }
            outcome
        });
        async move { task.await.map_err(|e| Arc::new(DuckError::Task(e.to_string())))? }.boxed().shared()
    }

    /// DuckDB's version, from a trivial query on a read-only connection: the cheap liveness probe. It never starts
    /// the schema scan.
    pub async fn ping(&self, deadline: Duration) -> Result<String, DuckError> {
        self.run_with_deadline(deadline, |conn| Ok(conn.query_row("SELECT version()", [], |r| r.get::<_, String>(0))?))
            .await
    }

    /// The row count of every table, from the schema summary.
    pub async fn table_counts(&self) -> Result<Vec<TableCount>, DuckError> {
        let schema = self.schema().await?;
        Ok(schema
            .relations
            .iter()
            .filter_map(|r| r.row_count.map(|rows| TableCount { name: r.name.clone(), rows }))
            .collect())
    }
}

impl Inner {
    /// A connection to the current version of the file, (re)opening the database when it has changed (the old
    /// version goes once its last session ends).
    fn session(&self) -> Result<Session, DuckError> {
        let stamp = FileStamp::of(&self.config.path)?;
        let version = {
            let mut open = self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            match open.as_ref() {
                Some(version) if version.stamp == stamp => Arc::clone(version),
                _ => {
                    let root = connection::open_read_only(&self.config)?;
                    let version = Arc::new(session::Version::new(root, stamp, self.config.max_concurrent_queries));
                    *open = Some(Arc::clone(&version));
                    version
                }
            }
        };
        version.session()
    }
}

/// Quotes an identifier for DuckDB SQL.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
