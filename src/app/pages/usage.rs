//! "My usage": spend today and this month against the budget, requests, tokens, costliest questions, alerts.
use crate::app::components::alert_text::AlertText;
use crate::app::components::error_text::ErrorAlert;
use leptos::prelude::*;
use leptos::server::ServerAction;
use leptos_router::components::A;

use crate::api::{DismissAlert, Meter, MyUsage, fetch_my_usage};
use crate::app::auth::RequireUser;
use crate::app::locale::{Locale, date_time_short, number, t, tr, use_i18n};

/// `/usage`.
#[component]
pub fn UsagePage() -> impl IntoView {
    view! {
        <RequireUser>
            <Usage />
        </RequireUser>
    }
}

/// An exact USD amount (decimal text, as the server sends it) in the locale's way, every digit kept: `$1,234.5` /
/// `$1 234,5`.
pub(super) fn usd(locale: Locale, text: &str) -> String {
    let decimals = text.split_once('.').map_or(0, |(_, fraction)| fraction.len());
    match text.parse::<f64>() {
        Ok(value) => format!("${}", number(locale, value, decimals)),
        Err(_) => format!("${text}"),
    }
}

/// A budget meter; `id` names it for tests (`spend-today`).
#[component]
fn MeterView(id: &'static str, #[prop(into)] label: Signal<&'static str>, meter: Meter) -> impl IntoView {
    let i18n = use_i18n();
    let percent = (meter.fraction * 100.0).clamp(0.0, 100.0);
    let level = if meter.fraction >= 1.0 {
        "meter full"
    } else if meter.fraction >= 0.8 {
        "meter high"
    } else {
        "meter"
    };
    let Meter { spent_usd, reserved_usd, budget_usd: budget, .. } = meter;
    let money = move |text: String| move || usd(i18n.get_locale(), &text);
    view! {
        <div class="meter-block">
            <div class="meter-head">
                <strong>{move || label.get()}</strong>
                <span data-testid=format!("spend-{id}")>
                    {money(spent_usd)}
                    {reserved_usd.map(|r| view! { " " {t!(i18n, pages.usage_held, amount = money(r))} })}
                    {match budget.clone() {
                        Some(b) => view! { " " {t!(i18n, pages.usage_of_budget, amount = money(b))} }.into_any(),
                        None => view! { " " {tr!(i18n, pages.usage_no_budget)} }.into_any(),
                    }}
                </span>
            </div>
            {budget.map(|_| {
                view! {
                    <div
                        class=level
                        role="meter"
                        aria-label=move || label.get()
                        aria-valuemin="0"
                        aria-valuemax="100"
                        aria-valuenow=format!("{percent:.0}")
                    >
                        <div class="meter-fill" style=format!("width: {percent:.1}%")></div>
                    </div>
                }
            })}
        </div>
    }
}

#[component]
fn Usage() -> impl IntoView {
    let i18n = use_i18n();
    let dismiss = ServerAction::<DismissAlert>::new();
    let usage = Resource::new(move || dismiss.version().get(), |_| fetch_my_usage());
    view! {
        <section class="page list-page">
            <h1>{tr!(i18n, pages.usage_title)}</h1>
            <Suspense fallback=move || view! { <p class="muted">{tr!(i18n, pages.loading)}</p> }>
                {move || Suspend::new(async move {
                    match usage.await {
                        Ok(u) => view! { <UsageBody usage=u dismiss /> }.into_any(),
                        Err(e) => view! { <ErrorAlert error=e /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn UsageBody(usage: MyUsage, dismiss: ServerAction<DismissAlert>) -> impl IntoView {
    let MyUsage {
        today,
        month,
        requests_today,
        requests_month,
        input_tokens_month,
        output_tokens_month,
        most_expensive,
        alerts,
        limits,
    } = usage;
    let i18n = use_i18n();
    view! {
        {alerts
            .into_iter()
            .map(|a| {
                view! {
                    <div class="alert" role="status" data-testid="alert">
                        <div><AlertText notice=a.notice /></div>
                        <ActionForm action=dismiss>
                            <input type="hidden" name="id" value=a.id />
                            <button type="submit" class="btn small" disabled=move || dismiss.pending().get()>
                                {tr!(i18n, pages.usage_dismiss)}
                            </button>
                        </ActionForm>
                    </div>
                }
            })
            .collect_view()}
        <div class="card">
            <MeterView id="today" label=tr!(i18n, pages.usage_today) meter=today />
            <MeterView id="this-month" label=tr!(i18n, pages.usage_this_month) meter=month />
            <dl class="stats">
                <div>
                    <dt>{tr!(i18n, pages.usage_questions_today)}</dt>
                    <dd>{requests_today}</dd>
                </div>
                <div>
                    <dt>{tr!(i18n, pages.usage_questions_month)}</dt>
                    <dd>{requests_month}</dd>
                </div>
                <div>
                    <dt>{tr!(i18n, pages.usage_tokens_month)}</dt>
                    <dd>
                        {t!(i18n, pages.usage_tokens_value, input = input_tokens_month, output = output_tokens_month)}
                    </dd>
                </div>
                <div>
                    <dt>{tr!(i18n, pages.limits)}</dt>
                    <dd>
                        {t!(
                            i18n,
                            pages.usage_limits_value,
                            per_minute = limits.requests_per_minute,
                            at_once = limits.max_concurrent_runs
                        )}
                    </dd>
                </div>
            </dl>
        </div>
        <h2>{tr!(i18n, pages.usage_most_expensive)}</h2>
        {if most_expensive.is_empty() {
            view! { <p class="muted">{tr!(i18n, pages.usage_no_paid)}</p> }.into_any()
        } else {
            view! {
                <table class="data">
                    <thead>
                        <tr>
                            <th scope="col">{tr!(i18n, pages.question)}</th>
                            <th scope="col" class="num">{tr!(i18n, pages.cost)}</th>
                            <th scope="col" class="num">{tr!(i18n, pages.tokens)}</th>
                            <th scope="col">{tr!(i18n, pages.when)}</th>
                        </tr>
                    </thead>
                    <tbody>
                        {most_expensive
                            .into_iter()
                            .map(|q| {
                                let href = q.conversation_id.map(|c| format!("/c/{c}")).unwrap_or_else(|| "/history".into());
                                let (cost, at) = (q.cost, q.created_at);
                                view! {
                                    <tr>
                                        <td>
                                            <A href=href>{q.question}</A>
                                        </td>
                                        <td class="num">{move || usd(i18n.get_locale(), &cost)}</td>
                                        <td class="num">{q.tokens.map(|t| t.to_string()).unwrap_or_default()}</td>
                                        <td>{move || date_time_short(i18n.get_locale(), at)}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            }
            .into_any()
        }}
    }
}
