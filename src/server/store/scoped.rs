//! Running as the user, as Supabase's API does: a transaction that sets the verified claims into
//! `request.jwt.claims` and switches to role `authenticated` (or `service_role`), both `LOCAL` to the
//! transaction, so the row-level security policies decide what the queries see and nothing leaks to the next
//! user of the pooled connection.
use std::ops::{Deref, DerefMut};

use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use crate::server::identity::Identity;

/// A transaction running as a role with claims set. Dropping it without [`Self::commit`] rolls back.
pub struct ScopedTx {
    tx: Transaction<'static, Postgres>,
}

impl ScopedTx {
    /// Begins a transaction as the signed-in user (`authenticated`, with their claims).
    pub async fn as_user(pool: &PgPool, identity: &Identity) -> Result<Self, sqlx::Error> {
        Self::begin(pool, "authenticated", &identity.claims).await
    }

    /// Begins a transaction as `service_role` (admin and analytics work; the caller checks the user is an admin).
    pub async fn as_service_role(pool: &PgPool) -> Result<Self, sqlx::Error> {
        Self::begin(pool, "service_role", &serde_json::json!({ "role": "service_role" })).await
    }

    /// Begins a transaction as `anon` (no user).
    pub async fn as_anon(pool: &PgPool) -> Result<Self, sqlx::Error> {
        Self::begin(pool, "anon", &serde_json::json!({ "role": "anon" })).await
    }

    async fn begin(pool: &PgPool, role: &'static str, claims: &serde_json::Value) -> Result<Self, sqlx::Error> {
        let mut tx = pool.begin().await?;
        sqlx::query("SELECT set_config('request.jwt.claims', $1, true), set_config('role', $2, true)")
            .bind(claims.to_string())
            .bind(role)
            .execute(&mut *tx)
            .await?;
        Ok(Self { tx })
    }

    /// Commits the transaction.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

impl Deref for ScopedTx {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.tx
    }
}

impl DerefMut for ScopedTx {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.tx
    }
}
