//! Test helpers: a fresh database per test, a demo DuckDB file, and `spawn_app()` — the real router on a
//! random port with its own state.
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use leptos::prelude::LeptosOptions;
use sqlx::{Connection, PgConnection};
use tokio_util::sync::CancellationToken;
use tradechat::server::config::Config;
use tradechat::server::demo_data;
use tradechat::server::startup;
use tradechat::server::state::AppState;

/// The cluster every test database is created in.
pub fn base_database_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "DATABASE_URL is not set. The integration tests need a Postgres where they may CREATE DATABASE; \
             run ./scripts/test, or `scripts/pg start test` and export the URL it prints."
        )
    })
}

/// A database of its own for one test (the cluster is recreated by every ./scripts/test run).
pub async fn fresh_database() -> String {
    let base = base_database_url();
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = PgConnection::connect(&base).await.expect("connect to the test cluster");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create test database");
    let (prefix, _) = base.rsplit_once('/').expect("DATABASE_URL ends with /<database>");
    format!("{prefix}/{name}")
}

/// A small demo DuckDB file shared by the tests of this binary (generated once, read-only afterwards).
pub fn demo_duckdb() -> &'static Path {
    static FILE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = FILE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("trading.duckdb");
        let options = demo_data::Options {
            scale: 0.2,
            minute_days: 5,
            ..demo_data::Options::ending(chrono::NaiveDate::from_ymd_opt(2026, 11, 20).expect("date"))
        };
        demo_data::generate(&path, &options).expect("generate demo data");
        (dir, path)
    });
    path
}

/// A running server for one test.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// HTTP client for it.
    pub client: reqwest::Client,
    /// The app's state (pool, DuckDB handle, ...).
    pub state: AppState,
    _data_dir: tempfile::TempDir,
}

impl TestApp {
    /// `base_url` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.state.shutdown.cancel();
    }
}

/// Options for [`spawn_app_with`].
pub struct AppOptions {
    /// The DuckDB file the app reads.
    pub duckdb_path: PathBuf,
}

impl Default for AppOptions {
    fn default() -> Self {
        Self { duckdb_path: demo_duckdb().to_path_buf() }
    }
}

/// The real app, on a fresh database, with the shared demo DuckDB file.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(AppOptions::default()).await
}

/// The real app with the given options.
pub async fn spawn_app_with(options: AppOptions) -> TestApp {
    let database_url = fresh_database().await;
    let data_dir = tempfile::tempdir().expect("temp dir");
    let vars = [
        ("DATABASE_URL", database_url),
        ("DATABASE_PATH", options.duckdb_path.display().to_string()),
        ("DATA_DIR", data_dir.path().display().to_string()),
        ("SHUTDOWN_GRACE_SECS", "1".to_owned()),
    ];
    let config = Config::from_lookup(|k| vars.iter().find(|(name, _)| *name == k).map(|(_, v)| v.clone()))
        .expect("test configuration");
    let leptos_options = LeptosOptions::builder().output_name("tradechat").site_root("target/site").build();
    let state = startup::build_state(config, leptos_options, CancellationToken::new()).await.expect("build state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base_url = format!("http://{}", listener.local_addr().expect("local addr"));
    tokio::spawn(startup::serve(listener, state.clone()));
    TestApp { base_url, client: reqwest::Client::new(), state, _data_dir: data_dir }
}
