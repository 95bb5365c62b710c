//! The status panel: Postgres and DuckDB health, fetched through a server function.
use crate::app::components::error_text::ErrorAlert;
use leptos::prelude::*;

use crate::api::{ComponentStatus, StatusReport, system_status};
use crate::app::locale::{number, t, tr, use_i18n};

/// Shows both stores' health; "Refresh" asks the server again, "Show tables" lists DuckDB's tables.
#[component]
pub fn StatusPanel() -> impl IntoView {
    let i18n = use_i18n();
    let status = Resource::new(|| (), |_| system_status());
    let (show_tables, set_show_tables) = signal(false);

    view! {
        <section class="card status" aria-labelledby="status-title">
            <div class="card-head">
                <h2 id="status-title">{tr!(i18n, components.status_title)}</h2>
                <div class="actions">
                    <button
                        type="button"
                        class="btn"
                        aria-pressed=move || show_tables.get().to_string()
                        on:click=move |_| set_show_tables.update(|v| *v = !*v)
                    >
                        {move || {
                            if show_tables.get() {
                                tr!(i18n, components.status_hide_tables).into_any()
                            } else {
                                tr!(i18n, components.status_show_tables).into_any()
                            }
                        }}
                    </button>
                    <button
                        type="button"
                        class="btn"
                        on:click=move |_| status.refetch()
                    >
                        {tr!(i18n, components.status_refresh)}
                    </button>
                </div>
            </div>
            <Suspense fallback=move || view! { <p class="muted">{tr!(i18n, components.status_checking)}</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(s) => view! { <StatusBody status=s show_tables /> }.into_any(),
                        Err(e) => view! { <ErrorAlert error=e /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn StatusBody(status: StatusReport, show_tables: ReadSignal<bool>) -> impl IntoView {
    let StatusReport { postgres, migrations_applied, duckdb, duckdb_tables, checked_at } = status;
    let i18n = use_i18n();
    let table_count = duckdb_tables.len();
    let migrations = ViewFn::from(move || t!(i18n, components.status_migrations_applied, n = migrations_applied));
    let tables = ViewFn::from(move || t!(i18n, components.status_table_count, n = table_count));
    view! {
        <dl class="status-grid">
            <Component name="Postgres" status=postgres extra=migrations />
            <Component name="DuckDB" status=duckdb extra=tables />
        </dl>
        <p class="muted" data-testid="checked-at">
            {t!(i18n, components.status_checked_at, at = checked_at)}
        </p>
        <Show when=move || show_tables.get()>
            <table class="data" data-testid="duckdb-tables">
                <thead>
                    <tr>
                        <th scope="col">{tr!(i18n, components.status_table)}</th>
                        <th scope="col" class="num">
                            {tr!(i18n, components.status_rows)}
                        </th>
                    </tr>
                </thead>
                <tbody>
                    {duckdb_tables
                        .iter()
                        .map(|t| {
                            view! {
                                <tr>
                                    <td>{t.name.clone()}</td>
                                    <td class="num">{t.rows}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </Show>
    }
}

/// One store's health; `extra` (a count) shows only when it is up.
#[component]
fn Component(name: &'static str, status: ComponentStatus, extra: ViewFn) -> impl IntoView {
    let i18n = use_i18n();
    let ComponentStatus { ok, detail, latency_ms } = status;
    view! {
        <div class="status-item" data-testid=format!("status-{}", name.to_lowercase())>
            <dt>
                <span class=if ok { "dot ok" } else { "dot down" } aria-hidden="true"></span>
                {name}
                <span class="sr-only">
                    " "
                    {if ok {
                        tr!(i18n, components.status_up).into_any()
                    } else {
                        tr!(i18n, components.status_down).into_any()
                    }}
                </span>
            </dt>
            <dd>{detail}</dd>
            <dd class="muted">
                {ok.then(|| extra.run())}
                " · "
                {t!(i18n, components.ms, ms = move || number(i18n.get_locale(), latency_ms, 1))}
            </dd>
        </div>
    }
}
