//! `/status`: the health of Postgres and DuckDB (and a first check that the app is wired together).
use leptos::prelude::*;

use crate::app::components::status_panel::StatusPanel;
use crate::app::locale::{tr, use_i18n};

/// The status page.
#[component]
pub fn StatusPage() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <section class="page">
            <h1>{tr!(i18n, common.status_title)}</h1>
            <p class="lead">{tr!(i18n, common.status_lead)}</p>
            <StatusPanel />
        </section>
    }
}
