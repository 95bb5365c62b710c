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
pub mod crypto;
pub mod mail;
pub mod rate_limit;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use jsonwebtoken::{EncodingKey, Header, encode};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::PgPool;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use self::crypto::{child_refresh_token, hash, random_code, random_token};
use self::mail::Mailer;
use self::rate_limit::{hit, limits, release};
use super::client_ip::{client_ip, limit_key};
use super::verify::TokenVerifier;
use crate::api::LinkState;

/// A spent refresh token asked for again within this window returns its child instead of revoking the session.
const REUSE_INTERVAL_SECS: f64 = 10.0;
/// Magic links live this long.
const LINK_TTL: &str = "1 hour";
/// Email codes live this long.
const CODE_TTL: &str = "10 minutes";
/// Wrong tries a code survives.
const CODE_MAX_ATTEMPTS: i32 = 5;

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

/// A GoTrue-style error response.
struct GoTrueError {
    status: StatusCode,
    code: &'static str,
    msg: String,
}

impl IntoResponse for GoTrueError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "code": self.status.as_u16(), "error_code": self.code, "msg": self.msg })))
            .into_response()
    }
}

fn err(status: StatusCode, code: &'static str, msg: impl Into<String>) -> GoTrueError {
    GoTrueError { status, code, msg: msg.into() }
}

impl From<sqlx::Error> for GoTrueError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "built-in auth: database error");
        err(StatusCode::INTERNAL_SERVER_ERROR, "unexpected_failure", "Database error")
    }
}

type Reply = Result<Response, GoTrueError>;

fn invalid_credentials() -> GoTrueError {
    err(StatusCode::BAD_REQUEST, "invalid_credentials", "Invalid login credentials")
}

fn rate_limited(code: &'static str) -> GoTrueError {
    err(StatusCode::TOO_MANY_REQUESTS, code, "Too many attempts. Please wait a few minutes before trying again.")
}

fn otp_invalid() -> GoTrueError {
    err(StatusCode::FORBIDDEN, "otp_expired", "Token has expired or is invalid")
}

/// Marks a request this server makes to its own built-in provider in-process (see `gotrue::GoTrue`), carrying the
/// end user's address for the per-IP limits. A request extension, never a header: nothing from the network can
/// set it.
#[derive(Debug, Clone, Copy)]
pub struct InternalCaller {
    /// The address of the user the server acts for (`None`: unknown; the loopback address is counted).
    pub client_ip: Option<IpAddr>,
}

/// The address per-IP limits are keyed on: the one an in-process caller passes along, else the peer (or what a
/// trusted proxy forwarded).
struct ClientIp(IpAddr);

impl FromRequestParts<Arc<BuiltInAuth>> for ClientIp {
    type Rejection = GoTrueError;

    async fn from_request_parts(parts: &mut Parts, auth: &Arc<BuiltInAuth>) -> Result<Self, Self::Rejection> {
        if let Some(internal) = parts.extensions.get::<InternalCaller>() {
            return Ok(Self(internal.client_ip.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))));
        }
        let ConnectInfo(peer) = parts.extensions.get::<ConnectInfo<SocketAddr>>().copied().ok_or_else(|| {
            tracing::error!("built-in auth: no connection info (serve with into_make_service_with_connect_info)");
            err(StatusCode::INTERNAL_SERVER_ERROR, "unexpected_failure", "Unknown client address")
        })?;
        Ok(Self(client_ip(peer.ip(), &parts.headers, &auth.trusted_proxies)))
    }
}

/// A refresh token and its session, as a refresh finds them.
#[derive(sqlx::FromRow)]
struct RefreshRow {
    session_id: Uuid,
    revoked: bool,
    #[sqlx(rename = "revoked_at")]
    session_revoked: Option<DateTime<Utc>>,
    user_id: Uuid,
    method: String,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: Uuid,
    email: Option<String>,
    encrypted_password: Option<String>,
    email_confirmed_at: Option<DateTime<Utc>>,
    last_sign_in_at: Option<DateTime<Utc>>,
    raw_app_meta_data: Option<Value>,
    raw_user_meta_data: Option<Value>,
    created_at: Option<DateTime<Utc>>,
    updated_at: Option<DateTime<Utc>>,
}

const USER_COLUMNS: &str = "id, email, encrypted_password, email_confirmed_at, last_sign_in_at, raw_app_meta_data, \
                            raw_user_meta_data, created_at, updated_at";

