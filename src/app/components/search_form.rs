//! The search box of the list pages: a GET form, so the search is `?q=` in the URL (a new search starts at page
//! 1), and it works as a plain form before the WASM has loaded.
use super::get_form::GetForm;
use leptos::prelude::*;

use crate::app::locale::{tr, use_i18n};

/// A search box for the page at `action`, showing `value`. `label` (its label and placeholder) is a translated
/// text, or a closure returning one so it follows a language switch.
#[component]
pub fn SearchForm(
    action: &'static str,
    #[prop(into)] label: Signal<&'static str>,
    value: Signal<Option<String>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let id = format!("search-{}", action.trim_start_matches('/'));
    view! {
        <GetForm action=action class="search" role="search">
            <label for=id.clone() class="sr-only">
                {move || label.get()}
            </label>
            <input
                id=id
                type="search"
                name="q"
                maxlength="200"
                placeholder=move || label.get()
                value=move || value.get().unwrap_or_default()
            />
            <button type="submit" class="btn">
                {tr!(i18n, components.search)}
            </button>
        </GetForm>
    }
}
