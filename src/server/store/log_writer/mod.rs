//! The chat-log writer: runs hand over their records without waiting; a background task inserts them in
//! batches; nothing is lost when Postgres is slow, down, or the server stops.
//!
//! - a bounded queue takes records ([`ChatLogWriter::enqueue`] never waits on Postgres; when the queue is full or
//!   the writer has stopped, the record goes straight to the spool);
//! - the writer task flushes at `batch_size` records or `flush_interval` after the first, in one transaction,
//!   with up to `flushers` batches in flight at once (the rollup triggers upsert in key order, so parallel
//!   batches cannot deadlock);
//! - a failed flush is retried with backoff, then spooled, and the writer turns *degraded*: it spools directly
//!   and probes Postgres every `replay_interval`; once Postgres answers, the spool is replayed (exactly once per
//!   id) and normal writing resumes — also at the next start;
//! - [`WriterTask::shutdown`] drains the queue before exit, spooling whatever the deadline leaves;
//! - ids come from [`IdPool`], reserved in blocks, so a run knows its `chat_log_id` before its stream ends.
mod ids;
mod spool;

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokio::sync::{Notify, mpsc};
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

pub use ids::IdPool;
pub use spool::Spool;

use crate::api::WriterMetrics;
use crate::server::store::chat_logs::{self, ChatLogRecord};

/// Tuning of the writer.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// Records the queue holds before new ones go to the spool.
    pub queue_capacity: usize,
    /// Flush when this many records are waiting…
    pub batch_size: usize,
    /// …or this long after the first one arrived.
    pub flush_interval: Duration,
    /// Waits before each retry of a failed flush; after the last, the batch is spooled.
    pub retry_delays: Vec<Duration>,
    /// How often a degraded writer probes Postgres and a healthy one checks the spool.
    pub replay_interval: Duration,
    /// Ids reserved per round trip.
    pub id_block: usize,
    /// Longest one flush attempt (connect + insert) may take before it counts as failed.
    pub flush_timeout: Duration,
    /// Batches written at the same time, each on its own connection: a batch's insert is mostly Postgres
    /// computing index entries (the full-text one above all), which one backend does on one core.
    pub flushers: usize,
}

impl Default for WriterConfig {
    fn default() -> Self {
        Self {
            queue_capacity: 10_000,
            batch_size: 500,
            flush_interval: Duration::from_millis(100),
            retry_delays: vec![Duration::from_millis(200), Duration::from_secs(1), Duration::from_secs(3)],
            replay_interval: Duration::from_secs(2),
            id_block: 500,
            flush_timeout: Duration::from_secs(10),
            flushers: 2,
        }
    }
}

#[derive(Default)]
struct Counters {
    enqueued: AtomicU64,
    inserted: AtomicU64,
    duplicates_skipped: AtomicU64,
    batches: AtomicU64,
    last_batch_size: AtomicU64,
    max_batch_size: AtomicU64,
    last_flush_us: AtomicU64,
    max_flush_us: AtomicU64,
    failed_flushes: AtomicU64,
    spooled: AtomicU64,
    replayed: AtomicU64,
    spool_malformed: AtomicU64,
    rejected: AtomicU64,
    lost: AtomicU64,
}

struct Shared {
    pool: PgPool,
    config: WriterConfig,
    spool: Spool,
    ids: IdPool,
    counters: Counters,
    degraded: AtomicBool,
    /// Ids handed over but not yet stored or spooled, so a ⭐ can wait for its row.
    pending: Mutex<HashSet<i64>>,
    settled: Notify,
}

/// Handle runs use to log. Cheap to clone.
#[derive(Clone)]
pub struct ChatLogWriter {
    tx: mpsc::Sender<ChatLogRecord>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ChatLogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatLogWriter").finish_non_exhaustive()
    }
}

/// The writer's background task; [`Self::shutdown`] drains it.
pub struct WriterTask {
    stop: CancellationToken,
    handle: JoinHandle<()>,
}

