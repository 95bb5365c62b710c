//! Saved: the user's ⭐ answers with notes — search, edit a note, remove, jump to the conversation.
use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::{SavedChat, list_saved, remove_saved, update_saved_note};
use crate::app::auth::RequireUser;
use crate::app::markdown;
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
    let query = RwSignal::new(String::new());
    let search = RwSignal::new(None::<String>);
    let page = RwSignal::new(0u32);
    let version = RwSignal::new(0u32);
    let list = Resource::new(move || (search.get(), page.get(), version.get()), |(s, p, _)| list_saved(s, p));
    view! {
        <section class="page list-page">
            <h1>"Saved answers"</h1>
            <form
                class="search"
                role="search"
                on:submit=move |ev| {
                    ev.prevent_default();
                    let q = query.get_untracked().trim().to_owned();
                    page.set(0);
                    search.set((!q.is_empty()).then_some(q));
                }
            >
                <label for="saved-search" class="sr-only">"Search saved answers and notes"</label>
                <input
                    id="saved-search"
                    type="search"
                    placeholder="Search saved answers and notes"
                    prop:value=move || query.get()
                    on:input=move |ev| query.set(event_target_value(&ev))
                />
                <button type="submit" class="btn">"Search"</button>
            </form>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(result) if result.items.is_empty() => view! {
                            <p class="muted">
                                {if search.get_untracked().is_some() {
                                    "Nothing matches that search."
                                } else {
                                    "Nothing saved yet: press ☆ Save under an answer."
                                }}
                            </p>
                        }
                        .into_any(),
                        Ok(result) => {
                            let has_more = result.has_more;
                            view! {
                                <ul class="cards">
                                    {result
                                        .items
                                        .into_iter()
                                        .map(|s| view! { <SavedItem saved=s on_removed=move || version.update(|v| *v += 1) /> })
                                        .collect_view()}
                                </ul>
                                <div class="pager">
                                    <Show when=move || { page.get() > 0 }>
                                        <button type="button" class="btn" on:click=move |_| page.update(|p| *p -= 1)>
                                            "Newer"
                                        </button>
                                    </Show>
                                    <Show when=move || has_more>
                                        <button type="button" class="btn" on:click=move |_| page.update(|p| *p += 1)>
                                            "Older"
                                        </button>
                                    </Show>
                                </div>
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
fn SavedItem(saved: SavedChat, on_removed: impl Fn() + Clone + Send + Sync + 'static) -> impl IntoView {
    let id = saved.id;
    let note = RwSignal::new(saved.note.clone());
    let draft = RwSignal::new(String::new());
    let editing = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let html = markdown::render(&saved.response);
    let link = saved.conversation_id.map(|c| format!("/c/{c}"));
    let save_note = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let text = draft.get_untracked();
        if let Err(e) = Note::parse_optional(&text) {
            error.set(Some(e.to_string()));
            return;
        }
        leptos::task::spawn_local(async move {
            match update_saved_note(id, Some(text)).await {
                Ok(s) => {
                    note.set(s.note);
                    editing.set(false);
                    error.set(None);
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    let remove = move |_| {
        let on_removed = on_removed.clone();
        leptos::task::spawn_local(async move {
            match remove_saved(id).await {
                Ok(()) => on_removed(),
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    view! {
        <li class="card" data-testid="saved-item">
            <div class="card-head">
                <h2 class="card-title">{saved.question.clone()}</h2>
                <span class="muted small">{saved.created_at.format("%Y-%m-%d %H:%M UTC").to_string()}</span>
            </div>
            <Show
                when=move || editing.get()
                fallback=move || {
                    view! {
                        <p class="note" data-testid="saved-note">
                            {move || note.get().unwrap_or_else(|| "No note.".into())}
                        </p>
                    }
                }
            >
                <form class="note-form" on:submit=save_note>
                    <label for=format!("saved-note-{id}") class="sr-only">"Note"</label>
                    <textarea
                        id=format!("saved-note-{id}")
                        rows="2"
                        maxlength="500"
                        prop:value=move || draft.get()
                        on:input=move |ev| draft.set(event_target_value(&ev))
                    ></textarea>
                    <button type="submit" class="btn small primary">"Save note"</button>
                    <button type="button" class="btn small" on:click=move |_| editing.set(false)>"Cancel"</button>
                </form>
            </Show>
            <details>
                <summary>"Answer"</summary>
                <div class="markdown" inner_html=html></div>
            </details>
            <div class="card-actions">
                <button
                    type="button"
                    class="btn small"
                    on:click=move |_| {
                        draft.set(note.get_untracked().unwrap_or_default());
                        editing.set(true);
                    }
                >
                    "Edit note"
                </button>
                {link.map(|href| view! { <A href=href attr:class="btn small">"Open conversation"</A> })}
                <button type="button" class="btn small danger" on:click=remove>"Remove"</button>
            </div>
            {move || error.get().map(|e| view! { <p class="error small" role="alert">{e}</p> })}
        </li>
    }
}
