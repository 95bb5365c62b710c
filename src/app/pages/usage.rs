//! "My usage": spend today and this month against the budget, requests, tokens, costliest questions, alerts.
use leptos::prelude::*;
use leptos::server::ServerAction;
use leptos_router::components::A;

use crate::api::{DismissAlert, Meter, MyUsage, fetch_my_usage};
use crate::app::auth::RequireUser;

/// `/usage`.
#[component]
pub fn UsagePage() -> impl IntoView {
    view! {
        <RequireUser>
            <Usage />
        </RequireUser>
    }
}

#[component]
fn MeterView(label: &'static str, meter: Meter) -> impl IntoView {
    let percent = (meter.fraction * 100.0).clamp(0.0, 100.0);
    let level = if meter.fraction >= 1.0 {
        "meter full"
    } else if meter.fraction >= 0.8 {
        "meter high"
    } else {
        "meter"
    };
    let budget = meter.budget_usd.clone();
    view! {
        <div class="meter-block">
            <div class="meter-head">
                <strong>{label}</strong>
                <span data-testid=format!("spend-{}", label.to_lowercase().replace(' ', "-"))>
                    {format!("${}", meter.spent_usd)}
                    {meter.reserved_usd.as_ref().map(|r| format!(" + ${r} held for answers in progress"))}
                    {budget.as_ref().map(|b| format!(" of ${b}")).unwrap_or_else(|| " (no budget)".into())}
                </span>
            </div>
            {budget.map(|_| {
                view! {
                    <div
                        class=level
                        role="meter"
                        aria-label=label
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
    let dismiss = ServerAction::<DismissAlert>::new();
    let usage = Resource::new(move || dismiss.version().get(), |_| fetch_my_usage());
    view! {
        <section class="page list-page">
            <h1>"My usage"</h1>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match usage.await {
                        Ok(u) => view! { <UsageBody usage=u dismiss /> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
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
    view! {
        {alerts
            .into_iter()
            .map(|a| {
                view! {
                    <div class="alert" role="status" data-testid="alert">
                        <span>{a.message}</span>
                        <ActionForm action=dismiss>
                            <input type="hidden" name="id" value=a.id />
                            <button type="submit" class="btn small" disabled=move || dismiss.pending().get()>
                                "Dismiss"
                            </button>
                        </ActionForm>
                    </div>
                }
            })
            .collect_view()}
        <div class="card">
            <MeterView label="Today" meter=today />
            <MeterView label="This month" meter=month />
            <dl class="stats">
                <div>
                    <dt>"Questions today"</dt>
                    <dd>{requests_today}</dd>
                </div>
                <div>
                    <dt>"Questions this month"</dt>
                    <dd>{requests_month}</dd>
                </div>
                <div>
                    <dt>"Tokens this month"</dt>
                    <dd>{format!("{input_tokens_month} in / {output_tokens_month} out")}</dd>
                </div>
                <div>
                    <dt>"Limits"</dt>
                    <dd>
                        {format!(
                            "{} questions/min · {} at once",
                            limits.requests_per_minute,
                            limits.max_concurrent_runs,
                        )}
                    </dd>
                </div>
            </dl>
        </div>
        <h2>"Most expensive questions this month"</h2>
        {if most_expensive.is_empty() {
            view! { <p class="muted">"No paid questions this month."</p> }.into_any()
        } else {
            view! {
                <table class="data">
                    <thead>
                        <tr>
                            <th scope="col">"Question"</th>
                            <th scope="col" class="num">"Cost"</th>
                            <th scope="col" class="num">"Tokens"</th>
                            <th scope="col">"When"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {most_expensive
                            .into_iter()
                            .map(|q| {
                                let href = q.conversation_id.map(|c| format!("/c/{c}")).unwrap_or_else(|| "/history".into());
                                view! {
                                    <tr>
                                        <td>
                                            <A href=href>{q.question}</A>
                                        </td>
                                        <td class="num">{format!("${}", q.cost)}</td>
                                        <td class="num">{q.tokens.map(|t| t.to_string()).unwrap_or_default()}</td>
                                        <td>{q.created_at.format("%Y-%m-%d %H:%M").to_string()}</td>
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
