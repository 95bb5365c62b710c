//! The Leptos UI: the HTML shell, the router, the header, and (in submodules) pages and components.
//!
//! UI code only: data comes from server functions in `crate::api` (which re-check everything) and from the chat
//! stream (`browser`).
mod auth;
mod browser;
mod chat;
mod components;
pub mod locale;
pub mod markdown;
mod pages;
#[cfg(feature = "hydrate")]
pub mod panics;

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::components::{A, ParentRoute, Route, Router, Routes};
use leptos_router::{Lazy, SsrMode, path};

pub use auth::LoginLink;
use auth::{Auth, ConfirmPage, LoginPage, UserMenu};
use chat::{ChatPage, EarlyEnter};
use locale::{I18nContextProvider, LocaleSwitcher, tr, use_i18n};
use pages::not_found::NotFound;
use pages::split_routes::{AdminRoute, HistoryRoute, SavedRoute, StatusRoute, UsageRoute};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::server::security::set_page_policy();
    view! {
        <!DOCTYPE html>
        <html>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <AutoReload options=options.clone() />
                <HashedStylesheet options=options.clone() id="leptos" />
                <HydrationScripts options />
                <EarlyEnter />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The root component: metadata, the language, the signed-in user, header and routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // The chosen language lives a year, for the whole site.
    let cookie = leptos_i18n::context::CookieOptions::default().max_age(365 * 24 * 3600 * 1000_i64).path("/");
    view! {
        <I18nContextProvider cookie_options=cookie>
            <Shell />
        </I18nContextProvider>
    }
}

/// Everything inside the language context: header, navigation and routes.
#[component]
fn Shell() -> impl IntoView {
    let i18n = use_i18n();
    let auth = Auth::provide();
    // Effects run only in the browser, once the page has hydrated: `<html data-hydrated>` tells tests (and
    // stylesheets) that the app's code is live.
    Effect::new(|_| {
        #[cfg(feature = "hydrate")]
        if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
            let _ = root.set_attribute("data-hydrated", "");
        }
    });
    view! {
        <Title text="tradechat" />
        <Router>
            <a class="skip-link" href="#main">{tr!(i18n, common.skip_to_content)}</a>
            <header class="topbar">
                <A href="/" attr:class="brand">"tradechat"</A>
                <nav class="nav" aria-label=tr!(i18n, common.nav_label)>
                    <A href="/">{tr!(i18n, common.nav_chat)}</A>
                    <A href="/history">{tr!(i18n, common.nav_history)}</A>
                    <A href="/saved">{tr!(i18n, common.nav_saved)}</A>
                    <A href="/usage">{tr!(i18n, common.nav_usage)}</A>
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            let admin = matches!(auth.user.await, Ok(Some(user)) if user.is_admin);
                            admin.then(|| view! { <A href="/admin">{tr!(i18n, common.nav_admin)}</A> })
                        })}
                    </Transition>
                </nav>
                <LocaleSwitcher />
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        match auth.user.await {
                            Ok(Some(user)) => view! { <UserMenu user /> }.into_any(),
                            _ => ().into_any(),
                        }
                    })}
                </Transition>
            </header>
            <main id="main" class="content">
                // Async: the server sends each page complete (user, history, answers), readable before any script.
                <Routes fallback=NotFound>
                    // One chat view for `/` and `/c/:id`: it stays mounted when a new conversation gets its URL
                    // mid-answer, or another one is opened from the sidebar.
                    <ParentRoute path=path!("") view=ChatPage ssr=SsrMode::Async>
                        <Route path=path!("") view=|| () />
                        <Route path=path!("c/:id") view=|| () />
                    </ParentRoute>
                    <Route path=path!("login") view=LoginPage ssr=SsrMode::Async />
                    <Route path=path!("auth/confirm") view=ConfirmPage ssr=SsrMode::Async />
                    <Route path=path!("history") view={Lazy::<HistoryRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("saved") view={Lazy::<SavedRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("status") view={Lazy::<StatusRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("usage") view={Lazy::<UsageRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("admin") view={Lazy::<AdminRoute>::new()} ssr=SsrMode::Async />
                </Routes>
            </main>
        </Router>
    }
}
