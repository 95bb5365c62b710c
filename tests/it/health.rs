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
