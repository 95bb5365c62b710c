//! Settling runs in batches, off every run's path: when a run ends, its reservation (`run_reservations`) is due to
//! settle to the real cost and the cost alerts of its user are due a check. One worker takes what has ended since
//! its last pass — one `UPDATE` for all of them, then one alert check per user — so a busy server makes a few
//! round trips a batch rather than several a run. A settle that fails is retried; an unsettled reservation keeps
//! counting at its worst case meanwhile (never overshoot). At shutdown the worker drains what is queued.
use std::collections::BTreeSet;
use std::time::Duration;

use rust_decimal::Decimal;
use sqlx::PgPool;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::alerts;
use crate::server::config::LimitsConfig;

/// Runs settled in one statement at most.
const MAX_BATCH: usize = 512;

/// A run that ended: its reservation settles to `cost` (unknown: its reserved amount stays).
#[derive(Debug, Clone, Copy)]
pub struct Ended {
    /// The run.
    pub run_id: Uuid,
    /// Its user, whose alerts are checked after.
    pub user_id: Uuid,
    /// What it cost; `None` when the model's price is unknown.
    pub cost: Option<Decimal>,
}

/// Hands ended runs to the settling worker.
#[derive(Clone)]
pub struct Settler {
    tx: mpsc::UnboundedSender<Ended>,
}

/// The worker, to drain at shutdown.
pub struct SettlerTask {
    handle: JoinHandle<()>,
    drain: CancellationToken,
}

impl Settler {
    /// Starts the worker.
    pub fn start(pool: PgPool, http: reqwest::Client, limits: LimitsConfig) -> (Self, SettlerTask) {
        let (tx, rx) = mpsc::unbounded_channel();
        let drain = CancellationToken::new();
        let handle = tokio::spawn(work(rx, drain.clone(), pool, http, limits));
        (Self { tx }, SettlerTask { handle, drain })
    }

    /// Queues an ended run (never blocks).
    pub fn ended(&self, run: Ended) {
        if self.tx.send(run).is_err() {
            tracing::error!(run_id = %run.run_id, "the settler has stopped; this reservation stays at its worst case");
        }
    }
}

impl SettlerTask {
    /// Settles what is queued (call it once the runs have ended), for at most `deadline`, and stops.
    pub async fn shutdown(self, deadline: Duration) {
        self.drain.cancel();
        if tokio::time::timeout(deadline, self.handle).await.is_err() {
            tracing::warn!("reservations still unsettled at the shutdown deadline; they count at their worst case");
        }
    }
}

async fn work(
    mut rx: mpsc::UnboundedReceiver<Ended>,
    drain: CancellationToken,
    pool: PgPool,
    http: reqwest::Client,
    limits: LimitsConfig,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        let draining = tokio::select! {
            received = rx.recv_many(&mut batch, MAX_BATCH) => {
                if received == 0 {
                    return;
                }
                false
            }
            () = drain.cancelled() => {
                while let Ok(run) = rx.try_recv() {
                    batch.push(run);
                }
                true
            }
        };
        if !batch.is_empty() && settle_with_retries(&pool, &batch).await {
            let users: BTreeSet<Uuid> = batch.iter().map(|r| r.user_id).collect();
            for user in users {
                if let Err(e) = alerts::check(&pool, &http, &limits, user).await {
                    tracing::warn!(error = %e, "checking cost alerts failed");
                }
            }
        }
        batch.clear();
        if draining {
            return;
        }
    }
}

/// Settles `batch`, retrying a few times; whether it went through.
async fn settle_with_retries(pool: &PgPool, batch: &[Ended]) -> bool {
    let mut delay = Duration::from_millis(200);
    for attempt in 1..=5 {
        match settle(pool, batch).await {
            Ok(()) => return true,
            Err(e) if attempt < 5 => {
                tracing::warn!(error = %e, attempt, runs = batch.len(), "settling reservations failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(e) => {
                tracing::error!(error = %e, runs = batch.len(), "these reservations stay at their worst case until they expire");
            }
        }
    }
    false
}

/// Settles every run of `batch` to its real cost (an unknown cost keeps the reserved amount, to stay on the safe
/// side), in one statement.
pub async fn settle(pool: &PgPool, batch: &[Ended]) -> Result<(), sqlx::Error> {
    let ids: Vec<Uuid> = batch.iter().map(|r| r.run_id).collect();
    let costs: Vec<Option<Decimal>> = batch.iter().map(|r| r.cost).collect();
    sqlx::query(
        "UPDATE run_reservations r SET actual_usd = coalesce(s.cost, r.reserved_usd), settled_at = now()
         FROM unnest($1::uuid[], $2::numeric[]) AS s(run_id, cost)
         WHERE r.run_id = s.run_id AND r.settled_at IS NULL",
    )
    .bind(&ids)
    .bind(&costs)
    .execute(pool)
    .await?;
    Ok(())
}
