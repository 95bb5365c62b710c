//! The search box of the list pages: a GET form, so the search is `?q=` in the URL (a new search starts at page
//! 1), and it works as a plain form before the WASM has loaded.
use super::get_form::GetForm;
use leptos::prelude::*;

/// A search box for the page at `action`, showing `value`.
#[component]
pub fn SearchForm(action: &'static str, label: &'static str, value: Signal<Option<String>>) -> impl IntoView {
    let id = format!("search-{}", action.trim_start_matches('/'));
    view! {
        <GetForm action=action class="search" role="search">
            <label for=id.clone() class="sr-only">
                {label}
            </label>
            <input
                id=id
                type="search"
                name="q"
                maxlength="200"
                placeholder=label
                value=move || value.get().unwrap_or_default()
            />
            <button type="submit" class="btn">
                "Search"
            </button>
        </GetForm>
    }
}
