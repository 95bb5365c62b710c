//! In-flight runs, decoupled from HTTP connections: a run lives in its own task and records its events; any
//! number of clients follow it and re-attach after a disconnect or a page refresh with `after = N`, receiving each
//! event exactly once, in order. Finished runs are kept briefly (and at most `MAX_FINISHED`) so a reconnecting
//! client can still read the end; then they are dropped — nothing else stays in memory.
//!
//! Memory is bounded in bytes: each event is serialised once when it is recorded and shared by every reader (a
//! reader holds references, never copies), and a run keeps at most [`RUN_EVENT_BYTES`] of them — a tool result's
//! table preview past that is left out (the UI loads it on demand). So runs hold at most
//! `(runs in flight + MAX_FINISHED) × RUN_EVENT_BYTES` plus their answers' text.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use crate::api::RunEvent;

/// How long cancelled runs get at shutdown to end and hand over their logs.
pub const CANCEL_WAIT: Duration = Duration::from_secs(5);

/// How long a finished run stays readable.
pub const FINISHED_TTL: Duration = Duration::from_secs(120);
/// Finished runs kept at most.
pub const MAX_FINISHED: usize = 256;
/// Bytes of table previews one run keeps in its events.
pub const RUN_EVENT_BYTES: usize = 512 * 1024;

/// One recorded event: the event, and its JSON (the SSE `data:`), made once and shared by every reader.
#[derive(Debug)]
pub struct RecordedEvent {
    pub event: RunEvent,
    pub json: Arc<str>,
}

/// What a run has recorded.
#[derive(Default)]
struct Recorded {
    events: Vec<Arc<RecordedEvent>>,
    /// Bytes of previews kept so far.
    preview_bytes: usize,
}

/// One run.
pub struct Run {
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    pub conversation_id: Uuid,
    recorded: Mutex<Recorded>,
    /// Number of events so far and whether the run has ended; bumped on every push (subscribers wait on it).
    count: watch::Sender<(usize, bool)>,
    finished: Mutex<Option<Instant>>,
    /// Cancelled by a stop request or by shutdown.
    pub cancel: CancellationToken,
    /// Where its events are relayed for other instances.
    sink: Option<super::relay::Sink>,
}

impl Run {
    /// Appends an event (a preview past the run's byte budget is left out of it).
    pub fn push(&self, mut event: RunEvent) {
        let done = matches!(event, RunEvent::Done { .. });
        let n = {
            let mut recorded = self.recorded.lock().unwrap_or_else(|p| p.into_inner());
            if let RunEvent::ToolResult { preview, .. } = &mut event
                && let Some(p) = preview.as_ref()
            {
                let size = serde_json::to_vec(p).map_or(usize::MAX, |v| v.len());
                if recorded.preview_bytes.saturating_add(size) > RUN_EVENT_BYTES {
                    *preview = None;
                } else {
                    recorded.preview_bytes += size;
                }
            }
            let json: Arc<str> = serde_json::to_string(&event).unwrap_or_else(|_| "{}".into()).into();
            if let Some(sink) = &self.sink {
                sink.send(self, recorded.events.len(), &event, &json);
            }
            recorded.events.push(Arc::new(RecordedEvent { event, json }));
            recorded.events.len()
        };
        if done {
            *self.finished.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        }
        self.count.send_replace((n, done));
    }

