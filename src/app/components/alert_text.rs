//! An alert's [`AlertNotice`] in the reader's language (the stored English message is the webhook's).
use leptos::prelude::*;

use crate::api::reasons::Budget;
use crate::api::{AlertNotice, NumberStatus};
use crate::app::locale::{t, tr, use_i18n};

/// What the alert says.
#[component]
pub fn AlertText(notice: AlertNotice) -> impl IntoView {
    let i18n = use_i18n();
    match notice {
        AlertNotice::BudgetNear { scope: Budget::Daily, spent, budget } => {
            t!(i18n, pages.alert_budget_near_daily, spent, budget).into_any()
        }
        AlertNotice::BudgetNear { scope: Budget::Monthly, spent, budget } => {
            t!(i18n, pages.alert_budget_near_monthly, spent, budget).into_any()
        }
        AlertNotice::BudgetUsed { scope: Budget::Daily, budget } => {
            t!(i18n, pages.alert_budget_used_daily, budget).into_any()
        }
        AlertNotice::BudgetUsed { scope: Budget::Monthly, budget } => {
            t!(i18n, pages.alert_budget_used_monthly, budget).into_any()
        }
        AlertNotice::UserDailySpend { spent, level } => t!(i18n, pages.alert_user_daily_spend, spent, level).into_any(),
        AlertNotice::TotalDailySpend { spent, level } => {
            t!(i18n, pages.alert_total_daily_spend, spent, level).into_any()
        }
        AlertNotice::SavedChanged(changes) => changes
            .into_iter()
            .map(|change| {
                let question = change.question;
                let numbers = change
                    .numbers
                    .into_iter()
                    .map(|(written, status)| {
                        let status = match status {
                            NumberStatus::Changed { now } => t!(i18n, pages.rerun_changed, now).into_any(),
                            NumberStatus::Moved { was, now } => t!(i18n, pages.rerun_moved, was, now).into_any(),
                            NumberStatus::Gone | NumberStatus::Holds => tr!(i18n, pages.rerun_gone).into_any(),
                        };
                        view! { <li><strong>{written}</strong> " " {status}</li> }
                    })
                    .collect_view();
                view! {
                    <p>{t!(i18n, pages.alert_saved_changed, question)}</p>
                    <ul class="small">{numbers}</ul>
                }
            })
            .collect_view()
            .into_any(),
        AlertNotice::Other(message) => message.into_any(),
    }
}
