//! The admin dashboard: activity by user, popular tools, daily costs with errors and durations, the most expensive
//! questions, alerts, the log writer, and per-user limit overrides. Admins only (the server refuses others). The
//! date range is in the URL (`/admin?from=2026-11-01&to=2026-11-30`).
use crate::app::components::get_form::GetForm;
use leptos::prelude::*;
use leptos::server::ServerAction;
use leptos_router::hooks::use_query_map;

use crate::api::{
    AdminDashboard, ChartKind, ChartSeries, ChartSpec, Exchange, SetUserLimits, admin_exchange, fetch_admin_dashboard,
};
use crate::app::auth::RequireUser;
use crate::app::components::chart::Chart;
use crate::app::markdown;

/// `/admin`.
#[component]
pub fn AdminPage() -> impl IntoView {
    view! {
        <RequireUser>
            <Admin />
        </RequireUser>
    }
}

#[component]
fn Admin() -> impl IntoView {
    let query = use_query_map();
    let from = move || query.read().get("from").filter(|s| !s.is_empty());
    let to = move || query.read().get("to").filter(|s| !s.is_empty());
    // A date input holds only real dates; anything else in the URL is for the server to refuse, with its reason.
    let as_date = |value: Option<String>| value.filter(|v| v.parse::<chrono::NaiveDate>().is_ok()).unwrap_or_default();
    let limits = ServerAction::<SetUserLimits>::new();
    let dashboard = Resource::new(move || (from(), to()), |(f, t)| fetch_admin_dashboard(f, t));
    view! {
        <section class="page admin">
            <h1>"Admin dashboard"</h1>
            <GetForm action="/admin" class="range">
                <label for="from">"From"</label>
                <input id="from" name="from" type="date" value=move || as_date(from()) />
                <label for="to">"To"</label>
                <input id="to" name="to" type="date" value=move || as_date(to()) />
                <button type="submit" class="btn">"Apply"</button>
            </GetForm>
            {move || limits.value().get().and_then(Result::err).map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })}
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match dashboard.await {
                        Ok(d) => view! { <Dashboard d limits /> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

fn money(s: &str) -> String {
    s.parse::<f64>().map_or_else(|_| format!("${s}"), |v| format!("${v:.4}"))
}

#[component]
fn Dashboard(d: AdminDashboard, limits: ServerAction<SetUserLimits>) -> impl IntoView {
    let mut days = d.daily.clone();
    days.reverse();
    let x: Vec<String> = days.iter().map(|r| r.day.to_string()).collect();
    let cost_chart = ChartSpec {
        kind: ChartKind::Bar,
        title: "Daily cost (USD)".into(),
        x_label: "day".into(),
        x: x.clone(),
        series: vec![ChartSeries { name: "cost".into(), values: days.iter().map(|r| r.cost.parse().ok()).collect() }],
    };
    let duration_chart = ChartSpec {
        kind: ChartKind::Line,
        title: "Run duration (ms)".into(),
        x_label: "day".into(),
        x,
        series: vec![
            ChartSeries { name: "p50".into(), values: days.iter().map(|r| r.p50_ms).collect() },
            ChartSeries { name: "p95".into(), values: days.iter().map(|r| r.p95_ms).collect() },
        ],
    };
    let w = d.writer.clone();
    let timings = d.timings_ms.iter().map(|(name, ms)| format!("{name} {ms:.1} ms")).collect::<Vec<_>>().join(" · ");
    view! {
        <p class="muted">{format!("{} to {}", d.from, d.to)}</p>
        <p class="muted small" data-testid="timings">{timings}</p>
        <div class="grid2">
            {(!days.is_empty()).then(|| view! { <Chart spec=cost_chart /> })}
            {(!days.is_empty()).then(|| view! { <Chart spec=duration_chart /> })}
        </div>
        <h2>"Activity by user"</h2>
        <table class="data" data-testid="activity">
            <thead>
                <tr>
                    <th scope="col">"User"</th>
                    <th scope="col" class="num">"Questions"</th>
                    <th scope="col" class="num">"Total cost"</th>
                    <th scope="col" class="num">"Avg tokens"</th>
                    <th scope="col">"Limits"</th>
                </tr>
            </thead>
            <tbody>
                {d.activity
                    .into_iter()
                    .map(|a| {
                        view! {
                            <tr>
                                <td>{a.name}</td>
                                <td class="num">{a.questions}</td>
                                <td class="num">{money(&a.total_cost)}</td>
                                <td class="num">{a.avg_tokens.map(|t| format!("{t:.0}")).unwrap_or_default()}</td>
                                <td>
                                    <LimitsForm user_id=a.user_id action=limits />
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
        <h2>"Popular tools"</h2>
        <table class="data">
            <thead>
                <tr>
                    <th scope="col">"Tool"</th>
                    <th scope="col" class="num">"Calls"</th>
                    <th scope="col" class="num">"Avg duration"</th>
                </tr>
            </thead>
            <tbody>
                {d.tools
                    .into_iter()
                    .map(|t| {
                        view! {
                            <tr>
                                <td>{t.tool}</td>
                                <td class="num">{t.count}</td>
                                <td class="num">{t.avg_duration_ms.map(|v| format!("{v:.0} ms")).unwrap_or_default()}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
        <h2>"Daily"</h2>
        <table class="data">
            <thead>
                <tr>
                    <th scope="col">"Day"</th>
                    <th scope="col" class="num">"Requests"</th>
                    <th scope="col" class="num">"Cost"</th>
                    <th scope="col" class="num">"Error rate"</th>
                    <th scope="col" class="num">"p50"</th>
                    <th scope="col" class="num">"p95"</th>
                </tr>
            </thead>
            <tbody>
                {d.daily
                    .into_iter()
                    .map(|r| {
                        let ms = |v: Option<f64>| v.map(|v| format!("{v:.0} ms")).unwrap_or_default();
                        view! {
                            <tr>
                                <td>{r.day.to_string()}</td>
                                <td class="num">{r.requests}</td>
                                <td class="num">{money(&r.cost)}</td>
                                <td class="num">{format!("{:.1} %", r.error_rate * 100.0)}</td>
                                <td class="num">{ms(r.p50_ms)}</td>
                                <td class="num">{ms(r.p95_ms)}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
        <h2>"Most expensive questions"</h2>
        <ul class="cards">
            {d.most_expensive
                .into_iter()
                .map(|q| {
                    view! {
                        <li class="card">
                            <div class="card-head">
                                <span>{q.question}</span>
                                <span class="muted small">
                                    {format!(
                                        "{} · {} tokens · {} · {}",
                                        money(&q.cost),
                                        q.tokens.unwrap_or_default(),
                                        q.user.unwrap_or_default(),
                                        q.created_at.format("%Y-%m-%d %H:%M"),
                                    )}
                                </span>
                            </div>
                            <ExchangeLink chat_log_id=q.chat_log_id />
                        </li>
                    }
                })
                .collect_view()}
        </ul>
        <h2>"Alerts"</h2>
        {if d.alerts.is_empty() {
            view! { <p class="muted">"No alerts."</p> }.into_any()
        } else {
            view! {
                <ul class="cards">
                    {d.alerts
                        .into_iter()
                        .map(|a| {
                            view! {
                                <li class="card small">
                                    {format!(
                                        "{} · {} · {}{}",
                                        a.created_at.format("%Y-%m-%d %H:%M"),
                                        a.user.unwrap_or_default(),
                                        a.message,
                                        if a.delivered { " · sent" } else { "" },
                                    )}
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            }
            .into_any()
        }}
        <h2>"Chat-log writer"</h2>
        <p class="muted small">
            {format!(
                "queue {}/{} · inserted {} · batches {} (max {}) · last flush {:.1} ms · spooled {} · replayed {} · set aside {} · lost {}{}",
                w.queue_depth,
                w.queue_capacity,
                w.inserted,
                w.batches,
                w.max_batch_size,
                w.last_flush_ms,
                w.spooled,
                w.replayed,
                w.rejected,
                w.lost,
                if w.degraded { " · DEGRADED (Postgres unreachable)" } else { "" },
            )}
        </p>
    }
}

#[component]
fn ExchangeLink(chat_log_id: i64) -> impl IntoView {
    let loaded = RwSignal::new(None::<Result<Exchange, String>>);
    let open = move |_| {
        leptos::task::spawn_local(async move {
            loaded.set(Some(admin_exchange(chat_log_id).await.map_err(|e| e.to_string())));
        });
    };
    view! {
        <Show
            when=move || loaded.with(Option::is_some)
            fallback=move || view! { <button type="button" class="btn small" on:click=open>"Show exchange"</button> }
        >
            {move || match loaded.get() {
                Some(Ok(e)) => {
                    view! { <div class="markdown" inner_html=markdown::render(&e.response)></div> }.into_any()
                }
                Some(Err(e)) => view! { <p class="error">{e}</p> }.into_any(),
                None => ().into_any(),
            }}
        </Show>
    }
}

/// A user's limit overrides (blank fields: the defaults). The row last saved says so; errors show above the
/// dashboard.
#[component]
fn LimitsForm(user_id: uuid::Uuid, action: ServerAction<SetUserLimits>) -> impl IntoView {
    // The action's version when this row was submitted: its outcome is the next version's.
    let submitted_at = RwSignal::new(None::<usize>);
    let saved_here = move || {
        submitted_at.get().is_some_and(|v| action.version().get() == v + 1)
            && matches!(action.value().get(), Some(Ok(())))
    };
    let field = |label: &'static str, name: &'static str, mode: &'static str| {
        view! {
            <label>
                {label}
                <input name=name inputmode=mode size="6" />
            </label>
        }
    };
    view! {
        <details class="limits">
            <summary class="btn small" role="button">"Override"</summary>
            <ActionForm
                action
                attr:class="limits-form"
                on:submit=move |_| submitted_at.set(Some(action.version().get_untracked()))
            >
                <input type="hidden" name="user_id" value=user_id.to_string() />
                {field("per min", "requests_per_minute", "numeric")}
                {field("at once", "max_concurrent_runs", "numeric")}
                {field("$/day", "daily_budget_usd", "decimal")}
                {field("$/month", "monthly_budget_usd", "decimal")}
                <button type="submit" class="btn small primary" disabled=move || action.pending().get()>
                    "Save"
                </button>
                <Show when=saved_here>
                    <span class="small" role="status">"Saved."</span>
                </Show>
            </ActionForm>
        </details>
    }
}
