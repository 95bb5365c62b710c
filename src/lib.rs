//! tradechat — a trading copilot: a signed-in user chats with an LLM agent that answers from DuckDB market data.
//!
//! Where things live (see `ARCHITECTURE.md`):
//! - [`app`] — the Leptos UI (pages and components), rendered on the server and hydrated in the browser;
//! - [`api`] — server functions and the types that cross the wire; thin wrappers over `server`;
//! - [`domain`] — values parsed at the edge (notes, names, ids), shared by both sides;
//! - `server` (feature `ssr` only) — configuration, HTTP routing, Postgres, DuckDB and everything else that
//!   runs only on the server.
#![recursion_limit = "256"]

pub mod api;
pub mod app;
pub mod domain;
// The `i18n` module: the `Locale` enum, the `t!` macros and `I18nContextProvider`, generated from `locales/` as
// declared in Cargo.toml's `[package.metadata.leptos-i18n]` (see `app::locale`). The macro is deprecated in favour
// of build-script code generation, whose build dependencies (ICU's data exporter) cost minutes of compiling for
// features we do not use; the macro generates the same module.
#[allow(deprecated)]
mod translations {
    leptos_i18n::load_locales!();
}
pub use translations::i18n;
#[cfg(feature = "ssr")]
pub mod server;

/// Browser entry point: hydrates the server-rendered page, once a directly loaded page's split-off chunk (see
/// `app::pages::split_routes`) has arrived.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    app::panics::install();
    leptos::mount::hydrate_lazy(app::App);
}
