//! Saved: the user's ⭐ answers with notes — search, edit a note, remove, jump to the conversation. The search and
//! the page are in the URL (`/saved?q=…&page=2`); editing and removing are `ActionForm`s that work before the WASM
//! has loaded, and the list reloads after each.
use leptos::prelude::*;
use leptos::server::ServerAction;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::api::{RemoveSaved, SavedChat, UpdateSavedNote, list_saved};
use crate::app::auth::RequireUser;
use crate::app::chat::checks::CheckedMarkdown;
use crate::app::components::pager::{Pager, page_of};
use crate::app::components::search_form::SearchForm;
use crate::app::locale::{date_time, t, t_string, use_i18n};
use crate::domain::Note;

/// `/saved`.
#[component]
pub fn SavedPage() -> impl IntoView {
    view! {
        <RequireUser>
            <Saved />
        </RequireUser>
    }
}

#[component]
fn Saved() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let search = move || query.read().get("q").map(|q| q.trim().to_owned()).filter(|q| !q.is_empty());
    let page = move || page_of(&query.read());
    let edit = ServerAction::<UpdateSavedNote>::new();
    let remove = ServerAction::<RemoveSaved>::new();
    let list = Resource::new(
        move || (search(), page(), edit.version().get(), remove.version().get()),
        |(search, page, _, _)| list_saved(search, page - 1),
    );
    view! {
        <section class="page list-page">
            <h1>{t!(i18n, pages.saved_title)}</h1>
            <SearchForm
                action="/saved"
                label=move || t_string!(i18n, pages.saved_search)
                value=Signal::derive(search)
            />
            {move || {
                let error = edit.value().get().and_then(Result::err).or_else(|| remove.value().get().and_then(Result::err));
                error.map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })
            }}
            <Transition fallback=move || view! { <p class="muted">{t!(i18n, pages.loading)}</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(result) if result.items.is_empty() => {
                            let text = if search().is_some() {
                                t!(i18n, pages.no_matches).into_any()
                            } else {
                                t!(i18n, pages.saved_empty).into_any()
                            };
                            view! { <p class="muted">{text}</p> }.into_any()
                        }
                        Ok(result) => {
                            let (page, has_more) = (page(), result.has_more);
                            view! {
                                <ul class="cards">
                                    {result.items.into_iter().map(|saved| view! { <SavedItem saved edit remove /> }).collect_view()}
                                </ul>
                                <Pager path="/saved" query=query.get_untracked() page has_more />
                            }
                            .into_any()
                        }
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn SavedItem(
    saved: SavedChat,
    edit: ServerAction<UpdateSavedNote>,
    remove: ServerAction<RemoveSaved>,
) -> impl IntoView {
    let i18n = use_i18n();
    let id = saved.id;
    let at = saved.created_at;
    let link = saved.conversation_id.map(|c| format!("/c/{c}"));
    view! {
        <li class="card" data-testid="saved-item">
            <div class="card-head">
                <h2 class="card-title">{saved.question.clone()}</h2>
                <span class="muted small">{move || date_time(i18n.get_locale(), at)}</span>
            </div>
            <p class="note" data-testid="saved-note">
                {match saved.note.clone() {
                    Some(note) => note.into_any(),
                    None => t!(i18n, pages.saved_no_note).into_any(),
                }}
            </p>
            <details>
                <summary>{t!(i18n, pages.answer)}</summary>
                <CheckedMarkdown text=saved.response.clone() checks=saved.checks.clone() />
            </details>
            <div class="card-actions">
                <details class="note-editor">
                    <summary class="btn small" role="button">{t!(i18n, pages.saved_edit_note)}</summary>
                    <ActionForm action=edit attr:class="note-form">
                        <input type="hidden" name="saved_id" value=id />
                        <label for=format!("saved-note-{id}")>{t!(i18n, pages.saved_note)}</label>
                        <textarea id=format!("saved-note-{id}") name="note" rows="2" maxlength=Note::MAX_CHARS>
                            {saved.note.clone().unwrap_or_default()}
                        </textarea>
                        <button type="submit" class="btn small primary" disabled=move || edit.pending().get()>
                            {t!(i18n, pages.saved_save_note)}
                        </button>
                    </ActionForm>
                </details>
                {link.map(|href| view! { <A href=href attr:class="btn small">{t!(i18n, pages.open_conversation)}</A> })}
                <ActionForm action=remove>
                    <input type="hidden" name="saved_id" value=id />
                    <button type="submit" class="btn small danger" disabled=move || remove.pending().get()>
                        {t!(i18n, pages.saved_remove)}
                    </button>
                </ActionForm>
            </div>
        </li>
    }
}
