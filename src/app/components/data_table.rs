//! A sortable result table: the first rows, "show more" up to what is loaded, and "load all" (up to the server's
//! 10 000-row cap) when the step can be run again.
use crate::app::components::error_text::ErrorText;
use leptos::prelude::*;
use serde_json::Value;

use crate::api::{AppError, TablePreview, rerun_tool};
use crate::app::locale::{t, tr, use_i18n};

/// Rows shown before "show more".
const INITIAL_ROWS: usize = 10;

/// A cell as the table shows it.
pub fn cell_text(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether a cell holds a number: a JSON number, or a numeric string (as exact decimals come).
pub(crate) fn is_numeric(v: &Value) -> bool {
    v.is_number() || v.as_str().is_some_and(|s| s.parse::<f64>().is_ok())
}

fn compare(a: &Value, b: &Value) -> std::cmp::Ordering {
    let num = |v: &Value| v.as_f64().or_else(|| v.as_str().and_then(|s| s.parse::<f64>().ok()));
    match (num(a), num(b)) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
        _ => cell_text(a).cmp(&cell_text(b)),
    }
}

/// [`DataTable`] in a WASM chunk of its own (`cargo leptos build --split`), fetched the first time a step's rows are
/// shown. The chat page never renders a table on the server (a stored step's rows load on a click), so its first
/// download does without it.
#[leptos::lazy]
pub fn deferred_table(preview: TablePreview, rerun: (String, String)) -> AnyView {
    view! { <DataTable preview rerun /> }.into_any()
}

/// The table. `rerun` is the (tool name, input) that produced it, for loading all rows.
#[component]
pub fn DataTable(preview: TablePreview, #[prop(optional)] rerun: Option<(String, String)>) -> impl IntoView {
    let i18n = use_i18n();
    let table = RwSignal::new(preview);
    let sort = RwSignal::new(None::<(usize, bool)>);
    let shown = RwSignal::new(INITIAL_ROWS);
    let loading = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);

    let rows = move || {
        let t = table.get();
        let mut rows = t.rows.clone();
        if let Some((col, asc)) = sort.get() {
            rows.sort_by(|a, b| {
                let o = compare(&a[col], &b[col]);
                if asc { o } else { o.reverse() }
            });
        }
        rows
    };
    let header = move || {
        let t = table.get();
        t.columns
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let numeric = t.rows.first().is_some_and(|r| is_numeric(&r[i]));
                let state = move || match sort.get() {
                    Some((c, true)) if c == i => "ascending",
                    Some((c, false)) if c == i => "descending",
                    _ => "none",
                };
                view! {
                    <th scope="col" class:num=numeric aria-sort=state title=t.types.get(i).cloned().unwrap_or_default()>
                        <button
                            type="button"
                            class="sort"
                            on:click=move |_| {
                                sort.update(|s| {
                                    *s = match *s {
                                        Some((c, true)) if c == i => Some((i, false)),
                                        _ => Some((i, true)),
                                    }
                                })
                            }
                        >
                            {name.clone()}
                        </button>
                    </th>
                }
            })
            .collect_view()
    };
    let body = move || {
        rows()
            .into_iter()
            .take(shown.get())
            .map(|row| {
                row.iter()
                    .map(|v| view! { <td class:num=is_numeric(v) class:null=v.is_null()>{cell_text(v)}</td> })
                    .collect_view()
            })
            .map(|cells| view! { <tr>{cells}</tr> })
            .collect_view()
    };
    let can_load_all = rerun.is_some();
    let load_all = move |_| {
        let Some((name, input)) = rerun.clone() else { return };
        loading.set(true);
        leptos::task::spawn_local(async move {
            match rerun_tool(name, input, 10_000).await {
                Ok(r) => {
                    if let Some(p) = r.preview {
                        shown.set(p.rows.len());
                        table.set(p);
                    }
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
            loading.set(false);
        });
    };
    view! {
        <div class="table-wrap">
            <table class="data">
                <thead>
                    <tr>{header}</tr>
                </thead>
                <tbody>{body}</tbody>
            </table>
            <div class="table-foot">
                <span class="muted">
                    {t!(
                        i18n,
                        components.table_rows_shown,
                        visible = move || table.with(|t| shown.get().min(t.rows.len())),
                        total = move || table.with(|t| t.total_rows)
                    )}
                </span>
                <Show when=move || { shown.get() < table.with(|t| t.rows.len()) }>
                    <button type="button" class="btn small" on:click=move |_| shown.update(|n| *n += 50)>
                        {tr!(i18n, components.show_more)}
                    </button>
                </Show>
                <Show when=move || {
                    can_load_all && table.with(|t| (t.rows.len() as u64) < t.total_rows.min(10_000))
                }>
                    <button type="button" class="btn small" disabled=move || loading.get() on:click=load_all.clone()>
                        {move || {
                            if loading.get() {
                                tr!(i18n, components.loading).into_any()
                            } else {
                                tr!(i18n, components.load_all_rows).into_any()
                            }
                        }}
                    </button>
                </Show>
                {move || error.get().map(|e| view! { <span class="error" role="alert"><ErrorText error=e /></span> })}
            </div>
        </div>
    }
}
