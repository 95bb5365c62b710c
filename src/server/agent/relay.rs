//! Runs any instance can serve, relayed through Postgres (`runs_live`, `run_events`; migration 10).
//!
//! - **Events.** Every event a run records here is also appended to `run_events` under its index (the SSE `id`;
//!   a row holds a run's consecutive events of one batch),
//!   by one task per instance in batches (20 ms' worth, one statement each), which then wakes the
//!   other instances with `NOTIFY tradechat_run_events`. The instance running a run serves its readers from
//!   memory as before; another instance serves them from the table ([`Relay::events_after`]), woken by the
//!   notification and polling once a second in case one was missed (the table is the truth).
//! - **Stop.** A stop asked on another instance sets `stop_requested` and notifies `tradechat_run_stop`; the
//!   running instance cancels the run when notified, and also sees the flag at its next heartbeat.
//! - **Leases.** Each instance renews `heartbeat_at` of the runs it is still writing every
//!   [`RelayConfig::heartbeat`]. A run whose lease has run out (`lease` without a heartbeat: its instance died, or
//!   its end never reached the table) is ended by whichever instance notices first: its stream gets an error and a `done`, its reservation is settled at its worst case, and it is logged
//!   as failed with the text it had streamed.
//! - Rows of runs that ended [`KEEP_ENDED`] ago are purged.
//! - **Connections.** The appender, the listener and the heartbeat use the background pool (see
//!   [`crate::server::store::background_pool`]): however many requests queue for the request pool under load, the
//!   relay keeps up, so another instance's readers and the conversation-busy check do not fall behind.
//! - **Shutdown.** Once the runs have ended, the appender writes what they queued before it stops
//!   ([`RelayTask::shutdown`]): a restart leaves no run looking unfinished to the other instances.
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::runs::RunRegistry;
use crate::api::reasons::RunFailure;
use crate::api::{RunEnd, RunEvent};
use crate::domain::RunStatus;
use crate::server::store::chat_logs::ChatLogRecord;
use crate::server::store::log_writer::ChatLogWriter;

const EVENTS_CHANNEL: &str = "tradechat_run_events";
const STOP_CHANNEL: &str = "tradechat_run_stop";
/// Events written per statement at most.
const MAX_BATCH: usize = 1024;
/// How long the appender gathers events after the first of a batch: remote readers lag by up to this much, and
/// every instance's listener wakes once per batch.
const GATHER: Duration = Duration::from_millis(20);
/// How long the rows of an ended run stay (a reader reconnecting late still finds the end): as long as the
/// running instance keeps it in memory.
pub const KEEP_ENDED: Duration = super::runs::FINISHED_TTL;
/// Heartbeats between two purges of ended runs' rows.
const PURGE_EVERY: u64 = 12;
/// A reader on another instance looks at the table at least this often, notified or not.
const POLL: Duration = Duration::from_secs(1);
/// A NOTIFY payload must stay under 8000 bytes: run ids (36 bytes and a comma) per notification.
const IDS_PER_NOTIFY: usize = 200;
/// Dead runs ended per transaction: an instance that died under load may leave thousands, ended in bounded steps.
const REAP_BATCH: usize = 100;

/// Timing of the leases.
#[derive(Debug, Clone, Copy)]
pub struct RelayConfig {
    /// How often an instance renews the leases of its runs (and reaps expired ones).
    pub heartbeat: Duration,
    /// How long a run may go without a heartbeat before it counts as dead (`RUN_LEASE_SECS`).
    pub lease: Duration,
}

/// One event on its way to `run_events`.
struct Outgoing {
    run_id: Uuid,
    seq: i32,
    kind: &'static str,
    data: Arc<str>,
    done: bool,
}

/// Where a run sends its events (held by the run).
#[derive(Clone)]
pub struct Sink {
    tx: mpsc::UnboundedSender<Outgoing>,
}

impl Sink {
    /// Queues event `seq` of `run` (never waits).
    pub fn send(&self, run: &super::runs::Run, seq: usize, event: &RunEvent, data: &Arc<str>) {
        let outgoing = Outgoing {
            run_id: run.id,
            seq: i32::try_from(seq).unwrap_or(i32::MAX),
            kind: event.kind(),
            data: Arc::clone(data),
            done: matches!(event, RunEvent::Done { .. }),
        };
        // Closed only at shutdown, when remote readers no longer matter.
        let _ = self.tx.send(outgoing);
    }
}

