//! Start-up and serving, shared by the binary and the integration tests: build the state from a
//! configuration, then serve the router on a listener until shutdown.
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use leptos::prelude::LeptosOptions;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::server::agent::AgentService;
use crate::server::agent::relay::{Relay, RelayTask, RunLookup};
use crate::server::agent::runs::RunRegistry;
use crate::server::auth::AuthService;
use crate::server::config::Config;
use crate::server::duck::Duck;
use crate::server::limits::settler::{Settler, SettlerTask};
use crate::server::state::AppState;
use crate::server::store::log_writer::{ChatLogWriter, WriterConfig, WriterTask};
use crate::server::{router, shutdown, store};

/// The state plus the background tasks that must be stopped in order at shutdown.
pub struct App {
    /// Shared state for routes and server functions.
    pub state: AppState,
    /// The chat-log writer's task (drained last, after in-flight runs have logged).
    pub writer_task: WriterTask,
    /// The settler's task (drained after the runs, which queue their settlements as they end).
    pub settler_task: SettlerTask,
    /// The run relay's appender (drained after the runs, which queue their last events as they end).
    pub relay_task: RelayTask,
}

/// Connects to Postgres (running migrations), prepares DuckDB, starts the chat-log writer and assembles the state.
pub async fn build(config: Config, leptos_options: LeptosOptions, shutdown: CancellationToken) -> anyhow::Result<App> {
    crate::server::metrics::install();
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating DATA_DIR {}", config.data_dir.display()))?;
    let db = store::connect_and_migrate(&config).await.context("preparing Postgres")?;
    let duck = Duck::new(config.duck.clone());
    match duck.ping(duck.config().query_timeout).await {
        // Describe the data for the model ahead of the first question, without holding up the start.
        Ok(_) => duck.refresh_schema_in_background(),
        Err(e) => tracing::warn!("DuckDB is not available yet: {e}"),
    }
    let auth = Arc::new(AuthService::new(&config, &db).await.context("preparing auth")?);
    if let Some(builtin) = &auth.builtin {
        builtin.purge_periodically(shutdown.clone());
    }
    let background = store::background_pool(&db);
    let (log_writer, writer_task) =
        ChatLogWriter::start(background.clone(), &config.data_dir, WriterConfig::default()).await;
    let http = reqwest::Client::builder().connect_timeout(std::time::Duration::from_secs(5)).build()?;
    let (settler, settler_task) = Settler::start(background.clone(), http.clone(), config.limits.clone());
    let runs = Arc::new(RunRegistry::default());
    let lookup: std::sync::Weak<dyn RunLookup> = Arc::downgrade(&(Arc::clone(&runs) as Arc<dyn RunLookup>));
    let (relay, relay_task) =
        Relay::start(db.clone(), background, config.relay, lookup, log_writer.clone(), shutdown.clone());
    let agent = Arc::new(AgentService::new(&config, &duck, settler, http, runs, relay)?);
    let draining = CancellationToken::new();
    let state =
        AppState { leptos_options, config: Arc::new(config), db, duck, log_writer, auth, agent, draining, shutdown };
    crate::server::saved_rerun::run_scheduled(state.clone(), state.draining.clone());
    Ok(App { state, writer_task, settler_task, relay_task })
}

/// Serves the app on `listener` until SIGTERM/Ctrl-C (or `state.draining`/`state.shutdown` cancelled in-process),
/// then shuts down without cutting an answer short:
/// 1. **drain** — still serving: new questions get 503 with `Retry-After`, `/healthz` says `draining`, and the
///    answers being written go on, streaming to their clients, for up to `SHUTDOWN_GRACE_SECS`; those still going
///    then are cancelled, which ends their streams with a `done` of status `cancelled` and logs them;
/// 2. **stop** — no new connections; open streams send what their run said (its `done`) and close;
/// 3. reservations settle and the chat-log writer drains.
pub async fn serve(listener: TcpListener, app: App) -> anyhow::Result<()> {
    let App { state, writer_task, settler_task, relay_task } = app;
    let (draining, stop) = (state.draining.clone(), state.shutdown.clone());
    let grace = state.config.shutdown_grace;
    let agent = Arc::clone(&state.agent);
    let app = router::router(state);
    // No Nagle delay: an answer streams as many small writes, and the client's delayed ACK would hold each one
    // back (~40 ms per answer at one user).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    let server = axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(stop.clone().cancelled_owned())
        .into_future();
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => return result.context("serving HTTP"),
        () = shutdown::signal(draining.clone()) => {}
        () = stop.cancelled() => {}
    }
    draining.cancel();
    tracing::info!(
        runs = agent.runs.len(),
        grace_secs = grace.as_secs(),
        "draining: finishing the answers in progress"
    );
    let mut served_out = false;
    tokio::select! {
        result = &mut server => {
            result.context("serving HTTP")?;
            served_out = true;
        }
        finished = agent.runs.finish(grace, &stop) => {
            tracing::info!(all_finished = finished, "drained");
        }
    }
    stop.cancel();
    if !served_out {
        tokio::select! {
            result = &mut server => result.context("serving HTTP")?,
            () = tokio::time::sleep(CLOSE_WAIT) => {
                tracing::warn!("connections still open {CLOSE_WAIT:?} after the drain; exiting anyway");
            }
        }
    }
    relay_task.shutdown(grace).await;
    settler_task.shutdown(grace).await;
    writer_task.shutdown(grace).await;
    Ok(())
}

/// How long open connections get to close once every run has ended (their streams only have `done` left to send).
const CLOSE_WAIT: Duration = Duration::from_secs(5);
