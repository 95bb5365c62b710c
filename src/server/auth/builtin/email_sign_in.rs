//! Signing in from the inbox: emailing a magic link and a 6-digit code, telling what a link is before it is used,
//! verifying either, and what the first proof of an address does to an account someone else may have opened under
//! it with a password.
use std::net::IpAddr;

use axum::Json;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::BuiltInAuth;
use super::crypto::{hash, random_code, random_token};
use super::rate_limit::{hit, limits, release};
use super::reply::{Reply, err, invalid_credentials, otp_invalid, rate_limited};
use super::sessions::{Revoke, revoke};
use super::users::normalize_email;
use crate::api::LinkState;
use crate::server::auth::client_ip::limit_key;

/// Magic links live this long.
const LINK_TTL: &str = "1 hour";
/// Email codes live this long.
const CODE_TTL: &str = "10 minutes";
/// Wrong tries a code survives.
const CODE_MAX_ATTEMPTS: i32 = 5;

impl BuiltInAuth {
    pub(super) async fn send_otp(&self, ip: IpAddr, email: &str, create_user: bool) -> Reply {
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

    pub(super) async fn verify_link(&self, token_hash: &str) -> Reply {
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

    pub(super) async fn verify_code(&self, email: &str, code: &str) -> Reply {
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
    pub(super) async fn consume(&self, tx: &mut sqlx::PgConnection, user_id: Uuid) -> Result<(), sqlx::Error> {
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
        revoke(&mut *tx, Revoke::AllOfUser(user_id)).await?;
        if had_password {
            tracing::info!(%user_id, "first proof of the address: the unverified password and earlier sessions are gone");
        }
        Ok(())
    }
}
