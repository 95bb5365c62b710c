//! The pages off the chat path, each compiled into a WASM chunk of its own (`cargo leptos build --split`).
//!
//! A visitor's first download is the chat page and what every page shares; `/history`, `/saved`, `/status`, `/usage`
//! and `/admin` fetch their chunk when first opened. A page loaded directly gets its chunk preloaded by the server
//! (`<link rel="modulepreload">` from the split manifest) and hydrates once it has arrived. On the server, and in a
//! build without `--split`, the routes render in place.
use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};

use super::admin::AdminPage;
use super::history::HistoryPage;
use super::saved::SavedPage;
use super::status::StatusPage;
use super::usage::UsagePage;

/// Declares a route type whose view is `$page`, split out by `#[lazy_route]`.
macro_rules! split_route {
    ($(#[$doc:meta])* $route:ident => $page:ident) => {
        $(#[$doc])*
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            fn view(_this: Self) -> AnyView {
                view! { <$page /> }.into_any()
            }
        }
    };
}

split_route!(
    /// `/history`.
    HistoryRoute => HistoryPage
);
split_route!(
    /// `/saved`.
    SavedRoute => SavedPage
);
split_route!(
    /// `/status`.
    StatusRoute => StatusPage
);
split_route!(
    /// `/usage`.
    UsageRoute => UsagePage
);
split_route!(
    /// `/admin`.
    AdminRoute => AdminPage
);