fn rfc3339(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, |t| Value::String(t.to_rfc3339()))
}

impl UserRow {
    fn app_metadata(&self) -> Value {
        let mut meta = json!({ "provider": "email", "providers": ["email"] });
        if let (Some(Value::Object(extra)), Value::Object(base)) = (&self.raw_app_meta_data, &mut meta) {
            for (k, v) in extra {
                base.insert(k.clone(), v.clone());
            }
        }
        meta
    }

    /// The user object exactly as GoTrue returns it.
    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "aud": "authenticated",
            "role": "authenticated",
            "email": self.email.clone().unwrap_or_default(),
            "email_confirmed_at": rfc3339(self.email_confirmed_at),
            "phone": "",
            "confirmed_at": rfc3339(self.email_confirmed_at),
            "last_sign_in_at": rfc3339(self.last_sign_in_at),
            "app_metadata": self.app_metadata(),
            "user_metadata": self.raw_user_meta_data.clone().unwrap_or_else(|| json!({})),
            "identities": [],
            "created_at": rfc3339(self.created_at),
            "updated_at": rfc3339(self.updated_at),
            "is_anonymous": false,
        })
    }
}

fn normalize_email(raw: &str) -> Result<String, GoTrueError> {
    let email = raw.trim().to_ascii_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !email.chars().any(char::is_whitespace);
    if valid {
        Ok(email)
    } else {
        Err(err(StatusCode::BAD_REQUEST, "email_address_invalid", "Unable to validate email address: invalid format"))
    }
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
        Router::new()
            .route("/signup", post(signup))
            .route("/token", post(token))
            .route("/otp", post(otp))
            .route("/magiclink", post(otp))
            .route("/verify", post(verify))
            .route("/user", get(user).put(update_user))
            .route("/logout", post(logout))
            .route("/.well-known/jwks.json", get(|| async { Json(json!({ "keys": [] })) }))
            .route("/health", get(|| async { Json(json!({ "name": "GoTrue", "version": "tradechat-builtin" })) }))
            .with_state(self)
    }

    async fn find_user(&self, email: &str) -> Result<Option<UserRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM auth.users WHERE lower(email) = $1"))
            .bind(email)
            .fetch_optional(&self.pool)
            .await
    }

    async fn user_by_id(&self, id: Uuid) -> Result<Option<UserRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM auth.users WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    fn mint(&self, user: &UserRow, session_id: Uuid, method: &str) -> Result<(String, i64), GoTrueError> {
        let now = Utc::now().timestamp();
        let exp = now + self.access_ttl.as_secs() as i64;
        let claims = json!({
            "aud": "authenticated",
            "exp": exp,
            "iat": now,
            "iss": self.issuer,
            "sub": user.id,
            "email": user.email.clone().unwrap_or_default(),
            "phone": "",
            "app_metadata": user.app_metadata(),
            "user_metadata": user.raw_user_meta_data.clone().unwrap_or_else(|| json!({})),
            "role": "authenticated",
            "aal": "aal1",
            "amr": [{ "method": method, "timestamp": now }],
            "session_id": session_id,
            "is_anonymous": false,
        });
        let token = encode(&Header::default(), &claims, &EncodingKey::from_secret(&self.secret)).map_err(|e| {
            tracing::error!(error = %e, "signing an access token failed");
            err(StatusCode::INTERNAL_SERVER_ERROR, "unexpected_failure", "Could not sign the token")
        })?;
        Ok((token, exp))
    }

    fn session_json(&self, user: &UserRow, access: String, exp: i64, refresh: String) -> Response {
        Json(json!({
            "access_token": access,
            "token_type": "bearer",
            "expires_in": self.access_ttl.as_secs(),
            "expires_at": exp,
            "refresh_token": refresh,
            "user": user.to_json(),
        }))
        .into_response()
    }

    /// Opens a session for `user`: a session row, a first refresh token, an access token.
    async fn new_session(&self, user: &UserRow, method: &str) -> Reply {
        let session_id = Uuid::new_v4();
        let refresh = random_token();
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO tradechat_auth.sessions (id, user_id, method) VALUES ($1, $2, $3)")
            .bind(session_id)
            .bind(user.id)
            .bind(method)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO tradechat_auth.refresh_tokens (token_hash, session_id) VALUES ($1, $2)")
            .bind(hash(&["refresh", &refresh]))
            .bind(session_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE auth.users SET last_sign_in_at = now(), updated_at = now() WHERE id = $1")
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let user = self.user_by_id(user.id).await?.ok_or_else(invalid_credentials)?;
        let (access, exp) = self.mint(&user, session_id, method)?;
        Ok(self.session_json(&user, access, exp, refresh))
    }

    async fn password_grant(&self, ip: IpAddr, email: &str, password: &str) -> Reply {
        let email = normalize_email(email)?;
        if !hit(&self.pool, &format!("signin-ip:{}", limit_key(ip)), limits::SIGN_IN_PER_IP).await? {
            return Err(rate_limited("over_request_rate_limit"));
        }
        // Counted as a failure before the password is checked (see `rate_limit::release`): parallel guesses cannot
        // all slip through; a success gives the count back.
        let fail_key = format!("signin-fail:{email}");
        if !hit(&self.pool, &fail_key, limits::FAILED_SIGN_IN_PER_EMAIL).await? {
            return Err(rate_limited("over_request_rate_limit"));
        }
        let user = self.find_user(&email).await?;
        let phc = user.as_ref().and_then(|u| u.encrypted_password.clone());
        let password = password.to_owned();
        let ok = tokio::task::spawn_blocking(move || crypto::verify_password(&password, phc.as_deref()))
            .await
            .unwrap_or(false);
        match user {
            Some(user) if ok => {
                release(&self.pool, &fail_key, limits::FAILED_SIGN_IN_PER_EMAIL).await?;
                self.new_session(&user, "password").await
            }
            _ => Err(invalid_credentials()),
        }
    }

    async fn refresh_grant(&self, refresh: &str) -> Reply {
        let not_found = || {
            err(StatusCode::BAD_REQUEST, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found")
        };
        let token_hash = hash(&["refresh", refresh]);
        let mut tx = self.pool.begin().await?;
        // Locks the token row: concurrent refreshes of one token run one after the other.
        let row: Option<RefreshRow> = sqlx::query_as(
            "SELECT t.session_id, t.revoked, s.revoked_at, s.user_id, s.method
             FROM tradechat_auth.refresh_tokens t JOIN tradechat_auth.sessions s ON s.id = t.session_id
             WHERE t.token_hash = $1 FOR UPDATE OF t",
        )
        .bind(&token_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(RefreshRow { session_id, revoked, session_revoked, user_id, method }) = row else {
            return Err(not_found());
        };
        if session_revoked.is_some() {
            return Err(not_found());
        }
        let child = child_refresh_token(&self.secret, refresh);
        let child_hash = hash(&["refresh", &child]);
        if revoked {
            // Spent already. Its own child, asked for again within the reuse window and still current, is the answer
            // to a concurrent refresh; anything else is a replay: revoke the whole session.
            let recent_child: Option<bool> = sqlx::query_scalar(
                "SELECT NOT revoked AND created_at > now() - make_interval(secs => $2)
                 FROM tradechat_auth.refresh_tokens WHERE token_hash = $1",
            )
            .bind(&child_hash)
            .bind(REUSE_INTERVAL_SECS)
            .fetch_optional(&mut *tx)
            .await?;
            if recent_child != Some(true) {
                revoke_session(&mut tx, session_id).await?;
                tx.commit().await?;
                tracing::warn!(%session_id, "refresh token reuse detected; session revoked");
                return Err(err(
                    StatusCode::BAD_REQUEST,
                    "refresh_token_already_used",
                    "Invalid Refresh Token: Already Used",
                ));
            }
        } else {
            sqlx::query("UPDATE tradechat_auth.refresh_tokens SET revoked = true WHERE token_hash = $1")
                .bind(&token_hash)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO tradechat_auth.refresh_tokens (token_hash, session_id, parent_hash) VALUES ($1, $2, $3)",
            )
            .bind(&child_hash)
            .bind(session_id)
            .bind(&token_hash)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        let user = self.user_by_id(user_id).await?.ok_or_else(not_found)?;
        // The session's own sign-in method, as GoTrue keeps a session's `amr` across refreshes.
        let (access, exp) = self.mint(&user, session_id, &method)?;
        Ok(self.session_json(&user, access, exp, child))
    }

    async fn send_otp(&self, ip: IpAddr, email: &str, create_user: bool) -> Reply {
        let email = normalize_email(email)?;
        if !self.mailer.can_send() {
            return Err(err(
                StatusCode::UNPROCESSABLE_ENTITY,
                "email_provider_disabled",
                "Sign-in links and codes cannot be emailed from this server (it has no mail server): sign in with a \
                 password, or ask its administrator to set SMTP_URL.",
            ));
        }
        if !hit(&self.pool, &format!("otp-ip:{}", limit_key(ip)), limits::EMAILS_PER_IP).await?
            || !hit(&self.pool, &format!("otp-email:{email}"), limits::EMAILS_PER_ADDRESS).await?
        {
            return Err(rate_limited("over_email_send_rate_limit"));
        }
        let user = match self.find_user(&email).await? {
            Some(user) => Some(user),
            None if create_user => {
                sqlx::query(
                    "INSERT INTO auth.users (email, raw_app_meta_data) VALUES ($1, '{\"provider\":\"email\",\"providers\":[\"email\"]}')
                     ON CONFLICT (lower(email)) WHERE email IS NOT NULL DO NOTHING",
                )
                .bind(&email)
                .execute(&self.pool)
                .await?;
                Some(self.find_user(&email).await?.ok_or_else(invalid_credentials)?)
            }
            None => None,
        };
        let (link_token, code) = (random_token(), random_code());
        // The same statements run for an unknown address (matching no user), so the answer takes as long and says
        // the same: nothing reveals whether the address has an account. Sending does not wait for SMTP either.
        let user_id = user.as_ref().map(|u| u.id);
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE tradechat_auth.one_time_tokens SET used_at = now() WHERE user_id = $1 AND used_at IS NULL")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(&format!(
            "INSERT INTO tradechat_auth.one_time_tokens (user_id, kind, token_hash, expires_at)
             SELECT u.id, t.kind, t.token_hash, now() + t.ttl
             FROM auth.users u,
                  (VALUES ('magiclink', $2, interval '{LINK_TTL}'), ('email_code', $3, interval '{CODE_TTL}'))
                    AS t(kind, token_hash, ttl)
             WHERE u.id = $1"
        ))
        .bind(user_id)
        .bind(hash(&["link", &link_token]))
        .bind(hash(&["code", &user_id.unwrap_or_default().to_string(), &code]))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if user.is_some() {
            let link = format!("{}/auth/confirm?token_hash={link_token}&type=email", self.site_url);
            self.mailer.dispatch_sign_in(&email, &link, &code).map_err(|e| {
                tracing::error!(error = %e, "sending the sign-in email failed");
                err(StatusCode::INTERNAL_SERVER_ERROR, "unexpected_failure", "Error sending magic link email")
            })?;
        }
        Ok(Json(json!({})).into_response())
    }

    /// Deletes what can no longer matter: rate-limit windows over a day old, links and codes used or expired a day
    /// ago, and sessions revoked a week ago (with their refresh tokens). Returns the rows deleted.
    pub async fn purge_expired(&self) -> Result<u64, sqlx::Error> {
        let mut deleted = 0;
        for statement in [
            "DELETE FROM tradechat_auth.rate_limits WHERE window_start < now() - interval '1 day'",
            "DELETE FROM tradechat_auth.one_time_tokens
             WHERE expires_at < now() - interval '1 day' OR used_at < now() - interval '1 day'",
            // Refresh tokens go with their session (ON DELETE CASCADE).
            "DELETE FROM tradechat_auth.sessions WHERE revoked_at < now() - interval '7 days'",
        ] {
            deleted += sqlx::query(statement).execute(&self.pool).await?.rows_affected();
        }
        Ok(deleted)
    }

    /// Runs [`Self::purge_expired`] now and every ten minutes until `stop`.
    pub fn purge_periodically(self: &Arc<Self>, stop: tokio_util::sync::CancellationToken) {
        let auth = Arc::clone(self);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(600));
            loop {
                tokio::select! {
                    _ = every.tick() => {}
                    () = stop.cancelled() => return,
                }
                match auth.purge_expired().await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(rows = n, "purged expired built-in auth rows"),
                    Err(e) => tracing::warn!(error = %e, "purging expired built-in auth rows failed"),
                }
            }
        });
    }

    /// What the emailed link `token_hash` is, without using it.
    pub async fn link_state(&self, token_hash: &str) -> Result<LinkState, sqlx::Error> {
        let row: Option<(Option<String>, bool, bool)> = sqlx::query_as(
            "SELECT u.email, t.used_at IS NOT NULL, t.expires_at <= now()
             FROM tradechat_auth.one_time_tokens t JOIN auth.users u ON u.id = t.user_id
             WHERE t.kind = 'magiclink' AND t.token_hash = $1",
        )
        .bind(hash(&["link", token_hash]))
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            None => LinkState::Invalid,
            Some((_, true, _)) => LinkState::Used,
            Some((_, _, true)) => LinkState::Expired,
            Some((email, false, false)) => LinkState::Ready { email },
        })
    }

    async fn verify_link(&self, token_hash: &str) -> Reply {
        let mut tx = self.pool.begin().await?;
        let row: Option<(i64, Uuid, bool)> = sqlx::query_as(
            "SELECT id, user_id, used_at IS NULL AND expires_at > now() FROM tradechat_auth.one_time_tokens
             WHERE kind = 'magiclink' AND token_hash = $1 FOR UPDATE",
        )
        .bind(hash(&["link", token_hash]))
        .fetch_optional(&mut *tx)
        .await?;
        let Some((_, user_id, true)) = row else {
            return Err(err(StatusCode::FORBIDDEN, "otp_expired", "Email link is invalid or has expired"));
        };
        self.consume(&mut tx, user_id).await?;
        tx.commit().await?;
        let user = self.user_by_id(user_id).await?.ok_or_else(otp_invalid)?;
        self.new_session(&user, "otp").await
    }

    async fn verify_code(&self, email: &str, code: &str) -> Reply {
        let email = normalize_email(email)?;
        // Counted before the code is checked, as for passwords; a correct code gives the count back.
        let fail_key = format!("code-fail:{email}");
        if !hit(&self.pool, &fail_key, limits::FAILED_CODES_PER_EMAIL).await? {
            return Err(rate_limited("over_request_rate_limit"));
        }
        let Some(user) = self.find_user(&email).await? else {
            return Err(otp_invalid());
        };
        let mut tx = self.pool.begin().await?;
        let row: Option<(i64, String, bool, i32)> = sqlx::query_as(
            "SELECT id, token_hash, used_at IS NULL AND expires_at > now(), attempts FROM tradechat_auth.one_time_tokens
             WHERE kind = 'email_code' AND user_id = $1 ORDER BY id DESC LIMIT 1 FOR UPDATE",
        )
        .bind(user.id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((id, stored, live, attempts)) = row else {
            return Err(otp_invalid());
        };
        let matches: bool =
            hash(&["code", &user.id.to_string(), code.trim()]).as_bytes().ct_eq(stored.as_bytes()).into();
        if !live || attempts >= CODE_MAX_ATTEMPTS || !matches {
            if live && !matches {
                sqlx::query("UPDATE tradechat_auth.one_time_tokens SET attempts = attempts + 1 WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            return Err(otp_invalid());
        }
        self.consume(&mut tx, user.id).await?;
        tx.commit().await?;
        release(&self.pool, &fail_key, limits::FAILED_CODES_PER_EMAIL).await?;
        self.new_session(&user, "otp").await
    }

    /// Spends every open link and code of the user (one sign-in per email) and records that the address is proven.
    ///
    /// The first proof also ends whatever a password set before it allowed. Password sign-up proves nothing about
    /// the address, so an unconfirmed account may have been registered in its owner's name by someone else, who
    /// kept the password and a session ("account pre-hijacking"): at the owner's first link or code, the password
    /// is cleared and the account's other sessions are revoked (a new password can be set from the user menu).
    async fn consume(&self, tx: &mut sqlx::PgConnection, user_id: Uuid) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE tradechat_auth.one_time_tokens SET used_at = now() WHERE user_id = $1 AND used_at IS NULL")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let unproven: Option<(bool, bool)> = sqlx::query_as(
            "SELECT email_confirmed_at IS NULL, encrypted_password IS NOT NULL FROM auth.users WHERE id = $1 FOR UPDATE",
        )
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((true, had_password)) = unproven else { return Ok(()) };
        sqlx::query(
            "UPDATE auth.users SET email_confirmed_at = now(), encrypted_password = NULL, updated_at = now() WHERE id = $1",
        )
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE tradechat_auth.sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE tradechat_auth.refresh_tokens SET revoked = true
             WHERE NOT revoked AND session_id IN (SELECT id FROM tradechat_auth.sessions WHERE user_id = $1)",
        )
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        if had_password {
            tracing::info!(%user_id, "first proof of the address: the unverified password and earlier sessions are gone");
        }
        Ok(())
    }

    /// The claims of the request's Bearer token, whose session must still be live (a revoked session's access token
    /// stays valid until it expires, but may no longer act on the account — GoTrue's `session_not_found`).
    async fn live_session_claims(&self, headers: &HeaderMap) -> Result<Value, GoTrueError> {
        let claims = self.bearer_claims(headers).await?;
        let session_id = claims.get("session_id").and_then(Value::as_str).and_then(|s| s.parse::<Uuid>().ok());
        let live: Option<bool> = match session_id {
            Some(id) => {
                sqlx::query_scalar("SELECT revoked_at IS NULL FROM tradechat_auth.sessions WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
            }
            None => None,
        };
        if live == Some(true) {
            Ok(claims)
        } else {
            Err(err(StatusCode::FORBIDDEN, "session_not_found", "Session from session_id claim in JWT does not exist"))
        }
    }

    async fn bearer_claims(&self, headers: &HeaderMap) -> Result<Value, GoTrueError> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                err(StatusCode::UNAUTHORIZED, "no_authorization", "This endpoint requires a Bearer token")
            })?;
        self.verifier
            .verify_claims(token)
            .await
            .map_err(|e| err(StatusCode::FORBIDDEN, "bad_jwt", format!("invalid JWT: {e}")))
    }
}

