//! Security headers. Pages get a Content-Security-Policy with the per-request nonce Leptos puts on its hydration
//! scripts: only this site's scripts run, WASM may compile, and model output can neither load remote images (how
//! chat UIs leak data) nor frame or redirect anything. Every response gets `nosniff`, a strict referrer policy
//! and a frame ban.
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;

/// The page policy for `nonce`.
pub fn content_security_policy(nonce: &str, live_reload: bool) -> String {
    let connect = if live_reload { "'self' ws://127.0.0.1:* ws://localhost:*" } else { "'self'" };
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; connect-src {connect}; font-src 'self'; object-src 'none'; base-uri 'none'; \
         frame-ancestors 'none'; form-action 'self'"
    )
}

/// Sets the page's CSP (called while rendering the HTML shell, where the nonce is known).
pub fn set_page_policy() {
    let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<ResponseOptions>()) else { return };
    // `cargo leptos watch` reloads the page over a websocket.
    let live_reload = std::env::var_os("LEPTOS_WATCH").is_some();
    if let Ok(value) = HeaderValue::from_str(&content_security_policy(&nonce, live_reload)) {
        response.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// Headers for every response.
pub async fn common_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_policy_allows_only_own_and_nonced_scripts_and_no_remote_images() {
        let p = super::content_security_policy("abc", false);
        assert!(p.contains("script-src 'self' 'nonce-abc' 'wasm-unsafe-eval'"));
        assert!(p.contains("img-src 'self' data:"));
        assert!(
            p.contains("object-src 'none'") && p.contains("base-uri 'none'") && p.contains("frame-ancestors 'none'")
        );
        assert!(!p.contains("unsafe-eval'") || p.contains("wasm-unsafe-eval"));
    }
}
