//! Verified numbers in the UI: where each checked number is marked in the answer's text, the footer's count, and
//! the panel a click on a number opens (its verdict, the SQL, the rows it came from with its cells highlighted, and
//! "data as of").
use leptos::prelude::*;

use super::state::ExchangeView;
use crate::api::{AnswerChecks, CellRef, CheckSource, Derivation, Verdict};
use crate::app::components::data_table::cell_text;
use crate::app::locale::{Locale, t, t_string, tr, use_i18n};
use crate::app::markdown::{self, Mark};

/// The marks of text part `i` (`len` bytes long) of a checked exchange, at offsets within the part.
pub fn marks_for(e: &ExchangeView, i: usize, len: usize) -> Vec<Mark> {
    e.checks.as_ref().map(|checks| marks_in(checks, e.text_offset(i), len)).unwrap_or_default()
}

/// The marks of the `len` bytes of the answer that start at `offset`, at offsets within them.
fn marks_in(checks: &AnswerChecks, offset: usize, len: usize) -> Vec<Mark> {
    checks
        .numbers
        .iter()
        .enumerate()
        .filter_map(|(index, n)| {
            let (start, end) = (n.start as usize, n.end as usize);
            (start >= offset && end <= offset + len).then(|| Mark {
                start: start - offset,
                end: end - offset,
                index,
                checked: !matches!(n.verdict, Verdict::Unverified),
            })
        })
        .collect()
}

/// A stored answer's Markdown with its numbers marked, the panel of the one clicked and the footer's count (the
/// history, saved and admin pages).
#[component]
pub fn CheckedMarkdown(text: String, checks: Option<AnswerChecks>) -> impl IntoView {
    let html = match &checks {
        Some(c) => markdown::render_marked(&text, &marks_in(c, 0, text.len())),
        None => markdown::render(&text),
    };
    let selected = RwSignal::new(None::<usize>);
    let checks = Signal::stored(checks);
    let on_click = move |ev: leptos::ev::MouseEvent| {
        if let Some(index) = clicked_check(&ev) {
            selected.set(Some(index));
        }
    };
    view! {
        <div class="markdown" on:click=on_click inner_html=html></div>
        <CheckPanel text=Signal::stored(text) checks selected />
        <p class="small"><ChecksSummary checks /></p>
    }
}

/// The check a click in the answer's text landed on (the `data-check` of the marked number around its target).
pub fn clicked_check(ev: &leptos::ev::MouseEvent) -> Option<usize> {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let target = ev.target()?.dyn_into::<web_sys::Element>().ok()?;
        let marked = target.closest("[data-check]").ok()??;
        marked.get_attribute("data-check")?.parse().ok()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ev;
        None
    }
}

/// "12 of 14 numbers checked", when the answer states any number.
#[component]
pub fn ChecksSummary(#[prop(into)] checks: Signal<Option<AnswerChecks>>) -> impl IntoView {
    let i18n = use_i18n();
    let counts =
        move || checks.with(|c| c.as_ref().filter(|c| !c.numbers.is_empty()).map(|c| (c.checked(), c.numbers.len())));
    move || {
        counts().map(|(checked, total)| {
            view! {
                <span class="checks-summary" data-testid="checks-summary" title=tr!(i18n, chat.checks_title)>
                    {t!(i18n, chat.checks_summary, checked, total)}
                </span>
            }
        })
    }
}

/// What a derivation is called.
fn derivation_name(i18n: leptos_i18n::I18nContext<Locale>, op: Derivation) -> String {
    match op {
        Derivation::Difference => t_string!(i18n, chat.check_difference).to_string(),
        Derivation::Ratio => t_string!(i18n, chat.check_ratio).to_string(),
        Derivation::PercentChange => t_string!(i18n, chat.check_percent_change).to_string(),
        Derivation::Sum => t_string!(i18n, chat.check_sum).to_string(),
        Derivation::Mean => t_string!(i18n, chat.check_mean).to_string(),
    }
}

/// A two-cell derivation written out with its cells' values (`(105.31 − 100.2) / 100.2 × 100`); `None` for a
/// column's sum or mean, or when a value is missing.
fn formula(op: Derivation, values: &[String]) -> Option<String> {
    let [a, b] = values else { return None };
    Some(match op {
        Derivation::Difference => format!("{a} − {b}"),
        Derivation::Ratio => format!("{a} / {b}"),
        Derivation::PercentChange => format!("({b} − {a}) / {a} × 100"),
        Derivation::Sum | Derivation::Mean => return None,
    })
}

/// The panel of the number `selected` names: its verdict and, for a checked one, each source it came from. It is
/// only ever opened by a click, so its code comes in a WASM chunk of its own, fetched with the first click.
#[component]
pub fn CheckPanel(
    /// The answer's whole text.
    #[prop(into)]
    text: Signal<String>,
    #[prop(into)] checks: Signal<Option<AnswerChecks>>,
    selected: RwSignal<Option<usize>>,
) -> impl IntoView {
    move || {
        let index = selected.get()?;
        let checks = checks.get()?;
        let number = checks.numbers.get(index)?;
        let written = text.with(|t| t.get(number.start as usize..number.end as usize).unwrap_or_default().to_owned());
        Some(Suspend::new(check_panel(checks, index, written, selected)))
    }
}

