//! Whether a session is still live, so a signed-out (or reuse-revoked, or superseded) session is refused on every
//! route — not only by GoTrue's own `/user` — while its access token has not yet expired.
//!
//! The truth is `auth.sessions` in the shared Postgres: Supabase's GoTrue deletes a session there at sign-out; with
//! the built-in auth it is a view showing only live sessions (migration `…000007_sessions`). One query per session
//! per [`LIVENESS_TTL`] at most (a per-instance cache), so a revocation anywhere takes effect on every instance
//! within that bound, and at once on the instance that signed the session out.
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::PgPool;
use uuid::Uuid;

/// How long a session's liveness is trusted before it is read again.
pub const LIVENESS_TTL: Duration = Duration::from_secs(5);
/// While Postgres cannot be read, an answer this recent still counts (past it, the session is refused).
const STALE_OK: Duration = Duration::from_secs(60);
/// Entries kept before old ones are dropped.
const MAX_ENTRIES: usize = 50_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    live: bool,
    checked: Instant,
}

/// The liveness cache of this instance.
pub struct SessionLiveness {
    pool: PgPool,
    ttl: Duration,
    cache: Mutex<HashMap<Uuid, Entry>>,
}

impl SessionLiveness {
    /// A cache over `pool` with the default [`LIVENESS_TTL`].
    pub fn new(pool: PgPool) -> Self {
        Self::with_ttl(pool, LIVENESS_TTL)
    }

    /// A cache whose answers last `ttl`.
    pub fn with_ttl(pool: PgPool, ttl: Duration) -> Self {
        Self { pool, ttl, cache: Mutex::new(HashMap::new()) }
    }

    fn cached(&self, session_id: Uuid) -> Option<Entry> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(&session_id).copied()
    }

    fn remember(&self, session_id: Uuid, live: bool) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= MAX_ENTRIES {
            let ttl = self.ttl;
            cache.retain(|_, e| e.checked.elapsed() < ttl);
        }
        cache.insert(session_id, Entry { live, checked: Instant::now() });
    }

    /// Whether `session_id` is live: from the cache when it was read within the TTL, else from Postgres. When
    /// Postgres cannot be read, a recent answer still counts; otherwise the session is refused (fail closed).
    pub async fn is_live(&self, session_id: Uuid) -> bool {
        let cached = self.cached(session_id);
        if let Some(entry) = cached.filter(|e| e.checked.elapsed() < self.ttl) {
            return entry.live;
        }
        let read: Result<bool, sqlx::Error> = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM auth.sessions WHERE id = $1 AND (not_after IS NULL OR not_after > now()))",
        )
        .bind(session_id)
        .fetch_one(&self.pool)
        .await;
        match read {
            Ok(live) => {
                self.remember(session_id, live);
                live
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not check whether a session is live");
                cached.is_some_and(|entry| entry.live && entry.checked.elapsed() < STALE_OK)
            }
        }
    }

    /// Records that this instance just ended `session_id` (sign-out), so it is refused here at once.
    pub fn revoked(&self, session_id: Uuid) {
        self.remember(session_id, false);
    }
}
