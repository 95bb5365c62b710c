//! One version of the database file, opened: its connections, kept for reuse, and what was learnt about queries
//! on it (their plans), so a repeated query costs one statement instead of three.
//!
//! A connection only ever runs read-only statements with its configuration locked, so it carries nothing from one
//! piece of work to the next and can be lent again, unless a stop was requested for the work that had it (an
//! interrupt meant for that work could still land on the next one). A plan depends on the file's schema, so it
//! lives and dies with the version.
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use duckdb::Connection;
use lru::LruCache;

use super::query::Column;
use super::{DuckError, FileStamp};

/// Plans kept per file version.
const PLANS: NonZeroUsize = NonZeroUsize::new(512).expect("non-zero");
/// Longest SQL text whose plan is kept (longer queries are planned every time).
const PLANNED_SQL_BYTES: usize = 16 * 1024;

/// What running a guarded query needs besides its text, found once: its columns and the statement to execute.
#[derive(Debug)]
pub(super) struct Plan {
    /// Its columns as `DESCRIBE` reports them (empty when DESCRIBE cannot wrap the statement).
    pub described: Vec<Column>,
    /// The statement to execute: the query, with long text cut and exotic types cast inside DuckDB.
    pub exec_sql: String,
    /// What the look-ahead review found in it (warnings; they never stop it).
    pub warnings: Vec<String>,
    /// The base tables it reads.
    pub tables: Vec<String>,
}

/// A plan's key: the query's text and the longest text cell it keeps.
type PlanKey = (String, Option<usize>);

/// One opened version of the file.
pub(super) struct Version {
    pub stamp: FileStamp,
    /// The database, opened and hardened; other connections are made from it.
    root: Mutex<Connection>,
    idle: Mutex<Vec<Connection>>,
    max_idle: usize,
    plans: Mutex<LruCache<PlanKey, Arc<Plan>>>,
}

impl Version {
    /// Wraps a freshly opened database of file version `stamp`, keeping up to `max_idle` connections for reuse.
    pub fn new(root: Connection, stamp: FileStamp, max_idle: usize) -> Self {
        Self {
            stamp,
            root: Mutex::new(root),
            idle: Mutex::new(Vec::with_capacity(max_idle)),
            max_idle,
            plans: Mutex::new(LruCache::new(PLANS)),
        }
    }

    /// A connection for one piece of work: an idle one, or a new one.
    pub fn session(self: &Arc<Self>) -> Result<Session, DuckError> {
        let reused = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match reused {
            Some(conn) => conn,
            None => self.root.lock().unwrap_or_else(|p| p.into_inner()).try_clone()?,
        };
        Ok(Session { conn, version: Arc::clone(self) })
    }
}

/// A connection lent to one piece of work (it derefs to the connection), with the plans of its file version.
pub struct Session {
    conn: Connection,
    version: Arc<Version>,
}

impl std::ops::Deref for Session {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl Session {
    /// The plan of `key` made earlier on this file version, if any.
    pub(super) fn plan(&self, sql: &str, cell_bytes: Option<usize>) -> Option<Arc<Plan>> {
        let mut plans = self.version.plans.lock().unwrap_or_else(|p| p.into_inner());
        plans.get(&(sql.to_owned(), cell_bytes)).cloned()
    }

    /// Keeps `plan` for `sql` on this file version.
    pub(super) fn remember(&self, sql: &str, cell_bytes: Option<usize>, plan: Arc<Plan>) {
        if sql.len() <= PLANNED_SQL_BYTES {
            self.version.plans.lock().unwrap_or_else(|p| p.into_inner()).put((sql.to_owned(), cell_bytes), plan);
        }
    }

    /// Gives the connection back for reuse (when the version still has room for it).
    pub(super) fn recycle(self) {
        let mut idle = self.version.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.version.max_idle {
            idle.push(self.conn);
        }
    }
}
