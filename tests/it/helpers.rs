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

/// A DuckDB handle on [`demo_duckdb`], as the agent's tests use it.
pub fn demo_duck() -> tradechat::server::duck::Duck {
    tradechat::server::duck::Duck::new(tradechat::server::config::DuckConfig {
        path: demo_duckdb().to_path_buf(),
        memory_limit: "512MB".into(),
        threads: 2,
        max_temp_directory_size: "64MB".into(),
        query_timeout: std::time::Duration::from_secs(10),
        max_concurrent_queries: 4,
    })
}

/// A running server for one test.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// HTTP client for it.
    pub client: reqwest::Client,
    /// The app's state (pool, DuckDB handle, ...).
    pub state: AppState,
    /// Its database.
    pub database_url: String,
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
    /// Extra environment variables (override the defaults).
    pub env: Vec<(String, String)>,
    /// An existing database to share (two instances on one Postgres); a fresh one when `None`.
    pub database_url: Option<String>,
}

impl Default for AppOptions {
    fn default() -> Self {
        Self { duckdb_path: demo_duckdb().to_path_buf(), env: Vec::new(), database_url: None }
    }
}

/// The real app, on a fresh database, with the shared demo DuckDB file.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(AppOptions::default()).await
}

/// The real app with the given options.
pub async fn spawn_app_with(options: AppOptions) -> TestApp {
    let database_url = match options.database_url {
        Some(url) => url,
        None => fresh_database().await,
    };
    let data_dir = tempfile::tempdir().expect("temp dir");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let local_addr = listener.local_addr().expect("local addr");
    let base_url = format!("http://{local_addr}");
    let mut vars = vec![
        ("DATABASE_URL".to_owned(), database_url.clone()),
        ("DATABASE_PATH".to_owned(), options.duckdb_path.display().to_string()),
        ("DATA_DIR".to_owned(), data_dir.path().display().to_string()),
        ("SHUTDOWN_GRACE_SECS".to_owned(), "1".to_owned()),
        ("SITE_URL".to_owned(), base_url.clone()),
        // Sign-in emails go to the local outbox, as with ./scripts/run (tests that need otherwise override it).
        ("DEV_OUTBOX".to_owned(), "1".to_owned()),
    ];
    vars.extend(options.env);
    let config = Config::from_lookup(|k| vars.iter().rev().find(|(name, _)| name == k).map(|(_, v)| v.clone()))
        .expect("test configuration");
    let leptos_options = LeptosOptions::builder().output_name("tradechat").site_root("target/site").build();
    let app = startup::build(config, leptos_options, CancellationToken::new()).await.expect("build state");
    let state = app.state.clone();
    tokio::spawn(startup::serve(listener, app));
    TestApp { base_url, client: reqwest::Client::new(), state, database_url, _data_dir: data_dir }
}

/// The environment of an app whose model is `fake` (the fake Messages API), with `extra` variables.
pub fn model_env(
    fake: &tradechat::server::agent::fake_anthropic::FakeAnthropic,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut env = vec![
        ("ANTHROPIC_API_KEY".to_owned(), "test-key".to_owned()),
        ("ANTHROPIC_BASE_URL".to_owned(), fake.base_url.clone()),
    ];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env
}

/// A pool on a fresh, migrated database (no server).
pub async fn fresh_pool() -> sqlx::PgPool {
    pool_for(&fresh_database().await).await
}

/// A migrated pool for `url`, with the app's own connection settings.
pub async fn pool_for(url: &str) -> sqlx::PgPool {
    let vars = [("DATABASE_URL", url.to_owned()), ("DATABASE_MAX_CONNECTIONS", "5".to_owned())];
    let config =
        Config::from_lookup(|k| vars.iter().find(|(name, _)| *name == k).map(|(_, v)| v.clone())).expect("config");
    tradechat::server::store::connect_and_migrate(&config).await.expect("connect and migrate")
}

