//! The 404 page.
use leptos::prelude::*;

/// Shown for unknown paths (and sets the 404 status during SSR).
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <section class="page">
            <h1>"Page not found"</h1>
            <p>
                <a href="/">"Back to tradechat"</a>
            </p>
        </section>
    }
}
