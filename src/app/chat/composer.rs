//! The message box: Enter sends, Shift+Enter adds a line; disabled while an answer streams, with a Stop button.
//! Before the WASM has loaded it is a plain form: `POST /chat/ask` starts the answer and opens its conversation, from
//! its Send button or, through [`EarlyEnter`]'s script, from Enter.
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
    // From here on the keydown handler below sends; `EarlyEnter`'s script stands down. Set in the same turn of the
    // event loop as the handler is attached (effects run in a microtask), so no key press falls between the two.
    input.on_load(|el| {
        let _ = el.set_attribute("data-live", "");
    });
    let send = {
        let on_send = on_send.clone();
        move || {
            if streaming.get_untracked() {
                return;
            }
            // The box's DOM value is the only copy of the text. A `prop:value` bound to a signal would be written
            // when the page hydrates, wiping out whatever was typed before the WASM arrived.
            let Some(el) = input.get_untracked() else { return };
            // The plain form already posted this text (before the WASM ran): the page is about to change.
            if el.closest("form[data-sent]").ok().flatten().is_some() {
                return;
            }
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
            // 229: Safari's keydown for the Enter that ends an IME composition, with `isComposing` false.
            if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() && ev.key_code() != 229 {
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
                // Phones label their Enter key "send"; [`EarlyEnter`] finds the box by it.
                enterkeyhint="send"
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

/// What Enter does in the composer before the WASM has hydrated the page: the same as its Send button, a plain form
/// post (Shift+Enter still adds a line, an empty box sends nothing). Without it, a slow phone's first Enter only
/// added a line. It stands down once the composer's own handler is live (`data-live`). A posted form is marked
/// `data-sent` until the next page shows (or 10 s, should the post be stopped): a second Enter or click sends
/// nothing more, and neither does the hydrated composer if the WASM arrives before the next page. An inline script
/// in `<head>`, so it runs before any of the page can be typed into; the page's CSP allows it by the request's nonce.
#[component]
pub fn EarlyEnter() -> impl IntoView {
    view! { <script nonce=use_nonce()>{EARLY_ENTER_SCRIPT}</script> }
}

const EARLY_ENTER_SCRIPT: &str = r#"(function(){var S="data-sent",Q="textarea[enterkeyhint=send]";
function box(f){var t=f&&f.querySelector&&f.querySelector(Q);return t&&!t.hasAttribute("data-live")?t:null}
function sent(f){f.setAttribute(S,"");setTimeout(function(){f.removeAttribute(S)},10000)}
addEventListener("pageshow",function(){document.querySelectorAll("form["+S+"]").forEach(function(f){f.removeAttribute(S)})});
addEventListener("submit",function(e){var f=e.target;if(!box(f))return;if(f.hasAttribute(S)){e.preventDefault();return}sent(f)});
addEventListener("keydown",function(e){var t=e.target;
if(e.key!=="Enter"||e.shiftKey||e.isComposing||e.keyCode===229||!(t instanceof HTMLTextAreaElement)||!t.form)return;
if(!t.matches(Q))return;if(t.form.hasAttribute(S)){e.preventDefault();return}
if(t.hasAttribute("data-live"))return;e.preventDefault();if(!t.value.trim())return;
if(t.form.requestSubmit)t.form.requestSubmit();else{sent(t.form);t.form.submit()}})})()"#;
