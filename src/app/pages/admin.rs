//! The admin dashboard: activity by user, popular tools, daily costs with errors and durations, the most expensive
//! questions, alerts, the log writer, and per-user limit overrides. Admins only (the server refuses others).
use leptos::prelude::*;

use crate::api::{
    AdminDashboard, ChartKind, ChartSeries, ChartSpec, Exchange, admin_exchange, fetch_admin_dashboard, set_user_limits,
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
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let range = RwSignal::new((None::<String>, None::<String>));
    let dashboard = Resource::new(move || range.get(), |(f, t)| fetch_admin_dashboard(f, t));
    view! {
        <section class="page admin">
            <h1>"Admin dashboard"</h1>
            <form
                class="range"
                on:submit=move |ev| {
                    ev.prevent_default();
                    let opt = |s: String| (!s.is_empty()).then_some(s);
                    range.set((opt(from.get_untracked()), opt(to.get_untracked())));
                }
            >
                <label for="from">"From"</label>
                <input id="from" type="date" prop:value=move || from.get() on:input=move |ev| from.set(event_target_value(&ev)) />
                <label for="to">"To"</label>
                <input id="to" type="date" prop:value=move || to.get() on:input=move |ev| to.set(event_target_value(&ev)) />
                <button type="submit" class="btn">"Apply"</button>
            </form>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match dashboard.await {
                        Ok(d) => view! { <Dashboard d /> }.into_any(),
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
fn Dashboard(d: AdminDashboard) -> impl IntoView {
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
                                    <LimitsForm user_id=a.user_id />
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

#[component]
fn LimitsForm(user_id: uuid::Uuid) -> impl IntoView {
    let open = RwSignal::new(false);
    let rpm = RwSignal::new(String::new());
    let concurrent = RwSignal::new(String::new());
    let daily = RwSignal::new(String::new());
    let monthly = RwSignal::new(String::new());
    let status = RwSignal::new(None::<String>);
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let num = |s: String| s.trim().parse::<i32>().ok();
        let opt = |s: String| (!s.trim().is_empty()).then_some(s);
        let (r, c, d, m) = (
            num(rpm.get_untracked()),
            num(concurrent.get_untracked()),
            opt(daily.get_untracked()),
            opt(monthly.get_untracked()),
        );
        leptos::task::spawn_local(async move {
            status.set(Some(match set_user_limits(user_id, r, c, d, m).await {
                Ok(()) => "Saved.".into(),
                Err(e) => e.to_string(),
            }));
        });
    };
    let field = move |label: &'static str, signal: RwSignal<String>| {
        view! {
            <label>
                {label}
                <input prop:value=move || signal.get() on:input=move |ev| signal.set(event_target_value(&ev)) />
            </label>
        }
    };
    view! {
        <Show
            when=move || open.get()
            fallback=move || view! { <button type="button" class="btn small" on:click=move |_| open.set(true)>"Override"</button> }
        >
            <form class="limits-form" on:submit=save>
                {field("per min", rpm)}
                {field("at once", concurrent)}
                {field("$/day", daily)}
                {field("$/month", monthly)}
                <button type="submit" class="btn small primary">"Save"</button>
                {move || status.get().map(|s| view! { <span class="small">{s}</span> })}
            </form>
        </Show>
    }
}
