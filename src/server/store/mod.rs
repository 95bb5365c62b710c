//! Postgres: the pool, migrations, and (in submodules) the repositories and the chat-log writer.
//!
//! - [`scoped`] — transactions as `authenticated` (with the user's claims) or `service_role`: how every
//!   user-scoped query runs, so row-level security is what protects the data;
//! - [`chat_logs`] — the run record and its batched insert; [`log_writer`] — the asynchronous writer;
//! - [`saved`] — favourites; [`conversations`] and [`profiles`] — the rest of a user's data.
pub mod chat_logs;
pub mod conversations;
pub mod log_writer;
pub mod profiles;
pub mod saved;
pub mod scoped;
pub mod step_edits;
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::server::config::Config;

/// Errors from the Postgres layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Postgres could not be reached or answered with an error.
    #[error("postgres: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed; the server must not start on a half-migrated schema.
    #[error("running migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Postgres did not come up within the configured time.
    #[error("postgres was not reachable within {waited:?}: {last}")]
    Unreachable {
        /// How long start-up waited.
        waited: Duration,
        /// The last connection error.
        last: sqlx::Error,
    },
}

/// The migrations in `migrations/`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Connects to Postgres, waiting up to `database_connect_timeout` for it to come up, and runs the migrations.
pub async fn connect_and_migrate(config: &Config) -> Result<PgPool, StoreError> {
    let options: PgConnectOptions = config.database_url.expose_secret().parse()?;
    // The seed's timestamps are `TIMESTAMP` (no zone): every session works in UTC, as Supabase's do.
    let options = options.application_name("tradechat").options([("timezone", "UTC")]);
    let pool = PgPoolOptions::new()
        .max_connections(config.database_max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with(options);
    wait_until_reachable(&pool, config.database_connect_timeout).await?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}

/// Connections of the background pool.
pub const BACKGROUND_CONNECTIONS: u32 = 6;

/// A second, small pool on the same database for the background writers: the chat-log writer's flushers, the
/// settler, and the run relay's appender, listener and heartbeat. Requests queue for their own pool; under a burst
/// they can wait there for seconds, and a writer waiting in the same queue fell behind by as much (the relay by
/// thousands of runs at 500 users). Apart, neither can starve the other. Lazy: it connects on first use.
pub fn background_pool(requests: &PgPool) -> PgPool {
    PgPoolOptions::new()
        .max_connections(BACKGROUND_CONNECTIONS)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with(requests.connect_options().as_ref().clone())
}

async fn wait_until_reachable(pool: &PgPool, timeout: Duration) -> Result<(), StoreError> {
    let started = Instant::now();
    let mut delay = Duration::from_millis(100);
    loop {
        match sqlx::query("SELECT 1").execute(pool).await {
            Ok(_) => return Ok(()),
            Err(e) if started.elapsed() + delay < timeout => {
                tracing::warn!(error = %e, retry_in = ?delay, "postgres not reachable yet");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
            Err(last) => {
                return Err(StoreError::Unreachable { waited: started.elapsed(), last });
            }
        }
    }
}

/// Postgres's version string and the number of applied migrations: the store's half of the status probe.
pub async fn probe(pool: &PgPool) -> Result<(String, i64), sqlx::Error> {
    let version: String = sqlx::query_scalar("SELECT current_setting('server_version')").fetch_one(pool).await?;
    let applied: i64 =
        sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success").fetch_one(pool).await?;
    Ok((version, applied))
}
