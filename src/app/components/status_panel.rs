//! The status panel: Postgres and DuckDB health, fetched through a server function.
use leptos::prelude::*;

use crate::api::{ComponentStatus, StatusReport, system_status};

/// Shows both stores' health; "Refresh" asks the server again, "Show tables" lists DuckDB's tables.
#[component]
pub fn StatusPanel() -> impl IntoView {
    let status = Resource::new(|| (), |_| system_status());
    let (show_tables, set_show_tables) = signal(false);

    view! {
        <section class="card status" aria-labelledby="status-title">
            <div class="card-head">
                <h2 id="status-title">"System status"</h2>
                <div class="actions">
                    <button
                        type="button"
                        class="btn"
                        aria-pressed=move || show_tables.get().to_string()
                        on:click=move |_| set_show_tables.update(|v| *v = !*v)
                    >
                        {move || if show_tables.get() { "Hide tables" } else { "Show tables" }}
                    </button>
                    <button
                        type="button"
                        class="btn"
                        on:click=move |_| status.refetch()
                    >
                        "Refresh"
                    </button>
                </div>
            </div>
            <Suspense fallback=|| view! { <p class="muted">"Checking…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(s) => view! { <StatusBody status=s show_tables /> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn StatusBody(status: StatusReport, show_tables: ReadSignal<bool>) -> impl IntoView {
    let StatusReport { postgres, migrations_applied, duckdb, duckdb_tables, checked_at } = status;
    let table_count = duckdb_tables.len();
    view! {
        <dl class="status-grid">
            <Component name="Postgres" status=postgres extra=format!("{migrations_applied} migrations applied") />
            <Component name="DuckDB" status=duckdb extra=format!("{table_count} tables") />
        </dl>
        <p class="muted" data-testid="checked-at">
            "Checked at "
            {checked_at}
        </p>
        <Show when=move || show_tables.get()>
            <table class="data" data-testid="duckdb-tables">
                <thead>
                    <tr>
                        <th scope="col">"Table"</th>
                        <th scope="col" class="num">
                            "Rows"
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

#[component]
fn Component(name: &'static str, status: ComponentStatus, extra: String) -> impl IntoView {
    let ComponentStatus { ok, detail, latency_ms } = status;
    view! {
        <div class="status-item" data-testid=format!("status-{}", name.to_lowercase())>
            <dt>
                <span class=if ok { "dot ok" } else { "dot down" } aria-hidden="true"></span>
                {name}
                <span class="sr-only">{if ok { " (up)" } else { " (down)" }}</span>
            </dt>
            <dd>{detail}</dd>
            <dd class="muted">{if ok { extra } else { String::new() }} " · " {format!("{latency_ms:.1} ms")}</dd>
        </div>
    }
}