/// A user in `auth.users` and the identity a verified token for them would carry.
pub async fn create_user(pool: &sqlx::PgPool, email: &str) -> tradechat::server::auth::Identity {
    let id: uuid::Uuid = sqlx::query_scalar("INSERT INTO auth.users (email) VALUES ($1) RETURNING id")
        .bind(email)
        .fetch_one(pool)
        .await
        .expect("insert user");
    let claims = serde_json::json!({
        "sub": id.to_string(), "email": email, "role": "authenticated", "aud": "authenticated",
        "app_metadata": {}, "user_metadata": {}
    });
    tradechat::server::auth::Identity::from_claims(claims).expect("identity")
}

/// A chat-log record for `user` with the given id.
pub fn log_record(id: i64, user: uuid::Uuid, question: &str) -> tradechat::server::store::chat_logs::ChatLogRecord {
    tradechat::server::store::chat_logs::ChatLogRecord {
        id: Some(id),
        user_id: user,
        conversation_id: None,
        conversation_title: None,
        question: question.to_owned(),
        response: format!("answer to {question}"),
        tools_used: serde_json::json!([{"name": "run_sql", "input": {"sql": "SELECT 1"}, "duration_ms": 3}]),
        checks: None,
        input_tokens: Some(100),
        output_tokens: Some(20),
        cache_creation_tokens: None,
        cache_read_tokens: None,
        cost: Some(rust_decimal::Decimal::new(2, 4)),
        model: "claude-haiku-4-5-20251001".into(),
        status: tradechat::domain::RunStatus::Ok,
        error: None,
        failure: None,
        duration_ms: Some(1200),
        created_at: chrono::Utc::now().naive_utc(),
    }
}

/// Next ids of the chat_logs sequence (as the writer reserves them).
pub async fn next_ids(pool: &sqlx::PgPool, n: i64) -> Vec<i64> {
    sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence('chat_logs', 'id')) FROM generate_series(1, $1)")
        .bind(n)
        .fetch_all(pool)
        .await
        .expect("ids")
}

/// The `Cookie` header that sends back the cookies `response` set.
fn session_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The status of a server function's answer and its JSON body (server functions answer JSON, errors included).
pub async fn status_and_json(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let body =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("a {status} answer that is not JSON ({e}): {text}"));
    (status, body)
}

/// A signed-in user of a [`TestApp`]: every request made through it carries the session's `Cookie` header, as
/// the browser sends it. The header is fixed — cookies a response sets are not taken up (a test that follows
/// them keeps its own jar).
pub struct TestUser<'a> {
    app: &'a TestApp,
    cookie: String,
}

impl<'a> TestUser<'a> {
    /// Signs a new user up through the app's server function, with the password `correct horse battery`.
    pub async fn sign_up(app: &'a TestApp, email: &str) -> Self {
        let response = app
            .client
            .post(app.url("/api/auth/sign_in"))
            .form(&[("email", email), ("password", "correct horse battery"), ("create", "true")])
            .send()
            .await
            .expect("sign up");
        assert_eq!(response.status(), 200, "sign-up failed");
        Self::with_cookie(app, session_cookie(&response))
    }

    /// Signs `email` in through the app's server function with a password.
    pub async fn by_password(app: &'a TestApp, email: &str, password: &str) -> Self {
        let response = app
            .client
            .post(app.url("/api/auth/sign_in"))
            .form(&[("email", email), ("password", password)])
            .send()
            .await
            .expect("sign in");
        assert_eq!(response.status(), 200, "sign-in failed");
        Self::with_cookie(app, session_cookie(&response))
    }

    /// Signs `email` in on `app` with an emailed code, as its owner would — from the inbox, here the outbox of
    /// `outbox_app` (the app itself, or the GoTrue it uses).
    pub async fn by_code(app: &'a TestApp, outbox_app: &TestApp, email: &str) -> Self {
        let sent =
            app.client.post(app.url("/api/auth/send_email")).form(&[("email", email)]).send().await.expect("send");
        assert_eq!(sent.status(), 200, "{}", sent.text().await.unwrap_or_default());
        let mails: Vec<serde_json::Value> = outbox_app
            .client
            .get(outbox_app.url("/dev/outbox.json"))
            .send()
            .await
            .expect("outbox")
            .json()
            .await
            .expect("json");
        let code = mails.iter().find(|m| m["to"] == email).and_then(|m| m["code"].as_str()).expect("a code").to_owned();
        let verified = app
            .client
            .post(app.url("/api/auth/verify_code"))
            .form(&[("email", email), ("code", code.as_str())])
            .send()
            .await
            .expect("verify");
        assert_eq!(verified.status(), 200, "{}", verified.text().await.unwrap_or_default());
        Self::with_cookie(app, session_cookie(&verified))
    }

