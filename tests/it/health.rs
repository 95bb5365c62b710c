//! `/healthz`, the status server function, and the server basics around them.
use crate::helpers::{AppOptions, spawn_app, spawn_app_with};

#[tokio::test]
async fn healthz_is_ok_when_postgres_and_duckdb_answer() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/healthz")).send().await.expect("request");
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"), "every response carries a request id");
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["postgres"]["ok"], true);
    assert!(body["postgres"]["detail"].as_str().unwrap_or_default().starts_with("PostgreSQL "));
    assert_eq!(body["duckdb"]["ok"], true);
    assert!(body["duckdb"]["detail"].as_str().unwrap_or_default().starts_with("DuckDB "));
}

#[tokio::test]
async fn healthz_is_503_and_names_duckdb_when_its_file_is_missing_without_saying_where() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app =
        spawn_app_with(AppOptions { duckdb_path: dir.path().join("absent.duckdb"), ..AppOptions::default() }).await;
    let response = app.client.get(app.url("/healthz")).send().await.expect("request");
    assert_eq!(response.status(), 503);
    let text = response.text().await.expect("body");
    assert!(!text.contains("absent.duckdb") && !text.contains("/tmp"), "the reason is logged, not shown: {text}");
    let body: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["postgres"]["ok"], true);
    assert_eq!(body["duckdb"]["ok"], false);
    assert_eq!(body["duckdb"]["detail"], "unavailable");
}

#[tokio::test]
async fn healthz_is_503_when_postgres_is_down() {
    let app = spawn_app().await;
    // Closing the pool is what an outage looks like to the app: every query fails.
    app.state.db.close().await;
    let response = app.client.get(app.url("/healthz")).send().await.expect("request");
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["postgres"]["ok"], false);
    assert_eq!(body["postgres"]["detail"], "unavailable", "no Postgres error text to anyone who asks");
    assert_eq!(body["duckdb"]["ok"], true);
}

#[tokio::test]
async fn status_server_function_returns_data_from_both_stores() {
    let app = spawn_app().await;
    let response = app.client.post(app.url("/api/system_status")).send().await.expect("request");
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.expect("json");
    assert!(body["migrations_applied"].as_i64().unwrap_or_default() >= 1);
    let tables = body["duckdb_tables"].as_array().expect("tables");
    let names: Vec<&str> = tables.iter().filter_map(|t| t["name"].as_str()).collect();
    assert!(names.contains(&"daily_bars"), "{names:?}");
    assert!(tables.iter().all(|t| t["rows"].as_i64().is_some()));
}

#[tokio::test]
async fn pages_render_on_the_server_and_unknown_paths_are_404() {
    let app = spawn_app().await;
    let home = app.client.get(app.url("/")).send().await.expect("request");
    assert_eq!(home.status(), 200);
    let csp = home.headers()["content-security-policy"].to_str().expect("ascii").to_owned();
    assert_eq!(home.headers()["x-content-type-options"], "nosniff");
    let html = home.text().await.expect("html");
    assert!(html.contains("Sign in to tradechat"), "signed out, the page renders the sign-in dialog");
    // The hydration script carries the nonce the policy allows.
    let nonce = csp.split("'nonce-").nth(1).and_then(|s| s.split('\'').next()).expect("a nonce in the policy");
    assert!(html.contains(&format!("nonce=\"{nonce}\"")), "scripts carry the policy's nonce");
    assert!(csp.contains("img-src 'self' data:"), "{csp}");
    assert!(html.contains("/pkg/tradechat.js"), "hydration script is referenced");
    let status = app.client.get(app.url("/status")).send().await.expect("request");
    assert!(
        status.text().await.expect("html").contains("PostgreSQL"),
        "the status page renders its data on the server"
    );

    let missing = app.client.get(app.url("/no/such/page")).send().await.expect("request");
    assert_eq!(missing.status(), 404);
}

/// The value of the sample `name{labels}` in a Prometheus text page (0 when absent).
fn sample(page: &str, series: &str) -> f64 {
    page.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_count_runs_and_refusals_and_are_served_only_locally_or_with_the_token() {
    let app = spawn_app_with(AppOptions {
        env: vec![("METRICS_TOKEN".into(), "scrape-secret".into()), ("RATE_LIMIT_PER_MINUTE".into(), "1".into())],
        ..AppOptions::default()
    })
    .await;
    let scrape = || async {
        let response = app.client.get(app.url("/metrics")).send().await.expect("scrape");
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"].to_str().is_ok_and(|t| t.starts_with("text/plain; version=0.0.4")));
        response.text().await.expect("page")
    };
    let before = scrape().await;
    for gauge in ["tradechat_log_writer_queue_depth", "tradechat_postgres_pool_max", "tradechat_duckdb_slots"] {
        assert!(before.lines().any(|l| l.starts_with(&format!("{gauge} "))), "{gauge} in {before}");
    }

    let user = crate::helpers::TestUser::sign_up(&app, "metrics@example.com").await;
    let events = user.ask("What was the latest close of NOVA?").await;
    assert!(events.iter().any(|e| e.event == "done"), "{events:?}");
    assert_eq!(user.start("and again, at once").await.status(), 429);
    // The run's record reaches the recorder as the run ends, just before `done` goes out.
    let after = scrape().await;
    let runs = "tradechat_runs_total{status=\"ok\"}";
    assert!(sample(&after, runs) >= sample(&before, runs) + 1.0, "{after}");
    let refusals = "tradechat_admission_refusals_total{reason=\"rate\"}";
    assert!(sample(&after, refusals) >= sample(&before, refusals) + 1.0, "{after}");
    assert!(after.contains("tradechat_run_duration_seconds_bucket{le="), "a histogram: {after}");
    assert!(after.contains("tradechat_tokens_total{model="), "{after}");
    assert!(!after.contains("metrics@example.com") && !after.contains(&user_id_of(&app).await), "no user in labels");

    // Through a proxy (a forwarding header), only with the token.
    let via_proxy = |token: Option<&str>| {
        let mut request = app.client.get(app.url("/metrics")).header("x-forwarded-for", "203.0.113.9");
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    assert_eq!(via_proxy(None).await.expect("scrape").status(), 403);
    assert_eq!(via_proxy(Some("wrong")).await.expect("scrape").status(), 403);
    assert_eq!(via_proxy(Some("scrape-secret")).await.expect("scrape").status(), 200);
}

async fn user_id_of(app: &crate::helpers::TestApp) -> String {
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM auth.users WHERE email = 'metrics@example.com'")
        .fetch_one(&app.state.db)
        .await
        .expect("user");
    id.to_string()
}
