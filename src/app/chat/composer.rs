//! The message box: Enter sends, Shift+Enter adds a line; disabled while an answer streams, with a Stop button.
//! Before the WASM has loaded it is a plain form: `POST /chat/ask` starts the answer and opens its conversation.
use leptos::prelude::*;

use crate::app::components::error_text::TextErrorText;
use crate::app::locale::{tr, use_i18n};
use crate::domain::{Question, TextError};

/// The composer.
#[component]
pub fn Composer(
    #[prop(into)] streaming: Signal<bool>,
    /// The conversation a plain form post continues.
    #[prop(into)]
    conversation: Signal<Option<uuid::Uuid>>,
    on_send: impl Fn(String) + Clone + Send + Sync + 'static,
    on_stop: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    // Why the question was refused, said in the page's language.
    let error = RwSignal::new(None::<TextError>);
    let input = NodeRef::<leptos::html::Textarea>::new();
    let send = {
        let on_send = on_send.clone();
        move || {
            if streaming.get_untracked() {
                return;
            }
            // The box's DOM value is the only copy of the text. A `prop:value` bound to a signal would be written
            // when the page hydrates, wiping out whatever was typed before the WASM arrived.
            let Some(el) = input.get_untracked() else { return };
            match Question::parse(&el.value()) {
                Ok(q) => {
                    error.set(None);
                    el.set_value("");
                    on_send(q.as_str().to_owned());
                }
                Err(e) => error.set(Some(e)),
            }
        }
    };
    let keydown = {
        let send = send.clone();
        move |ev: leptos::ev::KeyboardEvent| {
            if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                ev.prevent_default();
                send();
            }
        }
    };
    view! {
        <form
            class="composer"
            method="post"
            action="/chat/ask"
            on:submit={
                let send = send.clone();
                move |ev| {
                    ev.prevent_default();
                    send();
                }
            }
        >
            <label for="composer-input" class="sr-only">
                {tr!(i18n, chat.composer_label)}
            </label>
            <input
                type="hidden"
                name="conversation_id"
                value=move || conversation.get().map(|id| id.to_string()).unwrap_or_default()
            />
            <textarea
                node_ref=input
                id="composer-input"
                name="message"
                rows="2"
                maxlength="8000"
                placeholder=tr!(i18n, chat.composer_placeholder)
                disabled=move || streaming.get()
                on:keydown=keydown
            ></textarea>
            <div class="composer-actions">
                {move || {
                    error.get().map(|error| view! { <span class="error small" role="alert"><TextErrorText error /></span> })
                }}
                <Show
                    when=move || streaming.get()
                    fallback=move || {
                        view! {
                            <button type="submit" class="btn primary">
                                {tr!(i18n, chat.send)}
                            </button>
                        }
                    }
                >
                    <button type="button" class="btn danger" on:click={
                        let on_stop = on_stop.clone();
                        move |_| on_stop()
                    }>
                        {tr!(i18n, chat.stop)}
                    </button>
                </Show>
            </div>
        </form>
    }
}
