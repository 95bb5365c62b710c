//! Sessions of the built-in auth: opening one (a session row, a first refresh token, an access token), password
//! and refresh grants (rotation, with reuse detection revoking the whole session), ending sessions, the Bearer
//! checks of `/user`, and purging what has expired.
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Value, json};
use uuid::Uuid;

use super::BuiltInAuth;
use super::crypto::{self, child_refresh_token, hash, random_token};
use super::rate_limit::{hit, limits, release};
use super::reply::{GoTrueError, Reply, err, invalid_credentials, rate_limited};
use super::users::{UserRow, normalize_email};
use crate::server::auth::client_ip::limit_key;

/// A spent refresh token asked for again within this window returns its child instead of revoking the session.
const REUSE_INTERVAL_SECS: f64 = 10.0;

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

/// Whose sessions to end.
#[derive(Debug, Clone, Copy)]
pub(super) enum Revoke {
    /// One session (sign-out, refresh-token reuse).
    Session(Uuid),
    /// Every session of a user (the first proof of the address ends what a squatter's password opened).
    AllOfUser(Uuid),
}

/// Ends sessions: their rows and every refresh token of their lineages.
pub(super) async fn revoke(tx: &mut sqlx::PgConnection, which: Revoke) -> Result<(), sqlx::Error> {
    let (id, by_user) = match which {
        Revoke::Session(id) => (id, false),
        Revoke::AllOfUser(user) => (user, true),
    };
    let sessions = "SELECT id FROM tradechat_auth.sessions WHERE CASE WHEN $2 THEN user_id = $1 ELSE id = $1 END";
    sqlx::query(&format!(
        "UPDATE tradechat_auth.refresh_tokens SET revoked = true WHERE NOT revoked AND session_id IN ({sessions})"
    ))
    .bind(id)
    .bind(by_user)
    .execute(&mut *tx)
    .await?;
    sqlx::query(&format!(
        "UPDATE tradechat_auth.sessions SET revoked_at = now() WHERE revoked_at IS NULL AND id IN ({sessions})"
    ))
    .bind(id)
    .bind(by_user)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

impl BuiltInAuth {
    pub(super) fn mint(&self, user: &UserRow, session_id: Uuid, method: &str) -> Result<(String, i64), GoTrueError> {
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

    pub(super) fn session_json(&self, user: &UserRow, access: String, exp: i64, refresh: String) -> Response {
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
    pub(super) async fn new_session(&self, user: &UserRow, method: &str) -> Reply {
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

    pub(super) async fn password_grant(&self, ip: IpAddr, email: &str, password: &str) -> Reply {
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

    pub(super) async fn refresh_grant(&self, refresh: &str) -> Reply {
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
                revoke(&mut tx, Revoke::Session(session_id)).await?;
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

    /// The claims of the request's Bearer token, whose session must still be live (a revoked session's access token
    /// stays valid until it expires, but may no longer act on the account — GoTrue's `session_not_found`).
    pub(super) async fn live_session_claims(&self, headers: &HeaderMap) -> Result<Value, GoTrueError> {
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

    pub(super) async fn bearer_claims(&self, headers: &HeaderMap) -> Result<Value, GoTrueError> {
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
}
