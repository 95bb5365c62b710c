//! One tool step inline in an answer: name, SQL (collapsible, with "Copy SQL"), duration, rows, errors; its table
//! and chart; and "Download CSV" of every row the query returns (a plain form post, so the browser downloads it).
use leptos::prelude::*;

use super::chart::Chart;
use super::copy_button::CopyButton;
use super::data_table::DataTable;
use crate::api::rerun_tool;
use crate::app::chat::state::ToolStep;

fn title(name: &str) -> &str {
    match name {
        "run_sql" => "Query",
        "make_chart" => "Chart",
        "describe_schema" => "Schema lookup",
        other => other,
    }
}

/// A tool step.
#[component]
pub fn ToolStepView(step: ToolStep) -> impl IntoView {
    let sql = step.input.get("sql").and_then(|s| s.as_str()).map(str::to_owned);
    let status = match &step.result {
        None => "running…".to_owned(),
        Some(r) if !r.ok => format!("failed · {} ms", r.duration_ms),
        Some(r) => match r.rows {
            Some(rows) => format!("{} ms · {rows} row{}", r.duration_ms, if rows == 1 { "" } else { "s" }),
            None => format!("{} ms", r.duration_ms),
        },
    };
    let failed = step.result.as_ref().is_some_and(|r| !r.ok);
    let rerun_input = (step.name.clone(), step.input.to_string());
    let can_rerun = sql.is_some() && matches!(step.name.as_str(), "run_sql" | "make_chart");
    let loaded_preview = RwSignal::new(step.result.as_ref().and_then(|r| r.preview.clone()));
    let loaded_chart = RwSignal::new(step.result.as_ref().and_then(|r| r.chart.clone()));
    let loading = RwSignal::new(false);
    let load_error = RwSignal::new(None::<String>);
    let show_result = {
        let (name, input) = rerun_input.clone();
        move |_| {
            let (name, input) = (name.clone(), input.clone());
            loading.set(true);
            leptos::task::spawn_local(async move {
                match rerun_tool(name, input, 100).await {
                    Ok(r) => {
                        loaded_preview.set(r.preview);
                        loaded_chart.set(r.chart);
                        load_error.set(None);
                    }
                    Err(e) => load_error.set(Some(e.to_string())),
                }
                loading.set(false);
            });
        }
    };
    let is_chart = step.name == "make_chart";
    view! {
        <div class="tool-step" class:failed=failed data-testid="tool-step">
            <details>
                <summary>
                    <span class="tool-name">{title(&step.name).to_owned()}</span>
                    <span class="muted small">{status}</span>
                </summary>
                {sql.clone().map(|sql| view! { <pre class="sql"><code>{sql}</code></pre> })}
                {(sql.is_none()).then(|| view! { <pre class="sql"><code>{step.input.to_string()}</code></pre> })}
                <div class="step-actions">
                    {sql.clone().map(|sql| view! { <CopyButton text=Signal::stored(sql) label="Copy SQL" /> })}
                    {sql.clone().filter(|_| can_rerun && !failed).map(|sql| {
                        view! {
                            <form method="post" action="/chat/results.csv" class="inline-form">
                                <input type="hidden" name="sql" value=sql />
                                <button type="submit" class="btn small">"Download CSV"</button>
                            </form>
                        }
                    })}
                </div>
            </details>
            {step
                .result
                .as_ref()
                .and_then(|r| r.error.clone())
                .map(|e| view! { <p class="error small" role="status">{e}</p> })}
            {move || loaded_chart.get().map(|spec| view! { <Chart spec /> })}
            {
                let rerun = rerun_input.clone();
                move || {
                    loaded_preview
                        .get()
                        .filter(|_| !is_chart)
                        .map(|preview| view! { <DataTable preview rerun=rerun.clone() /> })
                }
            }
            <Show when=move || {
                can_rerun && !failed && loaded_preview.with(Option::is_none) && loaded_chart.with(Option::is_none)
            }>
                <button type="button" class="btn small" disabled=move || loading.get() on:click=show_result.clone()>
                    {move || if loading.get() { "Loading…" } else if is_chart { "Show chart" } else { "Show result" }}
                </button>
            </Show>
            {move || load_error.get().map(|e| view! { <p class="error small" role="alert">{e}</p> })}
        </div>
    }
}
