//! Chat-log ids reserved ahead of time from the table's own sequence, so a run gets its id with no Postgres
//! round trip on the request path. Refills happen in the background when the pool runs low.
use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use sqlx::PgPool;

/// A pool of reserved `chat_logs.id` values.
pub struct IdPool {
    ids: Mutex<VecDeque<i64>>,
    refilling: AtomicBool,
    block: usize,
}

impl IdPool {
    /// An empty pool that reserves `block` ids per refill.
    pub fn new(block: usize) -> Self {
        Self { ids: Mutex::new(VecDeque::new()), refilling: AtomicBool::new(false), block }
    }

    /// Takes an id; `None` only when the pool is empty (Postgres unreachable since start-up, or a burst faster
    /// than refills).
    pub fn take(&self) -> Option<i64> {
        self.ids.lock().unwrap_or_else(|p| p.into_inner()).pop_front()
    }

    /// Ids left.
    pub fn len(&self) -> usize {
        self.ids.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a refill should start: the pool is below a quarter of a block and no refill is running.
    pub fn wants_refill(&self) -> bool {
        self.len() < self.block / 4 && !self.refilling.load(Ordering::Acquire)
    }

    /// Reserves another block from the sequence (one round trip). Concurrent calls collapse into one.
    pub async fn refill(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        if self.refilling.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let result = sqlx::query_scalar::<_, i64>(
            "SELECT nextval(pg_get_serial_sequence('chat_logs', 'id')) FROM generate_series(1, $1)",
        )
        .bind(self.block as i64)
        .fetch_all(pool)
        .await;
        self.refilling.store(false, Ordering::Release);
        let fresh = result?;
        self.ids.lock().unwrap_or_else(|p| p.into_inner()).extend(fresh);
        Ok(())
    }
}
