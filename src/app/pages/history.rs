//! History: the user's past questions and answers by conversation, newest first, full-text search, open to
//! continue.
use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::{Exchange, search_history};
use crate::app::auth::RequireUser;
use crate::app::markdown;

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
    let query = RwSignal::new(String::new());
    let search = RwSignal::new(None::<String>);
    let items = RwSignal::new(Vec::<Exchange>::new());
    let page = RwSignal::new(0u32);
    let has_more = RwSignal::new(false);
    let loading = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let load = move |reset: bool| {
        let (s, p) = (search.get_untracked(), if reset { 0 } else { page.get_untracked() + 1 });
        loading.set(true);
        leptos::task::spawn_local(async move {
            match search_history(s, p).await {
                Ok(result) => {
                    if reset {
                        items.set(result.items);
                    } else {
                        items.update(|i| i.extend(result.items));
                    }
                    page.set(p);
                    has_more.set(result.has_more);
                    error.set(None);
                }
                Err(e) => error.set(Some(e.to_string())),
            }
            loading.set(false);
        });
    };
    // First page: rendered on the server too.
    let first = Resource::new(|| (), |_| search_history(None, 0));
    view! {
        <section class="page list-page">
            <h1>"History"</h1>
            <form
                class="search"
                role="search"
                on:submit=move |ev| {
                    ev.prevent_default();
                    let q = query.get_untracked().trim().to_owned();
                    search.set((!q.is_empty()).then_some(q));
                    load(true);
                }
            >
                <label for="history-search" class="sr-only">"Search your questions and answers"</label>
                <input
                    id="history-search"
                    type="search"
                    placeholder="Search your questions and answers"
                    prop:value=move || query.get()
                    on:input=move |ev| query.set(event_target_value(&ev))
                />
                <button type="submit" class="btn">"Search"</button>
            </form>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    if let Ok(first) = first.await
                        && items.with_untracked(Vec::is_empty)
                        && search.get_untracked().is_none()
                    {
                        has_more.set(first.has_more);
                        items.set(first.items);
                    }
                })}
            </Suspense>
            <For each=move || by_conversation(items.get()) key=|g| g.key() let:group>
                <ConversationGroup group />
            </For>
            <Show when=move || items.with(Vec::is_empty) && !loading.get()>
                <p class="muted">
                    {move || if search.get().is_some() { "Nothing matches that search." } else { "No questions yet." }}
                </p>
            </Show>
            <Show when=move || has_more.get()>
                <button type="button" class="btn" disabled=move || loading.get() on:click=move |_| load(false)>
                    "Load more"
                </button>
            </Show>
        </section>
    }
}

/// Consecutive exchanges of one conversation (the list is newest first, so a conversation resumed later shows
/// up again further up).
#[derive(Debug, Clone, PartialEq)]
struct Group {
    conversation_id: Option<uuid::Uuid>,
    title: String,
    exchanges: Vec<Exchange>,
}

impl Group {
    /// Stable while pages are appended: the conversation and its newest exchange here.
    fn key(&self) -> (Option<uuid::Uuid>, i64, usize) {
        (self.conversation_id, self.exchanges.first().map_or(0, |e| e.chat_log_id), self.exchanges.len())
    }
}

fn by_conversation(items: Vec<Exchange>) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for e in items {
        match groups.last_mut() {
            Some(g) if g.conversation_id.is_some() && g.conversation_id == e.conversation_id => g.exchanges.push(e),
            _ => groups.push(Group {
                conversation_id: e.conversation_id,
                title: e.conversation_title.clone().unwrap_or_else(|| "Without a conversation".into()),
                exchanges: vec![e],
            }),
        }
    }
    groups
}

#[component]
fn ConversationGroup(group: Group) -> impl IntoView {
    let link = group.conversation_id.map(|id| format!("/c/{id}"));
    view! {
        <section class="history-group" data-testid="history-conversation">
            <div class="history-group-head">
                <h2 class="history-group-title">{group.title}</h2>
                {link.map(|href| view! { <A href=href attr:class="btn small">"Open conversation"</A> })}
            </div>
            <ul class="cards">
                {group.exchanges.into_iter().map(|exchange| view! { <HistoryItem exchange /> }).collect_view()}
            </ul>
        </section>
    }
}

#[component]
fn HistoryItem(exchange: Exchange) -> impl IntoView {
    let html = markdown::render(&exchange.response);
    let when = exchange.created_at.format("%Y-%m-%d %H:%M UTC").to_string();
    let starred = exchange.saved.is_some();
    view! {
        <li class="card" data-testid="history-item">
            <div class="card-head">
                <h3 class="card-title">{exchange.question.clone()}</h3>
                <span class="muted small">{when}{if starred { " · ★ saved" } else { "" }}</span>
            </div>
            <details>
                <summary>"Answer"</summary>
                <div class="markdown" inner_html=html></div>
            </details>
        </li>
    }
}