/// A run another instance may be running, as `runs_live` has it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LiveRun {
    pub run_id: Uuid,
    pub conversation_id: Uuid,
    pub finished: bool,
}

/// The relay of this instance.
#[derive(Clone)]
pub struct Relay {
    inner: Arc<Inner>,
}

struct Inner {
    /// The request pool: lookups made for a request.
    pool: PgPool,
    /// The background pool: appending, listening, heartbeats.
    background: PgPool,
    instance: Uuid,
    sink: Sink,
    /// This instance's run registry: the truth about its own runs, which the table learns of a batch later.
    runs: Weak<dyn RunLookup>,
    /// Readers here waiting on runs elsewhere: bumped when a notification names the run.
    waiters: Mutex<HashMap<Uuid, Weak<watch::Sender<u64>>>>,
}

/// The appender's task, to wait for at shutdown.
pub struct RelayTask {
    drain: CancellationToken,
    handle: tokio::task::JoinHandle<()>,
}

impl RelayTask {
    /// Once the runs have ended (or been cancelled): has the appender write what they queued, until no event has
    /// come for [`GATHER`], and waits for it (at most `deadline`).
    pub async fn shutdown(self, deadline: Duration) {
        self.drain.cancel();
        if tokio::time::timeout(deadline, self.handle).await.is_err() {
            tracing::warn!("the relay's last events were not written in time; other instances reap those runs");
        }
    }
}

impl Relay {
    /// Starts the appender, the listener and the heartbeat of this instance; the listener and the heartbeat stop
    /// with `stop`, the appender with [`RelayTask::shutdown`]. `pool` serves requests' lookups, `background` the
    /// relay's own work.
    pub fn start(
        pool: PgPool,
        background: PgPool,
        config: RelayConfig,
        runs: Weak<dyn RunLookup>,
        writer: ChatLogWriter,
        stop: CancellationToken,
    ) -> (Self, RelayTask) {
        let (tx, rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            pool,
            background,
            instance: Uuid::new_v4(),
            sink: Sink { tx },
            runs: runs.clone(),
            waiters: Mutex::new(HashMap::new()),
        });
        let drain = CancellationToken::new();
        let handle = tokio::spawn(append(inner.background.clone(), rx, drain.clone()));
        tokio::spawn(listen(Arc::clone(&inner), runs.clone(), stop.clone()));
        tokio::spawn(heartbeat(Arc::clone(&inner), config, runs, writer, stop));
        (Self { inner }, RelayTask { drain, handle })
    }

    /// This instance's id (in `runs_live.instance`).
    pub fn instance(&self) -> Uuid {
        self.inner.instance
    }

    /// The sink runs of this instance send their events to.
    pub fn sink(&self) -> Sink {
        self.inner.sink.clone()
    }

    /// The run `run_id` of `user_id`, wherever it runs (`None`: not theirs, or gone).
    pub async fn lookup(&self, run_id: Uuid, user_id: Uuid) -> Result<Option<LiveRun>, sqlx::Error> {
        sqlx::query_as(
            "SELECT run_id, conversation_id, finished_at IS NOT NULL AS finished FROM runs_live
             WHERE run_id = $1 AND user_id = $2",
        )
        .bind(run_id)
        .bind(user_id)
        .fetch_optional(&self.inner.pool)
        .await
    }

    /// The unfinished run of `user_id` in `conversation_id`, wherever it runs. For a run of this instance the
    /// registry has the last word: the table learns of its end up to a batch later, and a follow-up asked in between
    /// would be refused as busy. A run admitted here but not yet registered still counts.
    pub async fn active(&self, user_id: Uuid, conversation_id: Uuid) -> Result<Option<LiveRun>, sqlx::Error> {
        let row: Option<(Uuid, Uuid, Uuid)> = sqlx::query_as(
            "SELECT run_id, conversation_id, instance FROM runs_live
             WHERE user_id = $1 AND conversation_id = $2 AND finished_at IS NULL ORDER BY started_at DESC LIMIT 1",
        )
        .bind(user_id)
        .bind(conversation_id)
        .fetch_optional(&self.inner.pool)
        .await?;
        Ok(row
            .filter(|(run_id, _, instance)| {
                *instance != self.inner.instance
                    || self.inner.runs.upgrade().and_then(|runs| runs.has_finished(*run_id)) != Some(true)
            })
            .map(|(run_id, conversation_id, _)| LiveRun { run_id, conversation_id, finished: false }))
    }

    /// Whether `user_id` has a run in `conversation_id` on any instance (running, or ended in the last minutes):
    /// then the conversation exists even before its first log row is stored.
    pub async fn knows(&self, user_id: Uuid, conversation_id: Uuid) -> Result<bool, sqlx::Error> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM runs_live WHERE user_id = $1 AND conversation_id = $2)")
            .bind(user_id)
            .bind(conversation_id)
            .fetch_one(&self.inner.pool)
            .await
    }

    /// Events of `run_id` from index `after` on, as stored: `(seq, kind, data)`.
    pub async fn events_after(&self, run_id: Uuid, after: usize) -> Result<Vec<(i32, String, String)>, sqlx::Error> {
        let rows = stored_events(&self.inner.pool, run_id, after).await?;
        Ok(rows.into_iter().filter(|(seq, _, _)| usize::try_from(*seq).is_ok_and(|s| s >= after)).collect())
    }

    /// A watch on `run_id`'s notifications, taken before reading the table so none is missed in between.
    pub fn watch(&self, run_id: Uuid) -> Watch {
        let mut waiters = self.inner.waiters.lock().unwrap_or_else(|p| p.into_inner());
        waiters.retain(|_, w| w.strong_count() > 0);
        let tx = waiters.get(&run_id).and_then(Weak::upgrade).unwrap_or_else(|| {
            let tx = Arc::new(watch::channel(0).0);
            waiters.insert(run_id, Arc::downgrade(&tx));
            tx
        });
        let rx = tx.subscribe();
        Watch { _tx: tx, rx }
    }

    /// Whether `run_id` has ended (or is gone).
    pub async fn has_ended(&self, run_id: Uuid) -> Result<bool, sqlx::Error> {
        let open: Option<bool> = sqlx::query_scalar("SELECT finished_at IS NULL FROM runs_live WHERE run_id = $1")
            .bind(run_id)
            .fetch_optional(&self.inner.pool)
            .await?;
        Ok(open != Some(true))
    }

    /// Asks the instance running `run_id` (of `user_id`) to stop it. False if there is no such unfinished run.
    pub async fn request_stop(&self, run_id: Uuid, user_id: Uuid) -> Result<bool, sqlx::Error> {
        let asked: Option<(Uuid,)> = sqlx::query_as(
            "WITH asked AS (UPDATE runs_live SET stop_requested = true
                            WHERE run_id = $1 AND user_id = $2 AND finished_at IS NULL RETURNING run_id)
             SELECT run_id FROM asked, pg_notify($3, $1::text) AS n",
        )
        .bind(run_id)
        .bind(user_id)
        .bind(STOP_CHANNEL)
        .fetch_optional(&self.inner.pool)
        .await?;
        Ok(asked.is_some())
    }
}