    /// Whoever sends `cookie` (a `Cookie` header) to `app`.
    pub fn with_cookie(app: &'a TestApp, cookie: impl Into<String>) -> Self {
        Self { app, cookie: cookie.into() }
    }

    /// The same session, at another instance of the deployment.
    pub fn on<'b>(&self, app: &'b TestApp) -> TestUser<'b> {
        TestUser { app, cookie: self.cookie.clone() }
    }

    /// `path` on the instance this user is talking to.
    pub fn app_url(&self, path: &str) -> String {
        self.app.url(path)
    }

    /// The session's `Cookie` header.
    pub fn cookie(&self) -> &str {
        &self.cookie
    }

    /// The session's access token (the `tc-access` cookie), as a bearer would send it.
    pub fn access_token(&self) -> &str {
        self.cookie.split("; ").find_map(|c| c.strip_prefix("tc-access=")).expect("an access cookie")
    }

    /// A request to `path` with the session's cookie.
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.app.client.request(method, self.app.url(path)).header(reqwest::header::COOKIE, &self.cookie)
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.request(reqwest::Method::GET, path).send().await.expect("get")
    }

    /// `POST path` with no body.
    pub async fn post(&self, path: &str) -> reqwest::Response {
        self.request(reqwest::Method::POST, path).send().await.expect("post")
    }

    /// `POST path` with a form.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.request(reqwest::Method::POST, path).form(form).send().await.expect("post form")
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.request(reqwest::Method::POST, path).json(body).send().await.expect("post json")
    }

    /// Calls the server function at `/api/{name}` (or at `name`, a full path) with `args` as its form: the status
    /// and the JSON it answered.
    pub async fn server_fn(&self, name: &str, args: &[(&str, &str)]) -> (u16, serde_json::Value) {
        let path = if name.starts_with('/') { name.to_owned() } else { format!("/api/{name}") };
        status_and_json(self.post_form(&path, args).await).await
    }

    /// Starts a run for `message` without following it (`Accept: application/json`): `201` with the run's handle,
    /// or the refusal.
    pub async fn start(&self, message: &str) -> reqwest::Response {
        self.request(reqwest::Method::POST, "/chat/stream")
            .header(reqwest::header::ACCEPT, "application/json")
            .json(&serde_json::json!({ "message": message }))
            .send()
            .await
            .expect("start")
    }

    /// Asks `message` in a new conversation and reads the answer's events to the end.
    pub async fn ask(&self, message: &str) -> Vec<Sse> {
        self.chat(serde_json::json!({ "message": message })).await
    }

    /// Asks `message` in the conversation `conversation_id` and reads the answer's events to the end.
    pub async fn ask_in(&self, conversation_id: &str, message: &str) -> Vec<Sse> {
        self.chat(serde_json::json!({ "message": message, "conversation_id": conversation_id })).await
    }

    async fn chat(&self, body: serde_json::Value) -> Vec<Sse> {
        let response = self.post_json("/chat/stream", &body).await;
        assert_eq!(response.status(), 200, "the question was not streamed an answer");
        read_sse(response, |_| false).await
    }
}

/// Marks `email` as confirmed, as the owner's first sign-in link or code does (see the auth flow tests).
pub async fn confirm_email(pool: &sqlx::PgPool, email: &str) {
    let updated = sqlx::query("UPDATE auth.users SET email_confirmed_at = now() WHERE lower(email) = lower($1)")
        .bind(email)
        .execute(pool)
        .await
        .expect("confirm email")
        .rows_affected();
    assert_eq!(updated, 1, "no user {email}");
}

