//! The conversations sidebar: a new conversation, and the recent ones.
use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::{AppError, ConversationSummary};

/// The sidebar over `conversations`, highlighting `current`.
#[component]
pub fn Sidebar(
    conversations: Resource<Result<Vec<ConversationSummary>, AppError>>,
    #[prop(into)] current: Signal<Option<uuid::Uuid>>,
    on_new: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <nav class="sidebar" aria-label="Conversations">
            <button type="button" class="btn primary new-chat" on:click=move |_| on_new()>
                "+ New conversation"
            </button>
            <Transition fallback=|| view! { <p class="muted small">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match conversations.await {
                        Ok(list) if list.is_empty() => {
                            view! { <p class="muted small">"Your conversations will appear here."</p> }.into_any()
                        }
                        Ok(list) => view! {
                            <ul class="conversations">
                                {list
                                    .into_iter()
                                    .map(|c| {
                                        let id = c.id;
                                        view! {
                                            <li>
                                                <A
                                                    href=format!("/c/{id}")
                                                    attr:class=move || {
                                                        if current.get() == Some(id) { "conv active" } else { "conv" }
                                                    }
                                                >
                                                    <span class="conv-title">{c.title.clone()}</span>
                                                    <span class="muted small">
                                                        {c.updated_at.format("%b %d, %H:%M").to_string()}
                                                    </span>
                                                </A>
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ul>
                        }
                        .into_any(),
                        Err(e) => view! { <p class="error small" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </nav>
    }
}
