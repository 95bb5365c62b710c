//! The ⭐ under an answer: save it (with an optional note), see that it is saved, edit the note, unstar. One
//! `ActionForm` in a `<details>` element: it opens and submits before the WASM has loaded too, and the star's state
//! is the action's latest answer (or what the page was rendered with).
use crate::app::components::error_text::ErrorAlert;
use leptos::prelude::*;
use leptos::server::ServerAction;

use crate::api::{SavedRef, SetStar};
use crate::app::locale::{t_string, tr, use_i18n};
use crate::domain::Note;

/// The star control for answer `chat_log_id`.
#[component]
pub fn Star(chat_log_id: Option<i64>, saved: Option<SavedRef>) -> impl IntoView {
    let i18n = use_i18n();
    let Some(id) = chat_log_id else {
        return view! {
            <span class="muted small" title=tr!(i18n, components.star_unavailable_title)>
                {tr!(i18n, components.star_unavailable)}
            </span>
        }
        .into_any();
    };
    let star = ServerAction::<SetStar>::new();
    let current = Signal::derive(move || match star.value().get() {
        Some(Ok(now)) => now,
        _ => saved.clone(),
    });
    let is_saved = move || current.with(Option::is_some);
    let note = RwSignal::new(current.with_untracked(|s| s.as_ref().and_then(|s| s.note.clone()).unwrap_or_default()));
    let chars = move || note.with(|n| n.trim().chars().count());
    view! {
        <div class="star">
            // Closed again whenever a save or unstar has gone through.
            <details class="star-details" prop:open=move || {
                star.version().get();
                false
            }>
                <summary
                    role="button"
                    class="btn star-btn"
                    class:starred=is_saved
                    aria-pressed=move || is_saved().to_string()
                    aria-label=move || {
                        if is_saved() {
                            t_string!(i18n, components.star_saved_edit_note)
                        } else {
                            t_string!(i18n, components.star_save_answer)
                        }
                    }
                    title=move || {
                        if is_saved() {
                            t_string!(i18n, components.star_saved)
                        } else {
                            t_string!(i18n, components.star_save_answer)
                        }
                    }
                >
                    {move || {
                        if is_saved() {
                            tr!(i18n, components.star_button_saved).into_any()
                        } else {
                            tr!(i18n, components.star_button_save).into_any()
                        }
                    }}
                </summary>
                <ActionForm action=star attr:class="star-form">
                    <input type="hidden" name="chat_log_id" value=id />
                    <label class="sr-only" for=format!("note-{id}")>
                        {tr!(i18n, components.star_note_label)}
                    </label>
                    <textarea
                        id=format!("note-{id}")
                        name="note"
                        rows="2"
                        maxlength=Note::MAX_CHARS
                        placeholder=tr!(i18n, components.star_note_placeholder)
                        prop:value=move || note.get()
                        on:input=move |ev| note.set(event_target_value(&ev))
                    ></textarea>
                    <div class="star-actions">
                        <span class="muted small" class:error=move || { chars() > Note::MAX_CHARS }>
                            {move || format!("{}/{}", chars(), Note::MAX_CHARS)}
                        </span>
                        <button type="submit" class="btn primary small" disabled=move || star.pending().get()>
                            {move || {
                                if is_saved() {
                                    tr!(i18n, components.star_save_note).into_any()
                                } else {
                                    tr!(i18n, components.star_save).into_any()
                                }
                            }}
                        </button>
                        <Show when=is_saved>
                            <button
                                type="submit"
                                class="btn small danger"
                                name="unstar"
                                value="true"
                                disabled=move || star.pending().get()
                            >
                                {tr!(i18n, components.star_unstar)}
                            </button>
                        </Show>
                    </div>
                </ActionForm>
            </details>
            {move || {
                current
                    .get()
                    .and_then(|s| s.note)
                    .map(|n| view! { <span class="note-text" data-testid="star-note">{n}</span> })
            }}
            {move || star.value().get().and_then(Result::err).map(|e| view! { <ErrorAlert error=e small=true /> })}
        </div>
    }
    .into_any()
}
