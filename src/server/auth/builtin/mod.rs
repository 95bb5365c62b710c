//! The built-in, GoTrue-compatible auth: the same endpoints as Supabase Auth under `/auth/v1`, over the same
//! Postgres (`auth.users`, plus `tradechat_auth.*`), so the same client code, cookies and verification path run
//! whether or not Supabase is configured. Responses match GoTrue field for field (sessions, users, and errors
//! as `{"code", "error_code", "msg"}`).
//!
//! - passwords: Argon2id, a dummy hash for unknown users, the 6th wrong password per email in 15 minutes refused;
//! - magic links (1 hour) and 6-digit codes (10 minutes): random, stored hashed, single use; a new one kills the
//!   old ones; a code is dead after 5 wrong tries;
//! - refresh tokens rotate; replaying a spent one revokes the session, except its immediate child being asked
//!   for again within 10 seconds (concurrent refreshes), which returns that same child;
//! - password sign-up signs in at once (as GoTrue with autoconfirm) but does not confirm the address: the first
//!   link or code does, and clears a password set before it and that account's earlier sessions, so someone who
//!   registered another person's address first keeps nothing once its owner signs in (account pre-hijacking);
//! - the same answers for known and unknown emails on password sign-in, links and codes. Sign-up of a taken
//!   address answers `422 user_already_exists`, as GoTrue with autoconfirm does (clients rely on that code).
//!
//! - [`handlers`] — the endpoints and their bodies; [`reply`] — errors in GoTrue's shape;
//! - [`users`] — `auth.users` rows as GoTrue shows them; [`sessions`] — sessions, grants, rotation, revocation,
//!   purging; [`email_sign_in`] — links and codes, and what the first proof of an address does;
//! - [`crypto`], [`mail`], [`rate_limit`] — hashing and tokens, sending the emails, counters in Postgres.
pub mod crypto;
mod email_sign_in;
mod handlers;
pub mod mail;
pub mod rate_limit;
mod reply;
mod sessions;
mod users;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use sqlx::PgPool;

use self::mail::Mailer;
use super::verify::TokenVerifier;

/// The built-in auth provider.
pub struct BuiltInAuth {
    pool: PgPool,
    secret: Vec<u8>,
    issuer: String,
    site_url: String,
    access_ttl: Duration,
    mailer: Mailer,
    trusted_proxies: Vec<IpAddr>,
    verifier: TokenVerifier,
}

/// Marks a request this server makes to its own built-in provider in-process (see `gotrue::GoTrue`), carrying the
/// end user's address for the per-IP limits. A request extension, never a header: nothing from the network can
/// set it.
#[derive(Debug, Clone, Copy)]
pub struct InternalCaller {
    /// The address of the user the server acts for (`None`: unknown; the loopback address is counted).
    pub client_ip: Option<IpAddr>,
}

impl BuiltInAuth {
    /// A provider signing with `secret`, issuing `{site_url}/auth/v1` tokens that live `access_ttl`.
    pub fn new(
        pool: PgPool,
        secret: Vec<u8>,
        site_url: &str,
        access_ttl: Duration,
        mailer: Mailer,
        trusted_proxies: Vec<IpAddr>,
    ) -> Self {
        let issuer = format!("{site_url}/auth/v1");
        let verifier = TokenVerifier::new(Some(&secret), None, Some(issuer.clone()));
        Self { pool, secret, issuer, site_url: site_url.to_owned(), access_ttl, mailer, trusted_proxies, verifier }
    }

    /// The issuer (`iss`) of its tokens.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The mailer (for `/dev/outbox`).
    pub fn mailer(&self) -> &Mailer {
        &self.mailer
    }

    /// The GoTrue routes, to be nested under `/auth/v1`.
    pub fn router(self: Arc<Self>) -> Router {
        handlers::routes(self)
    }
}
