//! History: the user's past questions and answers by conversation, newest first, full-text search, open to
//! continue. The search and the page are in the URL (`/history?q=NOVA&page=2`).
use crate::app::components::error_text::ErrorAlert;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::api::{Exchange, search_history};
use crate::app::auth::RequireUser;
use crate::app::chat::checks::CheckedMarkdown;
use crate::app::components::pager::{Pager, page_of};
use crate::app::components::search_form::SearchForm;
use crate::app::locale::{date_time, tr, use_i18n};

/// `/history`.
#[component]
pub fn HistoryPage() -> impl IntoView {
    view! {
        <RequireUser>
            <History />
        </RequireUser>
    }
}

#[component]
fn History() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let search = move || query.read().get("q").map(|q| q.trim().to_owned()).filter(|q| !q.is_empty());
    let page = move || page_of(&query.read());
    let results = Resource::new(move || (search(), page()), |(search, page)| search_history(search, page - 1));
    view! {
        <section class="page list-page">
            <h1>{tr!(i18n, pages.history_title)}</h1>
            <SearchForm
                action="/history"
                label=tr!(i18n, pages.history_search)
                value=Signal::derive(search)
            />
            <Transition fallback=move || view! { <p class="muted">{tr!(i18n, pages.loading)}</p> }>
                {move || Suspend::new(async move {
                    match results.await {
                        Ok(found) if found.items.is_empty() => {
                            let text = if search().is_some() {
                                tr!(i18n, pages.no_matches).into_any()
                            } else {
                                tr!(i18n, pages.history_empty).into_any()
                            };
                            view! { <p class="muted">{text}</p> }.into_any()
                        }
                        Ok(found) => {
                            let (page, has_more) = (page(), found.has_more);
                            view! {
                                {by_conversation(found.items)
                                    .into_iter()
                                    .map(|group| view! { <ConversationGroup group /> })
                                    .collect_view()}
                                <Pager path="/history" query=query.get_untracked() page has_more />
                            }
                            .into_any()
                        }
                        Err(e) => view! { <ErrorAlert error=e /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// Consecutive exchanges of one conversation (the list is newest first, so a conversation resumed later shows
/// up again further up).
#[derive(Debug, Clone, PartialEq)]
struct Group {
    conversation_id: Option<uuid::Uuid>,
    /// `None` for exchanges outside any conversation.
    title: Option<String>,
    exchanges: Vec<Exchange>,
}

fn by_conversation(items: Vec<Exchange>) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for e in items {
        match groups.last_mut() {
            Some(g) if g.conversation_id.is_some() && g.conversation_id == e.conversation_id => g.exchanges.push(e),
            _ => groups.push(Group {
                conversation_id: e.conversation_id,
                title: e.conversation_title.clone(),
                exchanges: vec![e],
            }),
        }
    }
    groups
}

#[component]
fn ConversationGroup(group: Group) -> impl IntoView {
    let i18n = use_i18n();
    let title = match group.title {
        Some(title) => title.into_any(),
        None => tr!(i18n, pages.history_no_conversation).into_any(),
    };
    let link = group.conversation_id.map(|id| format!("/c/{id}"));
    view! {
        <section class="history-group" data-testid="history-conversation">
            <div class="history-group-head">
                <h2 class="history-group-title">{title}</h2>
                {link.map(|href| view! { <A href=href attr:class="btn small">{tr!(i18n, pages.open_conversation)}</A> })}
            </div>
            <ul class="cards">
                {group.exchanges.into_iter().map(|exchange| view! { <HistoryItem exchange /> }).collect_view()}
            </ul>
        </section>
    }
}

#[component]
fn HistoryItem(exchange: Exchange) -> impl IntoView {
    let i18n = use_i18n();
    let at = exchange.created_at;
    let when = move || date_time(i18n.get_locale(), at);
    let starred = exchange.saved.is_some();
    view! {
        <li class="card" data-testid="history-item">
            <div class="card-head">
                <h3 class="card-title">{exchange.question.clone()}</h3>
                <span class="muted small">
                    {when}
                    {starred.then(|| view! { " · " {tr!(i18n, pages.history_starred)} })}
                </span>
            </div>
            <details>
                <summary>{tr!(i18n, pages.answer)}</summary>
                <CheckedMarkdown text=exchange.response.clone() checks=exchange.checks.clone() />
            </details>
        </li>
    }
}
