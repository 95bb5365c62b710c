//! The conversations sidebar: a new conversation, the recent ones, and for each a menu to rename it, export it
//! (Markdown or JSON) or delete it (asked once). The menus are `<details>` elements and the writes `ActionForm`s,
//! so all of it works before the WASM has loaded. On a narrow screen the list folds away behind "Conversations".
use crate::app::components::error_text::ErrorAlert;
use leptos::prelude::*;
use leptos::server::ServerAction;
use leptos_router::components::A;

use crate::api::{AppError, ConversationSummary, DeleteConversation, RenameConversation};
use crate::app::locale::{day_and_time, t_string, tr, use_i18n};
use crate::domain::ConversationTitle;

/// The sidebar over `conversations`, highlighting `current`; `rename` and `delete` are the actions its forms use.
#[component]
pub fn Sidebar(
    conversations: Resource<Result<Vec<ConversationSummary>, AppError>>,
    #[prop(into)] current: Signal<Option<uuid::Uuid>>,
    rename: ServerAction<RenameConversation>,
    delete: ServerAction<DeleteConversation>,
    on_new: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <nav class="sidebar" aria-label=tr!(i18n, chat.conversations)>
            <a
                href="/"
                class="btn primary new-chat"
                on:click=move |ev| {
                    ev.prevent_default();
                    on_new();
                }
            >
                {tr!(i18n, chat.new_conversation)}
            </a>
            // A CSS-only toggle: the list is always shown on wide screens and folds away on narrow ones.
            <input type="checkbox" id="sidebar-toggle" class="sidebar-toggle-box sr-only" />
            <label for="sidebar-toggle" class="btn small sidebar-toggle">{tr!(i18n, chat.conversations)}</label>
            <div class="sidebar-list">
                // Items are keyed, so a refreshed list (an answer ended, a rename) keeps the others' DOM — an open
                // menu stays open.
                <Transition fallback=move || view! { <p class="muted small">{tr!(i18n, chat.loading)}</p> }>
                    <ul class="conversations">
                        <For
                            each=move || conversations.get().and_then(Result::ok).unwrap_or_default()
                            key=|c| (c.id, c.title.clone(), c.updated_at)
                            let:c
                        >
                            <ConversationItem c current rename delete />
                        </For>
                    </ul>
                    {move || match conversations.get() {
                        Some(Ok(list)) if list.is_empty() => {
                            Some(view! { <p class="muted small">{tr!(i18n, chat.no_conversations)}</p> }.into_any())
                        }
                        Some(Err(e)) => Some(view! { <ErrorAlert error=e small=true /> }.into_any()),
                        _ => None,
                    }}
                </Transition>
            </div>
            {move || {
                let error = rename
                    .value()
                    .get()
                    .and_then(Result::err)
                    .or_else(|| delete.value().get().and_then(Result::err));
                error.map(|e| view! { <ErrorAlert error=e small=true /> })
            }}
        </nav>
    }
}

#[component]
fn ConversationItem(
    c: ConversationSummary,
    current: Signal<Option<uuid::Uuid>>,
    rename: ServerAction<RenameConversation>,
    delete: ServerAction<DeleteConversation>,
) -> impl IntoView {
    let i18n = use_i18n();
    let (id, title, updated_at) = (c.id, c.title, c.updated_at);
    let updated = move || day_and_time(i18n.get_locale(), updated_at);
    let export = |format: &str| format!("/chat/conversations/{id}/export?format={format}");
    let menu_label = {
        let title = title.clone();
        move || format!("{} {title}", t_string!(i18n, chat.options_for))
    };
    let link_text = title.clone();
    view! {
        <li class="conv-item" data-testid="conversation">
            <A href=format!("/c/{id}") attr:class=move || if current.get() == Some(id) { "conv active" } else { "conv" }>
                <span class="conv-title">{link_text}</span>
                <span class="muted small">{updated}</span>
            </A>
            <details class="conv-menu">
                <summary class="conv-menu-btn" role="button" aria-label=menu_label>"⋯"</summary>
                <div class="menu" role="menu">
                    <ActionForm action=rename attr:class="name-form">
                        <input type="hidden" name="conversation_id" value=id.to_string() />
                        <label for=format!("title-{id}")>{tr!(i18n, chat.title)}</label>
                        <input
                            id=format!("title-{id}")
                            name="title"
                            maxlength=ConversationTitle::MAX_CHARS
                            required
                            value=title
                        />
                        <button type="submit" class="btn small" disabled=move || rename.pending().get()>
                            {tr!(i18n, chat.rename)}
                        </button>
                    </ActionForm>
                    <a class="btn small" role="menuitem" href=export("markdown") download>
                        {tr!(i18n, chat.export_markdown)}
                    </a>
                    <a class="btn small" role="menuitem" href=export("json") download>
                        {tr!(i18n, chat.export_json)}
                    </a>
                    <details class="confirm">
                        <summary class="btn small danger" role="button">{tr!(i18n, chat.delete)}</summary>
                        <p class="small">{tr!(i18n, chat.delete_confirm)}</p>
                        <ActionForm action=delete>
                            <input type="hidden" name="conversation_id" value=id.to_string() />
                            <button type="submit" class="btn small danger" disabled=move || delete.pending().get()>
                                {tr!(i18n, chat.delete_conversation)}
                            </button>
                        </ActionForm>
                    </details>
                </div>
            </details>
        </li>
    }
}
