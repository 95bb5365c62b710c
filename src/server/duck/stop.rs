//! Stopping blocking DuckDB work: interrupting its query until it really ends.
//!
//! DuckDB clears a connection's interrupt flag when the next statement starts, so one interrupt that lands between
//! two statements of a piece of work (the parser check, `DESCRIBE`, the query itself) would be forgotten. A stop is
//! therefore requested once and the interrupt repeated every [`INTERRUPT_EVERY`] until the work has finished.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use duckdb::InterruptHandle;

/// How often work that should stop is interrupted again.
pub(super) const INTERRUPT_EVERY: Duration = Duration::from_millis(50);

/// Shared between the async caller and the blocking task doing the work.
#[derive(Default)]
pub(super) struct Stop {
    /// Set once the work should stop (its deadline passed or its caller went away).
    requested: AtomicBool,
    /// Set once the blocking task has ended, and with it released its connection and concurrency slot.
    finished: AtomicBool,
    /// The working connection's interrupt handle, once it has a connection.
    handle: Mutex<Option<Arc<InterruptHandle>>>,
}

impl Stop {
    /// Registers the working connection's interrupt handle. False when a stop was requested already: then the work
    /// must not start.
    pub(super) fn attach(&self, handle: Arc<InterruptHandle>) -> bool {
        // Stored before `requested` is read, and `interrupt` sets `requested` before reading the handle: whichever
        // side comes second sees the other's write.
        *self.handle.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
        !self.requested.load(Ordering::SeqCst)
    }

    /// Requests a stop and interrupts whatever statement runs now.
    pub(super) fn interrupt(&self) {
        self.requested.store(true, Ordering::SeqCst);
        if let Some(handle) = self.handle.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            handle.interrupt();
        }
    }

    /// Forgets the working connection's interrupt handle once the work is over; whether no stop was requested (so
    /// no interrupt can reach the connection any more and it may serve other work).
    pub(super) fn detach(&self) -> bool {
        // `interrupt` sets `requested` before it takes the handle: if it came first, `requested` is seen here;
        // if it comes later, it finds no handle.
        self.handle.lock().unwrap_or_else(|p| p.into_inner()).take();
        !self.requested.load(Ordering::SeqCst)
    }

    /// Whether the blocking task has ended.
    pub(super) fn is_finished(&self) -> bool {
        self.finished.load(Ordering::SeqCst)
    }

    /// Interrupts every [`INTERRUPT_EVERY`] until the blocking task has ended.
    pub(super) async fn interrupt_until_finished(&self) {
        while !self.is_finished() {
            self.interrupt();
            tokio::time::sleep(INTERRUPT_EVERY).await;
        }
    }
}

/// Held by the blocking task: marks the work finished when dropped, however the work ended (a panic included).
pub(super) struct FinishOnDrop(pub(super) Arc<Stop>);

impl Drop for FinishOnDrop {
    fn drop(&mut self) {
        self.0.finished.store(true, Ordering::SeqCst);
    }
}

/// Held by the async caller: when dropped before the work has finished (the caller gave up, was cancelled or stopped
/// waiting after the deadline), a detached task keeps interrupting the work until it ends.
pub(super) struct InterruptOnDrop(pub(super) Arc<Stop>);

impl Drop for InterruptOnDrop {
    fn drop(&mut self) {
        if self.0.is_finished() {
            return;
        }
        self.0.interrupt();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let stop = Arc::clone(&self.0);
                runtime.spawn(async move { stop.interrupt_until_finished().await });
            }
            Err(_) => tracing::warn!("DuckDB work abandoned outside a runtime; interrupted once"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_does_not_start_once_a_stop_was_requested() {
        let conn = duckdb::Connection::open_in_memory().expect("in-memory database");
        let stop = Stop::default();
        assert!(stop.attach(conn.interrupt_handle()), "no stop requested yet");
        stop.interrupt();
        assert!(!stop.attach(conn.interrupt_handle()), "a stop was requested before the work started");
    }

    #[test]
    fn finishing_is_recorded_however_the_task_ends() {
        let stop = Arc::new(Stop::default());
        let worker = Arc::clone(&stop);
        let outcome = std::thread::spawn(move || {
            let _finished = FinishOnDrop(worker);
            panic!("the work failed");
        })
        .join();
        assert!(outcome.is_err());
        assert!(stop.is_finished());
    }
}
