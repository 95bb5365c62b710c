//! One tool step inline in an answer: name, SQL (collapsible, with "Copy SQL"), duration, rows, errors, look-ahead
//! warnings; its table and chart; "Download CSV" of every row the query returns (a plain form post, so the browser
//! downloads it); and "Edit SQL": the user's own version of a query step runs in place, through the same guard and
//! per-user re-run gate, and its table, warnings, CSV download and "Chart this result" follow the edited SQL.
use crate::app::components::error_text::ErrorAlert;
use leptos::prelude::*;

use super::chart::deferred_chart;
use super::chart_builder::deferred_chart_builder;
use super::copy_button::CopyButton;
use super::data_table::deferred_table;
use super::{Plural, plural};
use crate::api::{AppError, edit_step, rerun_tool};
use crate::app::chat::state::ToolStep;
use crate::app::locale::{Locale, t, t_string, tr, use_i18n};

/// What the step is called: the known tools by what they do, others by their name.
fn title(i18n: leptos_i18n::I18nContext<Locale>, name: &str) -> String {
    match name {
        "run_sql" => t_string!(i18n, components.step_query).to_owned(),
        "make_chart" => t_string!(i18n, components.step_chart).to_owned(),
        "describe_schema" => t_string!(i18n, components.step_schema).to_owned(),
        other => other.to_owned(),
    }
}

