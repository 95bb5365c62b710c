//! `profiles`: created on first sign-in, the display name editable by its owner. Runs as the user.
use sqlx::PgConnection;

use crate::domain::DisplayName;

/// Creates the user's profile if it does not exist yet.
pub async fn ensure(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO profiles (id) VALUES (auth.uid()) ON CONFLICT (id) DO NOTHING").execute(conn).await?;
    Ok(())
}

/// The user's display name, if set.
pub async fn display_name(conn: &mut PgConnection) -> Result<Option<String>, sqlx::Error> {
    let name: Option<Option<String>> =
        sqlx::query_scalar("SELECT display_name FROM profiles WHERE id = auth.uid()").fetch_optional(conn).await?;
    Ok(name.flatten())
}

/// Sets the user's display name (creating the profile if needed).
pub async fn set_display_name(conn: &mut PgConnection, name: &DisplayName) -> Result<(), sqlx::Error> {
    ensure(&mut *conn).await?;
    sqlx::query("UPDATE profiles SET display_name = $1 WHERE id = auth.uid()")
        .bind(name.as_str())
        .execute(conn)
        .await?;
    Ok(())
}
