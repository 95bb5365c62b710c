//! The queries behind "My usage" (as the user, under row-level security) and the admin dashboard (as the
//! service role, for admins). Aggregates read the daily rollups a trigger keeps, so they stay fast on millions of
//! logs; they return the same numbers as the seed's analytics SQL over `chat_logs`.
use crate::api::reasons::Missing;
use std::collections::HashMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::api::{
    AdminDashboard, AlertView, AppError, DailyUsage, Exchange, ExpensiveQuestion, LimitsView, Meter, MyUsage,
    ToolUsage, UserActivity,
};
use crate::server::identity::Identity;
use crate::server::limits::admission::effective_limits;
use crate::server::state::AppState;
use crate::server::store::scoped::ScopedTx;

fn text(d: Decimal) -> String {
    d.normalize().to_string()
}

/// A budget meter. `counted` is what admission counts against the budget (settled runs at their cost, running
/// ones at their worst case), so the meter fills exactly as far as the budget check sees it.
fn meter(spent: Decimal, counted: Decimal, budget: Decimal) -> Meter {
    let unlimited = budget <= Decimal::ZERO;
    let used = counted.max(spent);
    let fraction = if unlimited { 0.0 } else { (used / budget).to_string().parse::<f64>().unwrap_or(0.0) };
    let reserved = counted - spent;
    Meter {
        spent_usd: text(spent),
        reserved_usd: (reserved > Decimal::ZERO).then(|| text(reserved)),
        budget_usd: (!unlimited).then(|| text(budget)),
        fraction,
    }
}

#[derive(sqlx::FromRow)]
struct ExpensiveRow {
    id: i64,
    conversation_id: Option<Uuid>,
    question: String,
    cost: Decimal,
    tokens: Option<i64>,
    created_at: NaiveDateTime,
    user_id: Uuid,
}

impl ExpensiveRow {
    fn into_view(self, names: Option<&HashMap<Uuid, String>>) -> ExpensiveQuestion {
        ExpensiveQuestion {
            chat_log_id: self.id,
            conversation_id: self.conversation_id,
            question: self.question,
            cost: text(self.cost),
            tokens: self.tokens,
            created_at: self.created_at.and_utc(),
            user: names.map(|n| n.get(&self.user_id).cloned().unwrap_or_else(|| self.user_id.to_string())),
        }
    }
}

#[derive(sqlx::FromRow)]
struct AlertRow {
    id: i64,
    kind: String,
    scope: String,
    amount_usd: Decimal,
    threshold_usd: Decimal,
    details: serde_json::Value,
    message: String,
    created_at: chrono::DateTime<Utc>,
    delivered_at: Option<chrono::DateTime<Utc>>,
    user_id: Option<Uuid>,
}

impl AlertRow {
    fn into_view(self, names: Option<&HashMap<Uuid, String>>) -> AlertView {
        AlertView {
            id: self.id,
            notice: crate::server::limits::alerts::notice_of(
                &self.kind,
                &self.scope,
                self.amount_usd,
                self.threshold_usd,
                self.details,
                self.message,
            ),
            created_at: self.created_at,
            delivered: self.delivered_at.is_some(),
            user: match (names, self.user_id) {
                (Some(n), Some(id)) => Some(n.get(&id).cloned().unwrap_or_else(|| id.to_string())),
                (Some(_), None) => Some("everyone".into()),
                (None, _) => None,
            },
        }
    }
}

