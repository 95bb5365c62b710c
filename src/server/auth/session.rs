//! Sessions in cookies: `HttpOnly; SameSite=Lax; Path=/`, plus `Secure` and the `__Host-` prefix over https, no
//! `Domain`. The [`authenticate`] middleware verifies the access token on every request (from the
//! `Authorization: Bearer` header for API clients, else the cookie), refreshes an expired one with the refresh
//! cookie, and puts the verified [`Identity`] into the request's extensions.
use std::net::{IpAddr, Ipv4Addr};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use cookie::{Cookie, SameSite};

use super::Identity;
use super::client_ip;
use super::gotrue::{GoTrueError, TokenPair};
use crate::server::state::AppState;

/// Cookie lifetime (the refresh token decides how long a session really lasts).
const COOKIE_DAYS: i64 = 30;

/// The cookie names for this deployment.
pub fn cookie_names(secure: bool) -> (&'static str, &'static str) {
    if secure { ("__Host-tc-access", "__Host-tc-refresh") } else { ("tc-access", "tc-refresh") }
}

fn cookie(name: &'static str, value: String, secure: bool, max_age_days: i64) -> HeaderValue {
    cookie_for(name, value, secure, cookie::time::Duration::days(max_age_days))
}

fn cookie_for(name: &'static str, value: String, secure: bool, max_age: cookie::time::Duration) -> HeaderValue {
    let c = Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(secure)
        .max_age(max_age)
        .build();
    HeaderValue::from_str(&c.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The cookie remembering where to go after an emailed link signs in (set when the email is asked for, in the
/// browser that asked): the link itself carries no destination.
pub fn next_cookie_name(secure: bool) -> &'static str {
    if secure { "__Host-tc-next" } else { "tc-next" }
}

/// `Set-Cookie` remembering `path` (a path of this site) for an hour; an empty `path` deletes it.
pub fn next_cookie(path: &str, secure: bool) -> HeaderValue {
    let age = if path.is_empty() { cookie::time::Duration::ZERO } else { cookie::time::Duration::hours(1) };
    cookie_for(next_cookie_name(secure), path.to_owned(), secure, age)
}

/// The remembered destination, if any.
pub fn read_next_cookie(headers: &HeaderMap, secure: bool) -> Option<String> {
    let name = next_cookie_name(secure);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|text| Cookie::split_parse(text).flatten())
        .find(|c| c.name() == name && !c.value().is_empty())
        .map(|c| c.value().to_owned())
}

/// `Set-Cookie` values that store `pair`.
pub fn session_cookies(pair: &TokenPair, secure: bool) -> [HeaderValue; 2] {
    let (access, refresh) = cookie_names(secure);
    [
        cookie(access, pair.access_token.clone(), secure, COOKIE_DAYS),
        cookie(refresh, pair.refresh_token.clone(), secure, COOKIE_DAYS),
    ]
}

/// `Set-Cookie` values that delete the session.
pub fn clearing_cookies(secure: bool) -> [HeaderValue; 2] {
    let (access, refresh) = cookie_names(secure);
    [cookie(access, String::new(), secure, 0), cookie(refresh, String::new(), secure, 0)]
}

/// The access and refresh tokens from the request's cookies.
pub fn read_cookies(headers: &HeaderMap, secure: bool) -> (Option<String>, Option<String>) {
    let (access_name, refresh_name) = cookie_names(secure);
    let (mut access, mut refresh) = (None, None);
    for value in headers.get_all(header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        for c in Cookie::split_parse(text).flatten() {
            if c.value().is_empty() {
                continue;
            }
            if c.name() == access_name {
                access = Some(c.value().to_owned());
            } else if c.name() == refresh_name {
                refresh = Some(c.value().to_owned());
            }
        }
    }
    (access, refresh)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

/// The access token that authenticated the request — after a transparent refresh, the new one — kept in the
/// request's extensions next to the [`Identity`], so sign-out and password changes act at GoTrue with a token it
/// still accepts rather than the expired one in the cookie.
#[derive(Clone)]
pub struct AccessToken(pub String);

/// The identity in `token`, if it verifies and its session is still live (see [`super::sessions`]). A token
/// without a session cannot be revoked, and GoTrue issues none: it is refused too.
async fn live_identity(auth: &super::AuthService, token: &str) -> Option<Identity> {
    let identity = auth.verifier.verify(token).await.ok()?;
    let session_id = identity.session_id?;
    auth.sessions.is_live(session_id).await.then_some(identity)
}

/// Verifies the caller on every request and records the [`Identity`] (and its [`AccessToken`]) in the request
/// extensions.
pub async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    // The built-in GoTrue endpoints authenticate their own Bearer tokens.
    if request.uri().path().starts_with("/auth/v1/") {
        return next.run(request).await;
    }
    let auth = &state.auth;
    let secure = state.config.auth.secure_cookies();
    let mut new_cookies: Option<[HeaderValue; 2]> = None;
    let verified: Option<(Identity, String)> = if let Some(token) = bearer(request.headers()) {
        live_identity(auth, token).await.map(|identity| (identity, token.to_owned()))
    } else {
        let (access, refresh) = read_cookies(request.headers(), secure);
        let mut verified = match access {
            Some(token) => live_identity(auth, &token).await.map(|identity| (identity, token)),
            None => None,
        };
        if verified.is_none()
            && let Some(refresh) = refresh
        {
            let client =
                client_ip::of_request(request.extensions(), request.headers(), &state.config.auth.trusted_proxies)
                    .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
            match auth.refresh(&refresh, client).await {
                Ok(pair) => {
                    verified = live_identity(auth, &pair.access_token).await.map(|i| (i, pair.access_token.clone()));
                    new_cookies = Some(session_cookies(&pair, secure));
                }
                // A refresh token GoTrue refuses is dead: end the session in the browser too.
                Err(GoTrueError::Rejected { .. }) => new_cookies = Some(clearing_cookies(secure)),
                Err(e) => tracing::warn!(error = %e, "session refresh failed; continuing signed out"),
            }
        }
        verified
    };
    if let Some((identity, token)) = verified {
        request.extensions_mut().insert(identity);
        request.extensions_mut().insert(AccessToken(token));
    }
    let mut response = next.run(request).await;
    // A handler that set the session itself (sign-in, sign-out) wins over a refresh done on the way in.
    let handler_set_session = response.headers().get_all(header::SET_COOKIE).iter().any(|v| {
        let (access, _) = cookie_names(secure);
        v.to_str().is_ok_and(|s| s.starts_with(&format!("{access}=")))
    });
    if let Some(cookies) = new_cookies
        && !handler_set_session
    {
        for c in cookies {
            response.headers_mut().append(header::SET_COOKIE, c);
        }
    }
    response
}
