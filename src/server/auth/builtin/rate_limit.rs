//! Fixed-window rate limits kept in Postgres, so every server instance counts the same attempts.
use std::time::Duration;

use sqlx::PgPool;

/// A limit: at most `max` events per `window` for one key.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// Events allowed per window.
    pub max: i32,
    /// Window length.
    pub window: Duration,
}

/// Limits of the built-in auth.
pub mod limits {
    use super::Limit;
    use std::time::Duration;

    /// Wrong passwords per email: the 6th in 15 minutes is refused, whichever IPs they come from.
    pub const FAILED_SIGN_IN_PER_EMAIL: Limit = Limit { max: 5, window: Duration::from_secs(900) };
    /// Sign-in attempts per IP.
    pub const SIGN_IN_PER_IP: Limit = Limit { max: 30, window: Duration::from_secs(900) };
    /// Link/code emails per address.
    pub const EMAILS_PER_ADDRESS: Limit = Limit { max: 5, window: Duration::from_secs(3600) };
    /// Link/code emails per IP.
    pub const EMAILS_PER_IP: Limit = Limit { max: 20, window: Duration::from_secs(3600) };
    /// Verification attempts per IP.
    pub const VERIFY_PER_IP: Limit = Limit { max: 30, window: Duration::from_secs(900) };
    /// Wrong codes per email across codes: the 6th in 15 minutes is refused.
    pub const FAILED_CODES_PER_EMAIL: Limit = Limit { max: 5, window: Duration::from_secs(900) };
}

fn window_start_sql() -> &'static str {
    "to_timestamp(floor(extract(epoch FROM now()) / $2) * $2)"
}

/// Counts one event for `key` and says whether it is within `limit`.
pub async fn hit(pool: &PgPool, key: &str, limit: Limit) -> Result<bool, sqlx::Error> {
    let count: i32 = sqlx::query_scalar(&format!(
        "INSERT INTO tradechat_auth.rate_limits (key, window_start, count) VALUES ($1, {}, 1)
         ON CONFLICT (key, window_start) DO UPDATE SET count = tradechat_auth.rate_limits.count + 1
         RETURNING count",
        window_start_sql()
    ))
    .bind(key)
    .bind(limit.window.as_secs_f64())
    .fetch_one(pool)
    .await?;
    Ok(count <= limit.max)
}

/// Takes back one event counted by [`hit`] in the current window (an attempt that turned out not to be a failure).
///
/// Failure limits count an attempt *before* it is evaluated — one `INSERT … RETURNING` that both counts and
/// answers — so parallel attempts cannot all pass a check made before any of them was counted; a success then
/// gives its count back.
pub async fn release(pool: &PgPool, key: &str, limit: Limit) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "UPDATE tradechat_auth.rate_limits SET count = count - 1 WHERE key = $1 AND window_start = {} AND count > 0",
        window_start_sql()
    ))
    .bind(key)
    .bind(limit.window.as_secs_f64())
    .execute(pool)
    .await?;
    Ok(())
}
