//! A saved answer's latest re-run: whether each checked number still holds, and per step the rows added and
//! removed and the biggest moves of the cells in both.
use leptos::prelude::*;
use serde_json::Value;

use crate::api::{NumberStatus, RerunReport, StepDiff};
use crate::app::components::data_table::cell_text;
use crate::app::locale::{date_time, number, t, tr, use_i18n};

/// The report.
#[component]
pub fn RerunView(report: RerunReport) -> impl IntoView {
    let i18n = use_i18n();
    let at = report.ran_at;
    let when = move || date_time(i18n.get_locale(), at);
    let (count, broken) = (report.numbers.len(), report.broken());
    let verdict = if count == 0 {
        tr!(i18n, pages.rerun_no_numbers).into_any()
    } else if broken == 0 {
        t!(i18n, pages.rerun_all_hold, count).into_any()
    } else {
        t!(i18n, pages.rerun_some_broken, broken, count).into_any()
    };
    let numbers = report
        .numbers
        .into_iter()
        .map(|n| {
            let (class, status) = match n.status {
                NumberStatus::Holds => ("holds", tr!(i18n, pages.rerun_holds).into_any()),
                NumberStatus::Changed { now } => ("broken", t!(i18n, pages.rerun_changed, now).into_any()),
                NumberStatus::Moved { was, now } => ("broken", t!(i18n, pages.rerun_moved, was, now).into_any()),
                NumberStatus::Gone => ("broken", tr!(i18n, pages.rerun_gone).into_any()),
            };
            view! { <li class=class data-testid="rerun-number"><strong>{n.written}</strong> " " {status}</li> }
        })
        .collect_view();
    let steps = report.steps.into_iter().map(|step| view! { <StepDiffView step /> }).collect_view();
    view! {
        <section class="rerun" data-testid="rerun-report">
            <h3 class="small">{t!(i18n, pages.rerun_title, when)}</h3>
            <p class=if broken == 0 { "rerun-verdict" } else { "rerun-verdict broken" } data-testid="rerun-verdict">
                {verdict}
            </p>
            <ul class="rerun-numbers">{numbers}</ul>
            {steps}
        </section>
    }
}

/// One step's rows then and now.
#[component]
fn StepDiffView(step: StepDiff) -> impl IntoView {
    let i18n = use_i18n();
    let index = usize::from(step.step) + 1;
    if let Some(error) = step.error {
        let step = index;
        return view! { <p class="error small">{t!(i18n, pages.rerun_step_failed, step, error)}</p> }.into_any();
    }
    let (added, removed, changed, same) =
        (step.added.len(), step.removed.len(), step.changed_cells, step.unchanged_rows);
    let step_number = index;
    let moves = (!step.changed.is_empty()).then(|| {
        let rows = step
            .changed
            .into_iter()
            .map(|c| {
                let change = c.change_pct.map(|p| {
                    let sign = if p > 0.0 { "+" } else { "" };
                    format!("{sign}{}%", number(i18n.get_locale(), p, 2))
                });
                view! {
                    <tr>
                        <td>{c.row}</td>
                        <td>{c.column}</td>
                        <td>{cell_text(&c.was)}</td>
                        <td>{cell_text(&c.now)}</td>
                        <td>{change}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <p class="small">{tr!(i18n, pages.rerun_biggest_moves)}</p>
            <div class="table-wrap">
                <table class="data" data-testid="rerun-moves">
                    <thead>
                        <tr>
                            <th>{tr!(i18n, pages.rerun_row)}</th>
                            <th>{tr!(i18n, pages.rerun_column)}</th>
                            <th>{tr!(i18n, pages.rerun_was)}</th>
                            <th>{tr!(i18n, pages.rerun_now)}</th>
                            <th>{tr!(i18n, pages.rerun_change)}</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
    });
    let rows_of = |rows: Vec<Vec<Value>>| {
        rows.into_iter()
            .map(|r| view! { <li>{r.iter().map(cell_text).collect::<Vec<_>>().join(" · ")}</li> })
            .collect_view()
    };
    let added_list = (!step.added.is_empty()).then(|| {
        let rows = rows_of(step.added);
        view! { <p class="small">{tr!(i18n, pages.rerun_added)}</p> <ul class="small">{rows}</ul> }
    });
    let removed_list = (!step.removed.is_empty()).then(|| {
        let rows = rows_of(step.removed);
        view! { <p class="small">{tr!(i18n, pages.rerun_removed)}</p> <ul class="small">{rows}</ul> }
    });
    view! {
        <div class="rerun-step" data-testid="rerun-step">
            <p class="muted small">
                {let step = step_number; t!(i18n, pages.rerun_step, step)} ": "
                {t!(i18n, pages.rerun_step_summary, added, removed, changed, same)}
            </p>
            {moves}
            {added_list}
            {removed_list}
        </div>
    }
    .into_any()
}
