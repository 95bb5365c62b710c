//! The 404 page.
use leptos::prelude::*;

use crate::app::locale::{tr, use_i18n};

/// Shown for unknown paths (and sets the 404 status during SSR).
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    let i18n = use_i18n();
    view! {
        <section class="page">
            <h1>{tr!(i18n, common.not_found_title)}</h1>
            <p>
                <a href="/">{tr!(i18n, common.not_found_back)}</a>
            </p>
        </section>
    }
}