impl WriterTask {
    /// Stops taking records, writes what is queued (spooling what `deadline` does not allow), and waits.
    pub async fn shutdown(self, deadline: Duration) {
        self.stop.cancel();
        // The task enforces the deadline itself (spooling the rest); this only guards against a hung task.
        if tokio::time::timeout(deadline + Duration::from_secs(5), self.handle).await.is_err() {
            tracing::error!("chat-log writer did not stop in time");
        }
    }
}

impl ChatLogWriter {
    /// Starts the writer: reserves a first block of ids, replays any spool left from before, then runs.
    pub async fn start(pool: PgPool, data_dir: &Path, config: WriterConfig) -> (Self, WriterTask) {
        let (tx, rx) = mpsc::channel(config.queue_capacity);
        let shared = Arc::new(Shared {
            pool,
            spool: Spool::new(data_dir),
            ids: IdPool::new(config.id_block),
            config,
            counters: Counters::default(),
            degraded: AtomicBool::new(false),
            pending: Mutex::new(HashSet::new()),
            settled: Notify::new(),
        });
        if let Err(e) = shared.ids.refill(&shared.pool).await {
            tracing::warn!(error = %e, "could not reserve chat-log ids yet");
        }
        replay_spool(&shared).await;
        let stop = CancellationToken::new();
        let handle = tokio::spawn(run(Arc::clone(&shared), rx, stop.clone()));
        (Self { tx, shared }, WriterTask { stop, handle })
    }

    /// A `chat_logs.id` for a new run, with no round trip (refills happen in the background).
    pub fn reserve_id(&self) -> Option<i64> {
        let id = self.shared.ids.take();
        if self.shared.ids.wants_refill() {
            let shared = Arc::clone(&self.shared);
            tokio::spawn(async move {
                if let Err(e) = shared.ids.refill(&shared.pool).await {
                    tracing::warn!(error = %e, "could not reserve more chat-log ids");
                }
            });
        }
        id
    }

    /// Hands a record over. Never waits on Postgres: when the queue is full or the writer has stopped, the record
    /// is appended to the spool (a local file) instead.
    pub async fn enqueue(&self, mut record: ChatLogRecord) {
        record.make_storable();
        self.shared.counters.enqueued.fetch_add(1, Ordering::Relaxed);
        if let Some(id) = record.id {
            self.shared.pending.lock().unwrap_or_else(|p| p.into_inner()).insert(id);
        }
        match self.tx.try_send(record) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(record) | mpsc::error::TrySendError::Closed(record)) => {
                spool_records(&self.shared, vec![record]).await;
            }
        }
    }

    /// Waits until the record `id` is stored (or spooled), up to `timeout`. True if it is no longer pending.
    pub async fn wait_settled(&self, id: i64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.shared.settled.notified();
            if !self.shared.pending.lock().unwrap_or_else(|p| p.into_inner()).contains(&id) {
                return true;
            }
            if tokio::time::timeout_at(deadline.into(), notified).await.is_err() {
                return false;
            }
        }
    }

    /// The writer's counters.
    pub fn metrics(&self) -> WriterMetrics {
        let c = &self.shared.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        WriterMetrics {
            queue_depth: (self.tx.max_capacity() - self.tx.capacity()) as u64,
            queue_capacity: self.tx.max_capacity() as u64,
            enqueued: get(&c.enqueued),
            inserted: get(&c.inserted),
            duplicates_skipped: get(&c.duplicates_skipped),
            batches: get(&c.batches),
            last_batch_size: get(&c.last_batch_size),
            max_batch_size: get(&c.max_batch_size),
            last_flush_ms: get(&c.last_flush_us) as f64 / 1000.0,
            max_flush_ms: get(&c.max_flush_us) as f64 / 1000.0,
            failed_flushes: get(&c.failed_flushes),
            spooled: get(&c.spooled),
            replayed: get(&c.replayed),
            spool_malformed: get(&c.spool_malformed),
            rejected: get(&c.rejected),
            lost: get(&c.lost),
            degraded: self.shared.degraded.load(Ordering::Relaxed),
        }
    }
}

