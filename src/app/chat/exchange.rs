//! One question and its answer: the Markdown answer (sanitised), tool steps with tables and charts, and the footer
//! with model, tokens, cost and the ⭐.
use leptos::prelude::*;

use super::checks::{self, CheckPanel, ChecksSummary};
use super::state::{AnswerError, ExchangeView, Part, Phase};
use crate::api::RunEnd;
use crate::app::components::copy_button::CopyButton;
use crate::app::components::error_text::{ErrorAlert, RunFailureText};
use crate::app::components::star::Star;
use crate::app::components::tool_step::ToolStepView;
use crate::app::locale::{Locale, number, t, tr, use_i18n};
use crate::app::markdown;

/// Part `i` of the answer: its Markdown (re-rendered as it grows, its numbers marked once checked) or its tool
/// step. A click on a marked number selects its check.
#[component]
fn AnswerPart(exchange: Signal<ExchangeView>, i: usize, selected: RwSignal<Option<usize>>) -> impl IntoView {
    let step = exchange.with_untracked(|e| match e.parts.get(i) {
        Some(Part::Step(s)) => e.steps.get(*s).cloned().map(|step| (step, e.chat_log_id.map(|id| (id, *s)))),
        _ => None,
    });
    match step {
        Some((step, log)) => view! { <ToolStepView step log /> }.into_any(),
        None => {
            let html = Memo::new(move |_| {
                exchange.with(|e| match e.parts.get(i) {
                    Some(Part::Text(text)) => markdown::render_marked(text, &checks::marks_for(e, i, text.len())),
                    _ => String::new(),
                })
            });
            let on_click = move |ev: leptos::ev::MouseEvent| {
                if let Some(index) = checks::clicked_check(&ev) {
                    selected.set(Some(index));
                }
            };
            view! { <div class="markdown" on:click=on_click inner_html=move || html.get()></div> }.into_any()
        }
    }
}

/// A cost in USD (`0.0042`, as the server writes it) in the locale's digits, keeping its decimals.
fn cost_text(locale: Locale, usd: &str) -> String {
    let decimals = usd.split_once('.').map_or(0, |(_, fraction)| fraction.len());
    match usd.parse::<f64>() {
        Ok(value) => format!("${}", number(locale, value, decimals)),
        Err(_) => format!("${usd}"),
    }
}

/// A stored or live exchange. `in_context` says whether the model sees it with the next question.
///
/// `in_context` is a plain closure over the chat's own (long-lived) signals, not a derived signal: a stored
/// exchange is drawn inside a `Transition`, whose previous content stays on screen while the conversation reloads,
/// after the reactive values created for it have been disposed.
#[component]
pub fn ExchangeCard(
    #[prop(into)] exchange: Signal<ExchangeView>,
    in_context: impl Fn() -> bool + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let streaming = move || exchange.with(ExchangeView::is_streaming);
    let parts = move || exchange.with(|e| (0..e.parts.len()).map(|i| (i, e.part_key(i))).collect::<Vec<_>>());
    let i18n = use_i18n();
    // Model · tokens · cost · status, whichever are known.
    let footer = move || {
        exchange.with(|e| {
            let mut parts: Vec<AnyView> = Vec::new();
            if let Some(model) = e.model.clone().filter(|m| !m.is_empty()) {
                parts.push(model.into_any());
            }
            if e.input_tokens + e.output_tokens > 0 {
                let (n_in, n_out) = (e.input_tokens, e.output_tokens);
                parts.push(t!(i18n, chat.tokens, n_in, n_out).into_any());
            }
            match &e.cost {
                Some(c) => parts.push(cost_text(i18n.get_locale(), c).into_any()),
                None if e.phase == Phase::Streaming => {}
                None => parts.push(tr!(i18n, chat.cost_unknown).into_any()),
            }
            match e.phase {
                Phase::Streaming => parts.push(tr!(i18n, chat.status_writing).into_any()),
                Phase::Ended(RunEnd::Ok) => {}
                Phase::Ended(RunEnd::Error) => parts.push(tr!(i18n, chat.status_failed).into_any()),
                Phase::Ended(RunEnd::Cancelled) => parts.push(tr!(i18n, chat.status_stopped).into_any()),
            }
            parts.into_iter().enumerate().map(|(i, part)| view! { {(i > 0).then_some(" · ")} {part} }).collect_view()
        })
    };
    // The ⭐ is built once its answer ends, and only rebuilt if its inputs change: a live exchange's signal also
    // fires while a later answer streams, and rebuilding would drop the star's own state (saved, note editor).
    let star = Memo::new(move |_| exchange.with(|e| (!e.is_streaming()).then(|| (e.chat_log_id, e.saved.clone()))));
    let marked = in_context.clone();
    // The checked number whose panel is open.
    let selected = RwSignal::new(None::<usize>);
    view! {
        <article class="exchange" class:in-context=marked data-testid="exchange">
            <div class="question">
                <span class="who">{tr!(i18n, chat.you)}</span>
                <p>{move || exchange.with(|e| e.question.clone())}</p>
                <Show when=in_context>
                    <span class="context-badge" title=tr!(i18n, chat.in_context_title)>
                        {tr!(i18n, chat.in_context)}
                    </span>
                </Show>
            </div>
            <div
                class="answer"
                data-testid="answer"
                aria-live=move || if streaming() { "polite" } else { "off" }
                aria-busy=move || streaming().to_string()
            >
                <For
                    each=parts
                    key=|(_, key)| key.clone()
                    children=move |(i, _)| view! { <AnswerPart exchange i selected /> }
                />
                <Show when=streaming>
                    <span class="cursor" aria-hidden="true"></span>
                </Show>
                {move || {
                    exchange.with(|e| e.error.clone()).map(|error| match error {
                        AnswerError::Refused(error) => view! { <ErrorAlert error /> }.into_any(),
                        AnswerError::Failed(Ok(failure)) => {
                            view! { <p class="error" role="alert"><RunFailureText failure /></p> }.into_any()
                        }
                        AnswerError::Failed(Err(message)) => {
                            view! { <p class="error" role="alert">{message}</p> }.into_any()
                        }
                    })
                }}
                <CheckPanel
                    text=Signal::derive(move || exchange.with(|e| e.text.clone()))
                    checks=Signal::derive(move || exchange.with(|e| e.checks.clone()))
                    selected
                />
            </div>
            <footer class="exchange-foot">
                <span class="muted small" data-testid="answer-meta">{footer}</span>
                <ChecksSummary checks=Signal::derive(move || exchange.with(|e| e.checks.clone())) />
                <Show when=move || !streaming() && exchange.with(|e| !e.text.is_empty())>
                    <CopyButton text=Signal::derive(move || exchange.with(|e| e.text.clone())) label=tr!(i18n, chat.copy_answer) />
                </Show>
                {move || star.get().map(|(chat_log_id, saved)| view! { <Star chat_log_id saved /> })}
            </footer>
        </article>
    }
}
