//! Cross-site writes are refused: a state-changing request whose `Sec-Fetch-Site` says another site, or whose
//! `Origin` is not this host, gets 403 — on top of `SameSite=Lax` cookies. Requests without either header (API
//! clients) carry no browser cookies to abuse and pass.
use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The middleware.
pub async fn refuse_cross_site_writes(request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    let headers = request.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return forbidden();
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest).trim_end_matches('/');
        if origin == "null" || !origin_host.eq_ignore_ascii_case(host) {
            return forbidden();
        }
    }
    next.run(request).await
}

fn forbidden() -> Response {
    (StatusCode::FORBIDDEN, "Cross-site requests that change state are refused.").into_response()
}
