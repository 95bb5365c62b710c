//! Usage, limits and alerts: what the "My usage" page and the admin dashboard show.
use chrono::{DateTime, NaiveDate, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::{AppError, Exchange, WriterMetrics};

/// Spend against a budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meter {
    /// USD spent (exact decimal text).
    pub spent_usd: String,
    /// USD held for answers still being written (their worst case until they end); `None` when nothing is.
    pub reserved_usd: Option<String>,
    /// USD allowed; `None` when unlimited.
    pub budget_usd: Option<String>,
    /// (spent + reserved) / budget — what the budget check counts; 0 when unlimited.
    pub fraction: f64,
}

/// A costly question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpensiveQuestion {
    /// Its `chat_logs` id (the admin view opens it).
    pub chat_log_id: i64,
    pub conversation_id: Option<uuid::Uuid>,
    pub question: String,
    /// USD, exact decimal text.
    pub cost: String,
    /// Input + output tokens.
    pub tokens: Option<i64>,
    pub created_at: DateTime<Utc>,
    /// Who (admin view only).
    pub user: Option<String>,
}

/// A cost alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertView {
    pub id: i64,
    /// `budget_80`, `budget_100`, `user_daily_spend`, `total_daily_spend`.
    pub kind: String,
    /// `daily` or `monthly`.
    pub scope: String,
    pub message: String,
    pub created_at: DateTime<Utc>,
    /// Whether the webhook took it.
    pub delivered: bool,
    /// Whom it concerns (admin view; `None` for everyone's total).
    pub user: Option<String>,
}

/// The user's limits as they apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LimitsView {
    /// Questions per minute.
    pub requests_per_minute: i64,
    /// Answers at once.
    pub max_concurrent_runs: i64,
    /// USD per day (0 = unlimited).
    pub daily_budget_usd: String,
    /// USD per month (0 = unlimited).
    pub monthly_budget_usd: String,
}

/// The "My usage" page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MyUsage {
    /// Today (UTC).
    pub today: Meter,
    pub month: Meter,
    /// Questions today.
    pub requests_today: i64,
    /// Questions this month.
    pub requests_month: i64,
    /// Input tokens this month.
    pub input_tokens_month: i64,
    /// Output tokens this month.
    pub output_tokens_month: i64,
    /// Costliest questions this month.
    pub most_expensive: Vec<ExpensiveQuestion>,
    /// The user's alerts not yet dismissed.
    pub alerts: Vec<AlertView>,
    /// The limits that apply.
    pub limits: LimitsView,
}

/// One user's activity (the seed's "activity by user").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserActivity {
    pub user_id: uuid::Uuid,
    /// Display name, else email.
    pub name: String,
    pub questions: i64,
    /// USD, exact decimal text.
    pub total_cost: String,
    /// Average input + output tokens per question.
    pub avg_tokens: Option<f64>,
}

/// One tool's use (the seed's "popular tools").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolUsage {
    /// Tool name.
    pub tool: String,
    /// Calls in the range.
    pub count: i64,
    /// Mean wall time per call, milliseconds.
    pub avg_duration_ms: Option<f64>,
}

/// One day (the seed's "daily costs", plus errors and durations).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DailyUsage {
    pub day: NaiveDate,
    /// Questions asked that day.
    pub requests: i64,
    /// USD, exact decimal text.
    pub cost: String,
    /// Runs that failed.
    pub errors: i64,
    /// errors / requests.
    pub error_rate: f64,
    /// Median run duration.
    pub p50_ms: Option<f64>,
    /// 95th percentile run duration.
    pub p95_ms: Option<f64>,
}

