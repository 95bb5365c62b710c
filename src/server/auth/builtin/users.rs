//! Users as GoTrue shows them (`auth.users` rows and their JSON), and addresses as it accepts them.
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::BuiltInAuth;
use super::reply::{GoTrueError, err};

/// An `auth.users` row, with GoTrue's column names.
#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    pub(super) id: Uuid,
    pub(super) email: Option<String>,
    /// Argon2id PHC string; `None` for accounts that sign in by email only.
    pub(super) encrypted_password: Option<String>,
    pub(super) email_confirmed_at: Option<DateTime<Utc>>,
    pub(super) last_sign_in_at: Option<DateTime<Utc>>,
    pub(super) raw_app_meta_data: Option<Value>,
    pub(super) raw_user_meta_data: Option<Value>,
    pub(super) created_at: Option<DateTime<Utc>>,
    pub(super) updated_at: Option<DateTime<Utc>>,
}

pub(super) const USER_COLUMNS: &str = "id, email, encrypted_password, email_confirmed_at, last_sign_in_at, raw_app_meta_data, \
                            raw_user_meta_data, created_at, updated_at";

fn rfc3339(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, |t| Value::String(t.to_rfc3339()))
}

impl UserRow {
    pub(super) fn app_metadata(&self) -> Value {
        let mut meta = json!({ "provider": "email", "providers": ["email"] });
        if let (Some(Value::Object(extra)), Value::Object(base)) = (&self.raw_app_meta_data, &mut meta) {
            for (k, v) in extra {
                base.insert(k.clone(), v.clone());
            }
        }
        meta
    }

    /// The user object exactly as GoTrue returns it.
    pub(super) fn to_json(&self) -> Value {
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

pub(super) fn normalize_email(raw: &str) -> Result<String, GoTrueError> {
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
    pub(super) async fn find_user(&self, email: &str) -> Result<Option<UserRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM auth.users WHERE lower(email) = $1"))
            .bind(email)
            .fetch_optional(&self.pool)
            .await
    }

    pub(super) async fn user_by_id(&self, id: Uuid) -> Result<Option<UserRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM auth.users WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }
}
