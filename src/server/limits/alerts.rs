//! Cost alerts: a user at 80 % and 100 % of a budget, a user's daily spend above `COST_ALERT_USD`, everyone's above
//! `COST_ALERT_TOTAL_USD`. Each fires once per window (a unique index decides, so instances agree), is stored,
//! shown to the user it concerns, and posted to `ALERT_WEBHOOK_URL` (Slack-compatible) with retries in the
//! background — a failing webhook never affects chat.
use std::time::Duration;

use chrono::{Datelike, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::PgPool;
use uuid::Uuid;

use super::admission::EffectiveLimits;
use super::usd;
use crate::api::reasons::Budget;
use crate::api::{AlertNotice, SavedChange};
use crate::server::config::LimitsConfig;

/// Attempts to deliver one alert to the webhook.
const DELIVERY_ATTEMPTS: u32 = 4;

struct Candidate {
    kind: &'static str,
    scope: &'static str,
    user_id: Option<Uuid>,
    window_start: NaiveDate,
    amount: Decimal,
    threshold: Decimal,
    /// What it says; its English text is stored as the message and posted to the webhook.
    notice: AlertNotice,
}

/// A budget's scope by its stored name.
fn budget_of(scope: &str) -> Budget {
    if scope == "monthly" { Budget::Monthly } else { Budget::Daily }
}

/// The share of a budget at which the first alert fires (0.8).
const NEAR_SHARE: Decimal = Decimal::from_parts(8, 0, 0, false, 1);

/// What a stored alert says, rebuilt from its kind and amounts (and, for a saved answer, its details); the stored
/// English `message` for a kind this build does not know.
pub(crate) fn notice_of(
    kind: &str,
    scope: &str,
    amount: Decimal,
    threshold: Decimal,
    details: serde_json::Value,
    message: String,
) -> AlertNotice {
    match kind {
        "budget_80" => {
            AlertNotice::BudgetNear { scope: budget_of(scope), spent: usd(amount), budget: usd(threshold / NEAR_SHARE) }
        }
        "budget_100" => AlertNotice::BudgetUsed { scope: budget_of(scope), budget: usd(threshold) },
        "user_daily_spend" => AlertNotice::UserDailySpend { spent: usd(amount), level: usd(threshold) },
        "total_daily_spend" => AlertNotice::TotalDailySpend { spent: usd(amount), level: usd(threshold) },
        "saved_changed" => match serde_json::from_value::<Vec<SavedChange>>(details) {
            Ok(changes) if !changes.is_empty() => AlertNotice::SavedChanged(changes),
            _ => AlertNotice::Other(message),
        },
        _ => AlertNotice::Other(message),
    }
}

/// Checks the thresholds after `user_id`'s run settled; fires what is newly crossed. Returns the ids of new alerts.
pub async fn check(
    pool: &PgPool,
    http: &reqwest::Client,
    defaults: &LimitsConfig,
    user_id: Uuid,
) -> Result<Vec<i64>, sqlx::Error> {
    let today = Utc::now().date_naive();
    let month_start = today.with_day(1).unwrap_or(today);
    // The user's limits and settled spend from the running totals (a few rows per user and day, whatever the
    // history), in one round trip.
    #[derive(sqlx::FromRow)]
    struct Row {
        requests_per_minute: Option<i32>,
        max_concurrent_runs: Option<i32>,
        daily_budget_usd: Option<Decimal>,
        monthly_budget_usd: Option<Decimal>,
        day: Decimal,
        month: Decimal,
        total_day: Decimal,
    }
    let row: Row = sqlx::query_as(
        "SELECT l.requests_per_minute, l.max_concurrent_runs, l.daily_budget_usd, l.monthly_budget_usd,
                s.day, s.month, s.total_day
         FROM (SELECT coalesce(sum(settled_usd) FILTER (WHERE user_id = $1 AND day = $2), 0) AS day,
                      coalesce(sum(settled_usd) FILTER (WHERE user_id = $1), 0) AS month,
                      coalesce(sum(settled_usd) FILTER (WHERE day = $2), 0) AS total_day
               FROM spend_daily WHERE day >= $3 AND (user_id = $1 OR day = $2)) AS s
         LEFT JOIN user_limits l ON l.user_id = $1",
    )
    .bind(user_id)
    .bind(today)
    .bind(month_start)
    .fetch_one(pool)
    .await?;
    let limits = EffectiveLimits::resolve(
        (row.requests_per_minute, row.max_concurrent_runs, row.daily_budget_usd, row.monthly_budget_usd),
        defaults,
    );
    let (day, month, total_day) = (row.day, row.month, row.total_day);

    let mut candidates = Vec::new();
    for (scope, spend, budget, window) in
        [("daily", day, limits.daily_budget_usd, today), ("monthly", month, limits.monthly_budget_usd, month_start)]
    {
        if budget <= Decimal::ZERO {
            continue;
        }
        let eighty = budget * NEAR_SHARE;
        if spend >= eighty {
            candidates.push(Candidate {
                kind: "budget_80",
                scope,
                user_id: Some(user_id),
                window_start: window,
                amount: spend,
                threshold: eighty,
                notice: AlertNotice::BudgetNear { scope: budget_of(scope), spent: usd(spend), budget: usd(budget) },
            });
        }
        if spend >= budget {
            candidates.push(Candidate {
                kind: "budget_100",
                scope,
                user_id: Some(user_id),
                window_start: window,
                amount: spend,
                threshold: budget,
                notice: AlertNotice::BudgetUsed { scope: budget_of(scope), budget: usd(budget) },
            });
        }
    }
    if let Some(limit) = defaults.cost_alert_usd
        && day > limit
    {
        candidates.push(Candidate {
            kind: "user_daily_spend",
            scope: "daily",
            user_id: Some(user_id),
            window_start: today,
            amount: day,
            threshold: limit,
            notice: AlertNotice::UserDailySpend { spent: usd(day), level: usd(limit) },
        });
    }
    if let Some(limit) = defaults.cost_alert_total_usd
        && total_day > limit
    {
        candidates.push(Candidate {
            kind: "total_daily_spend",
            scope: "daily",
            user_id: None,
            window_start: today,
            amount: total_day,
            threshold: limit,
            notice: AlertNotice::TotalDailySpend { spent: usd(total_day), level: usd(limit) },
        });
    }

    let mut fired = Vec::new();
    for c in candidates {
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO alerts (kind, scope, user_id, window_start, amount_usd, threshold_usd, message)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (kind, scope, coalesce(user_id, '00000000-0000-0000-0000-000000000000'::uuid), window_start)
             DO NOTHING RETURNING id",
        )
        .bind(c.kind)
        .bind(c.scope)
        .bind(c.user_id)
        .bind(c.window_start)
        .bind(c.amount)
        .bind(c.threshold)
        .bind(c.notice.to_string())
        .fetch_optional(pool)
        .await?;
        if let Some(id) = id {
            tracing::info!(alert = id, kind = c.kind, user = ?c.user_id, "cost alert fired");
            fired.push(id);
            if let Some(url) = &defaults.alert_webhook_url {
                tokio::spawn(deliver(pool.clone(), http.clone(), url.clone(), id, c));
            }
        }
    }
    Ok(fired)
}