/// [`CheckPanel`]'s content for number `index` of `checks`, `written` as the answer wrote it.
#[leptos::lazy]
fn check_panel(checks: AnswerChecks, index: usize, written: String, selected: RwSignal<Option<usize>>) -> AnyView {
    let i18n = use_i18n();
    let Some(number) = checks.numbers.get(index) else { return ().into_any() };
    let (verdict, class, cells): (AnyView, &str, Vec<CellRef>) = match &number.verdict {
        Verdict::Verified { cell } => (tr!(i18n, chat.check_verified).into_any(), "checked", vec![*cell]),
        Verdict::Derived { op, cells } => {
            let name = derivation_name(i18n, *op);
            let count = cells.len();
            let over = matches!(op, Derivation::Sum | Derivation::Mean)
                .then(|| view! { " " {t!(i18n, chat.check_of_cells, count)} });
            let values: Vec<String> = cells.iter().filter_map(|c| checks.value(c)).map(cell_text).collect();
            let formula = formula(*op, &values).map(|f| view! { " = " <code data-testid="check-formula">{f}</code> });
            let verdict = view! { {tr!(i18n, chat.check_derived)} ": " {name} {over} {formula} };
            (verdict.into_any(), "checked", cells.clone())
        }
        Verdict::Unverified => (tr!(i18n, chat.check_unverified).into_any(), "unverified", Vec::new()),
    };
    let sources = sources_of(&checks, &cells);
    view! {
        <aside class=format!("check-panel {class}") data-testid="check-panel">
            <header>
                <strong class="check-number">{written}</strong>
                <span data-testid="check-verdict">{verdict}</span>
                <button type="button" class="link-btn" on:click=move |_| selected.set(None)>
                    {tr!(i18n, chat.check_close)}
                </button>
            </header>
            {sources.into_iter().map(|(source, hits)| view! { <SourceView source hits /> }).collect_view()}
        </aside>
    }
    .into_any()
}

/// Each source `cells` point into, with the cells in it, in the order first cited.
fn sources_of(checks: &AnswerChecks, cells: &[CellRef]) -> Vec<(CheckSource, Vec<CellRef>)> {
    let mut out: Vec<(u16, Vec<CellRef>)> = Vec::new();
    for cell in cells {
        match out.iter_mut().find(|(s, _)| *s == cell.source) {
            Some((_, hits)) => hits.push(*cell),
            None => out.push((cell.source, vec![*cell])),
        }
    }
    out.into_iter().filter_map(|(s, hits)| Some((checks.sources.get(usize::from(s))?.clone(), hits))).collect()
}

/// One source: its SQL, the rows the number came from (its cells highlighted) and how recent its data is.
#[component]
fn SourceView(source: CheckSource, hits: Vec<CellRef>) -> impl IntoView {
    let i18n = use_i18n();
    let step = usize::from(source.step) + 1;
    let body = source
        .rows
        .iter()
        .enumerate()
        .filter(|(index, _)| hits.iter().any(|h| h.row as usize == *index))
        .map(|(index, row)| {
            let cells = row
                .iter()
                .enumerate()
                .map(|(column, v)| {
                    let hit = hits.iter().any(|h| h.row as usize == index && usize::from(h.column) == column);
                    view! { <td class:hit=hit>{cell_text(v)}</td> }
                })
                .collect_view();
            view! { <tr><td class="muted">{index + 1}</td>{cells}</tr> }
        })
        .collect_view();
    let header = source.columns.iter().map(|c| view! { <th>{c.clone()}</th> }).collect_view();
    let as_of = source.data_as_of.clone().map(|date| {
        view! { <p class="muted small" data-testid="check-as-of">{t!(i18n, chat.check_as_of, date)}</p> }
    });
    view! {
        <section class="check-source">
            <p class="muted small">{t!(i18n, chat.check_query, step)}</p>
            <pre><code>{source.sql.clone()}</code></pre>
            <p class="muted small">{tr!(i18n, chat.check_rows)}</p>
            <div class="table-wrap">
                <table class="data check-rows">
                    <thead><tr><th>"#"</th>{header}</tr></thead>
                    <tbody>{body}</tbody>
                </table>
            </div>
            {as_of}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_derivation_is_written_out_with_its_cells() {
        let v = |a: &str, b: &str| vec![a.to_owned(), b.to_owned()];
        assert_eq!(
            formula(Derivation::PercentChange, &v("100.2", "105.31")).as_deref(),
            Some("(105.31 − 100.2) / 100.2 × 100")
        );
        assert_eq!(formula(Derivation::Difference, &v("105.31", "100.2")).as_deref(), Some("105.31 − 100.2"));
        assert_eq!(formula(Derivation::Ratio, &v("46.02", "105.31")).as_deref(), Some("46.02 / 105.31"));
        assert_eq!(formula(Derivation::Sum, &v("1", "2")), None);
        assert_eq!(formula(Derivation::Difference, &["1".to_owned()]), None);
    }
}
