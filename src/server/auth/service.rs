//! The auth service in the app state: the verifier, the GoTrue client, the built-in provider (when Supabase is
//! not configured), and refreshes serialised per refresh token.
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use secrecy::ExposeSecret;
use sqlx::PgPool;
use tokio::sync::Mutex;

use super::builtin::BuiltInAuth;
use super::builtin::mail::Mailer;
use super::client_ip::limit_key;
use super::gotrue::{GoTrue, GoTrueError, TokenPair};
use super::jwks::JwksCache;
use super::sessions::SessionLiveness;
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
    /// Which sessions are still live.
    pub sessions: SessionLiveness,
    refreshes: Mutex<HashMap<String, SharedRefresh>>,
    refresh_failures: FailureBudget,
}

/// Refused refreshes a client may cause per minute before its refresh cookies are refused unread.
pub const REFRESH_FAILURES_PER_MINUTE: u32 = 20;

/// Whether `token` could be a refresh token at all: GoTrue's and the built-in's are URL-safe text of modest length.
fn plausible_refresh_token(token: &str) -> bool {
    (8..=512).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Failed refreshes per client (IPv4 address or IPv6 /64) in the current minute, in this instance's memory.
#[derive(Default)]
struct FailureBudget {
    counts: std::sync::Mutex<HashMap<String, (Instant, u32)>>,
}

impl FailureBudget {
    fn allows(&self, client: IpAddr) -> bool {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts
            .get(&limit_key(client))
            .is_none_or(|(since, n)| since.elapsed() >= Duration::from_secs(60) || *n < REFRESH_FAILURES_PER_MINUTE)
    }

    fn count(&self, client: IpAddr) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if counts.len() > 10_000 {
            counts.retain(|_, (since, _)| since.elapsed() < Duration::from_secs(60));
        }
        let entry = counts.entry(limit_key(client)).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= Duration::from_secs(60) {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
    }
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
                    sessions: SessionLiveness::new(pool.clone()),
                    refreshes: Mutex::new(HashMap::new()),
                    refresh_failures: FailureBudget::default(),
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
                    sessions: SessionLiveness::new(pool.clone()),
                    refreshes: Mutex::new(HashMap::new()),
                    refresh_failures: FailureBudget::default(),
                })
            }
        }
    }

    /// Exchanges a refresh token, once per token: concurrent requests with the same token wait for the first and
    /// share its result, so one lineage results rather than a reuse alarm.
    ///
    /// A cookie that cannot be a refresh token is refused without a look-up, and a client (an IPv4 address or IPv6
    /// /64) whose refreshes keep failing is refused without one too once it has used its budget
    /// ([`REFRESH_FAILURES_PER_MINUTE`]): junk cookies cost this server and Postgres nothing beyond that.
    pub async fn refresh(&self, refresh_token: &str, client: IpAddr) -> Result<TokenPair, GoTrueError> {
        let rejected = || GoTrueError::Rejected { status: 400, message: "Invalid Refresh Token".into() };
        if !plausible_refresh_token(refresh_token) {
            return Err(rejected());
        }
        if !self.refresh_failures.allows(client) {
            return Err(rejected());
        }
        let slot = {
            let mut map = self.refreshes.lock().await;
            // Shared results live 10 seconds: forget finished ones only now and then, not on every call.
            if map.len() > 256 {
                map.retain(|_, slot| {
                    Arc::strong_count(slot) > 1
                        || slot
                            .try_lock()
                            .is_ok_and(|s| s.as_ref().is_some_and(|(at, _)| at.elapsed() < Duration::from_secs(10)))
                });
            }
            Arc::clone(map.entry(refresh_token.to_owned()).or_default())
        };
        let mut guard = slot.lock().await;
        if let Some((at, result)) = guard.as_ref()
            && at.elapsed() < Duration::from_secs(10)
        {
            return result.clone();
        }
        let result = self.gotrue.refresh(refresh_token).await;
        if matches!(result, Err(GoTrueError::Rejected { .. })) {
            self.refresh_failures.count(client);
        }
        *guard = Some((Instant::now(), result.clone()));
        result
    }

    /// Forgets the remembered result of refreshing `refresh_token` (at sign-out: a request replaying the old cookie
    /// within the sharing window must not get the revoked session's tokens back).
    pub async fn forget_refresh(&self, refresh_token: &str) {
        self.refreshes.lock().await.remove(refresh_token);
    }
}

/// The built-in auth's signing secret: generated into `DATA_DIR/auth-jwt-secret` on first run. The file is created
/// with mode 0600 from the start (a temporary file opened with that mode, then renamed into place), so the secret
/// is never readable by others, not even for an instant; an existing file shorter than the minimum is replaced.
fn local_secret(data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    use base64::Engine as _;
    use std::io::Write as _;
    let path = data_dir.join("auth-jwt-secret");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let trimmed = existing.trim();
        if trimmed.len() >= crate::server::config::MIN_JWT_SECRET_BYTES {
            return Ok(trimmed.as_bytes().to_vec());
        }
    }
    let mut bytes = [0u8; 48];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let temporary = data_dir.join(format!(".auth-jwt-secret.{}", uuid::Uuid::new_v4().simple()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options
        .open(&temporary)
        .and_then(|mut file| file.write_all(secret.as_bytes()).and_then(|()| file.sync_all()))
        .and_then(|()| std::fs::rename(&temporary, &path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(e).with_context(|| format!("writing {}", path.display()));
    }
    tracing::info!(path = %path.display(), "generated the built-in auth signing secret");
    Ok(secret.into_bytes())
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_plausible_refresh_tokens_are_looked_up_and_failures_have_a_budget() {
        assert!(super::plausible_refresh_token("kSUBHnfJ7ZN2"));
        assert!(super::plausible_refresh_token(&super::super::builtin::crypto::random_token()));
        for junk in ["", "short", "has space in it", "<script>alert(1)</script>", &"x".repeat(600)] {
            assert!(!super::plausible_refresh_token(junk), "{junk:?}");
        }
        let budget = super::FailureBudget::default();
        let (a, b): (std::net::IpAddr, std::net::IpAddr) =
            ("2001:db8::1".parse().expect("ip"), "2001:db8::2".parse().expect("ip"));
        for _ in 0..super::REFRESH_FAILURES_PER_MINUTE {
            assert!(budget.allows(a));
            budget.count(a);
        }
        assert!(!budget.allows(b), "the same /64 shares the budget");
        assert!(budget.allows("203.0.113.1".parse().expect("ip")));
    }

    #[test]
    fn the_generated_secret_is_private_from_the_start_and_reused() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(dir.path().join("auth-jwt-secret"), "too short").expect("write");
        let secret = super::local_secret(dir.path()).expect("secret");
        assert!(secret.len() >= crate::server::config::MIN_JWT_SECRET_BYTES, "a short file is replaced");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("auth-jwt-secret")).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(super::local_secret(dir.path()).expect("again"), secret, "kept across starts");
        let leftovers = std::fs::read_dir(dir.path()).expect("dir").count();
        assert_eq!(leftovers, 1, "no temporary file left behind");
    }
}