/// The admin dashboard over a date range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminDashboard {
    /// First day (inclusive).
    pub from: NaiveDate,
    /// Last day (inclusive).
    pub to: NaiveDate,
    /// Activity by user.
    pub activity: Vec<UserActivity>,
    /// Popular tools.
    pub tools: Vec<ToolUsage>,
    /// Per day, newest first.
    pub daily: Vec<DailyUsage>,
    /// Most expensive questions.
    pub most_expensive: Vec<ExpensiveQuestion>,
    /// Recent alerts.
    pub alerts: Vec<AlertView>,
    /// The chat-log writer.
    pub writer: WriterMetrics,
    /// How long each dashboard query took (and the total), ms.
    pub timings_ms: Vec<(String, f64)>,
}

/// The signed-in user's usage, budget and alerts.
#[server(endpoint = "usage/mine")]
pub async fn fetch_my_usage() -> Result<MyUsage, AppError> {
    crate::server::edge::signed_in(async |caller| {
        let (state, identity) = (&caller.state, &caller.identity);
        crate::server::usage::dashboards::my_usage(state, identity).await
    })
    .await
}

/// Dismisses one of the user's alerts.
#[server(endpoint = "usage/dismiss_alert")]
pub async fn dismiss_alert(id: i64) -> Result<(), AppError> {
    crate::server::edge::signed_in(async |caller| {
        let (state, identity) = (&caller.state, &caller.identity);
        crate::server::usage::dashboards::dismiss_alert(state, identity, id).await
    })
    .await
}

/// The admin dashboard for `from`–`to` (YYYY-MM-DD; default the last 30 days). Admins only.
#[server(endpoint = "admin/dashboard")]
pub async fn fetch_admin_dashboard(from: Option<String>, to: Option<String>) -> Result<AdminDashboard, AppError> {
    crate::server::edge::as_admin(async |caller| {
        let state = &caller.state;
        let range = crate::server::usage::date_range::DateRange::parse(
            from.as_deref(),
            to.as_deref(),
            Utc::now().date_naive(),
        )?;
        let (from, to) = (range.from, range.to);
        crate::server::usage::dashboards::admin_dashboard(state, from, to).await
    })
    .await
}

/// One exchange of any user (admins only): where the dashboard's "most expensive" links go.
#[server(endpoint = "admin/exchange")]
pub async fn admin_exchange(chat_log_id: i64) -> Result<Exchange, AppError> {
    crate::server::edge::as_admin(async |caller| {
        let state = &caller.state;
        crate::server::usage::dashboards::admin_exchange(state, chat_log_id).await
    })
    .await
}

/// Sets a user's limit overrides (empty = default). Admins only.
#[server(endpoint = "admin/limits")]
pub async fn set_user_limits(
    user_id: uuid::Uuid,
    #[server(default)] requests_per_minute: Option<i32>,
    #[server(default)] max_concurrent_runs: Option<i32>,
    #[server(default)] daily_budget_usd: Option<String>,
    #[server(default)] monthly_budget_usd: Option<String>,
) -> Result<(), AppError> {
    crate::server::edge::as_admin(async |caller| {
        let (state, admin) = (&caller.state, &caller.identity);
        let money = |s: Option<String>, what: &str| -> Result<Option<rust_decimal::Decimal>, AppError> {
            s.filter(|s| !s.trim().is_empty())
                .map(|s| {
                    s.trim()
                        .trim_start_matches('$')
                        .parse::<rust_decimal::Decimal>()
                        .ok()
                        .filter(|d| !d.is_sign_negative())
                        .ok_or_else(|| {
                            AppError::Invalid(format!("The {what} budget must be an amount in USD, e.g. 2.50."))
                        })
                })
                .transpose()
        };
        if requests_per_minute.is_some_and(|n| n <= 0) || max_concurrent_runs.is_some_and(|n| n <= 0) {
            return Err(AppError::Invalid("Limits must be positive numbers.".into()));
        }
        let overrides = crate::server::usage::dashboards::Overrides {
            requests_per_minute,
            max_concurrent_runs,
            daily_budget_usd: money(daily_budget_usd, "daily")?,
            monthly_budget_usd: money(monthly_budget_usd, "monthly")?,
        };
        crate::server::usage::dashboards::set_user_limits(state, admin.user_id, user_id, overrides).await
    })
    .await
}