/// Ends a session: the session row and every refresh token of its lineage.
async fn revoke_session(tx: &mut sqlx::PgConnection, session_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE tradechat_auth.sessions SET revoked_at = now() WHERE id = $1")
        .bind(session_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE tradechat_auth.refresh_tokens SET revoked = true WHERE session_id = $1")
        .bind(session_id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

#[derive(Deserialize)]
struct Credentials {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

async fn signup(State(auth): State<Arc<BuiltInAuth>>, ClientIp(ip): ClientIp, Json(body): Json<Credentials>) -> Reply {
    let email = normalize_email(&body.email)?;
    if !hit(&auth.pool, &format!("signup-ip:{}", limit_key(ip)), limits::SIGN_IN_PER_IP).await? {
        return Err(rate_limited("over_request_rate_limit"));
    }
    crypto::check_password(&body.password)
        .map_err(|e| err(StatusCode::UNPROCESSABLE_ENTITY, "weak_password", e.to_string()))?;
    if auth.find_user(&email).await?.is_some() {
        return Err(err(StatusCode::UNPROCESSABLE_ENTITY, "user_already_exists", "User already registered"));
    }
    let password = body.password;
    let phc = tokio::task::spawn_blocking(move || crypto::hash_password(&password))
        .await
        .map_err(|_| err(StatusCode::INTERNAL_SERVER_ERROR, "unexpected_failure", "Hashing failed"))?
        .map_err(|_| err(StatusCode::INTERNAL_SERVER_ERROR, "unexpected_failure", "Hashing failed"))?;
    // Signed in at once, as GoTrue with autoconfirm does, but the address stays unconfirmed (`email_confirmed_at`
    // null): only a link or code proves it, and that first proof clears this password (see `consume`). A
    // concurrent sign-up of the same address loses.
    let inserted = sqlx::query(
        "INSERT INTO auth.users (email, encrypted_password, raw_app_meta_data)
         VALUES ($1, $2, '{\"provider\":\"email\",\"providers\":[\"email\"]}')
         ON CONFLICT (lower(email)) WHERE email IS NOT NULL DO NOTHING",
    )
    .bind(&email)
    .bind(&phc)
    .execute(&auth.pool)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(err(StatusCode::UNPROCESSABLE_ENTITY, "user_already_exists", "User already registered"));
    }
    let user = auth.find_user(&email).await?.ok_or_else(invalid_credentials)?;
    auth.new_session(&user, "password").await
}

#[derive(Deserialize)]
struct GrantQuery {
    grant_type: String,
}

async fn token(
    State(auth): State<Arc<BuiltInAuth>>,
    ClientIp(ip): ClientIp,
    Query(query): Query<GrantQuery>,
    Json(body): Json<Value>,
) -> Reply {
    let field = |name: &str| body.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
    match query.grant_type.as_str() {
        "password" => auth.password_grant(ip, &field("email"), &field("password")).await,
        "refresh_token" => auth.refresh_grant(&field("refresh_token")).await,
        other => Err(err(StatusCode::BAD_REQUEST, "validation_failed", format!("unsupported_grant_type: {other}"))),
    }
}

#[derive(Deserialize)]
struct OtpBody {
    #[serde(default)]
    email: String,
    #[serde(default)]
    create_user: Option<bool>,
}

async fn otp(State(auth): State<Arc<BuiltInAuth>>, ClientIp(ip): ClientIp, Json(body): Json<OtpBody>) -> Reply {
    auth.send_otp(ip, &body.email, body.create_user.unwrap_or(true)).await
}

#[derive(Deserialize)]
struct VerifyBody {
    #[serde(rename = "type", default)]
    kind: String,
    token_hash: Option<String>,
    email: Option<String>,
    token: Option<String>,
}

async fn verify(State(auth): State<Arc<BuiltInAuth>>, ClientIp(ip): ClientIp, Json(body): Json<VerifyBody>) -> Reply {
    if !matches!(body.kind.as_str(), "email" | "magiclink" | "signup") {
        return Err(err(StatusCode::BAD_REQUEST, "validation_failed", "Verify requires a verification type"));
    }
    if !hit(&auth.pool, &format!("verify-ip:{}", limit_key(ip)), limits::VERIFY_PER_IP).await? {
        return Err(rate_limited("over_request_rate_limit"));
    }
    match (body.token_hash, body.email, body.token) {
        (Some(token_hash), _, _) => auth.verify_link(&token_hash).await,
        (None, Some(email), Some(token)) => auth.verify_code(&email, &token).await,
        _ => Err(err(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            "Verify requires either a token_hash or an email and token",
        )),
    }
}

async fn user(State(auth): State<Arc<BuiltInAuth>>, headers: HeaderMap) -> Reply {
    let claims = auth.live_session_claims(&headers).await?;
    let id = claims.get("sub").and_then(Value::as_str).and_then(|s| s.parse().ok());
    let user = match id {
        Some(id) => auth.user_by_id(id).await?,
        None => None,
    };
    user.map(|u| Json(u.to_json()).into_response())
        .ok_or_else(|| err(StatusCode::FORBIDDEN, "user_not_found", "User from sub claim in JWT does not exist"))
}

#[derive(Deserialize)]
struct UserUpdate {
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

/// `PUT /user`: sets a new password for the token's user (email changes are not offered).
async fn update_user(State(auth): State<Arc<BuiltInAuth>>, headers: HeaderMap, Json(body): Json<UserUpdate>) -> Reply {
    let claims = auth.live_session_claims(&headers).await?;
    let id: Uuid = claims
        .get("sub")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| err(StatusCode::FORBIDDEN, "bad_jwt", "invalid JWT: no subject"))?;
    if body.email.is_some() {
        return Err(err(
            StatusCode::UNPROCESSABLE_ENTITY,
            "email_change_not_supported",
            "Changing the email address is not supported.",
        ));
    }
    if let Some(password) = body.password {
        crypto::check_password(&password)
            .map_err(|e| err(StatusCode::UNPROCESSABLE_ENTITY, "weak_password", e.to_string()))?;
        let phc = tokio::task::spawn_blocking(move || crypto::hash_password(&password))
            .await
            .map_err(|_| err(StatusCode::INTERNAL_SERVER_ERROR, "unexpected_failure", "Hashing failed"))?
            .map_err(|_| err(StatusCode::INTERNAL_SERVER_ERROR, "unexpected_failure", "Hashing failed"))?;
        sqlx::query("UPDATE auth.users SET encrypted_password = $2, updated_at = now() WHERE id = $1")
            .bind(id)
            .bind(phc)
            .execute(&auth.pool)
            .await?;
    }
    let user = auth
        .user_by_id(id)
        .await?
        .ok_or_else(|| err(StatusCode::FORBIDDEN, "user_not_found", "User from sub claim in JWT does not exist"))?;
    Ok(Json(user.to_json()).into_response())
}

async fn logout(State(auth): State<Arc<BuiltInAuth>>, headers: HeaderMap) -> Reply {
    let claims = auth.bearer_claims(&headers).await?;
    if let Some(session_id) = claims.get("session_id").and_then(Value::as_str).and_then(|s| s.parse::<Uuid>().ok()) {
        let mut tx = auth.pool.begin().await?;
        revoke_session(&mut tx, session_id).await?;
        tx.commit().await?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
