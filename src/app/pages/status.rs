//! `/status`: the health of Postgres and DuckDB (and a first check that the app is wired together).
use leptos::prelude::*;

use crate::app::components::status_panel::StatusPanel;

/// The status page.
#[component]
pub fn StatusPage() -> impl IntoView {
    view! {
        <section class="page">
            <h1>"Status"</h1>
            <p class="lead">"The data stores behind tradechat."</p>
            <StatusPanel />
        </section>
    }
}
