//! Usage, limits and alerts: what the "My usage" page and the admin dashboard show.
use crate::api::reasons::Budget;
#[cfg(feature = "ssr")]
use crate::api::reasons::Invalid;
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

/// A cost or saved-answer alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertView {
    pub id: i64,
    /// What it says, as data (the page words it in the reader's language).
    pub notice: AlertNotice,
    pub created_at: DateTime<Utc>,
    /// Whether the webhook took it.
    pub delivered: bool,
    /// Whom it concerns (admin view; `None` for everyone's total).
    pub user: Option<String>,
}

/// What an alert says. Amounts are formatted USD (`$1.60`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AlertNotice {
    /// 80 % of a budget spent.
    BudgetNear {
        /// Which budget.
        scope: Budget,
        /// Spent in its window.
        spent: String,
        /// The budget.
        budget: String,
    },
    /// A whole budget spent.
    BudgetUsed {
        /// Which budget.
        scope: Budget,
        /// The budget.
        budget: String,
    },
    /// One user's spend today above `COST_ALERT_USD`.
    UserDailySpend {
        /// Spent today.
        spent: String,
        /// The alert level.
        level: String,
    },
    /// Everyone's spend today above `COST_ALERT_TOTAL_USD`.
    TotalDailySpend {
        /// Spent today.
        spent: String,
        /// The alert level.
        level: String,
    },
    /// Scheduled re-runs found checked numbers of saved answers that no longer hold (one alert a day; later
    /// changes that day are added).
    SavedChanged(Vec<SavedChange>),
    /// A kind this build does not know (written by a newer one), in its stored English words.
    Other(String),
}

impl std::fmt::Display for AlertNotice {
    /// The English text: the stored `message` and the webhook's.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BudgetNear { scope, spent, budget } => {
                write!(f, "You have used {spent} of your {budget} {scope} budget (80 %).")
            }
            Self::BudgetUsed { scope, budget } => write!(f, "You have used your whole {scope} budget of {budget}."),
            Self::UserDailySpend { spent, level } => {
                write!(f, "Daily spend of {spent} is above the alert level of {level}.")
            }
            Self::TotalDailySpend { spent, level } => {
                write!(f, "Total spend today of {spent} is above the alert level of {level}.")
            }
            Self::SavedChanged(changes) => {
                for (i, change) in changes.iter().enumerate() {
                    if i > 0 {
                        f.write_str("\n")?;
                    }
                    write!(f, "{change}")?;
                }
                Ok(())
            }
            Self::Other(message) => f.write_str(message),
        }
    }
}

impl std::fmt::Display for SavedChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Your saved answer \"{}\" changed on its scheduled re-run: ", self.question)?;
        for (i, (written, status)) in self.numbers.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            match status {
                super::NumberStatus::Changed { now } => write!(f, "{written} is now {now}")?,
                super::NumberStatus::Moved { was, now } => write!(f, "{written} was {was}'s, the row is now {now}")?,
                super::NumberStatus::Gone | super::NumberStatus::Holds => {
                    write!(f, "{written} is no longer in the results")?
                }
            }
        }
        f.write_str(".")
    }
}

/// One saved answer whose checked numbers changed on its scheduled re-run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedChange {
    /// The question (its first 80 characters).
    pub question: String,
    /// Each number that no longer holds: as written in the answer, and what the data says now.
    pub numbers: Vec<(String, super::NumberStatus)>,
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
        let money = |s: Option<String>, what: Budget| -> Result<Option<rust_decimal::Decimal>, AppError> {
            s.filter(|s| !s.trim().is_empty())
                .map(|s| {
                    s.trim()
                        .trim_start_matches('$')
                        .parse::<rust_decimal::Decimal>()
                        .ok()
                        .filter(|d| !d.is_sign_negative())
                        .ok_or(AppError::Invalid(Invalid::BudgetAmount(what)))
                })
                .transpose()
        };
        if requests_per_minute.is_some_and(|n| n <= 0) || max_concurrent_runs.is_some_and(|n| n <= 0) {
            return Err(AppError::Invalid(Invalid::LimitsPositive));
        }
        let overrides = crate::server::usage::dashboards::Overrides {
            requests_per_minute,
            max_concurrent_runs,
            daily_budget_usd: money(daily_budget_usd, Budget::Daily)?,
            monthly_budget_usd: money(monthly_budget_usd, Budget::Monthly)?,
        };
        crate::server::usage::dashboards::set_user_limits(state, admin.user_id, user_id, overrides).await
    })
    .await
}
