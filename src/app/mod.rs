//! The Leptos UI: the HTML shell, the router, and (in submodules) pages and components.
//!
//! UI code only: data comes from server functions in `crate::api`, which re-check everything.
mod components;
mod pages;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use pages::home::HomePage;
use pages::not_found::NotFound;

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The root component: metadata, stylesheet and routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/tradechat.css" />
        <Title text="tradechat" />
        <Router>
            <header class="topbar">
                <a class="brand" href="/">
                    "tradechat"
                </a>
            </header>
            <main class="content">
                <Routes fallback=NotFound>
                    <Route path=path!("") view=HomePage />
                </Routes>
            </main>
        </Router>
    }
}
