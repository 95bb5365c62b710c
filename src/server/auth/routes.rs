//! Auth routes outside the GoTrue API: `/auth/confirm` (where magic links land) and `/dev/outbox` (built-in mode,
//! loopback only: the emails that would have been sent).
use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::session::session_cookies;
use crate::server::state::AppState;

/// `/auth/confirm` query.
#[derive(Deserialize)]
pub struct ConfirmQuery {
    token_hash: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    next: Option<String>,
}

/// Only paths of this site are valid redirect targets (no open redirect).
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') && !p.contains("://") => p,
        _ => "/",
    }
}

/// `GET /auth/confirm?token_hash=…&type=email`: verifies the magic link, sets the session cookies, redirects.
pub async fn confirm(State(state): State<AppState>, Query(q): Query<ConfirmQuery>) -> Response {
    let (Some(token_hash), Some("email" | "magiclink")) = (q.token_hash.as_deref(), q.kind.as_deref()) else {
        return Redirect::to("/?auth_error=link_invalid").into_response();
    };
    match state.auth.gotrue.verify_token_hash(token_hash).await {
        Ok(pair) => {
            crate::server::auth::after_sign_in(&state, &pair).await;
            let mut response = Redirect::to(safe_next(q.next.as_deref())).into_response();
            for c in session_cookies(&pair, state.config.auth.secure_cookies()) {
                response.headers_mut().append(header::SET_COOKIE, c);
            }
            response
        }
        Err(e) => {
            tracing::info!(error = %e, "magic link refused");
            Redirect::to("/?auth_error=link_invalid").into_response()
        }
    }
}

fn local_builtin_only(state: &AppState, peer: SocketAddr) -> Option<&super::builtin::BuiltInAuth> {
    if !peer.ip().is_loopback() {
        return None;
    }
    state.auth.builtin.as_deref()
}

/// `GET /dev/outbox.json`: the outbox as JSON (end-to-end tests read links and codes here).
pub async fn outbox_json(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>) -> Response {
    match local_builtin_only(&state, peer) {
        Some(builtin) => Json(builtin.mailer().outbox()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `GET /dev/outbox`: the outbox as a page.
pub async fn outbox_page(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>) -> Response {
    let Some(builtin) = local_builtin_only(&state, peer) else { return StatusCode::NOT_FOUND.into_response() };
    let escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let items: String = builtin
        .mailer()
        .outbox()
        .iter()
        .map(|m| {
            format!(
                "<article><h2>{}</h2><p>To {} · {}</p><p><a href=\"{}\">Sign in</a> · code <code>{}</code></p><pre>{}</pre></article>",
                escape(&m.subject),
                escape(&m.to),
                escape(&m.sent_at),
                escape(&m.link),
                escape(&m.code),
                escape(&m.body)
            )
        })
        .collect();
    Html(format!(
        "<!doctype html><meta charset=utf-8><title>Outbox</title><h1>Outbox (built-in auth, not sent)</h1>{}",
        if items.is_empty() { "<p>No emails yet.</p>".to_owned() } else { items }
    ))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_redirect_targets() {
        assert_eq!(safe_next(Some("/saved")), "/saved");
        for evil in ["https://evil.example", "//evil.example", "/\\evil.example", "javascript:alert(1)", "/x://y"] {
            assert_eq!(safe_next(Some(evil)), "/", "{evil}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
