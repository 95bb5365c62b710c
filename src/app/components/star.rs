//! The ⭐ under an answer: save it (with an optional note), see that it is saved, edit the note, unstar.
use leptos::prelude::*;

use crate::api::{SavedRef, save_answer, unstar_answer, update_saved_note};
use crate::domain::Note;

/// The star control for answer `chat_log_id`.
#[component]
pub fn Star(chat_log_id: Option<i64>, saved: Option<SavedRef>) -> impl IntoView {
    let saved = RwSignal::new(saved);
    let hydrated = crate::app::use_hydrated();
    let editing = RwSignal::new(false);
    let note = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let Some(id) = chat_log_id else {
        return view! {
            <span class="muted small" title="This answer could not be logged, so it cannot be saved.">"☆ unavailable"</span>
        }
        .into_any();
    };

    let submit = move || {
        let text = note.get_untracked();
        if let Err(e) = Note::parse_optional(&text) {
            error.set(Some(e.to_string()));
            return;
        }
        busy.set(true);
        let existing = saved.get_untracked();
        leptos::task::spawn_local(async move {
            let result = match existing {
                Some(s) => update_saved_note(s.id, Some(text)).await,
                None => save_answer(id, Some(text)).await,
            };
            match result {
                Ok(s) => {
                    saved.set(Some(SavedRef { id: s.id, note: s.note }));
                    editing.set(false);
                    error.set(None);
                }
                Err(e) => error.set(Some(e.to_string())),
            }
            busy.set(false);
        });
    };
    let unstar = move |_| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            match unstar_answer(id).await {
                Ok(()) => {
                    saved.set(None);
                    editing.set(false);
                    error.set(None);
                }
                Err(e) => error.set(Some(e.to_string())),
            }
            busy.set(false);
        });
    };
    let open_editor = move |_| {
        note.set(saved.get_untracked().and_then(|s| s.note).unwrap_or_default());
        editing.set(true);
    };
    let chars = move || note.with(|n| n.trim().chars().count());

    view! {
        <div class="star">
            <button
                type="button"
                class="btn star-btn"
                class:starred=move || saved.get().is_some()
                aria-pressed=move || saved.get().is_some().to_string()
                aria-label=move || if saved.get().is_some() { "Saved — edit note" } else { "Save this answer" }
                title=move || if saved.get().is_some() { "Saved" } else { "Save this answer" }
                disabled=move || busy.get() || !hydrated.get()
                on:click=open_editor
            >
                {move || if saved.get().is_some() { "★ Saved" } else { "☆ Save" }}
            </button>
            {move || {
                saved
                    .get()
                    .and_then(|s| s.note)
                    .filter(|_| !editing.get())
                    .map(|n| view! { <span class="note-text" data-testid="star-note">{n}</span> })
            }}
            <Show when=move || editing.get()>
                <form
                    class="star-form"
                    on:submit=move |ev| {
                        ev.prevent_default();
                        submit();
                    }
                >
                    <label class="sr-only" for=format!("note-{id}")>
                        "Note (optional)"
                    </label>
                    <textarea
                        id=format!("note-{id}")
                        rows="2"
                        maxlength="500"
                        placeholder="Add a note (optional)"
                        prop:value=move || note.get()
                        on:input=move |ev| note.set(event_target_value(&ev))
                    ></textarea>
                    <div class="star-actions">
                        <span class="muted small" class:error=move || { chars() > Note::MAX_CHARS }>
                            {move || format!("{}/{}", chars(), Note::MAX_CHARS)}
                        </span>
                        <button type="submit" class="btn primary small" disabled=move || busy.get()>
                            {move || if saved.get().is_some() { "Save note" } else { "Save" }}
                        </button>
                        <Show when=move || saved.get().is_some()>
                            <button type="button" class="btn small danger" disabled=move || busy.get() on:click=unstar>
                                "Unstar"
                            </button>
                        </Show>
                        <button type="button" class="btn small" on:click=move |_| editing.set(false)>
                            "Cancel"
                        </button>
                    </div>
                </form>
            </Show>
            {move || error.get().map(|e| view! { <p class="error small" role="alert">{e}</p> })}
        </div>
    }
    .into_any()
}
