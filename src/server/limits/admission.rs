//! Admission of a run: rate, concurrency and budget checks, and the reservation, in one transaction serialised
//! per user (an advisory lock), so any number of server instances on one Postgres agree and parallel requests
//! cannot overshoot. A refused request leaves nothing behind: no reservation, no spend.
use chrono::{Datelike, Duration as ChronoDuration, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;
use sqlx::PgPool;
use uuid::Uuid;

use crate::server::config::LimitsConfig;

/// A reservation counts as in flight at most this long (a crashed instance cannot block a user for longer).
pub const RESERVATION_TTL_MINUTES: i64 = 15;

/// Why a run was refused: a message the UI shows as-is, and when to retry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    /// What happened and when it resets.
    pub message: String,
    /// Seconds until a retry can succeed.
    pub retry_after_secs: u64,
}

/// Errors of admission.
#[derive(Debug, thiserror::Error)]
pub enum AdmissionError {
    /// Over a limit.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// Postgres failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A user's effective limits: their overrides, else the defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveLimits {
    /// Questions per minute.
    pub requests_per_minute: i64,
    /// Runs at once.
    pub max_concurrent_runs: i64,
    /// USD per UTC day (0: unlimited).
    pub daily_budget_usd: Decimal,
    /// USD per calendar month (0: unlimited).
    pub monthly_budget_usd: Decimal,
}

/// The user's limits.
pub async fn effective_limits(
    conn: &mut sqlx::PgConnection,
    user_id: Uuid,
    defaults: &LimitsConfig,
) -> Result<EffectiveLimits, sqlx::Error> {
    /// A `user_limits` row: each column overrides its default when set.
    type Overrides = (Option<i32>, Option<i32>, Option<Decimal>, Option<Decimal>);
    let row: Option<Overrides> = sqlx::query_as(
        "SELECT requests_per_minute, max_concurrent_runs, daily_budget_usd, monthly_budget_usd FROM user_limits WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(conn)
    .await?;
    let (rpm, concurrent, daily, monthly) = row.unwrap_or_default();
    Ok(EffectiveLimits {
        requests_per_minute: rpm.map_or(i64::from(defaults.requests_per_minute), i64::from),
        max_concurrent_runs: concurrent.map_or(i64::from(defaults.max_concurrent_runs), i64::from),
        daily_budget_usd: daily.unwrap_or(defaults.daily_budget_usd),
        monthly_budget_usd: monthly.unwrap_or(defaults.monthly_budget_usd),
    })
}

fn money(d: Decimal) -> String {
    format!("${:.2}", d.round_dp(2))
}

/// Midnight UTC after `now`, and the first of next month.
fn resets(today: NaiveDate) -> (chrono::DateTime<Utc>, chrono::DateTime<Utc>) {
    let tomorrow = today.succ_opt().unwrap_or(today).and_time(NaiveTime::MIN).and_utc();
    let (y, m) = if today.month() == 12 { (today.year() + 1, 1) } else { (today.year(), today.month() + 1) };
    let next_month = NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(today).and_time(NaiveTime::MIN).and_utc();
    (tomorrow, next_month)
}

/// Admits run `run_id` of `user_id` reserving `worst_case` USD, or says which limit stops it.
pub async fn admit(
    pool: &PgPool,
    user_id: Uuid,
    run_id: Uuid,
    worst_case: Decimal,
    defaults: &LimitsConfig,
) -> Result<(), AdmissionError> {
    let mut tx = pool.begin().await?;
    // One admission per user at a time, across every instance.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('tradechat-admission:' || $1::text, 0))")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    let limits = effective_limits(&mut tx, user_id, defaults).await?;
    let now = Utc::now();
    let today = now.date_naive();
    let month_start = today.with_day(1).unwrap_or(today);

    let (recent, oldest_recent): (i64, Option<chrono::DateTime<Utc>>) = sqlx::query_as(
        "SELECT count(*), min(started_at) FROM run_reservations WHERE user_id = $1 AND started_at > now() - interval '1 minute'",
    )
    .bind(user_id)
    .fetch_one(&mut *tx)
    .await?;
    if recent >= limits.requests_per_minute {
        let wait = oldest_recent.map_or(60, |t| (t + ChronoDuration::minutes(1) - now).num_seconds().clamp(1, 60));
        return Err(Refusal {
            message: format!(
                "Too many questions: at most {} a minute. Try again in {wait} s.",
                limits.requests_per_minute
            ),
            retry_after_secs: wait as u64,
        }
        .into());
    }

    let (in_flight, day_spend, month_spend): (i64, Decimal, Decimal) = sqlx::query_as(
        "SELECT
             count(*) FILTER (WHERE settled_at IS NULL AND expires_at > now()),
             -- Unsettled runs count at their worst case (also those of a crashed instance: never overshoot).
             coalesce(sum(CASE WHEN settled_at IS NOT NULL THEN actual_usd ELSE reserved_usd END)
                      FILTER (WHERE started_at >= $2::date), 0),
             coalesce(sum(CASE WHEN settled_at IS NOT NULL THEN actual_usd ELSE reserved_usd END), 0)
         FROM run_reservations WHERE user_id = $1 AND started_at >= $3::date",
    )
    .bind(user_id)
    .bind(today)
    .bind(month_start)
    .fetch_one(&mut *tx)
    .await?;
    if in_flight >= limits.max_concurrent_runs {
        return Err(Refusal {
            message: format!(
                "You already have {in_flight} answer{} being written (the limit is {}); wait for one to finish.",
                if in_flight == 1 { "" } else { "s" },
                limits.max_concurrent_runs
            ),
            retry_after_secs: 5,
        }
        .into());
    }
    let (tomorrow, next_month) = resets(today);
    if limits.daily_budget_usd > Decimal::ZERO && day_spend + worst_case > limits.daily_budget_usd {
        return Err(Refusal {
            message: format!("Daily budget of {} reached; resets at 00:00 UTC.", money(limits.daily_budget_usd)),
            retry_after_secs: (tomorrow - now).num_seconds().max(1) as u64,
        }
        .into());
    }
    if limits.monthly_budget_usd > Decimal::ZERO && month_spend + worst_case > limits.monthly_budget_usd {
        return Err(Refusal {
            message: format!(
                "Monthly budget of {} reached; resets on {} at 00:00 UTC.",
                money(limits.monthly_budget_usd),
                next_month.format("%-d %b")
            ),
            retry_after_secs: (next_month - now).num_seconds().max(1) as u64,
        }
        .into());
    }
    sqlx::query(&format!(
        "INSERT INTO run_reservations (run_id, user_id, reserved_usd, expires_at)
         VALUES ($1, $2, $3, now() + interval '{RESERVATION_TTL_MINUTES} minutes')"
    ))
    .bind(run_id)
    .bind(user_id)
    .bind(worst_case)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Settles run `run_id` to its real cost (an unknown cost keeps the reserved amount, to stay on the safe side).
pub async fn settle(pool: &PgPool, run_id: Uuid, actual: Option<Decimal>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE run_reservations SET actual_usd = coalesce($2, reserved_usd), settled_at = now()
         WHERE run_id = $1 AND settled_at IS NULL",
    )
    .bind(run_id)
    .bind(actual)
    .execute(pool)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_reset_at_midnight_and_on_the_first() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 31).expect("date");
        let (tomorrow, next_month) = resets(d);
        assert_eq!(tomorrow.to_rfc3339(), "2027-01-01T00:00:00+00:00");
        assert_eq!(next_month.to_rfc3339(), "2027-01-01T00:00:00+00:00");
        assert_eq!(money(Decimal::new(2, 0)), "$2.00");
    }
}