/// One Server-Sent Event.
#[derive(Debug, Clone, PartialEq)]
pub struct Sse {
    /// `event:`.
    pub event: String,
    /// `id:`.
    pub id: Option<usize>,
    /// `data:` parsed as JSON.
    pub data: serde_json::Value,
}

/// Reads SSE events from a streaming response until `stop` says so or the stream ends.
pub async fn read_sse(mut response: reqwest::Response, stop: impl Fn(&[Sse]) -> bool) -> Vec<Sse> {
    let mut buffer = String::new();
    let mut events = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            let mut event = Sse { event: String::new(), id: None, data: serde_json::Value::Null };
            let mut data = String::new();
            for line in frame.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    event.event = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("id:") {
                    event.id = v.trim().parse().ok();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim_start());
                }
            }
            if event.event.is_empty() {
                continue; // keep-alive comment
            }
            event.data = serde_json::from_str(&data).unwrap_or(serde_json::Value::Null);
            events.push(event);
            if stop(&events) {
                return events;
            }
        }
    }
    events
}

/// The real server binary as a child process (for what only a process shows: signals, its own logs and traces,
/// an instance that dies), on a free port, with its own data directory and log file. Killed when dropped.
pub struct ServerProcess {
    child: std::process::Child,
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// Its Postgres database.
    pub database_url: String,
    data_dir: tempfile::TempDir,
}

impl ServerProcess {
    /// Starts `tradechat serve` on a fresh database (unless `env` names one) and the demo DuckDB file, with `env`
    /// on top of those defaults, and waits until `/healthz` answers 200.
    pub async fn start(env: &[(String, String)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let base_url = format!("http://127.0.0.1:{port}");
        let database_url = match env.iter().rev().find(|(k, _)| k == "DATABASE_URL") {
            Some((_, url)) => url.clone(),
            None => fresh_database().await,
        };
        let data_dir = tempfile::tempdir().expect("data dir");
        let log = std::fs::File::create(data_dir.path().join("server.log")).expect("log file");
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_tradechat"))
            .arg("serve")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .envs([
                ("DATABASE_URL", database_url.clone()),
                ("DATABASE_PATH", demo_duckdb().display().to_string()),
                ("DATA_DIR", data_dir.path().display().to_string()),
                ("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}")),
                ("SITE_URL", base_url.clone()),
                ("RUST_LOG", "info".to_owned()),
            ])
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env_remove("SUPABASE_URL")
            .env_remove("SMTP_URL")
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start the server binary");
        let server = Self { child, base_url, database_url, data_dir };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while reqwest::get(server.url("/healthz")).await.map_or(true, |r| !r.status().is_success()) {
            assert!(std::time::Instant::now() < deadline, "the server did not come up: {}", server.log());
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        server
    }

    /// `base_url` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// What it has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.path().join("server.log")).unwrap_or_default()
    }

    /// Sends SIGTERM (a deploy's stop).
    pub fn sigterm(&self) {
        let status =
            std::process::Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("kill");
        assert!(status.success());
    }

    /// Kills it with SIGKILL (no chance to clean up) and reaps it.
    pub fn sigkill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    /// Waits (up to `within`) for the process to exit; whether it exited successfully.
    pub async fn exited(&mut self, within: std::time::Duration) -> bool {
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.success();
            }
            assert!(std::time::Instant::now() < deadline, "the server did not exit: {}", self.log());
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Signs `email` up through its GoTrue API: the access token.
    pub async fn sign_up(&self, email: &str) -> String {
        let body: serde_json::Value = reqwest::Client::new()
            .post(self.url("/auth/v1/signup"))
            .json(&serde_json::json!({"email": email, "password": "correct horse battery"}))
            .send()
            .await
            .expect("sign up")
            .json()
            .await
            .expect("session");
        body["access_token"].as_str().expect("access token").to_owned()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server-rendered page without Leptos's hydration markers (`<!>` between the parts of an interpolated text),
/// so a test can look for a sentence as the reader sees it.
pub fn page_text(html: &str) -> String {
    html.replace("<!>", "")
}
