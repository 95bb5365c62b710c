//! The admin dashboard: activity by user, popular tools, daily costs with errors and durations, the most expensive
//! questions, alerts, the log writer, and per-user limit overrides. Admins only (the server refuses others). The
//! date range is in the URL (`/admin?from=2026-11-01&to=2026-11-30`).
use crate::app::components::alert_text::AlertText;
use crate::app::components::error_text::ErrorAlert;
use crate::app::components::get_form::GetForm;
use leptos::prelude::*;
use leptos::server::ServerAction;
use leptos_router::hooks::use_query_map;

use crate::api::{
    AdminDashboard, AppError, ChartKind, ChartSeries, ChartSpec, Exchange, SetUserLimits, admin_exchange,
    fetch_admin_dashboard,
};
use crate::app::auth::RequireUser;
use crate::app::chat::checks::CheckedMarkdown;
use crate::app::components::chart::Chart;
use crate::app::locale::{Locale, date_time_short, number, t, t_string, tr, use_i18n};

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
    let i18n = use_i18n();
    let query = use_query_map();
    let from = move || query.read().get("from").filter(|s| !s.is_empty());
    let to = move || query.read().get("to").filter(|s| !s.is_empty());
    // A date input holds only real dates; anything else in the URL is for the server to refuse, with its reason.
    let as_date = |value: Option<String>| value.filter(|v| v.parse::<chrono::NaiveDate>().is_ok()).unwrap_or_default();
    let limits = ServerAction::<SetUserLimits>::new();
    let dashboard = Resource::new(move || (from(), to()), |(f, t)| fetch_admin_dashboard(f, t));
    view! {
        <section class="page admin">
            <h1>{tr!(i18n, pages.admin_title)}</h1>
            <GetForm action="/admin" class="range">
                <label for="from">{tr!(i18n, pages.admin_from)}</label>
                <input id="from" name="from" type="date" value=move || as_date(from()) />
                <label for="to">{tr!(i18n, pages.admin_to)}</label>
                <input id="to" name="to" type="date" value=move || as_date(to()) />
                <button type="submit" class="btn">{tr!(i18n, pages.admin_apply)}</button>
            </GetForm>
            {move || limits.value().get().and_then(Result::err).map(|e| view! { <ErrorAlert error=e /> })}
            <Transition fallback=move || view! { <p class="muted">{tr!(i18n, pages.loading)}</p> }>
                {move || Suspend::new(async move {
                    match dashboard.await {
                        Ok(d) => view! { <Dashboard d limits /> }.into_any(),
                        Err(e) => view! { <ErrorAlert error=e /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// A USD amount to four places.
fn money(locale: Locale, s: &str) -> String {
    s.parse::<f64>().map_or_else(|_| format!("${s}"), |v| format!("${}", number(locale, v, 4)))
}

/// Milliseconds to `decimals` places, with the unit.
fn millis(i18n: leptos_i18n::I18nContext<Locale>, ms: f64, decimals: usize) -> String {
    format!("{} {}", number(i18n.get_locale(), ms, decimals), t_string!(i18n, pages.ms_unit))
}

/// A day: `2026-12-02` / `02.12.2026`.
fn day(locale: Locale, day: chrono::NaiveDate) -> String {
    match locale {
        Locale::en => day.format("%Y-%m-%d").to_string(),
        Locale::ru => day.format("%d.%m.%Y").to_string(),
    }
}

#[component]
fn Dashboard(d: AdminDashboard, limits: ServerAction<SetUserLimits>) -> impl IntoView {
    let i18n = use_i18n();
    let mut days = d.daily.clone();
    days.reverse();
    // Built in the current language (their titles and day labels), again when it changes.
    let charts = move || {
        if days.is_empty() {
            return None;
        }
        let locale = i18n.get_locale();
        let x: Vec<String> = days.iter().map(|r| day(locale, r.day)).collect();
        let cost_chart = ChartSpec {
            kind: ChartKind::Bar,
            title: t_string!(i18n, pages.admin_cost_chart).into(),
            x_label: t_string!(i18n, pages.admin_chart_day).into(),
            x: x.clone(),
            series: vec![ChartSeries {
                name: t_string!(i18n, pages.admin_chart_cost).into(),
                values: days.iter().map(|r| r.cost.parse().ok()).collect(),
            }],
        };
        let duration_chart = ChartSpec {
            kind: ChartKind::Line,
            title: t_string!(i18n, pages.admin_duration_chart).into(),
            x_label: t_string!(i18n, pages.admin_chart_day).into(),
            x,
            series: vec![
                ChartSeries { name: "p50".into(), values: days.iter().map(|r| r.p50_ms).collect() },
                ChartSeries { name: "p95".into(), values: days.iter().map(|r| r.p95_ms).collect() },
            ],
        };
        Some(view! {
            <Chart spec=cost_chart />
            <Chart spec=duration_chart />
        })
    };
    let w = d.writer.clone();
    let timings_ms = d.timings_ms.clone();
    let timings = move || {
        timings_ms.iter().map(|(name, ms)| format!("{name} {}", millis(i18n, *ms, 1))).collect::<Vec<_>>().join(" · ")
    };
    let (from, to) = (d.from, d.to);
    view! {
        <p class="muted">
            {t!(
                i18n,
                pages.admin_range,
                from = move || day(i18n.get_locale(), from),
                to = move || day(i18n.get_locale(), to)
            )}
        </p>
        <p class="muted small" data-testid="timings">{timings}</p>
        <div class="grid2">{charts}</div>
        <h2>{tr!(i18n, pages.admin_activity)}</h2>
        <table class="data" data-testid="activity">
            <thead>
                <tr>
                    <th scope="col">{tr!(i18n, pages.admin_user)}</th>
                    <th scope="col" class="num">{tr!(i18n, pages.admin_questions)}</th>
                    <th scope="col" class="num">{tr!(i18n, pages.admin_total_cost)}</th>
                    <th scope="col" class="num">{tr!(i18n, pages.admin_avg_tokens)}</th>
                    <th scope="col">{tr!(i18n, pages.limits)}</th>
                </tr>
            </thead>
            <tbody>
                {d.activity
                    .into_iter()
                    .map(|a| {
                        let (total_cost, avg_tokens) = (a.total_cost, a.avg_tokens);
                        view! {
                            <tr>
                                <td>{a.name}</td>
                                <td class="num">{a.questions}</td>
                                <td class="num">{move || money(i18n.get_locale(), &total_cost)}</td>
                                <td class="num">
                                    {move || avg_tokens.map(|t| number(i18n.get_locale(), t, 0)).unwrap_or_default()}
                                </td>
                                <td>
                                    <LimitsForm user_id=a.user_id action=limits />
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
        <h2>{tr!(i18n, pages.admin_tools)}</h2>
        <table class="data">
            <thead>
                <tr>
                    <th scope="col">{tr!(i18n, pages.admin_tool)}</th>
                    <th scope="col" class="num">{tr!(i18n, pages.admin_calls)}</th>
                    <th scope="col" class="num">{tr!(i18n, pages.admin_avg_duration)}</th>
                </tr>
            </thead>
            <tbody>
                {d.tools
                    .into_iter()
                    .map(|t| {
                        let avg = t.avg_duration_ms;
                        view! {
                            <tr>
                                <td>{t.tool}</td>
                                <td class="num">{t.count}</td>
                                <td class="num">{move || avg.map(|v| millis(i18n, v, 0)).unwrap_or_default()}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
        <h2>{tr!(i18n, pages.admin_daily)}</h2>
        <table class="data">
            <thead>
                <tr>
                    <th scope="col">{tr!(i18n, pages.admin_day)}</th>
                    <th scope="col" class="num">{tr!(i18n, pages.admin_requests)}</th>
                    <th scope="col" class="num">{tr!(i18n, pages.cost)}</th>
                    <th scope="col" class="num">{tr!(i18n, pages.admin_error_rate)}</th>
                    <th scope="col" class="num">"p50"</th>
                    <th scope="col" class="num">"p95"</th>
                </tr>
            </thead>
            <tbody>
                {d.daily
                    .into_iter()
                    .map(|r| {
                        let ms = move |v: Option<f64>| move || v.map(|v| millis(i18n, v, 0)).unwrap_or_default();
                        let (date, cost, error_rate) = (r.day, r.cost, r.error_rate);
                        view! {
                            <tr>
                                <td>{move || day(i18n.get_locale(), date)}</td>
                                <td class="num">{r.requests}</td>
                                <td class="num">{move || money(i18n.get_locale(), &cost)}</td>
                                <td class="num">
                                    {move || format!("{} %", number(i18n.get_locale(), error_rate * 100.0, 1))}
                                </td>
                                <td class="num">{ms(r.p50_ms)}</td>
                                <td class="num">{ms(r.p95_ms)}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
        <h2>{tr!(i18n, pages.admin_most_expensive)}</h2>
        <ul class="cards">
            {d.most_expensive
                .into_iter()
                .map(|q| {
                    let (cost, at) = (q.cost, q.created_at);
                    view! {
                        <li class="card">
                            <div class="card-head">
                                <span>{q.question}</span>
                                <span class="muted small">
                                    {move || money(i18n.get_locale(), &cost)}
                                    " · "
                                    {t!(i18n, pages.admin_tokens_count, n = q.tokens.unwrap_or_default())}
                                    " · "
                                    {q.user.unwrap_or_default()}
                                    " · "
                                    {move || date_time_short(i18n.get_locale(), at)}
                                </span>
                            </div>
                            <ExchangeLink chat_log_id=q.chat_log_id />
                        </li>
                    }
                })
                .collect_view()}
        </ul>
        <h2>{tr!(i18n, pages.admin_alerts)}</h2>
        {if d.alerts.is_empty() {
            view! { <p class="muted">{tr!(i18n, pages.admin_no_alerts)}</p> }.into_any()
        } else {
            view! {
                <ul class="cards">
                    {d.alerts
                        .into_iter()
                        .map(|a| {
                            let at = a.created_at;
                            view! {
                                <li class="card small">
                                    {move || date_time_short(i18n.get_locale(), at)}
                                    " · "
                                    {a.user.unwrap_or_default()}
                                    " · "
                                    <AlertText notice=a.notice />
                                    {a.delivered.then(|| view! { " · " {tr!(i18n, pages.admin_alert_sent)} })}
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            }
            .into_any()
        }}
        <h2>{tr!(i18n, pages.admin_writer)}</h2>
        <p class="muted small">
            {t!(
                i18n,
                pages.admin_writer_stats,
                depth = w.queue_depth,
                capacity = w.queue_capacity,
                inserted = w.inserted,
                batches = w.batches,
                max_batch = w.max_batch_size,
                last_flush = move || number(i18n.get_locale(), w.last_flush_ms, 1),
                spooled = w.spooled,
                replayed = w.replayed,
                rejected = w.rejected,
                lost = w.lost
            )}
            {w.degraded.then(|| view! { " · " {tr!(i18n, pages.admin_writer_degraded)} })}
        </p>
    }
}

#[component]
fn ExchangeLink(chat_log_id: i64) -> impl IntoView {
    let i18n = use_i18n();
    let loaded = RwSignal::new(None::<Result<Exchange, AppError>>);
    let open = move |_| {
        leptos::task::spawn_local(async move {
            loaded.set(Some(admin_exchange(chat_log_id).await));
        });
    };
    view! {
        <Show
            when=move || loaded.with(Option::is_some)
            fallback=move || {
                view! {
                    <button type="button" class="btn small" on:click=open>
                        {tr!(i18n, pages.admin_show_exchange)}
                    </button>
                }
            }
        >
            {move || match loaded.get() {
                Some(Ok(e)) => {
                    view! { <CheckedMarkdown text=e.response checks=e.checks /> }.into_any()
                }
                Some(Err(e)) => view! { <ErrorAlert error=e /> }.into_any(),
                None => ().into_any(),
            }}
        </Show>
    }
}

/// A user's limit overrides (blank fields: the defaults). The row last saved says so; errors show above the
/// dashboard.
#[component]
fn LimitsForm(user_id: uuid::Uuid, action: ServerAction<SetUserLimits>) -> impl IntoView {
    let i18n = use_i18n();
    // The action's version when this row was submitted: its outcome is the next version's.
    let submitted_at = RwSignal::new(None::<usize>);
    let saved_here = move || {
        submitted_at.get().is_some_and(|v| action.version().get() == v + 1)
            && matches!(action.value().get(), Some(Ok(())))
    };
    fn field(label: impl IntoView, name: &'static str, mode: &'static str) -> impl IntoView {
        view! {
            <label>
                {label}
                <input name=name inputmode=mode size="6" />
            </label>
        }
    }
    view! {
        <details class="limits">
            <summary class="btn small" role="button">{tr!(i18n, pages.admin_override)}</summary>
            <ActionForm
                action
                attr:class="limits-form"
                on:submit=move |_| submitted_at.set(Some(action.version().get_untracked()))
            >
                <input type="hidden" name="user_id" value=user_id.to_string() />
                {field(tr!(i18n, pages.admin_per_min), "requests_per_minute", "numeric")}
                {field(tr!(i18n, pages.admin_at_once), "max_concurrent_runs", "numeric")}
                {field(tr!(i18n, pages.admin_per_day), "daily_budget_usd", "decimal")}
                {field(tr!(i18n, pages.admin_per_month), "monthly_budget_usd", "decimal")}
                <button type="submit" class="btn small primary" disabled=move || action.pending().get()>
                    {tr!(i18n, pages.admin_save)}
                </button>
                <Show when=saved_here>
                    <span class="small" role="status">{tr!(i18n, pages.admin_saved)}</span>
                </Show>
            </ActionForm>
        </details>
    }
}
