//! Admission of a run: rate, concurrency and budget checks, and the reservation, in one transaction serialised
//! per user (an advisory lock), so any number of server instances on one Postgres agree and parallel requests
//! cannot overshoot. A refused request leaves nothing behind: no reservation, no spend. The checks read running
//! totals kept by a trigger on the reservation ledger, so their cost does not grow with history.
use super::usd;
use crate::api::reasons::Limit;
use chrono::{DateTime, Datelike, Duration as ChronoDuration, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;
use sqlx::PgPool;
use uuid::Uuid;

use crate::server::config::LimitsConfig;

/// A reservation counts as in flight at most this long (a crashed instance cannot block a user for longer).
pub const RESERVATION_TTL_MINUTES: i64 = 15;

/// Why a run was refused: which limit (the UI words it per locale), and when to retry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{limit}")]
pub struct Refusal {
    /// What was reached and when it resets.
    pub limit: Limit,
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

/// A `user_limits` row: each column, when set, overrides its default (requests a minute, concurrent runs, daily
/// and monthly budgets).
pub type Overrides = (Option<i32>, Option<i32>, Option<Decimal>, Option<Decimal>);

impl EffectiveLimits {
    /// The limits a user has: their overrides where set, the configured defaults elsewhere.
    pub fn resolve((rpm, concurrent, daily, monthly): Overrides, defaults: &LimitsConfig) -> Self {
        Self {
            requests_per_minute: rpm.map_or(i64::from(defaults.requests_per_minute), i64::from),
            max_concurrent_runs: concurrent.map_or(i64::from(defaults.max_concurrent_runs), i64::from),
            daily_budget_usd: daily.unwrap_or(defaults.daily_budget_usd),
            monthly_budget_usd: monthly.unwrap_or(defaults.monthly_budget_usd),
        }
    }
}

/// The user's limits.
pub async fn effective_limits(
    conn: &mut sqlx::PgConnection,
    user_id: Uuid,
    defaults: &LimitsConfig,
) -> Result<EffectiveLimits, sqlx::Error> {
    let row: Option<Overrides> = sqlx::query_as(
        "SELECT requests_per_minute, max_concurrent_runs, daily_budget_usd, monthly_budget_usd FROM user_limits WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(conn)
    .await?;
    Ok(EffectiveLimits::resolve(row.unwrap_or_default(), defaults))
}

/// Midnight UTC after `now`, and the first of next month.
fn resets(today: NaiveDate) -> (chrono::DateTime<Utc>, chrono::DateTime<Utc>) {
    let tomorrow = today.succ_opt().unwrap_or(today).and_time(NaiveTime::MIN).and_utc();
    let (y, m) = if today.month() == 12 { (today.year() + 1, 1) } else { (today.year(), today.month() + 1) };
    let next_month = NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(today).and_time(NaiveTime::MIN).and_utc();
    (tomorrow, next_month)
}

/// Admits run `run_id` of `user_id` reserving `worst_case` USD, or says which limit stops it: one call of
/// `tradechat_admit`, which locks the user, checks the limits over the running totals (`spend_daily`) and the open
/// reservations, and makes the reservation, in one transaction.
pub async fn admit(
    pool: &PgPool,
    user_id: Uuid,
    run_id: Uuid,
    worst_case: Decimal,
    defaults: &LimitsConfig,
) -> Result<(), AdmissionError> {
    admit_run(pool, user_id, run_id, worst_case, defaults, None).await
}

/// Where an admitted run runs: its conversation and the instance running it (its `runs_live` row, so any
/// instance can serve its stream from the moment it is admitted).
#[derive(Debug, Clone, Copy)]
pub struct LiveRun {
    pub conversation_id: Uuid,
    pub instance: Uuid,
}

/// [`admit`], registering the run as live on `live`'s instance in the same round trip when it is admitted.
pub async fn admit_run(
    pool: &PgPool,
    user_id: Uuid,
    run_id: Uuid,
    worst_case: Decimal,
    defaults: &LimitsConfig,
    live: Option<LiveRun>,
) -> Result<(), AdmissionError> {
    let now = Utc::now();
    let today = now.date_naive();
    let month_start = today.with_day(1).unwrap_or(today);
    let (refused, limit, in_flight, oldest_recent): (Option<String>, Option<Decimal>, i64, Option<DateTime<Utc>>) =
        sqlx::query_as(
            "WITH a AS (SELECT * FROM tradechat_admit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)),
                  live AS (INSERT INTO runs_live (run_id, user_id, conversation_id, instance)
                           SELECT $2, $1, $11, $12 FROM a WHERE a.refused IS NULL AND $11::uuid IS NOT NULL)
             SELECT refused, limit_value, in_flight, oldest_recent FROM a",
        )
        .bind(user_id)
        .bind(run_id)
        .bind(worst_case)
        .bind(today)
        .bind(month_start)
        .bind(RESERVATION_TTL_MINUTES as i32)
        .bind(i32::try_from(defaults.requests_per_minute).unwrap_or(i32::MAX))
        .bind(i32::try_from(defaults.max_concurrent_runs).unwrap_or(i32::MAX))
        .bind(defaults.daily_budget_usd)
        .bind(defaults.monthly_budget_usd)
        .bind(live.map(|l| l.conversation_id))
        .bind(live.map(|l| l.instance))
        .fetch_one(pool)
        .await?;
    let Some(refused) = refused else { return Ok(()) };
    let limit = limit.unwrap_or_default();
    let (tomorrow, next_month) = resets(today);
    let reason = match refused.as_str() {
        "rate" => "rate",
        "concurrency" => "concurrency",
        "daily" => "daily",
        _ => "monthly",
    };
    crate::server::metrics::admission_refused(reason);
    // The rate and concurrency limits are whole numbers (the column is numeric for the budgets).
    let count = |d: Decimal| rust_decimal::prelude::ToPrimitive::to_u32(&d.trunc()).unwrap_or(u32::MAX);
    let refusal = match reason {
        "rate" => {
            let wait = oldest_recent.map_or(60, |t| (t + ChronoDuration::minutes(1) - now).num_seconds().clamp(1, 60));
            Refusal {
                limit: Limit::PerMinute { limit: count(limit), wait_secs: wait as u64 },
                retry_after_secs: wait as u64,
            }
        }
        "concurrency" => Refusal {
            limit: Limit::Concurrent { in_flight: u32::try_from(in_flight).unwrap_or(u32::MAX), limit: count(limit) },
            retry_after_secs: 5,
        },
        "daily" => Refusal {
            limit: Limit::DailyBudget { usd: usd(limit) },
            retry_after_secs: (tomorrow - now).num_seconds().max(1) as u64,
        },
        _ => Refusal {
            limit: Limit::MonthlyBudget { usd: usd(limit), resets_on: next_month.date_naive() },
            retry_after_secs: (next_month - now).num_seconds().max(1) as u64,
        },
    };
    Err(refusal.into())
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
        assert_eq!(usd(Decimal::new(2, 0)), "$2.00");
    }
}