/// A reader's subscription to one run's notifications.
pub struct Watch {
    _tx: Arc<watch::Sender<u64>>,
    rx: watch::Receiver<u64>,
}

impl Watch {
    /// Waits until a notification names the run, or [`POLL`] has passed.
    pub async fn wait(&mut self) {
        let _ = tokio::time::timeout(POLL, self.rx.changed()).await;
    }
}

/// What the relay needs of the run registry.
pub trait RunLookup: Send + Sync {
    /// Cancels run `run_id` if this instance runs it.
    fn cancel(&self, run_id: Uuid);
    /// Whether run `run_id` of this instance has ended (`None`: not held here).
    fn has_finished(&self, run_id: Uuid) -> Option<bool>;
    /// The runs this instance is still writing: the leases it renews.
    fn running_ids(&self) -> Vec<Uuid>;
}

impl RunLookup for RunRegistry {
    fn cancel(&self, run_id: Uuid) {
        if let Some(run) = self.get_any(run_id) {
            run.cancel.cancel();
        }
    }

    fn has_finished(&self, run_id: Uuid) -> Option<bool> {
        self.get_any(run_id).map(|run| run.is_finished())
    }

    fn running_ids(&self) -> Vec<Uuid> {
        RunRegistry::running_ids(self)
    }
}