/// A tool step.
/// A tool step; `log` is its answer's `chat_log_id` and its index there, once known (an edit of its SQL is then
/// kept with the answer).
#[component]
pub fn ToolStepView(step: ToolStep, log: Option<(i64, usize)>) -> impl IntoView {
    let i18n = use_i18n();
    let sql = step.input.get("sql").and_then(|s| s.as_str()).map(str::to_owned);
    let outcome = step.result.as_ref().map(|r| (r.ok, r.duration_ms, r.rows));
    let status = move || match outcome {
        None => tr!(i18n, components.step_running).into_any(),
        Some((false, ms, _)) => t!(i18n, components.step_failed, ms).into_any(),
        Some((true, ms, Some(rows))) => match plural(i18n.get_locale(), rows) {
            Plural::One => t!(i18n, components.step_rows_one, ms, rows).into_any(),
            Plural::Few => t!(i18n, components.step_rows_few, ms, rows).into_any(),
            Plural::Many => t!(i18n, components.step_rows_many, ms, rows).into_any(),
        },
        Some((true, ms, None)) => t!(i18n, components.ms, ms).into_any(),
    };
    let name = step.name.clone();
    let failed = step.result.as_ref().is_some_and(|r| !r.ok);
    let rerun_input = (step.name.clone(), step.input.to_string());
    let can_rerun = sql.is_some() && matches!(step.name.as_str(), "run_sql" | "make_chart");
    let loaded_preview = RwSignal::new(step.result.as_ref().and_then(|r| r.preview.clone()));
    let loaded_chart = RwSignal::new(step.result.as_ref().and_then(|r| r.chart.clone()));
    let loading = RwSignal::new(false);
    let load_error = RwSignal::new(None::<AppError>);
    // The SQL the user edited and ran (None: the model's), its draft, and the warnings of what is shown.
    let edited = RwSignal::new(step.edited_sql.clone());
    let draft = RwSignal::new(step.edited_sql.clone().or_else(|| sql.clone()).unwrap_or_default());
    let warnings = RwSignal::new(step.result.as_ref().map(|r| r.warnings.clone()).unwrap_or_default());
    let can_edit = step.name == "run_sql" && sql.is_some() && !failed;
    let original_sql = sql.clone().unwrap_or_default();
    let shown_sql = {
        let original = original_sql.clone();
        move || edited.get().unwrap_or_else(|| original.clone())
    };
    let current_input = {
        let (name, input) = rerun_input.clone();
        move || match edited.get() {
            Some(sql) => (name.clone(), serde_json::json!({ "sql": sql }).to_string()),
            None => (name.clone(), input.clone()),
        }
    };
    let run_edited = move |_| {
        let sql = draft.get_untracked();
        loading.set(true);
        leptos::task::spawn_local(async move {
            let ran = match log {
                // Kept with the answer (and told to the model next time).
                Some((chat_log_id, index)) => edit_step(chat_log_id, index as u32, sql.clone()).await,
                None => rerun_tool("run_sql".into(), serde_json::json!({ "sql": sql }).to_string(), 100).await,
            };
            match ran {
                Ok(r) => {
                    loaded_preview.set(r.preview);
                    // A chart the user drew was of the SQL before this edit.
                    loaded_chart.set(None);
                    warnings.set(r.warnings);
                    edited.set(Some(sql));
                    load_error.set(None);
                }
                Err(e) => load_error.set(Some(e)),
            }
            loading.set(false);
        });
    };
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
                    Err(e) => load_error.set(Some(e)),
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
                    <span class="tool-name">{move || title(i18n, &name)}</span>
                    <span class="muted small">{status}</span>
                </summary>
                {sql.is_some().then(|| {
                    let shown_sql = shown_sql.clone();
                    view! { <pre class="sql"><code>{shown_sql}</code></pre> }
                })}
                {(sql.is_none()).then(|| view! { <pre class="sql"><code>{step.input.to_string()}</code></pre> })}
                <div class="step-actions">
                    {sql.clone().map(|sql| {
                        view! {
                            <CopyButton text=Signal::stored(sql) label=tr!(i18n, components.copy_sql) />
                        }
                    })}
                    {sql.clone().filter(|_| can_rerun && !failed).map(|_| {
                        let shown_sql = shown_sql.clone();
                        view! {
                            <form method="post" action="/chat/results.csv" class="inline-form">
                                <input type="hidden" name="sql" prop:value=shown_sql />
                                <button type="submit" class="btn small">{tr!(i18n, components.download_csv)}</button>
                            </form>
                        }
                    })}
                </div>
                {can_edit.then(|| {
                    view! {
                        <details class="edit-sql" data-testid="edit-sql">
                            <summary>{tr!(i18n, components.edit_sql)}</summary>
                            <textarea
                                class="sql-editor"
                                rows="6"
                                spellcheck="false"
                                aria-label=tr!(i18n, components.edit_sql)
                                prop:value=move || draft.get()
                                on:input=move |ev| draft.set(event_target_value(&ev))
                            ></textarea>
                            <button type="button" class="btn small" disabled=move || loading.get() on:click=run_edited>
                                {tr!(i18n, components.run_edited)}
                            </button>
                        </details>
                    }
                })}
            </details>
            {move || edited.get().map(|_| view! { <p class="muted small" data-testid="edited-note">{tr!(i18n, components.edited_note)}</p> })}
            {move || {
                warnings
                    .get()
                    .into_iter()
                    .map(|w| {
                        view! {
                            <p class="warning small" role="note" data-testid="lookahead-warning">
                                <strong>{tr!(i18n, components.lookahead)}</strong>
                                " "
                                {w}
                            </p>
                        }
                    })
                    .collect_view()
            }}
            {step
                .result
                .as_ref()
                .and_then(|r| r.error.clone())
                .map(|e| view! { <p class="error small" role="status">{e}</p> })}
            // Tables and charts (and the chart form) come in their own WASM chunks, with the first one shown.
            {move || loaded_chart.get().map(|spec| Suspend::new(deferred_chart(spec)))}
            {move || {
                let rerun = current_input();
                loaded_preview.get().filter(|_| !is_chart).map(|preview| Suspend::new(deferred_table(preview, rerun)))
            }}
            {move || {
                let sql = Signal::derive(shown_sql.clone());
                loaded_preview
                    .get()
                    .filter(|p| !is_chart && can_edit && !p.rows.is_empty())
                    .map(|preview| Suspend::new(deferred_chart_builder(preview, sql, loaded_chart)))
            }}
            <Show when=move || {
                can_rerun && !failed && loaded_preview.with(Option::is_none) && loaded_chart.with(Option::is_none)
            }>
                <button type="button" class="btn small" disabled=move || loading.get() on:click=show_result.clone()>
                    {move || {
                        if loading.get() {
                            tr!(i18n, components.loading).into_any()
                        } else if is_chart {
                            tr!(i18n, components.step_show_chart).into_any()
                        } else {
                            tr!(i18n, components.step_show_result).into_any()
                        }
                    }}
                </button>
            </Show>
            {move || load_error.get().map(|e| view! { <ErrorAlert error=e small=true /> })}
        </div>
    }
}
