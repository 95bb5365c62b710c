//! Secrets and tokens of the built-in auth: random tokens, SHA-256 hashes for storage, refresh-token derivation,
//! Argon2id passwords (with a dummy hash for unknown users, so timing does not reveal who exists).
use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// Shortest accepted password (ASVS 6.2.1).
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest accepted password; longer ones are refused, never truncated.
pub const MAX_PASSWORD_CHARS: usize = 1_024;

/// 32 random bytes, URL-safe base64.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A uniformly random 6-digit code.
pub fn random_code() -> String {
    use rand::Rng;
    format!("{:06}", rand::rng().random_range(0..1_000_000))
}

/// Hex SHA-256 of the parts, each length-prefixed (so `("ab","c")` and `("a","bc")` differ).
pub fn hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The refresh token that follows `parent`: deterministic, so concurrent refreshes of one token get one child.
pub fn child_refresh_token(secret: &[u8], parent: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).unwrap_or_else(|_| {
        // HMAC takes keys of any length; this branch cannot happen.
        <Hmac<Sha256> as Mac>::new_from_slice(b"tradechat").expect("fixed key")
    });
    mac.update(b"refresh-child:");
    mac.update(parent.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// Why a password was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Too short.
    #[error("Password should be at least {MIN_PASSWORD_CHARS} characters.")]
    TooShort,
    /// Too long to hash sensibly.
    #[error("Password can be at most {MAX_PASSWORD_CHARS} characters.")]
    TooLong,
}

/// Checks a new password's length.
pub fn check_password(password: &str) -> Result<(), PasswordError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        Err(PasswordError::TooShort)
    } else if n > MAX_PASSWORD_CHARS {
        Err(PasswordError::TooLong)
    } else {
        Ok(())
    }
}

/// Argon2id PHC string of `password` (blocking: call on a blocking thread).
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default().hash_password(password.as_bytes(), &salt)?.to_string())
}

/// Whether `password` matches `phc`; with `None` (unknown user) it verifies against a dummy hash and returns
/// false, taking the same time (blocking: call on a blocking thread).
pub fn verify_password(password: &str, phc: Option<&str>) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash_password("dummy password for timing").unwrap_or_default());
    let (phc, real) = match phc {
        Some(p) => (p, true),
        None => (dummy.as_str(), false),
    };
    let ok = PasswordHash::new(phc)
        .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok());
    ok && real
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_verify_and_are_never_truncated() {
        let long = "p".repeat(MAX_PASSWORD_CHARS);
        let phc = hash_password(&long).expect("hash");
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password(&long, Some(&phc)));
        assert!(!verify_password(&format!("{long}x"), Some(&phc)), "a longer password is a different password");
        assert!(!verify_password(&long[..long.len() - 1], Some(&phc)));
        assert!(!verify_password("anything", None), "unknown users never match");
        assert_eq!(check_password("short"), Err(PasswordError::TooShort));
        assert_eq!(check_password(&"x".repeat(MAX_PASSWORD_CHARS + 1)), Err(PasswordError::TooLong));
        assert_eq!(check_password("ünïcödé8"), Ok(()));
    }

    #[test]
    fn tokens_are_random_and_children_deterministic() {
        assert_ne!(random_token(), random_token());
        assert_eq!(random_code().len(), 6);
        let child = child_refresh_token(b"secret", "parent");
        assert_eq!(child, child_refresh_token(b"secret", "parent"));
        assert_ne!(child, child_refresh_token(b"other", "parent"));
        assert_ne!(hash(&["ab", "c"]), hash(&["a", "bc"]));
    }
}
