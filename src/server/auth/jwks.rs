//! The JWKS cache for asymmetric Supabase tokens (ES256/RS256): keys from
//! `{SUPABASE_URL}/auth/v1/.well-known/jwks.json`, refreshed after ten minutes; an unknown `kid` triggers at most
//! one refetch per 30 seconds, so forged tokens cannot cause a fetch storm. A `kid` is only ever a map key.
//!
//! No lock is held during the HTTP call: one caller fetches while the others carry on with the keys already
//! cached (a slow or hanging JWKS endpoint delays nobody whose key is known).
use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey};
use std::sync::Mutex;

/// Keys older than this are refetched on next use.
pub const REFRESH_AFTER: Duration = Duration::from_secs(600);
/// Unknown kids cause at most one fetch per this interval.
pub const MIN_REFETCH: Duration = Duration::from_secs(30);

#[derive(Default)]
struct State {
    keys: HashMap<String, (DecodingKey, Algorithm)>,
    fetched_at: Option<Instant>,
    attempted_at: Option<Instant>,
    /// A fetch is under way (by whoever set it).
    fetching: bool,
}

/// Clears `fetching` when dropped.
struct FetchDone<'a>(&'a Mutex<State>);

impl Drop for FetchDone<'_> {
    fn drop(&mut self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).fetching = false;
    }
}

/// Cached signing keys of one issuer.
pub struct JwksCache {
    url: String,
    http: reqwest::Client,
    state: Mutex<State>,
    refresh_after: Duration,
    min_refetch: Duration,
}

impl JwksCache {
    /// A cache for the JWKS at `url`.
    pub fn new(url: String, http: reqwest::Client) -> Self {
        Self::with_intervals(url, http, REFRESH_AFTER, MIN_REFETCH)
    }

    /// A cache with custom intervals (tests).
    pub fn with_intervals(url: String, http: reqwest::Client, refresh_after: Duration, min_refetch: Duration) -> Self {
        Self { url, http, state: Mutex::new(State::default()), refresh_after, min_refetch }
    }

    /// The key for `kid`, fetching the set when it is stale or (rate-limited) when the kid is unknown. Only one
    /// caller fetches at a time; the others answer from the cache meanwhile.
    pub async fn key(&self, kid: &str) -> Option<(DecodingKey, Algorithm)> {
        let should_fetch = {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            let stale = state.fetched_at.is_none_or(|at| at.elapsed() >= self.refresh_after);
            let known = state.keys.contains_key(kid);
            let may_fetch = state.attempted_at.is_none_or(|at| at.elapsed() >= self.min_refetch);
            let fetch = (stale || !known) && may_fetch && !state.fetching;
            if fetch {
                state.attempted_at = Some(Instant::now());
                state.fetching = true;
            }
            fetch
        };
        if should_fetch {
            // However this call ends (even dropped mid-fetch), the next caller may fetch again.
            let _done = FetchDone(&self.state);
            let fetched = self.fetch().await;
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            match fetched {
                Ok(keys) => {
                    state.keys = keys;
                    state.fetched_at = Some(Instant::now());
                }
                Err(e) => tracing::warn!(error = %e, url = %self.url, "JWKS fetch failed; keeping cached keys"),
            }
        }
        self.state.lock().unwrap_or_else(|p| p.into_inner()).keys.get(kid).cloned()
    }

    async fn fetch(&self) -> Result<HashMap<String, (DecodingKey, Algorithm)>, String> {
        let set: JwkSet = self
            .http
            .get(&self.url)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let Some(kid) = jwk.common.key_id.clone() else { continue };
            // The algorithm a key may verify is fixed by the key, never by the token's header.
            let alg = match (&jwk.common.key_algorithm, &jwk.algorithm) {
                (Some(KeyAlgorithm::ES256), _) => Algorithm::ES256,
                (Some(KeyAlgorithm::RS256), _) => Algorithm::RS256,
                (None, AlgorithmParameters::EllipticCurve(ec)) if ec.curve == EllipticCurve::P256 => Algorithm::ES256,
                (None, AlgorithmParameters::RSA(_)) => Algorithm::RS256,
                _ => continue,
            };
            match DecodingKey::from_jwk(jwk) {
                Ok(key) => {
                    keys.insert(kid, (key, alg));
                }
                Err(e) => tracing::warn!(error = %e, "unusable JWK skipped"),
            }
        }
        Ok(keys)
    }
}
