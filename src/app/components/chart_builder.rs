//! "Chart this result": the user draws a query step's result (the model's SQL or their edit of it) as a line, bar or
//! candlestick chart, picking the x column and the numeric columns to plot. It runs `make_chart` on the SQL shown,
//! so the chart goes through the same guard and per-user re-run gate as the model's charts.
use crate::app::components::error_text::ErrorAlert;
use leptos::prelude::*;

use super::data_table::is_numeric;
use crate::api::{AppError, ChartSpec, TablePreview, rerun_tool};
use crate::app::locale::{t_string, tr, use_i18n};

/// The columns of `preview` whose first non-null cell is a number (or a numeric string, as exact decimals are).
fn numeric_columns(preview: &TablePreview) -> Vec<String> {
    preview
        .columns
        .iter()
        .enumerate()
        .filter(|(i, _)| preview.rows.iter().map(|r| &r[*i]).find(|v| !v.is_null()).is_some_and(is_numeric))
        .map(|(_, c)| c.clone())
        .collect()
}

/// The `make_chart` input for drawing `sql`.
fn chart_input(sql: &str, kind: &str, x: &str, y: &[String], title: &str) -> String {
    serde_json::json!({ "sql": sql, "kind": kind, "x": x, "y": y, "title": title }).to_string()
}

/// [`ChartBuilder`] in a WASM chunk of its own, fetched with the first table it goes under.
#[leptos::lazy]
pub fn deferred_chart_builder(
    preview: TablePreview,
    sql: Signal<String>,
    chart: RwSignal<Option<ChartSpec>>,
) -> AnyView {
    view! { <ChartBuilder preview sql chart /> }.into_any()
}

/// The chart form under a step's table. `sql` is the query the table shows; a drawn chart goes to `chart`.
#[component]
pub fn ChartBuilder(preview: TablePreview, sql: Signal<String>, chart: RwSignal<Option<ChartSpec>>) -> impl IntoView {
    let i18n = use_i18n();
    let numeric = numeric_columns(&preview);
    let columns = preview.columns.clone();
    // x: the first column that is not plotted (usually the date or symbol); y: every numeric column but x.
    let first_x = columns.iter().find(|c| !numeric.contains(c)).or(columns.first()).cloned().unwrap_or_default();
    let x = RwSignal::new(first_x.clone());
    let y = RwSignal::new(numeric.iter().filter(|c| **c != first_x).cloned().collect::<Vec<_>>());
    let kind = RwSignal::new("line".to_owned());
    let drawing = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);
    let draw = move |_| {
        let input = chart_input(
            &sql.get_untracked(),
            &kind.get_untracked(),
            &x.get_untracked(),
            &y.get_untracked(),
            t_string!(i18n, components.chart_yours),
        );
        drawing.set(true);
        leptos::task::spawn_local(async move {
            match rerun_tool("make_chart".into(), input, 100).await {
                Ok(r) => {
                    chart.set(r.chart);
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
            drawing.set(false);
        });
    };
    let x_options = columns
        .iter()
        .map(|c| {
            let (value, label, name) = (c.clone(), c.clone(), c.clone());
            view! { <option value=value selected=move || x.with(|x| *x == name)>{label}</option> }
        })
        .collect_view();
    let y_boxes = numeric
        .into_iter()
        .map(|c| {
            let (checked, toggled, label) = (c.clone(), c.clone(), c);
            view! {
                <label class="check">
                    <input
                        type="checkbox"
                        prop:checked=move || y.with(|y| y.contains(&checked))
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            y.update(|y| {
                                y.retain(|c| *c != toggled);
                                if on {
                                    y.push(toggled.clone());
                                }
                            });
                        }
                    />
                    {label}
                </label>
            }
        })
        .collect_view();
    view! {
        <details class="chart-builder" data-testid="chart-builder">
            <summary>{tr!(i18n, components.chart_this)}</summary>
            <div class="chart-builder-fields">
                <label>
                    {tr!(i18n, components.chart_kind)}
                    <select on:change=move |ev| kind.set(event_target_value(&ev)) prop:value=move || kind.get()>
                        <option value="line">{tr!(i18n, components.chart_line)}</option>
                        <option value="bar">{tr!(i18n, components.chart_bar)}</option>
                        <option value="candlestick">{tr!(i18n, components.chart_candlestick)}</option>
                    </select>
                </label>
                <label>
                    {tr!(i18n, components.chart_x)}
                    <select on:change=move |ev| x.set(event_target_value(&ev))>{x_options}</select>
                </label>
                // A candlestick plots open, high, low and close, whatever is ticked.
                <fieldset class="chart-y" hidden=move || kind.with(|k| k == "candlestick")>
                    <legend>{tr!(i18n, components.chart_y)}</legend>
                    {y_boxes}
                </fieldset>
                <button type="button" class="btn small" disabled=move || drawing.get() on:click=draw>
                    {tr!(i18n, components.chart_draw)}
                </button>
            </div>
            {move || error.get().map(|e| view! { <ErrorAlert error=e small=true /> })}
        </details>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numeric_columns_are_read_past_nulls_and_from_decimal_strings() {
        let preview = TablePreview {
            columns: vec!["day".into(), "close".into(), "volume".into(), "symbol".into()],
            types: vec!["DATE".into(), "DECIMAL(18,2)".into(), "BIGINT".into(), "VARCHAR".into()],
            rows: vec![
                vec![json!("2026-01-02"), json!("101.25"), json!(null), json!("NOVA")],
                vec![json!("2026-01-03"), json!("102.50"), json!(1200), json!("NOVA")],
            ],
            total_rows: 2,
        };
        assert_eq!(numeric_columns(&preview), ["close", "volume"]);
        let input: serde_json::Value =
            serde_json::from_str(&chart_input("SELECT 1", "bar", "day", &["close".into()], "Mine")).unwrap();
        assert_eq!(input, json!({ "sql": "SELECT 1", "kind": "bar", "x": "day", "y": ["close"], "title": "Mine" }));
    }
}
