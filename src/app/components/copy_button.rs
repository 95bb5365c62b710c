//! "Copy": puts a text on the clipboard and says so for two seconds (or that it could not).
use leptos::prelude::*;

use crate::app::locale::{tr, use_i18n};

/// What the button says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Ready,
    Copied,
    Failed,
}

/// A button copying `text` (read when clicked), labelled `label` (a translated text, or a closure returning one so
/// it follows a language switch).
#[component]
pub fn CopyButton(#[prop(into)] text: Signal<String>, #[prop(into)] label: Signal<&'static str>) -> impl IntoView {
    let i18n = use_i18n();
    let state = RwSignal::new(State::Ready);
    let copy = move |_| {
        let text = text.get_untracked();
        leptos::task::spawn_local(async move {
            state.set(if write_clipboard(&text).await { State::Copied } else { State::Failed });
            set_timeout(move || state.set(State::Ready), std::time::Duration::from_secs(2));
        });
    };
    view! {
        <button type="button" class="btn small copy" on:click=copy>
            {move || match state.get() {
                State::Ready => label.get().into_any(),
                State::Copied => tr!(i18n, components.copied).into_any(),
                State::Failed => tr!(i18n, components.copy_failed).into_any(),
            }}
        </button>
    }
}

/// Writes `text` to the clipboard; whether it worked.
async fn write_clipboard(text: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        let Some(window) = web_sys::window() else { return false };
        let promise = window.navigator().clipboard().write_text(text);
        wasm_bindgen_futures::JsFuture::from(promise).await.is_ok()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = text;
        false
    }
}
