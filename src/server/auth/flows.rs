//! What the sign-in server functions do on the server: start a session (cookies, profile), end one, describe
//! the user.
use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::header::SET_COOKIE;
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;

use super::gotrue::{GoTrue, TokenPair};
use super::session::{AccessToken, clearing_cookies, read_cookies, session_cookies};
use super::{Identity, after_sign_in, is_admin};
use crate::api::{AppError, LinkState, SignInOptions, UserInfo};
use crate::server::state::AppState;
use crate::server::store::profiles;
use crate::server::store::scoped::ScopedTx;

/// Sets the session cookies for `pair`, creates the profile on first sign-in, and describes the user.
pub async fn start_session(state: &AppState, pair: &TokenPair) -> Result<UserInfo, AppError> {
    let identity = state.auth.verifier.verify(&pair.access_token).await.map_err(|e| {
        tracing::error!(error = %e, "GoTrue issued a token this server does not accept (check SUPABASE_JWT_SECRET/JWKS)");
        AppError::Internal
    })?;
    after_sign_in(state, pair).await;
    if let Some(response) = use_context::<ResponseOptions>() {
        for c in session_cookies(pair, state.config.auth.secure_cookies()) {
            response.append_header(SET_COOKIE, c);
        }
    }
    user_info(state, &identity).await
}

/// Revokes the session at GoTrue (best effort) and clears the cookies. The token sent is the one the request was
/// authenticated with: when the access cookie had expired, the one the middleware just refreshed.
pub async fn end_session(state: &AppState) {
    let secure = state.config.auth.secure_cookies();
    if let Some(token) = access_token(state)
        && let Err(e) = state.auth.gotrue.logout(&token).await
    {
        tracing::info!(error = %e, "sign-out: GoTrue did not revoke the session (it may have expired)");
    }
    // Refused on this instance at once (others see it within the liveness bound).
    if let Some(session_id) = super::current_identity().and_then(|identity| identity.session_id) {
        state.auth.sessions.revoked(session_id);
    }
    // A refresh of the old cookie remembered for concurrent requests must not outlive the session.
    if let Some(parts) = use_context::<axum::http::request::Parts>()
        && let (_, Some(refresh)) = read_cookies(&parts.headers, secure)
    {
        state.auth.forget_refresh(&refresh).await;
    }
    if let Some(response) = use_context::<ResponseOptions>() {
        for c in clearing_cookies(secure) {
            response.append_header(SET_COOKIE, c);
        }
    }
}

/// The caller's access token, to act on their behalf at GoTrue: the one the request was authenticated with (see
/// [`AccessToken`]), else whatever the `Authorization` header or cookie holds.
pub fn access_token(state: &AppState) -> Option<String> {
    let parts = use_context::<axum::http::request::Parts>()?;
    if let Some(AccessToken(token)) = parts.extensions.get::<AccessToken>() {
        return Some(token.clone());
    }
    let bearer = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    bearer.or_else(|| read_cookies(&parts.headers, state.config.auth.secure_cookies()).0)
}

/// The address of the caller of the current server function: the peer, or what a trusted proxy forwarded.
pub fn caller_ip(state: &AppState) -> Option<IpAddr> {
    let parts = use_context::<axum::http::request::Parts>()?;
    super::client_ip::of_request(&parts.extensions, &parts.headers, &state.config.auth.trusted_proxies)
}

/// How the caller of the current server function can sign in: whether email works on this server, and the local
/// outbox when emails go there and the caller is on this machine (the sign-in forms then link to it).
pub fn sign_in_methods(state: &AppState) -> SignInOptions {
    let Some(builtin) = state.auth.builtin.as_deref() else {
        return SignInOptions { email: true, outbox: None };
    };
    let outbox = use_context::<axum::http::request::Parts>()
        .and_then(|parts| {
            let ConnectInfo(peer) = parts.extensions.get::<ConnectInfo<SocketAddr>>()?;
            super::routes::local_outbox(state, *peer, &parts.headers)
        })
        .map(|_| "/dev/outbox".to_owned());
    SignInOptions { email: builtin.mailer().can_send(), outbox }
}

/// What the emailed link `token_hash` is, without spending it. Supabase offers no such look-up: there a link is
/// `Ready` until it is used, and the "Continue" step reports a bad one.
pub async fn link_state(state: &AppState, token_hash: &str) -> Result<LinkState, AppError> {
    match state.auth.builtin.as_deref() {
        Some(builtin) => Ok(builtin.link_state(token_hash.trim()).await?),
        None => Ok(LinkState::Ready { email: None }),
    }
}

/// Remembers `next` in the caller's browser until its emailed link is used (see [`super::session::next_cookie`]).
pub fn remember_next(state: &AppState, next: &str) {
    if let Some(response) = use_context::<ResponseOptions>() {
        response.append_header(SET_COOKIE, super::session::next_cookie(next, state.config.auth.secure_cookies()));
    }
}

/// Where to go after an emailed link signed in: `next` when given, else what [`remember_next`] kept (forgotten
/// now), else `/`. Always a path of this site.
pub fn next_after_link(state: &AppState, next: Option<&str>) -> String {
    let secure = state.config.auth.secure_cookies();
    let remembered = use_context::<axum::http::request::Parts>()
        .and_then(|parts| super::session::read_next_cookie(&parts.headers, secure));
    if remembered.is_some() {
        remember_next(state, "");
    }
    let chosen = next.filter(|n| !n.is_empty()).map(str::to_owned).or(remembered);
    crate::domain::local_path(chosen.as_deref()).to_owned()
}

/// The GoTrue client acting for the caller of the current server function (their address reaches the built-in
/// provider's per-IP limits).
pub fn gotrue(state: &AppState) -> GoTrue {
    state.auth.gotrue.for_client(caller_ip(state))
}

/// The user as the UI shows them.
pub async fn user_info(state: &AppState, identity: &Identity) -> Result<UserInfo, AppError> {
    let mut tx = ScopedTx::as_user(&state.db, identity).await?;
    let display_name = profiles::display_name(&mut tx).await?;
    tx.commit().await?;
    Ok(UserInfo {
        id: identity.user_id,
        email: identity.email.clone(),
        display_name,
        is_admin: is_admin(&state.config.auth, identity),
        context_exchanges: state.config.llm.context_exchanges,
    })
}
