//! The one pagination pattern of the list pages (history, saved): the page is `?page=N` in the URL (1-based,
//! absent on the first), next to the page's other query parameters, so a page is shareable, survives a reload,
//! and Back/Forward step through pages. Plain links, so they work before the WASM has loaded.
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::location::Url;
use leptos_router::params::ParamsMap;

use crate::app::locale::{t, tr, use_i18n};

/// The 1-based page in `query` (`?page=`); 1 when absent or not a positive number.
pub fn page_of(query: &ParamsMap) -> u32 {
    query.get_str("page").and_then(|p| p.parse::<u32>().ok()).filter(|p| *p >= 1).unwrap_or(1)
}

/// `path` with `query`'s parameters and `page` (dropped for page 1). Form-error parameters of a plain form post
/// (`__err`, `__path`) are left behind.
pub fn page_href(path: &str, query: &ParamsMap, page: u32) -> String {
    let mut parts: Vec<String> = query
        .into_iter()
        .filter(|(k, _)| !matches!(k.as_ref(), "page" | "__err" | "__path"))
        .map(|(k, v)| format!("{}={}", Url::escape(k), Url::escape(v)))
        .collect();
    if page > 1 {
        parts.push(format!("page={page}"));
    }
    if parts.is_empty() { path.to_owned() } else { format!("{path}?{}", parts.join("&")) }
}

/// "Newer" and "Older" links around page `page` of `path`.
#[component]
pub fn Pager(path: &'static str, query: ParamsMap, page: u32, has_more: bool) -> impl IntoView {
    let i18n = use_i18n();
    let newer = (page > 1).then(|| page_href(path, &query, page - 1));
    let older = has_more.then(|| page_href(path, &query, page + 1));
    (newer.is_some() || older.is_some()).then(|| {
        view! {
            <nav class="pager" aria-label=tr!(i18n, components.pager_label)>
                {newer.map(|href| {
                    view! {
                        <A href=href attr:class="btn" attr:rel="prev">
                            {tr!(i18n, components.pager_newer)}
                        </A>
                    }
                })}
                <span class="muted small">{t!(i18n, components.pager_page, page)}</span>
                {older.map(|href| {
                    view! {
                        <A href=href attr:class="btn" attr:rel="next">
                            {tr!(i18n, components.pager_older)}
                        </A>
                    }
                })}
            </nav>
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_keep_the_search_and_drop_page_one_and_form_errors() {
        let query: ParamsMap =
            [("q", "NOVA QBIT"), ("page", "3"), ("__err", "x")].into_iter().map(|(k, v)| (k, v.to_owned())).collect();
        assert_eq!(page_of(&query), 3);
        assert_eq!(page_href("/history", &query, 4), "/history?q=NOVA%20QBIT&page=4");
        assert_eq!(page_href("/history", &query, 1), "/history?q=NOVA%20QBIT");
        assert_eq!(page_href("/saved", &ParamsMap::new(), 1), "/saved");
        let junk: ParamsMap = [("page", "0")].into_iter().map(|(k, v)| (k, v.to_owned())).collect();
        assert_eq!(page_of(&junk), 1);
    }
}
