//! Auth routes outside the GoTrue API: `/auth/confirm` (where magic links land) and `/dev/outbox` (built-in mode,
//! local requests only — loopback peer and `Host`, no proxy headers: the emails that would have been sent).
use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::client_ip::client_ip;
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
pub async fn confirm(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<ConfirmQuery>,
) -> Response {
    let (Some(token_hash), Some("email" | "magiclink")) = (q.token_hash.as_deref(), q.kind.as_deref()) else {
        return Redirect::to("/?auth_error=link_invalid").into_response();
    };
    let ip = client_ip(peer.ip(), &headers, &state.config.auth.trusted_proxies);
    match state.auth.gotrue.for_client(Some(ip)).verify_token_hash(token_hash).await {
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

/// Headers a reverse proxy adds: their presence means the request did not start on this host, even when the peer
/// is loopback (a proxy on the same machine).
const FORWARDING_HEADERS: [&str; 5] =
    ["forwarded", "x-forwarded-for", "x-forwarded-host", "x-real-ip", "x-forwarded-proto"];

/// Whether `host` (a `Host` header value) names this machine's loopback interface.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split_once(']').map_or(rest, |(ip, _)| ip),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The built-in provider, when the request plainly comes from this machine: a loopback peer, no forwarding header,
/// and a loopback `Host` (a same-host reverse proxy usually adds the one or passes on the other). A proxy that does
/// neither cannot be told apart: production deployments set `SMTP_URL`, which leaves the outbox empty.
fn local_builtin_only<'a>(
    state: &'a AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> Option<&'a super::builtin::BuiltInAuth> {
    let forwarded = FORWARDING_HEADERS.iter().any(|name| headers.contains_key(*name));
    let host_ok = headers.get(header::HOST).is_none_or(|h| h.to_str().is_ok_and(is_loopback_host));
    if !peer.ip().is_loopback() || forwarded || !host_ok {
        return None;
    }
    state.auth.builtin.as_deref()
}

/// `GET /dev/outbox.json`: the outbox as JSON (end-to-end tests read links and codes here).
pub async fn outbox_json(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    match local_builtin_only(&state, peer, &headers) {
        Some(builtin) => Json(builtin.mailer().outbox()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `GET /dev/outbox`: the outbox as a page.
pub async fn outbox_page(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let Some(builtin) = local_builtin_only(&state, peer, &headers) else {
        return StatusCode::NOT_FOUND.into_response();
    };
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
    use super::{is_loopback_host, safe_next};

    #[test]
    fn only_loopback_host_names_count_as_local() {
        for local in ["127.0.0.1:3000", "localhost", "LOCALHOST:80", "[::1]:3000", "[::1]", "127.0.0.2"] {
            assert!(is_loopback_host(local), "{local}");
        }
        for public in ["example.com", "example.com:443", "10.0.0.1:3000", "[2001:db8::1]:80", "localhost.evil.com"] {
            assert!(!is_loopback_host(public), "{public}");
        }
    }

    #[test]
    fn only_local_paths_are_redirect_targets() {
        assert_eq!(safe_next(Some("/saved")), "/saved");
        for evil in ["https://evil.example", "//evil.example", "/\\evil.example", "javascript:alert(1)", "/x://y"] {
            assert_eq!(safe_next(Some(evil)), "/", "{evil}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