/// A scheduled re-run found that checked numbers of one of `user_id`'s saved answers no longer hold: one alert
/// per user and day (a later change that day is added to it and shows it again), posted to the webhook.
pub async fn saved_answer_changed(
    pool: &PgPool,
    http: &reqwest::Client,
    defaults: &LimitsConfig,
    user_id: Uuid,
    change: SavedChange,
) -> Result<i64, sqlx::Error> {
    let today = Utc::now().date_naive();
    let message = change.to_string();
    let details = serde_json::json!([change]);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO alerts (kind, scope, user_id, window_start, amount_usd, threshold_usd, message, details)
         VALUES ('saved_changed', 'daily', $1, $2, 0, 0, $3, $4)
         ON CONFLICT (kind, scope, coalesce(user_id, '00000000-0000-0000-0000-000000000000'::uuid), window_start)
         DO UPDATE SET message = alerts.message || E'\n' || EXCLUDED.message,
                       details = alerts.details || EXCLUDED.details, seen_at = NULL
         RETURNING id",
    )
    .bind(user_id)
    .bind(today)
    .bind(&message)
    .bind(&details)
    .fetch_one(pool)
    .await?;
    tracing::info!(alert = id, user = %user_id, "saved answer changed alert");
    if let Some(url) = &defaults.alert_webhook_url {
        let alert = Candidate {
            kind: "saved_changed",
            scope: "daily",
            user_id: Some(user_id),
            window_start: today,
            amount: Decimal::ZERO,
            threshold: Decimal::ZERO,
            notice: AlertNotice::SavedChanged(vec![change]),
        };
        tokio::spawn(deliver(pool.clone(), http.clone(), url.clone(), id, alert));
    }
    Ok(id)
}

/// Posts an alert to the webhook, retrying with backoff; records the outcome.
async fn deliver(pool: PgPool, http: reqwest::Client, url: String, id: i64, alert: Candidate) {
    let payload = serde_json::json!({
        "text": format!("tradechat alert: {}", alert.notice),
        "alert": {
            "id": id, "kind": alert.kind, "scope": alert.scope, "user_id": alert.user_id,
            "window_start": alert.window_start, "amount_usd": alert.amount.to_string(),
            "threshold_usd": alert.threshold.to_string(),
        },
    });
    let mut delay = Duration::from_millis(500);
    for attempt in 1..=DELIVERY_ATTEMPTS {
        let result = http.post(&url).timeout(Duration::from_secs(10)).json(&payload).send().await;
        let error = match result {
            Ok(r) if r.status().is_success() => None,
            Ok(r) => Some(format!("webhook answered {}", r.status())),
            Err(e) => Some(e.to_string()),
        };
        let recorded = sqlx::query(
            "UPDATE alerts SET delivery_attempts = $2, last_error = $3,
                               delivered_at = CASE WHEN $3 IS NULL THEN now() ELSE delivered_at END
             WHERE id = $1",
        )
        .bind(id)
        .bind(attempt as i32)
        .bind(&error)
        .execute(&pool)
        .await;
        if let Err(e) = recorded {
            tracing::warn!(error = %e, alert = id, "could not record the webhook delivery");
        }
        match error {
            None => return,
            Some(e) => {
                tracing::warn!(alert = id, attempt, error = %e, "alert webhook failed");
                tokio::time::sleep(delay).await;
                delay *= 4;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_stored_alert_says_what_it_said_when_it_fired() {
        let budget = Decimal::new(250, 2);
        let fired =
            AlertNotice::BudgetNear { scope: Budget::Monthly, spent: usd(Decimal::new(21, 1)), budget: usd(budget) };
        let stored =
            notice_of("budget_80", "monthly", Decimal::new(21, 1), budget * NEAR_SHARE, json!([]), fired.to_string());
        assert_eq!(stored, fired);
        assert_eq!(stored.to_string(), "You have used $2.10 of your $2.50 monthly budget (80 %).");
        let unknown = notice_of("from_the_future", "daily", Decimal::ZERO, Decimal::ZERO, json!([]), "Hi.".into());
        assert_eq!(unknown, AlertNotice::Other("Hi.".into()));
    }
}