/// The signed-in user's page.
pub async fn my_usage(state: &AppState, identity: &Identity) -> Result<MyUsage, AppError> {
    let today = Utc::now().date_naive();
    let month_start = today.with_day(1).unwrap_or(today);
    let mut tx = ScopedTx::as_user(&state.db, identity).await?;
    let limits = effective_limits(&mut tx, identity.user_id, &state.config.limits).await?;
    let (cost_today, cost_month, requests_today, requests_month, input_month, output_month): (
        Decimal,
        Decimal,
        i64,
        i64,
        i64,
        i64,
    ) = sqlx::query_as(
        "SELECT coalesce(sum(cost) FILTER (WHERE day = $1), 0), coalesce(sum(cost), 0),
                coalesce(sum(requests) FILTER (WHERE day = $1), 0)::bigint, coalesce(sum(requests), 0)::bigint,
                coalesce(sum(input_tokens), 0)::bigint, coalesce(sum(output_tokens), 0)::bigint
         FROM usage_daily WHERE user_id = auth.uid() AND day >= $2",
    )
    .bind(today)
    .bind(month_start)
    .fetch_one(&mut *tx)
    .await?;
    // What the budget check counts (see `tradechat_admit`): settled costs plus the worst cases still open.
    let (counted_today, counted_month): (Decimal, Decimal) = sqlx::query_as(
        "SELECT day_settled + day_open, month_settled + month_open FROM tradechat_spend(auth.uid(), $1, $2)",
    )
    .bind(today)
    .bind(month_start)
    .fetch_one(&mut *tx)
    .await?;
    let expensive: Vec<ExpensiveRow> = sqlx::query_as(
        "SELECT id, conversation_id, question, cost, (input_tokens + output_tokens)::bigint AS tokens, created_at, user_id
         FROM chat_logs WHERE user_id = auth.uid() AND created_at >= $1 AND cost > 0
         ORDER BY cost DESC LIMIT 5",
    )
    .bind(month_start.and_hms_opt(0, 0, 0))
    .fetch_all(&mut *tx)
    .await?;
    let alerts: Vec<AlertRow> = sqlx::query_as(
        "SELECT id, kind, scope, amount_usd, threshold_usd, details, message, created_at, delivered_at, user_id FROM alerts
         WHERE user_id = auth.uid() AND seen_at IS NULL ORDER BY created_at DESC LIMIT 20",
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(MyUsage {
        today: meter(cost_today, counted_today, limits.daily_budget_usd),
        month: meter(cost_month, counted_month, limits.monthly_budget_usd),
        requests_today,
        requests_month,
        input_tokens_month: input_month,
        output_tokens_month: output_month,
        most_expensive: expensive.into_iter().map(|r| r.into_view(None)).collect(),
        alerts: alerts.into_iter().map(|a| a.into_view(None)).collect(),
        limits: LimitsView {
            requests_per_minute: limits.requests_per_minute,
            max_concurrent_runs: limits.max_concurrent_runs,
            daily_budget_usd: text(limits.daily_budget_usd),
            monthly_budget_usd: text(limits.monthly_budget_usd),
        },
    })
}

/// Marks one of the user's alerts as seen.
pub async fn dismiss_alert(state: &AppState, identity: &Identity, id: i64) -> Result<(), AppError> {
    let mut tx = ScopedTx::as_user(&state.db, identity).await?;
    let updated = sqlx::query("UPDATE alerts SET seen_at = now() WHERE id = $1").bind(id).execute(&mut *tx).await?;
    tx.commit().await?;
    if updated.rows_affected() == 0 { Err(AppError::NotFound(Missing::Alert)) } else { Ok(()) }
}

/// Names for users: display name, else email. Emails live in `auth.users`, which the app's login role reads.
async fn names(state: &AppState, ids: &[Uuid]) -> Result<HashMap<Uuid, String>, sqlx::Error> {
    let rows: Vec<(Uuid, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT u.id, p.display_name, u.email FROM auth.users u LEFT JOIN profiles p ON p.id = u.id WHERE u.id = ANY($1)",
    )
    .bind(ids)
    .fetch_all(&state.db)
    .await?;
    Ok(rows.into_iter().map(|(id, name, email)| (id, name.or(email).unwrap_or_else(|| id.to_string()))).collect())
}

/// The admin dashboard for `[from, to]`.
pub async fn admin_dashboard(state: &AppState, from: NaiveDate, to: NaiveDate) -> Result<AdminDashboard, AppError> {
    let (start, end) = (from.and_hms_opt(0, 0, 0), to.succ_opt().unwrap_or(to).and_hms_opt(0, 0, 0));
    let started = std::time::Instant::now();
    let mut tx = ScopedTx::as_service_role(&state.db).await?;
    let mut timings = Vec::new();
    let lap = std::time::Instant::now();
    let activity: Vec<(Uuid, i64, Decimal, Option<f64>)> = sqlx::query_as(
        "SELECT user_id, sum(requests)::bigint, sum(cost), sum(token_sum)::float8 / nullif(sum(token_rows), 0)
         FROM usage_daily WHERE day BETWEEN $1 AND $2 GROUP BY user_id ORDER BY 2 DESC, 3 DESC LIMIT 200",
    )
    .bind(from)
    .bind(to)
    .fetch_all(&mut *tx)
    .await?;
    timings.push(("activity by user", lap.elapsed()));
    let lap = std::time::Instant::now();
    let tools: Vec<(String, i64, Option<f64>)> = sqlx::query_as(
        "SELECT tool, sum(calls)::bigint, sum(duration_ms_total) / nullif(sum(duration_ms_count), 0)
         FROM tool_daily WHERE day BETWEEN $1 AND $2 GROUP BY tool ORDER BY 2 DESC",
    )
    .bind(from)
    .bind(to)
    .fetch_all(&mut *tx)
    .await?;
    timings.push(("popular tools", lap.elapsed()));
    let lap = std::time::Instant::now();
    let daily: Vec<(NaiveDate, i64, Decimal, i64)> = sqlx::query_as(
        "SELECT day, sum(requests)::bigint, sum(cost), sum(errors)::bigint
         FROM usage_daily WHERE day BETWEEN $1 AND $2 GROUP BY day ORDER BY day DESC",
    )
    .bind(from)
    .bind(to)
    .fetch_all(&mut *tx)
    .await?;
    timings.push(("daily costs", lap.elapsed()));
    let lap = std::time::Instant::now();
    // p50/p95 from the duration histogram: the geometric middle of the bucket where the cumulative count crosses.
    let durations: Vec<(NaiveDate, Option<f64>, Option<f64>)> = sqlx::query_as(
        "WITH b AS (
             SELECT day, bucket, sum(count) OVER (PARTITION BY day ORDER BY bucket) AS cum,
                    sum(count) OVER (PARTITION BY day) AS total
             FROM duration_daily WHERE day BETWEEN $1 AND $2)
         SELECT day,
                exp((min(bucket) FILTER (WHERE cum >= 0.5 * total) + 0.5) * ln(1.05))::float8,
                exp((min(bucket) FILTER (WHERE cum >= 0.95 * total) + 0.5) * ln(1.05))::float8
         FROM b GROUP BY day",
    )
    .bind(from)
    .bind(to)
    .fetch_all(&mut *tx)
    .await?;
    timings.push(("durations", lap.elapsed()));
    let lap = std::time::Instant::now();
    let expensive: Vec<ExpensiveRow> = sqlx::query_as(
        "SELECT id, conversation_id,
                CASE WHEN deleted_at IS NULL THEN question ELSE '(deleted by its owner)' END AS question,
                cost, (input_tokens + output_tokens)::bigint AS tokens, created_at, user_id
         FROM chat_logs WHERE created_at >= $1 AND created_at < $2 AND cost IS NOT NULL
         ORDER BY cost DESC NULLS LAST LIMIT 20",
    )
    .bind(start)
    .bind(end)
    .fetch_all(&mut *tx)
    .await?;
    timings.push(("most expensive", lap.elapsed()));
    let lap = std::time::Instant::now();
    let alerts: Vec<AlertRow> = sqlx::query_as(
        "SELECT id, kind, scope, amount_usd, threshold_usd, details, message, created_at, delivered_at, user_id FROM alerts ORDER BY created_at DESC LIMIT 50",
    )
    .fetch_all(&mut *tx)
    .await?;
    timings.push(("alerts", lap.elapsed()));
    tx.commit().await?;

    let mut ids: Vec<Uuid> = activity.iter().map(|a| a.0).collect();
    ids.extend(expensive.iter().map(|e| e.user_id));
    ids.extend(alerts.iter().filter_map(|a| a.user_id));
    ids.sort_unstable();
    ids.dedup();
    let names = names(state, &ids).await?;
    let durations: HashMap<NaiveDate, (Option<f64>, Option<f64>)> =
        durations.into_iter().map(|(d, p50, p95)| (d, (p50, p95))).collect();
    Ok(AdminDashboard {
        from,
        to,
        activity: activity
            .into_iter()
            .map(|(user_id, questions, cost, avg)| UserActivity {
                user_id,
                name: names.get(&user_id).cloned().unwrap_or_else(|| user_id.to_string()),
                questions,
                total_cost: text(cost),
                avg_tokens: avg,
            })
            .collect(),
        tools: tools.into_iter().map(|(tool, count, avg)| ToolUsage { tool, count, avg_duration_ms: avg }).collect(),
        daily: daily
            .into_iter()
            .map(|(day, requests, cost, errors)| {
                let (p50_ms, p95_ms) = durations.get(&day).copied().unwrap_or((None, None));
                DailyUsage {
                    day,
                    requests,
                    cost: text(cost),
                    errors,
                    error_rate: if requests > 0 { errors as f64 / requests as f64 } else { 0.0 },
                    p50_ms,
                    p95_ms,
                }
            })
            .collect(),
        most_expensive: expensive.into_iter().map(|r| r.into_view(Some(&names))).collect(),
        alerts: alerts.into_iter().map(|a| a.into_view(Some(&names))).collect(),
        writer: state.log_writer.metrics(),
        timings_ms: timings
            .into_iter()
            .map(|(name, took)| (name.to_owned(), took.as_secs_f64() * 1000.0))
            .chain(std::iter::once(("total".to_owned(), started.elapsed().as_secs_f64() * 1000.0)))
            .collect(),
    })
}