/// Appends batches of events and wakes the other instances. On `drain` (the runs have ended, or been cancelled and
/// are ending), it goes on until no event has come for [`GATHER`], then returns.
async fn append(pool: PgPool, mut rx: mpsc::UnboundedReceiver<Outgoing>, drain: CancellationToken) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        let received = tokio::select! {
            // recv_many is cancel-safe: an event is either in `batch` or still in the channel.
            n = rx.recv_many(&mut batch, MAX_BATCH) => n,
            () = drain.cancelled() => {
                tokio::time::timeout(GATHER, rx.recv_many(&mut batch, MAX_BATCH)).await.unwrap_or(0)
            }
        };
        if received == 0 {
            return;
        }
        let until = tokio::time::Instant::now() + GATHER;
        while batch.len() < MAX_BATCH {
            let room = MAX_BATCH - batch.len();
            match tokio::time::timeout_at(until, rx.recv_many(&mut batch, room)).await {
                Ok(n) if n > 0 => {}
                _ => break,
            }
        }
        if let Err(e) = write_batch(&pool, &batch).await {
            // Remote readers of these runs miss events until their logs land; local readers are unaffected.
            tracing::warn!(error = %e, events = batch.len(), "could not relay run events to Postgres");
        }
        batch.clear();
    }
}

/// Run ids as NOTIFY payloads, each under Postgres's 8000-byte limit.
fn notify_payloads(ids: &[Uuid]) -> Vec<String> {
    ids.chunks(IDS_PER_NOTIFY).map(|c| c.iter().map(Uuid::to_string).collect::<Vec<_>>().join(",")).collect()
}

/// A run's events as stored, one per index, from the row holding index `after` on: `(seq, kind, data)`. Reads
/// only those rows (by the primary key), so a reader following a long run does not re-read it all each time.
async fn stored_events<'e, E>(db: E, run_id: Uuid, after: usize) -> Result<Vec<(i32, String, String)>, sqlx::Error>
where
    E: sqlx::PgExecutor<'e>,
{
    let rows: Vec<(i32, String, String)> = sqlx::query_as(
        "SELECT seq, kinds, events FROM run_events
         WHERE run_id = $1
           AND seq >= coalesce((SELECT max(seq) FROM run_events WHERE run_id = $1 AND seq <= $2), 0)
         ORDER BY seq",
    )
    .bind(run_id)
    .bind(i32::try_from(after).unwrap_or(i32::MAX))
    .fetch_all(db)
    .await?;
    let mut out = Vec::new();
    for (first, kinds, events) in rows {
        let events: Vec<serde_json::Value> = serde_json::from_str(&events).unwrap_or_default();
        for (i, (kind, data)) in kinds.split(',').zip(events).enumerate() {
            out.push((first + i as i32, kind.to_owned(), data.to_string()));
        }
    }
    Ok(out)
}

/// One stored row: a run's consecutive events from `seq` on.
struct Row {
    run_id: Uuid,
    seq: i32,
    /// Events in it.
    len: i32,
    kinds: String,
    events: String,
}

impl Row {
    fn new(run_id: Uuid, seq: i32) -> Self {
        Self { run_id, seq, len: 0, kinds: String::new(), events: String::from("[") }
    }

    /// The index its next event must have.
    fn next_seq(&self) -> i32 {
        self.seq + self.len
    }

    fn push(&mut self, kind: &str, data: &str) {
        if self.len > 0 {
            self.kinds.push(',');
            self.events.push(',');
        }
        self.kinds.push_str(kind);
        self.events.push_str(data);
        self.len += 1;
    }

    fn finish(mut self) -> Self {
        self.events.push(']');
        self
    }
}

/// The batch as rows: each run's consecutive events together.
fn rows_of(batch: &[Outgoing]) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    let mut open: HashMap<Uuid, usize> = HashMap::new();
    for e in batch {
        let at = match open.get(&e.run_id) {
            Some(&i) if rows[i].next_seq() == e.seq => i,
            _ => {
                rows.push(Row::new(e.run_id, e.seq));
                open.insert(e.run_id, rows.len() - 1);
                rows.len() - 1
            }
        };
        rows[at].push(e.kind, &e.data);
    }
    rows.into_iter().map(Row::finish).collect()
}