    /// The answer text streamed so far.
    pub fn text(&self) -> String {
        self.recorded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .events
            .iter()
            .filter_map(|e| match &e.event {
                RunEvent::TextDelta { text } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Events from index `after` on (shared, not copied), and whether the run has finished.
    pub fn since(&self, after: usize) -> (Vec<Arc<RecordedEvent>>, bool) {
        let recorded = self.recorded.lock().unwrap_or_else(|p| p.into_inner());
        let finished = self.finished.lock().unwrap_or_else(|p| p.into_inner()).is_some();
        (recorded.events.iter().skip(after).cloned().collect(), finished)
    }

    /// Waits until there are more than `seen` events, or the run has ended.
    pub async fn changed(&self, seen: usize) {
        let mut rx = self.count.subscribe();
        let _ = rx.wait_for(|(n, ended)| *n > seen || *ended).await;
    }

    /// The `chat_log_id` it was given when it started.
    pub fn chat_log_id(&self) -> Option<i64> {
        self.recorded.lock().unwrap_or_else(|p| p.into_inner()).events.iter().find_map(|e| match &e.event {
            RunEvent::RunStarted { chat_log_id, .. } => *chat_log_id,
            _ => None,
        })
    }

    /// Whether it has ended.
    pub fn is_finished(&self) -> bool {
        self.finished.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    fn finished_at(&self) -> Option<Instant> {
        *self.finished.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// All runs of this server instance.
#[derive(Default)]
pub struct RunRegistry {
    index: Mutex<Index>,
    tasks: TaskTracker,
}

/// The runs, by id and by conversation.
#[derive(Default)]
struct Index {
    runs: HashMap<Uuid, Arc<Run>>,
    /// The newest run of each (user, conversation): a conversation has at most one run going, and it is this one.
    latest: HashMap<(Uuid, Uuid), Arc<Run>>,
    /// Finished runs are forgotten when the map has grown this large (so the scan is paid once per 64 runs).
    evict_at: usize,
}

impl Index {
    /// Forgets finished runs older than [`FINISHED_TTL`], and the oldest beyond [`MAX_FINISHED`].
    fn evict(&mut self) {
        self.runs.retain(|_, r| r.finished_at().is_none_or(|at| at.elapsed() < FINISHED_TTL));
        let mut finished: Vec<(Instant, Uuid)> =
            self.runs.values().filter_map(|r| r.finished_at().map(|at| (at, r.id))).collect();
        if finished.len() > MAX_FINISHED {
            finished.sort();
            for (_, id) in &finished[..finished.len() - MAX_FINISHED] {
                self.runs.remove(id);
            }
        }
        let runs = &self.runs;
        self.latest.retain(|_, r| runs.contains_key(&r.id));
        self.evict_at = self.runs.len() + 64;
    }
}

impl RunRegistry {
    /// Registers a new run `id` (and now and then forgets finished runs that are old or too many).
    pub fn create(&self, id: Uuid, user_id: Uuid, conversation_id: Uuid, sink: Option<super::relay::Sink>) -> Arc<Run> {
        let run = Arc::new(Run {
            id,
            user_id,
            conversation_id,
            recorded: Mutex::new(Recorded::default()),
            count: watch::channel((0, false)).0,
            finished: Mutex::new(None),
            cancel: CancellationToken::new(),
            sink,
        });
        let mut index = self.index.lock().unwrap_or_else(|p| p.into_inner());
        if index.runs.len() >= index.evict_at {
            index.evict();
        }
        index.runs.insert(run.id, Arc::clone(&run));
        index.latest.insert((user_id, conversation_id), Arc::clone(&run));
        run
    }

    /// The run `id`, whoever's it is (for stops relayed from other instances, already checked there).
    pub fn get_any(&self, id: Uuid) -> Option<Arc<Run>> {
        self.index.lock().unwrap_or_else(|p| p.into_inner()).runs.get(&id).cloned()
    }

    /// The run `id` if it belongs to `user_id`.
    pub fn get(&self, id: Uuid, user_id: Uuid) -> Option<Arc<Run>> {
        self.index.lock().unwrap_or_else(|p| p.into_inner()).runs.get(&id).filter(|r| r.user_id == user_id).cloned()
    }

    /// The user's unfinished run in `conversation_id`, if any.
    pub fn active(&self, user_id: Uuid, conversation_id: Uuid) -> Option<Arc<Run>> {
        self.latest(user_id, conversation_id).filter(|r| !r.is_finished())
    }

    /// The user's most recent run in `conversation_id` (finished or not), while it is kept.
    pub fn latest(&self, user_id: Uuid, conversation_id: Uuid) -> Option<Arc<Run>> {
        self.index.lock().unwrap_or_else(|p| p.into_inner()).latest.get(&(user_id, conversation_id)).cloned()
    }

    /// The log ids of the user's runs that finished within `within` (their logs may still be on the way to
    /// Postgres).
    pub fn recently_finished(&self, user_id: Uuid, within: Duration) -> Vec<i64> {
        self.index
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .runs
            .values()
            .filter(|r| r.user_id == user_id && r.finished_at().is_some_and(|at| at.elapsed() < within))
            .filter_map(|r| r.chat_log_id())
            .collect()
    }

    /// Runs registered now (finished ones included until evicted).
    pub fn len(&self) -> usize {
        self.index.lock().unwrap_or_else(|p| p.into_inner()).runs.len()
    }

    /// Whether none are registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Spawns a run's task, tracked so shutdown can wait for it.
    pub fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.tasks.spawn(task);
    }

    /// The ids of the runs still being written.
    pub fn running_ids(&self) -> Vec<Uuid> {
        let index = self.index.lock().unwrap_or_else(|p| p.into_inner());
        index.runs.values().filter(|r| !r.is_finished()).map(|r| r.id).collect()
    }

    /// Runs still being written.
    pub fn running(&self) -> usize {
        self.index.lock().unwrap_or_else(|p| p.into_inner()).runs.values().filter(|r| !r.is_finished()).count()
    }

    /// At shutdown: waits up to `grace` (or until `stop`) for the runs in progress to end by themselves; cancels
    /// those still going, which end their streams with a `done` of status `cancelled` and log themselves, and
    /// waits up to [`CANCEL_WAIT`] for that. Whether every run ended by itself.
    pub async fn finish(&self, grace: Duration, stop: &CancellationToken) -> bool {
        self.tasks.close();
        let by_themselves = tokio::select! {
            waited = tokio::time::timeout(grace, self.tasks.wait()) => waited.is_ok(),
            () = stop.cancelled() => self.tasks.is_empty(),
        };
        if !by_themselves {
            tracing::warn!(runs = self.running(), "cancelling the answers still running at the shutdown deadline");
            for run in self.index.lock().unwrap_or_else(|p| p.into_inner()).runs.values() {
                run.cancel.cancel();
            }
            if tokio::time::timeout(CANCEL_WAIT, self.tasks.wait()).await.is_err() {
                tracing::error!("runs still going after they were cancelled");
            }
        }
        by_themselves
    }
}
