//! Access-token verification: HS256 with the shared secret (legacy Supabase projects and the built-in auth) and
//! ES256/RS256 with keys from the JWKS. Signature, `exp`, `nbf` (10 s leeway), `aud = authenticated`, `iss` when
//! known; `alg: none`, algorithms that do not match the key, and HS256 without a configured secret are refused,
//! as are tokens whose role is not `authenticated` (a `service_role` key is not a user).
use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::Value;

use super::Identity;
use super::jwks::JwksCache;

/// Seconds of clock skew tolerated on `exp`/`nbf`.
pub const LEEWAY_SECS: u64 = 10;

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Not a JWT, or an unsupported/`none` algorithm.
    #[error("malformed token")]
    Malformed,
    /// An HS256 token but no secret is configured.
    #[error("HS256 tokens are not accepted here")]
    NoSharedSecret,
    /// The `kid` is not in the JWKS (or the token has none).
    #[error("unknown signing key")]
    UnknownKey,
    /// The header's algorithm is not the key's.
    #[error("algorithm does not match the key")]
    AlgorithmMismatch,
    /// Past `exp`.
    #[error("token expired")]
    Expired,
    /// Any other failed check (signature, audience, issuer, not-before).
    #[error("invalid token: {0}")]
    Invalid(String),
    /// Valid, but not a signed-in user's token.
    #[error("not a user token")]
    NotAUser,
}

/// Verifies access tokens.
#[derive(Clone)]
pub struct TokenVerifier {
    shared_secret: Option<DecodingKey>,
    jwks: Option<Arc<JwksCache>>,
    issuer: Option<String>,
}

impl TokenVerifier {
    /// A verifier for HS256 tokens signed with `shared_secret` (if any), asymmetric tokens from `jwks` (if any),
    /// requiring `issuer` when given.
    pub fn new(shared_secret: Option<&[u8]>, jwks: Option<Arc<JwksCache>>, issuer: Option<String>) -> Self {
        Self { shared_secret: shared_secret.map(DecodingKey::from_secret), jwks, issuer }
    }

    /// Verifies `token` and returns the identity it carries.
    pub async fn verify(&self, token: &str) -> Result<Identity, VerifyError> {
        let claims = self.verify_claims(token).await?;
        if claims.get("role").and_then(Value::as_str) != Some("authenticated") {
            return Err(VerifyError::NotAUser);
        }
        Identity::from_claims(claims).ok_or(VerifyError::Malformed)
    }

    /// Verifies `token` and returns its claims, whatever its role.
    pub async fn verify_claims(&self, token: &str) -> Result<Value, VerifyError> {
        // `alg: none` and unknown algorithms fail to parse here.
        let header = decode_header(token).map_err(|_| VerifyError::Malformed)?;
        let key = match header.alg {
            Algorithm::HS256 => self.shared_secret.clone().ok_or(VerifyError::NoSharedSecret)?,
            Algorithm::ES256 | Algorithm::RS256 => {
                let kid = header.kid.as_deref().ok_or(VerifyError::UnknownKey)?;
                let jwks = self.jwks.as_ref().ok_or(VerifyError::UnknownKey)?;
                let (key, key_alg) = jwks.key(kid).await.ok_or(VerifyError::UnknownKey)?;
                if key_alg != header.alg {
                    return Err(VerifyError::AlgorithmMismatch);
                }
                key
            }
            _ => return Err(VerifyError::Malformed),
        };
        let mut validation = Validation::new(header.alg);
        validation.set_audience(&["authenticated"]);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub", "aud"]);
        if let Some(issuer) = &self.issuer {
            validation.set_issuer(&[issuer]);
        }
        decode::<Value>(token, &key, &validation).map(|data| data.claims).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::ExpiredSignature => VerifyError::Expired,
                ErrorKind::InvalidAlgorithm => VerifyError::AlgorithmMismatch,
                _ => VerifyError::Invalid(e.to_string()),
            }
        })
    }
}