async fn write_batch(pool: &PgPool, batch: &[Outgoing]) -> Result<(), sqlx::Error> {
    let done: Vec<Uuid> = batch.iter().filter(|e| e.done).map(|e| e.run_id).collect();
    let rows = rows_of(batch);
    let mut ids: Vec<Uuid> = batch.iter().map(|e| e.run_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let payloads = notify_payloads(&ids);
    // One statement: the events, the runs that ended (their `runs_live` rows were made at admission), then the
    // wake-up.
    sqlx::query(
        "WITH ev AS (
             INSERT INTO run_events (run_id, seq, kinds, events)
             SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[]) ON CONFLICT DO NOTHING),
         ended AS (UPDATE runs_live SET finished_at = now() WHERE run_id = ANY($5) AND finished_at IS NULL)
         SELECT pg_notify($6, p) FROM unnest($7::text[]) AS p",
    )
    .bind(rows.iter().map(|r| r.run_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.seq).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.kinds.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.events.as_str()).collect::<Vec<_>>())
    .bind(&done)
    .bind(EVENTS_CHANNEL)
    .bind(&payloads)
    .execute(pool)
    .await?;
    Ok(())
}

/// Dispatches notifications: events of runs readers here wait on; stops of runs this instance holds.
async fn listen(inner: Arc<Inner>, runs: Weak<dyn RunLookup>, stop: CancellationToken) {
    loop {
        let mut listener = match PgListener::connect_with(&inner.background).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for run notifications yet; readers poll meanwhile");
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_secs(2)) => continue,
                }
            }
        };
        if let Err(e) = listener.listen_all([EVENTS_CHANNEL, STOP_CHANNEL]).await {
            tracing::warn!(error = %e, "LISTEN failed; retrying");
            continue;
        }
        loop {
            let received = tokio::select! {
                () = stop.cancelled() => return,
                received = listener.recv() => received,
            };
            let notification = match received {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "run notifications interrupted; reconnecting");
                    break;
                }
            };
            let ids = notification.payload().split(',').filter_map(|id| id.parse::<Uuid>().ok());
            if notification.channel() == STOP_CHANNEL {
                if let Some(runs) = runs.upgrade() {
                    ids.for_each(|id| runs.cancel(id));
                }
            } else {
                let waiters = inner.waiters.lock().unwrap_or_else(|p| p.into_inner());
                for id in ids {
                    if let Some(tx) = waiters.get(&id).and_then(Weak::upgrade) {
                        tx.send_modify(|n| *n += 1);
                    }
                }
            }
        }
    }
}

/// Renews this instance's leases, honours stop flags, ends runs whose instance died, purges old rows.
async fn heartbeat(
    inner: Arc<Inner>,
    config: RelayConfig,
    runs: Weak<dyn RunLookup>,
    writer: ChatLogWriter,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(config.heartbeat);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut beats = 0u64;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        // Only the runs the registry still holds running: a run whose end never reached the table (its batch
        // failed) then runs out of lease, and is ended by whoever notices, instead of looking busy for as long as
        // this instance lives.
        let running = runs.upgrade().map(|runs| runs.running_ids()).unwrap_or_default();
        let renewed: Result<Vec<(Uuid, bool)>, _> = sqlx::query_as(
            "UPDATE runs_live SET heartbeat_at = now()
             WHERE run_id = ANY($2) AND instance = $1 AND finished_at IS NULL
             RETURNING run_id, stop_requested",
        )
        .bind(inner.instance)
        .bind(&running)
        .fetch_all(&inner.background)
        .await;
        match (renewed, runs.upgrade()) {
            (Ok(renewed), Some(runs)) => {
                renewed.into_iter().filter(|(_, stop)| *stop).for_each(|(id, _)| runs.cancel(id));
            }
            (Err(e), _) => tracing::warn!(error = %e, "could not renew run leases"),
            _ => {}
        }
        if let Err(e) = reap(&inner.background, config.lease, config.heartbeat / 2, &writer).await {
            tracing::warn!(error = %e, "could not check for runs whose instance died");
        }
        beats += 1;
        if beats.is_multiple_of(PURGE_EVERY)
            && let Err(e) = purge(&inner.background).await
        {
            tracing::warn!(error = %e, "could not purge ended runs' events");
        }
    }
}

/// Ends the runs whose lease ran out: an error and a `done` in their stream, their reservation settled at its
/// worst case, a failed log row with the text they had streamed. Each run is taken by one instance only. Returns
/// how many it ended, [`REAP_BATCH`] per transaction, going on for at most `budget` (the rest waits for the next
/// call: the heartbeat that calls it must not miss its own leases).
pub async fn reap(
    pool: &PgPool,
    lease: Duration,
    budget: Duration,
    writer: &ChatLogWriter,
) -> Result<usize, sqlx::Error> {
    let started = tokio::time::Instant::now();
    let mut ended = 0;
    loop {
        let n = reap_some(pool, lease, writer).await?;
        ended += n;
        if n < REAP_BATCH || started.elapsed() >= budget {
            return Ok(ended);
        }
    }
}

