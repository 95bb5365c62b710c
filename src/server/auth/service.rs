//! The auth service in the app state: the verifier, the GoTrue client, the built-in provider (when Supabase is
//! not configured), and refreshes serialised per refresh token.
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use secrecy::ExposeSecret;
use sqlx::PgPool;
use tokio::sync::Mutex;

use super::builtin::BuiltInAuth;
use super::builtin::mail::Mailer;
use super::gotrue::{GoTrue, GoTrueError, TokenPair};
use super::jwks::JwksCache;
use super::verify::TokenVerifier;
use crate::server::config::{AuthMode, Config};

/// A refresh result reused by concurrent requests carrying the same refresh token.
type SharedRefresh = Arc<Mutex<Option<(Instant, Result<TokenPair, GoTrueError>)>>>;

/// Everything auth needs at request time.
pub struct AuthService {
    /// Verifies access tokens.
    pub verifier: TokenVerifier,
    /// Talks to GoTrue (Supabase's or the built-in one).
    pub gotrue: GoTrue,
    /// The built-in provider, when `SUPABASE_URL` is unset.
    pub builtin: Option<Arc<BuiltInAuth>>,
    refreshes: Mutex<HashMap<String, SharedRefresh>>,
}

impl AuthService {
    /// Builds the service. In built-in mode, the GoTrue client calls the built-in provider's router in-process
    /// (the same endpoints as over HTTP, and the end user's address reaches its per-IP limits).
    pub async fn new(config: &Config, pool: &PgPool) -> anyhow::Result<Self> {
        let auth = &config.auth;
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().context("HTTP client")?;
        match &auth.mode {
            AuthMode::Supabase { url, anon_key, .. } => {
                let jwks = JwksCache::new(format!("{url}/auth/v1/.well-known/jwks.json"), http);
                let secret = auth.jwt_secret.as_ref().map(|s| s.expose_secret().as_bytes().to_vec());
                Ok(Self {
                    verifier: TokenVerifier::new(
                        secret.as_deref(),
                        Some(Arc::new(jwks)),
                        Some(format!("{url}/auth/v1")),
                    ),
                    gotrue: GoTrue::new(url, anon_key.expose_secret()),
                    builtin: None,
                    refreshes: Mutex::new(HashMap::new()),
                })
            }
            AuthMode::BuiltIn => {
                let secret = match &auth.jwt_secret {
                    Some(s) => s.expose_secret().as_bytes().to_vec(),
                    None => local_secret(&config.data_dir)?,
                };
                let mailer = Mailer::new(auth.smtp_url.as_ref(), &auth.smtp_from, auth.dev_outbox)
                    .map_err(anyhow::Error::msg)?;
                let builtin = Arc::new(BuiltInAuth::new(
                    pool.clone(),
                    secret.clone(),
                    &auth.site_url,
                    auth.access_token_ttl,
                    mailer,
                    auth.trusted_proxies.clone(),
                ));
                let verifier = TokenVerifier::new(Some(&secret), None, Some(builtin.issuer().to_owned()));
                Ok(Self {
                    verifier,
                    gotrue: GoTrue::in_process(Arc::clone(&builtin).router()),
                    builtin: Some(builtin),
                    refreshes: Mutex::new(HashMap::new()),
                })
            }
        }
    }

    /// Exchanges a refresh token, once per token: concurrent requests with the same token wait for the first and
    /// share its result, so one lineage results rather than a reuse alarm.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, GoTrueError> {
        let slot = {
            let mut map = self.refreshes.lock().await;
            map.retain(|_, slot| {
                Arc::strong_count(slot) > 1
                    || slot
                        .try_lock()
                        .is_ok_and(|s| s.as_ref().is_some_and(|(at, _)| at.elapsed() < Duration::from_secs(10)))
            });
            Arc::clone(map.entry(refresh_token.to_owned()).or_default())
        };
        let mut guard = slot.lock().await;
        if let Some((at, result)) = guard.as_ref()
            && at.elapsed() < Duration::from_secs(10)
        {
            return result.clone();
        }
        let result = self.gotrue.refresh(refresh_token).await;
        *guard = Some((Instant::now(), result.clone()));
        result
    }

    /// Forgets the remembered result of refreshing `refresh_token` (at sign-out: a request replaying the old cookie
    /// within the sharing window must not get the revoked session's tokens back).
    pub async fn forget_refresh(&self, refresh_token: &str) {
        self.refreshes.lock().await.remove(refresh_token);
    }
}

/// The built-in auth's signing secret: generated into `DATA_DIR/auth-jwt-secret` (mode 0600) on first run.
fn local_secret(data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    use base64::Engine as _;
    let path = data_dir.join("auth-jwt-secret");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let trimmed = existing.trim();
        if trimmed.len() >= 32 {
            return Ok(trimmed.as_bytes().to_vec());
        }
    }
    let mut bytes = [0u8; 48];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    std::fs::write(&path, &secret).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("restricting {}", path.display()))?;
    }
    tracing::info!(path = %path.display(), "generated the built-in auth signing secret");
    Ok(secret.into_bytes())
}
