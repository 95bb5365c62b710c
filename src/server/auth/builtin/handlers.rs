//! The GoTrue endpoints the built-in auth serves under `/auth/v1`: the routes, their request bodies, and the client
//! address the per-IP limits count.
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::rate_limit::{hit, limits};
use super::reply::{GoTrueError, Reply, err, hash_new_password, invalid_credentials, rate_limited};
use super::sessions::{Revoke, revoke};
use super::users::normalize_email;
use super::{BuiltInAuth, InternalCaller, crypto};
use crate::server::auth::client_ip::{client_ip, limit_key};

/// The routes, to be nested under `/auth/v1`.
pub(super) fn routes(auth: Arc<BuiltInAuth>) -> Router {
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
        .with_state(auth)
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
    let phc = hash_new_password(body.password).await?;
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
        let phc = hash_new_password(password).await?;
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
        revoke(&mut tx, Revoke::Session(session_id)).await?;
        tx.commit().await?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