/// Ends up to [`REAP_BATCH`] dead runs in one transaction.
async fn reap_some(pool: &PgPool, lease: Duration, writer: &ChatLogWriter) -> Result<usize, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let dead: Vec<(Uuid, Uuid, Uuid, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
        "UPDATE runs_live SET finished_at = now() WHERE run_id IN (
             SELECT run_id FROM runs_live WHERE finished_at IS NULL AND heartbeat_at < now() - make_interval(secs => $1)
             ORDER BY heartbeat_at LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING run_id, user_id, conversation_id, started_at",
    )
    .bind(lease.as_secs_f64())
    .bind(i64::try_from(REAP_BATCH).unwrap_or(i64::MAX))
    .fetch_all(&mut *tx)
    .await?;
    let mut records = Vec::new();
    for (run_id, user_id, conversation_id, started_at) in &dead {
        let events = stored_events(&mut *tx, *run_id, 0).await?;
        let parsed: Vec<RunEvent> = events.iter().filter_map(|(_, _, d)| serde_json::from_str(d).ok()).collect();
        let next = events.last().map_or(0, |(seq, _, _)| seq + 1);
        let started = parsed.iter().find_map(|e| match e {
            RunEvent::RunStarted { chat_log_id, model, question, .. } => {
                Some((*chat_log_id, model.clone(), question.clone()))
            }
            _ => None,
        });
        let text: String = parsed
            .iter()
            .filter_map(|e| match e {
                RunEvent::TextDelta { text } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        let failure = RunFailure::ServerStopped;
        let chat_log_id = started.as_ref().and_then(|s| s.0);
        let ending = [
            RunEvent::failed(&failure),
            RunEvent::Done { status: RunEnd::Error, chat_log_id, input_tokens: 0, output_tokens: 0, cost: None },
        ];
        let mut row = Row::new(*run_id, next);
        for event in &ending {
            row.push(event.kind(), &serde_json::to_string(event).unwrap_or_default());
        }
        let row = row.finish();
        sqlx::query(
            "INSERT INTO run_events (run_id, seq, kinds, events) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(row.run_id)
        .bind(row.seq)
        .bind(&row.kinds)
        .bind(&row.events)
        .execute(&mut *tx)
        .await?;
        // Its real cost is unknown: it counts at its worst case, but no longer as in flight.
        sqlx::query(
            "UPDATE run_reservations SET actual_usd = reserved_usd, settled_at = now() WHERE run_id = $1 AND settled_at IS NULL",
        )
        .bind(run_id)
        .execute(&mut *tx)
        .await?;
        if let Some((id, model, question)) = started {
            records.push(ChatLogRecord {
                id,
                user_id: *user_id,
                conversation_id: Some(*conversation_id),
                conversation_title: Some(super::run::title_of(&question)),
                question,
                response: text,
                tools_used: serde_json::Value::Array(Vec::new()),
                checks: None,
                input_tokens: None,
                output_tokens: None,
                cache_creation_tokens: None,
                cache_read_tokens: None,
                cost: None,
                model,
                status: RunStatus::Error,
                error: Some(failure.to_string()),
                failure: Some(failure.clone()),
                duration_ms: None,
                created_at: started_at.naive_utc(),
            });
        }
    }
    if !dead.is_empty() {
        let ids: Vec<Uuid> = dead.iter().map(|d| d.0).collect();
        sqlx::query("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p")
            .bind(EVENTS_CHANNEL)
            .bind(notify_payloads(&ids))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    for record in records {
        tracing::warn!(run_id = ?record.id, user = %record.user_id, "a run's instance died; logged it as failed");
        // Under the run's own log id: if the dead instance's record ever arrives too (replayed from its spool when it
        // restarts), whichever reached the table first is kept (the writer skips duplicate ids).
        writer.enqueue(record).await;
    }
    Ok(dead.len())
}

async fn purge(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query(
        "WITH gone AS (DELETE FROM runs_live WHERE finished_at < now() - make_interval(secs => $1) RETURNING run_id)
         DELETE FROM run_events e USING gone WHERE e.run_id = gone.run_id",
    )
    .bind(KEEP_ENDED.as_secs_f64())
    .execute(pool)
    .await?;
    Ok(())
}
