//! `/dev/outbox`: with `DEV_OUTBOX` and no SMTP (local development), the sign-in emails that would have been sent,
//! for local requests only (loopback peer and `Host`, no proxy headers). Emailed links land on the `/auth/confirm`
//! page of the app, which signs in on POST (`crate::api::confirm_sign_in`).
use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::builtin::mail::{Outbox, OutboxEmail};
use crate::server::state::AppState;

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

/// Whether a request plainly started on this machine: a loopback peer, no forwarding header, and a loopback `Host`
/// (a same-host reverse proxy usually adds the one or passes on the other). A proxy that does neither cannot be told
/// apart, which is why the outbox also needs `DEV_OUTBOX`, which production leaves off.
pub fn is_local_request(peer: SocketAddr, headers: &HeaderMap) -> bool {
    let forwarded = FORWARDING_HEADERS.iter().any(|name| headers.contains_key(*name));
    let host_ok = headers.get(header::HOST).is_none_or(|h| h.to_str().is_ok_and(is_loopback_host));
    peer.ip().is_loopback() && !forwarded && host_ok
}

/// The local outbox, when emails go there (`DEV_OUTBOX`, no SMTP) and the request is local.
pub fn local_outbox<'a>(state: &'a AppState, peer: SocketAddr, headers: &HeaderMap) -> Option<&'a Outbox> {
    if !is_local_request(peer, headers) {
        return None;
    }
    state.auth.builtin.as_deref()?.mailer().outbox()
}

/// `GET /dev/outbox.json`: the outbox as JSON, newest first.
pub async fn outbox_json(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    match local_outbox(&state, peer, &headers) {
        Some(outbox) => Json(outbox.emails()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `GET /dev/outbox`: the outbox as a page, newest first, each email with its sign-in link and code.
pub async fn outbox_page(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let Some(outbox) = local_outbox(&state, peer, &headers) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    Html(outbox_html(&outbox.emails(), &crate::server::site::stylesheet_href(&state.leptos_options))).into_response()
}

fn outbox_html(emails: &[OutboxEmail], stylesheet: &str) -> String {
    let escape = |s: &str| {
        s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
    };
    let items: String = emails
        .iter()
        .map(|m| {
            format!(
                r#"<article class="card outbox-mail" id="mail-{id}" data-testid="outbox-mail">
  <div class="card-head"><h2 class="card-title">{subject}</h2><span class="muted small">to {to} · {sent}</span></div>
  <p><a class="btn primary" href="{link}">Sign in as {to}</a></p>
  <p>Or enter this code: <code class="outbox-code" data-testid="outbox-code">{code}</code></p>
  <details><summary>The whole email</summary><pre>{body}</pre></details>
</article>"#,
                id = m.id,
                subject = escape(&m.subject),
                to = escape(&m.to),
                sent = escape(&m.sent_at),
                link = escape(&m.link),
                code = escape(&m.code),
                body = escape(&m.body),
            )
        })
        .collect();
    let list = if items.is_empty() {
        r#"<p class="muted">No emails yet. Ask for a sign-in link or code, then <a href="/dev/outbox">refresh</a>.</p>"#
            .to_owned()
    } else {
        items
    };
    format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark"><title>Outbox · tradechat</title><link rel="icon" href="/favicon.svg" type="image/svg+xml"><link rel="stylesheet" href="{stylesheet}"></head>
<body><main class="content"><section class="page list-page">
<h1>Outbox</h1>
<p class="lead">This server has no mail server (local development, <code>DEV_OUTBOX</code>): the sign-in emails it would
have sent are kept here instead, newest first. Only this machine can see this page. <a href="/dev/outbox">Refresh</a> ·
<a href="/">Back to tradechat</a></p>
{list}
</section></main></body></html>"#
    )
}

#[cfg(test)]
mod tests {
    use super::is_loopback_host;

    #[test]
    fn only_loopback_host_names_count_as_local() {
        for local in ["127.0.0.1:3000", "localhost", "LOCALHOST:80", "[::1]:3000", "[::1]", "127.0.0.2"] {
            assert!(is_loopback_host(local), "{local}");
        }
        for public in ["example.com", "example.com:443", "10.0.0.1:3000", "[2001:db8::1]:80", "localhost.evil.com"] {
            assert!(!is_loopback_host(public), "{public}");
        }
    }
}
