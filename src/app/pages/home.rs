//! The home page.
use leptos::prelude::*;

use crate::app::components::status_panel::StatusPanel;

/// Landing page: what tradechat is, and the live status of its data stores.
#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <section class="page">
            <h1>"Your trading copilot"</h1>
            <p class="lead">
                "Ask questions about market data and your portfolio; answers come from SQL over your own DuckDB data."
            </p>
            <StatusPanel />
        </section>
    }
}
