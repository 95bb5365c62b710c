//! Shared set-up for the benchmarks: a migrated database on `DATABASE_URL`'s cluster, and the real app on a
//! loopback port. Included by each bench with `#[path]`.
#![allow(dead_code)]

use std::time::Duration;

use leptos::prelude::LeptosOptions;
use tokio_util::sync::CancellationToken;
use tradechat::server::config::Config;
use tradechat::server::startup;
use tradechat::server::state::AppState;

/// A fresh database in the cluster of `DATABASE_URL`.
pub async fn fresh_database(label: &str) -> String {
    use sqlx::Connection;
    let base =
        std::env::var("DATABASE_URL").expect("DATABASE_URL: run `source scripts/env.sh && scripts/pg start bench`");
    let name = format!("bench_{label}_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&base).await.expect("connect");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create database");
    let (prefix, _) = base.rsplit_once('/').expect("database URL");
    format!("{prefix}/{name}")
}

/// Bearer tokens for `n` users created directly in `auth.users`, each with a live session (tokens without one are
/// refused: a session that cannot end is not a session).
pub async fn users(state: &AppState, secret: &str, site: &str, n: usize) -> Vec<String> {
    let ids: Vec<(uuid::Uuid, uuid::Uuid)> = sqlx::query_as(
        "WITH u AS (INSERT INTO auth.users (email) SELECT 'bench' || g || '@example.com' FROM generate_series(1, $1) g
                    RETURNING id)
         INSERT INTO tradechat_auth.sessions (id, user_id) SELECT gen_random_uuid(), id FROM u RETURNING user_id, id",
    )
    .bind(n as i64)
    .fetch_all(&state.db)
    .await
    .expect("users");
    let now = chrono::Utc::now().timestamp();
    ids.into_iter()
        .map(|(id, session)| {
            let claims = serde_json::json!({"sub": id, "aud": "authenticated", "role": "authenticated", "exp": now + 86_400,
                "iat": now, "iss": format!("{site}/auth/v1"), "email": format!("{id}@example.com"), "session_id": session});
            jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes())).expect("token")
        })
        .collect()
}

/// Resident set size of this process in MiB.
pub fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The p-th percentile of sorted durations, in ms.
pub fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1e3
}

/// The real app with `vars` (plus a fresh database unless given), served on a loopback port.
pub async fn spawn(vars: &[(&str, String)]) -> (String, AppState) {
    let mut vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    if !vars.iter().any(|(k, _)| k == "DATABASE_URL") {
        vars.push(("DATABASE_URL".into(), fresh_database("app").await));
    }
    let data = tempfile::tempdir().expect("temp dir").keep();
    vars.push(("DATA_DIR".into(), data.display().to_string()));
    if !vars.iter().any(|(k, _)| k == "DATABASE_PATH") {
        let path = data.join("trading.duckdb");
        let end = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).expect("date");
        let options = tradechat::server::demo_data::Options {
            scale: 0.2,
            minute_days: 5,
            ..tradechat::server::demo_data::Options::ending(end)
        };
        tradechat::server::demo_data::generate(&path, &options).expect("demo data");
        vars.push(("DATABASE_PATH".into(), path.display().to_string()));
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    vars.push(("SITE_URL".into(), format!("http://{addr}")));
    let config =
        Config::from_lookup(|k| vars.iter().rev().find(|(n, _)| n == k).map(|(_, v)| v.clone())).expect("config");
    let options = LeptosOptions::builder().output_name("tradechat").site_root("target/site").build();
    let app = startup::build(config, options, CancellationToken::new()).await.expect("build");
    let state = app.state.clone();
    tokio::spawn(startup::serve(listener, app));
    (format!("http://{addr}"), state)
}
