//! Authentication: who is making a request.
//!
//! - [`verify`] and [`jwks`] — access-token verification (HS256 secret, ES256/RS256 JWKS);
//! - [`gotrue`] — the GoTrue client (the `supabase-auth` crate over HTTP for Supabase, in-process for the built-in);
//! - [`client_ip`] — the address per-IP limits count (the peer, or what a trusted proxy forwarded);
//! - [`builtin`] — the GoTrue-compatible provider served under `/auth/v1` when Supabase is not configured;
//! - [`session`] — cookies and the per-request authentication middleware; [`csrf`] — cross-site write refusal;
//! - [`sessions`] — whether a session is still live (signed-out sessions are refused everywhere);
//! - [`current_user`] — the [`CurrentUser`] extractor plain handlers take;
//! - [`service`] — the state object tying them together; [`routes`] — `/auth/confirm` and `/dev/outbox`.
pub mod builtin;
pub mod client_ip;
pub mod csrf;
pub mod current_user;
pub mod flows;
pub mod gotrue;
pub mod jwks;
pub mod routes;
pub mod service;
pub mod session;
pub mod sessions;
pub mod verify;

pub use crate::server::identity::Identity;
pub use current_user::CurrentUser;
pub use service::AuthService;

use crate::api::AppError;
use crate::server::config::AuthConfig;
use crate::server::state::AppState;
use crate::server::store::scoped::ScopedTx;

/// The verified identity of the request being served (inside a server function), if signed in.
pub fn current_identity() -> Option<Identity> {
    leptos::prelude::use_context::<axum::http::request::Parts>()?.extensions.get::<Identity>().cloned()
}

/// The signed-in user, or [`AppError::Unauthorized`].
pub fn require_user() -> Result<Identity, AppError> {
    current_identity().ok_or(AppError::Unauthorized)
}

/// The signed-in admin, [`AppError::Unauthorized`] when signed out, [`AppError::Forbidden`] for other users.
pub fn require_admin(state: &AppState) -> Result<Identity, AppError> {
    let identity = require_user()?;
    if is_admin(&state.config.auth, &identity) { Ok(identity) } else { Err(AppError::Forbidden) }
}

/// Whether the identity is an admin — only in ways nobody else can claim:
/// - `app_metadata.role = "admin"` in the token (set by the server, never by the user);
/// - its user id listed in `ADMIN_USER_IDS`;
/// - its address listed in `ADMIN_EMAILS`, for a session started by an emailed link or code to that address.
///
/// Anyone can sign up with a password under any address (and with Supabase's "Confirm email" off the address even
/// counts as confirmed), so a password session proves nothing about who owns an address; a session begun from the
/// address's own inbox does. The check reads only the verified token.
pub fn is_admin(auth: &AuthConfig, identity: &Identity) -> bool {
    if identity.app_metadata.get("role").and_then(|r| r.as_str()) == Some("admin")
        || auth.admin_user_ids.contains(&identity.user_id)
    {
        return true;
    }
    identity.proved_email() && identity.email.as_deref().is_some_and(|e| auth.is_admin_email(e))
}

/// Work after any sign-in: the profile row exists from the first one on.
pub async fn after_sign_in(state: &AppState, pair: &gotrue::TokenPair) {
    let Ok(identity) = state.auth.verifier.verify(&pair.access_token).await else { return };
    let result = async {
        let mut tx = ScopedTx::as_user(&state.db, &identity).await?;
        crate::server::store::profiles::ensure(&mut tx).await?;
        tx.commit().await
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not create the profile row");
    }
}
