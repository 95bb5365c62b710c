//! The request's verified identity: built only from a verified token's claims, never from anything the client
//! says about itself.
use serde_json::Value;
use uuid::Uuid;

/// Who is making the request, from a verified access token.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// `sub`: the user's id in `auth.users`.
    pub user_id: Uuid,
    /// `email`, when the token has one.
    pub email: Option<String>,
    /// `role` (`authenticated` for signed-in users).
    pub role: String,
    /// `session_id`, when the token has one.
    pub session_id: Option<Uuid>,
    /// `app_metadata` (set by the server, not the user).
    pub app_metadata: Value,
    /// How the session was signed in: the `method`s of `amr` (`password`, `otp`, `magiclink`, …).
    pub sign_in_methods: Vec<String>,
    /// The full verified claims, as set into `request.jwt.claims` for row-level security.
    pub claims: Value,
}

impl Identity {
    /// An identity from verified claims; `None` without a valid `sub`.
    pub fn from_claims(claims: Value) -> Option<Self> {
        let user_id = claims.get("sub")?.as_str()?.parse().ok()?;
        Some(Self {
            user_id,
            email: claims.get("email").and_then(Value::as_str).map(str::to_owned),
            role: claims.get("role").and_then(Value::as_str).unwrap_or("authenticated").to_owned(),
            session_id: claims.get("session_id").and_then(Value::as_str).and_then(|s| s.parse().ok()),
            app_metadata: claims.get("app_metadata").cloned().unwrap_or(Value::Object(Default::default())),
            sign_in_methods: claims
                .get("amr")
                .and_then(Value::as_array)
                .map(|amr| amr.iter().filter_map(|a| a.get("method")?.as_str().map(str::to_owned)).collect())
                .unwrap_or_default(),
            claims,
        })
    }

    /// Whether this session was started by proving the address: an emailed link or code (or a signup
    /// confirmation, invite or recovery link). A password proves nothing about who owns the address.
    pub fn proved_email(&self) -> bool {
        const BY_EMAIL: [&str; 5] = ["otp", "magiclink", "email/signup", "invite", "recovery"];
        self.sign_in_methods.iter().any(|m| BY_EMAIL.contains(&m.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_comes_from_claims_and_needs_a_uuid_subject() {
        let id = Uuid::new_v4();
        let claims = serde_json::json!({"sub": id.to_string(), "email": "a@b.c", "role": "authenticated",
            "app_metadata": {"role": "admin"}});
        let identity = Identity::from_claims(claims).expect("valid");
        assert_eq!(identity.user_id, id);
        assert_eq!(identity.email.as_deref(), Some("a@b.c"));
        assert_eq!(identity.app_metadata["role"], "admin");
        assert!(!identity.proved_email(), "no amr: nothing proven");
        let by_link = Identity::from_claims(serde_json::json!({"sub": id.to_string(),
            "amr": [{"method": "otp", "timestamp": 1}]}))
        .expect("valid");
        assert!(by_link.proved_email());
        let by_password = Identity::from_claims(serde_json::json!({"sub": id.to_string(),
            "amr": [{"method": "password", "timestamp": 1}]}))
        .expect("valid");
        assert!(!by_password.proved_email());
        assert!(Identity::from_claims(serde_json::json!({"sub": "not-a-uuid"})).is_none());
        assert!(Identity::from_claims(serde_json::json!({"email": "a@b.c"})).is_none());
    }
}