/// The writer task: batch, flush (up to `flushers` batches at once), probe and replay; on stop, drain.
async fn run(shared: Arc<Shared>, mut rx: mpsc::Receiver<ChatLogRecord>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(shared.config.replay_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut flushing = JoinSet::new();
    loop {
        let first = tokio::select! {
            biased;
            () = stop.cancelled() => break,
            received = rx.recv() => match received {
                Some(record) => record,
                None => break,
            },
            _ = tick.tick() => {
                maintain(&shared).await;
                continue;
            }
        };
        let mut batch = vec![first];
        let flush_at = tokio::time::Instant::now() + shared.config.flush_interval;
        while batch.len() < shared.config.batch_size {
            tokio::select! {
                biased;
                () = stop.cancelled() => break,
                received = tokio::time::timeout_at(flush_at, rx.recv()) => match received {
                    Ok(Some(record)) => batch.push(record),
                    Ok(None) | Err(_) => break,
                },
            }
        }
        while flushing.len() >= shared.config.flushers.max(1) {
            reap(flushing.join_next().await);
        }
        let shared = Arc::clone(&shared);
        flushing.spawn(async move { flush(&shared, batch, true).await });
    }
    while let Some(done) = flushing.join_next().await {
        reap(Some(done));
    }
    drain(&shared, rx).await;
}

/// A flush task's end. `flush` stores or spools every record and does not panic; if it ever did, its batch's
/// records stay pending (a ⭐ waiting on them times out) and the panic is logged here.
fn reap(done: Option<Result<(), tokio::task::JoinError>>) {
    if let Some(Err(e)) = done {
        tracing::error!(error = %e, "a chat-log flush task failed");
    }
}

/// On stop: refuse new records (they go to the spool), write what is queued within the grace period.
async fn drain(shared: &Shared, mut rx: mpsc::Receiver<ChatLogRecord>) {
    rx.close();
    let mut rest = Vec::new();
    while let Ok(record) = rx.try_recv() {
        rest.push(record);
    }
    let deadline = Instant::now() + shared.config.retry_delays.iter().sum::<Duration>().max(Duration::from_secs(5));
    tracing::info!(records = rest.len(), "chat-log writer draining");
    while !rest.is_empty() {
        let take = rest.len().min(shared.config.batch_size);
        let batch: Vec<_> = rest.drain(..take).collect();
        if Instant::now() >= deadline {
            spool_records(shared, batch).await;
        } else {
            flush(shared, batch, false).await;
        }
    }
    tracing::info!("chat-log writer stopped");
}

/// Periodic work: a degraded writer probes Postgres; a healthy one replays the spool if anything is in it, and
/// keeps the id pool stocked.
async fn maintain(shared: &Shared) {
    if shared.degraded.load(Ordering::Relaxed) {
        if sqlx::query("SELECT 1").execute(&shared.pool).await.is_err() {
            return;
        }
        tracing::info!("postgres is reachable again; replaying the chat-log spool");
        shared.degraded.store(false, Ordering::Relaxed);
    }
    if shared.ids.wants_refill() {
        let _ = shared.ids.refill(&shared.pool).await;
    }
    if shared.spool.has_pending().await {
        replay_spool(shared).await;
    }
}

/// Inserts a batch; retries (when `retry`) with backoff; spools it if Postgres will not take it.
async fn flush(shared: &Shared, mut batch: Vec<ChatLogRecord>, retry: bool) {
    if shared.degraded.load(Ordering::Relaxed) {
        spool_records(shared, batch).await;
        return;
    }
    let delays: &[Duration] = if retry { &shared.config.retry_delays } else { &[] };
    let mut attempt = 0;
    loop {
        let started = Instant::now();
        match insert(shared, &mut batch).await {
            Ok(inserted) => {
                record_flush(shared, batch.len(), inserted, started.elapsed());
                settle(shared, &batch);
                return;
            }
            Err(e) if chat_logs::is_refused_data(&e) => {
                tracing::warn!(error = %e, records = batch.len(), "Postgres refused a chat-log batch; inserting one by one");
                let started = Instant::now();
                match isolate(shared, &mut batch).await {
                    Ok(inserted) => {
                        record_flush(shared, batch.len(), inserted, started.elapsed());
                        settle(shared, &batch);
                    }
                    Err(e) => {
                        shared.counters.failed_flushes.fetch_add(1, Ordering::Relaxed);
                        tracing::error!(error = %e, records = batch.len(), "chat-log flush failed; spooling");
                        shared.degraded.store(true, Ordering::Relaxed);
                        spool_records(shared, batch).await;
                    }
                }
                return;
            }
            Err(e) => {
                shared.counters.failed_flushes.fetch_add(1, Ordering::Relaxed);
                match delays.get(attempt) {
                    Some(delay) => {
                        tracing::warn!(error = %e, attempt, retry_in = ?delay, "chat-log flush failed; retrying");
                        tokio::time::sleep(*delay).await;
                        attempt += 1;
                    }
                    None => {
                        tracing::error!(error = %e, records = batch.len(), "chat-log flush failed; spooling");
                        shared.degraded.store(true, Ordering::Relaxed);
                        spool_records(shared, batch).await;
                        return;
                    }
                }
            }
        }
    }
}

/// One flush attempt, bounded by `flush_timeout` (a hung Postgres must not hang the writer).
async fn insert(shared: &Shared, batch: &mut [ChatLogRecord]) -> Result<u64, sqlx::Error> {
    let attempt = async {
        let mut conn = shared.pool.acquire().await?;
        chat_logs::assign_missing_ids(&mut conn, batch).await?;
        chat_logs::insert_batch(&mut conn, batch).await
    };
    tokio::time::timeout(shared.config.flush_timeout, attempt).await.unwrap_or(Err(sqlx::Error::PoolTimedOut))
}

/// Inserts a batch Postgres refused record by record, setting aside the records it refuses for their contents
/// (one bad record must not hold back, or spool, everyone else's). Stops at the first error of another kind
/// (Postgres unreachable): the caller spools the batch, and the rows already stored are skipped on replay.
async fn isolate(shared: &Shared, batch: &mut [ChatLogRecord]) -> Result<u64, sqlx::Error> {
    let mut inserted = 0;
    for i in 0..batch.len() {
        let one = &mut batch[i..=i];
        match insert(shared, one).await {
            Ok(n) => inserted += n,
            Err(e) if chat_logs::is_refused_data(&e) => {
                let record = &one[0];
                tracing::error!(error = %e, id = ?record.id, user = %record.user_id,
                    file = %shared.spool.rejected_path().display(), "chat-log record refused by Postgres; set aside");
                match shared.spool.reject(record, &e.to_string()).await {
                    Ok(()) => shared.counters.rejected.fetch_add(1, Ordering::Relaxed),
                    Err(io) => {
                        tracing::error!(error = %io, "chat-log record LOST: could not set it aside");
                        shared.counters.lost.fetch_add(1, Ordering::Relaxed)
                    }
                };
            }
            Err(e) => return Err(e),
        }
    }
    Ok(inserted)
}

fn record_flush(shared: &Shared, size: usize, inserted: u64, took: Duration) {
    let c = &shared.counters;
    c.inserted.fetch_add(inserted, Ordering::Relaxed);
    c.duplicates_skipped.fetch_add(size as u64 - inserted.min(size as u64), Ordering::Relaxed);
    c.batches.fetch_add(1, Ordering::Relaxed);
    c.last_batch_size.store(size as u64, Ordering::Relaxed);
    c.max_batch_size.fetch_max(size as u64, Ordering::Relaxed);
    let us = took.as_micros() as u64;
    c.last_flush_us.store(us, Ordering::Relaxed);
    c.max_flush_us.fetch_max(us, Ordering::Relaxed);
}

/// Marks records as no longer pending and wakes anyone waiting for them.
fn settle(shared: &Shared, records: &[ChatLogRecord]) {
    let mut pending = shared.pending.lock().unwrap_or_else(|p| p.into_inner());
    for id in records.iter().filter_map(|r| r.id) {
        pending.remove(&id);
    }
    drop(pending);
    shared.settled.notify_waiters();
}

async fn spool_records(shared: &Shared, records: Vec<ChatLogRecord>) {
    match shared.spool.append(&records).await {
        Ok(()) => {
            shared.counters.spooled.fetch_add(records.len() as u64, Ordering::Relaxed);
        }
        Err(e) => {
            // The one way to lose a record: Postgres unreachable and the local disk failing too.
            shared.counters.lost.fetch_add(records.len() as u64, Ordering::Relaxed);
            tracing::error!(error = %e, records = records.len(), "chat-log records LOST: spool write failed");
        }
    }
    settle(shared, &records);
}

/// Replays spooled records into Postgres, exactly once per id; keeps the file if Postgres fails meanwhile.
async fn replay_spool(shared: &Shared) {
    let path = match shared.spool.take_for_replay().await {
        Ok(Some(path)) => path,
        Ok(None) => return,
        Err(e) => {
            tracing::error!(error = %e, "cannot open the chat-log spool for replay");
            return;
        }
    };
    let (mut records, malformed) = match Spool::read(&path).await {
        Ok(read) => read,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the chat-log spool");
            return;
        }
    };
    shared.counters.spool_malformed.fetch_add(malformed as u64, Ordering::Relaxed);
    // Records spooled without an id get one now, written back before any insert, so a retry reuses it.
    if records.iter().any(|r| r.id.is_none()) {
        let assigned = async {
            let mut conn = shared.pool.acquire().await?;
            chat_logs::assign_missing_ids(&mut conn, &mut records).await
        };
        if let Err(e) = assigned.await {
            tracing::warn!(error = %e, "spool replay postponed: cannot assign ids");
            shared.degraded.store(true, Ordering::Relaxed);
            return;
        }
        if let Err(e) = rewrite(&path, &records).await {
            tracing::error!(error = %e, "spool replay postponed: cannot record assigned ids");
            return;
        }
    }
    for chunk in records.chunks_mut(shared.config.batch_size) {
        match insert(shared, chunk).await {
            Ok(inserted) => {
                shared.counters.replayed.fetch_add(inserted, Ordering::Relaxed);
                record_flush(shared, chunk.len(), inserted, Duration::ZERO);
            }
            Err(e) if chat_logs::is_refused_data(&e) => match isolate(shared, chunk).await {
                Ok(inserted) => {
                    shared.counters.replayed.fetch_add(inserted, Ordering::Relaxed);
                    record_flush(shared, chunk.len(), inserted, Duration::ZERO);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "spool replay interrupted; will resume");
                    shared.degraded.store(true, Ordering::Relaxed);
                    return;
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "spool replay interrupted; will resume");
                shared.degraded.store(true, Ordering::Relaxed);
                return;
            }
        }
    }
    if let Err(e) = tokio::fs::remove_file(&path).await {
        tracing::error!(error = %e, "replayed spool could not be removed (its rows will be skipped as duplicates)");
    }
    tracing::info!(records = records.len(), "chat-log spool replayed");
}

/// Replaces a spool file's contents atomically.
async fn rewrite(path: &Path, records: &[ChatLogRecord]) -> std::io::Result<()> {
    let tmp = path.with_extension("rewrite");
    let mut lines = Vec::new();
    for r in records {
        serde_json::to_writer(&mut lines, r).map_err(std::io::Error::other)?;
        lines.push(b'\n');
    }
    tokio::fs::write(&tmp, &lines).await?;
    tokio::fs::File::open(&tmp).await?.sync_all().await?;
    tokio::fs::rename(&tmp, path).await
}
