//! Operational metrics shown on the admin dashboard.
use serde::{Deserialize, Serialize};

/// The chat-log writer's counters since start-up.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WriterMetrics {
    /// Records waiting in the queue now.
    pub queue_depth: u64,
    pub queue_capacity: u64,
    /// Records handed to the writer.
    pub enqueued: u64,
    /// Records inserted into Postgres (from the queue or the spool).
    pub inserted: u64,
    /// Records skipped because their id was already stored (replays).
    pub duplicates_skipped: u64,
    /// Batches written.
    pub batches: u64,
    /// Size of the last batch.
    pub last_batch_size: u64,
    /// Largest batch.
    pub max_batch_size: u64,
    /// Latency of the last successful flush, ms.
    pub last_flush_ms: f64,
    /// Slowest successful flush, ms.
    pub max_flush_ms: f64,
    /// Flush attempts that failed (each is retried, then spooled).
    pub failed_flushes: u64,
    /// Records written to the spool file.
    pub spooled: u64,
    /// Records replayed from the spool into Postgres.
    pub replayed: u64,
    /// Unreadable spool lines skipped.
    pub spool_malformed: u64,
    /// Records Postgres refused for their contents (e.g. their user was deleted), set aside in the rejected file
    /// in the data folder instead of blocking every batch. Should stay 0.
    pub rejected: u64,
    /// Records lost: could not be inserted or spooled (disk failure). Should stay 0.
    pub lost: u64,
    /// Whether the writer is spooling because Postgres is unreachable.
    pub degraded: bool,
}
