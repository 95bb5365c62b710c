//! Server functions called by plain HTML forms, before (or without) the WASM: the browser then asks for HTML,
//! where the app's own client asks for JSON. By default such a call is answered with a redirect back to the page
//! it came from (`server_fn` does that); [`after_plain_form`] sends it somewhere else instead, for outcomes the
//! page must show (the hydrated app shows them from the action's value and stays where it is).
use axum::http::header::ACCEPT;
use axum::http::request::Parts;
use leptos::prelude::use_context;

/// Whether the current server-function call is a plain form post (no JavaScript).
pub fn is_plain_form_post() -> bool {
    use_context::<Parts>()
        .and_then(|parts| parts.headers.get(ACCEPT)?.to_str().ok().map(|accept| accept.contains("text/html")))
        .unwrap_or(false)
}

/// Redirects a plain form post to `path` (a path of this site); does nothing for the hydrated app's calls.
pub fn after_plain_form(path: &str) {
    if is_plain_form_post() {
        leptos_axum::redirect(path);
    }
}

/// Drops the bare `?` that `server_fn` leaves on the page a plain form post is sent back to (it strips its own
/// `__err`/`__path` parameters from the Referer, keeping the `?`): `/saved?` becomes `/saved`.
pub async fn tidy_redirect(mut response: axum::response::Response) -> axum::response::Response {
    use axum::http::header::LOCATION;
    if response.status().is_redirection()
        && let Some(location) = response.headers().get(LOCATION).and_then(|v| v.to_str().ok())
        && let Some(tidy) = location.strip_suffix('?')
        && let Ok(value) = axum::http::HeaderValue::from_str(tidy)
    {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}