/// One exchange, read as the service role.
pub async fn admin_exchange(state: &AppState, chat_log_id: i64) -> Result<Exchange, AppError> {
    let mut tx = ScopedTx::as_service_role(&state.db).await?;
    let exchange = crate::server::store::conversations::exchange_by_id(&mut tx, chat_log_id).await?;
    tx.commit().await?;
    exchange.ok_or(AppError::NotFound(Missing::Exchange))
}

/// Limit overrides; `None` keeps the default.
#[derive(Debug, Clone, PartialEq)]
pub struct Overrides {
    /// Questions per minute.
    pub requests_per_minute: Option<i32>,
    /// Answers at once.
    pub max_concurrent_runs: Option<i32>,
    /// USD per day.
    pub daily_budget_usd: Option<Decimal>,
    /// USD per month.
    pub monthly_budget_usd: Option<Decimal>,
}

/// Stores a user's overrides.
pub async fn set_user_limits(state: &AppState, admin: Uuid, user: Uuid, o: Overrides) -> Result<(), AppError> {
    let mut tx = ScopedTx::as_service_role(&state.db).await?;
    sqlx::query(
        "INSERT INTO user_limits (user_id, requests_per_minute, max_concurrent_runs, daily_budget_usd, monthly_budget_usd, updated_by)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (user_id) DO UPDATE SET requests_per_minute = EXCLUDED.requests_per_minute,
             max_concurrent_runs = EXCLUDED.max_concurrent_runs, daily_budget_usd = EXCLUDED.daily_budget_usd,
             monthly_budget_usd = EXCLUDED.monthly_budget_usd, updated_at = now(), updated_by = EXCLUDED.updated_by",
    )
    .bind(user)
    .bind(o.requests_per_minute)
    .bind(o.max_concurrent_runs)
    .bind(o.daily_budget_usd)
    .bind(o.monthly_budget_usd)
    .bind(admin)
    .execute(&mut *tx)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => AppError::NotFound(Missing::User),
        _ => AppError::from(e),
    })?;
    tx.commit().await?;
    Ok(())
}
