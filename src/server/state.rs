//! The application state: cheap, cloneable handles shared by routes and server functions.
use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::*;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::api::AppError;
use crate::server::agent::AgentService;
use crate::server::auth::AuthService;
use crate::server::config::Config;
use crate::server::duck::Duck;
use crate::server::store::log_writer::ChatLogWriter;

/// Everything a request may need. Cloning copies handles, never data.
#[derive(Clone, FromRef)]
pub struct AppState {
    /// Leptos's site settings (output name, site root, address).
    pub leptos_options: LeptosOptions,
    /// The validated configuration.
    pub config: Arc<Config>,
    /// The Postgres pool.
    pub db: PgPool,
    /// The DuckDB trading database.
    pub duck: Duck,
    /// The asynchronous chat-log writer.
    pub log_writer: ChatLogWriter,
    /// Token verification, GoTrue, the built-in provider.
    pub auth: Arc<AuthService>,
    /// The model client, prices, limits and in-flight runs.
    pub agent: Arc<AgentService>,
    /// Cancelled at SIGTERM/Ctrl-C: new questions are refused (503 with `Retry-After`) and `/healthz` says
    /// `draining`, while the answers being written finish.
    #[from_ref(skip)]
    pub draining: CancellationToken,
    /// Cancelled when the server stops (the drain is over): no new connections; open streams end.
    pub shutdown: CancellationToken,
}

impl AppState {
    /// The state inside a server function (provided by `leptos_routes`).
    pub fn from_context() -> Result<Self, AppError> {
        use_context::<Self>().ok_or_else(|| {
            tracing::error!("AppState missing from the server-function context");
            AppError::Internal
        })
    }
}
