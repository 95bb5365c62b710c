//! What a panic in the browser does: it goes to the console, and one from a split-off WASM chunk that could not be
//! fetched reloads the page.
//!
//! The bundle's chunks (`cargo leptos build --split`) carry content hashes, and a deployment replaces them. A tab
//! opened before the deployment still has the old main module, whose chunk names are gone: the first click that
//! needs one (a page not visited yet, a step's table) fails to fetch it, and Leptos 0.8 panics on that, which leaves
//! the page dead. A reload gets the new bundle. It happens at most once a minute (remembered in `sessionStorage`), so
//! a chunk that is really missing does not reload the page in a loop.
use std::panic::PanicHookInfo;

/// What the chunk loader's panic says (`wasm_split_macros`: `ensure_loaded(..).expect(..)`).
const CHUNK_LOAD_FAILED: &str = "load callback should succeed";
/// The `sessionStorage` key holding when this tab last reloaded for a missing chunk (ms since the epoch).
const RELOADED_AT: &str = "tradechat.chunk-reload-at";
/// The least time between two such reloads.
const RELOAD_EVERY_MS: f64 = 60_000.0;

/// Installs the hook; call once, before hydrating.
pub fn install() {
    std::panic::set_hook(Box::new(|info: &PanicHookInfo<'_>| {
        console_error_panic_hook::hook(info);
        if info.payload_as_str().is_some_and(|message| message.contains(CHUNK_LOAD_FAILED)) {
            reload_for_new_bundle();
        }
    }));
}

fn reload_for_new_bundle() {
    let Some(window) = web_sys::window() else { return };
    let now = js_sys::Date::now();
    let storage = window.session_storage().ok().flatten();
    let last =
        storage.as_ref().and_then(|s| s.get_item(RELOADED_AT).ok().flatten()).and_then(|at| at.parse::<f64>().ok());
    if last.is_some_and(|at| now - at < RELOAD_EVERY_MS) {
        return;
    }
    if let Some(storage) = &storage {
        let _ = storage.set_item(RELOADED_AT, &now.to_string());
    }
    web_sys::console::warn_1(&"a part of the app could not be loaded (a newer version is deployed); reloading".into());
    let _ = window.location().reload();
}
