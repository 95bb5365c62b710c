//! Memory under oversized results: 8 users at once each re-run a step and ask a question whose query returns
//! 20 rows of 20 MB text (`SELECT repeat('x', 20000000) AS s FROM range(20)`, 400 MB per result). Prints the
//! process's RSS before, its peak while they run (sampled every 20 ms) and after, against the stated bound: the
//! server's own share stays within a few MB per result — cells are cut to 4 KiB before they leave DuckDB, results
//! to 256 KiB, a run's events to 512 KiB — so the growth is DuckDB's working memory (`DUCKDB_MEMORY_LIMIT`) plus
//! that.
//!
//! Run: `source scripts/env.sh && export DATABASE_URL=$(scripts/pg start bench) && cargo bench --features ssr --bench oversized_results`
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tradechat::server::agent::fake_anthropic::{FakeAnthropic, Reply, sse};

#[path = "support.rs"]
mod support;

const SECRET: &str = "bench-secret-bench-secret-bench-secret-123";
const HUGE: &str = "SELECT repeat('x', 20000000) AS s FROM range(20)";
const USERS: usize = 8;
const DUCKDB_MEMORY_LIMIT_MIB: f64 = 512.0;
/// What the server itself may add on top of DuckDB's working memory.
const SERVER_SHARE_MIB: f64 = 128.0;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let fake = FakeAnthropic::start().await.expect("fake");
        let round = sse::tool_round("toolu_1", "run_sql", &serde_json::json!({ "sql": HUGE }), 100, 5);
        let mut replies = Vec::new();
        for _ in 0..USERS {
            replies.push(Reply::Stream { frames: round.clone(), chunk: usize::MAX, delay: Duration::ZERO });
            replies.push(Reply::Stream {
                frames: sse::text_answer("That was large.", 100, 5),
                chunk: usize::MAX,
                delay: Duration::ZERO,
            });
        }
        fake.script(replies);
        let (base, state) = support::spawn(&[
            ("ANTHROPIC_API_KEY", "bench".into()),
            ("ANTHROPIC_BASE_URL", fake.base_url.clone()),
            ("AUTH_JWT_SECRET", SECRET.into()),
            ("DUCKDB_MEMORY_LIMIT", format!("{DUCKDB_MEMORY_LIMIT_MIB}MB")),
            ("QUERY_TIMEOUT_SECS", "60".into()),
        ])
        .await;
        let tokens = support::users(&state, SECRET, &base, USERS).await;
        let client = reqwest::Client::new();
        let before = support::rss_mib();

        let peak = Arc::new(std::sync::Mutex::new(before));
        let sampling = Arc::new(AtomicBool::new(true));
        let sampler = {
            let (peak, sampling) = (Arc::clone(&peak), Arc::clone(&sampling));
            tokio::spawn(async move {
                while sampling.load(Ordering::Relaxed) {
                    let now = support::rss_mib();
                    {
                        let mut p = peak.lock().expect("lock");
                        *p = p.max(now);
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        };
        let mut tasks = Vec::new();
        for token in &tokens {
            let (client, token, base) = (client.clone(), token.clone(), base.clone());
            tasks.push(tokio::spawn(async move {
                let input = serde_json::json!({ "sql": HUGE }).to_string();
                let rerun = client
                    .post(format!("{base}/api/tools/rerun"))
                    .bearer_auth(&token)
                    .form(&[("name", "run_sql"), ("input", input.as_str()), ("rows", "10000")])
                    .send()
                    .await
                    .expect("rerun");
                let (rerun_status, rerun_bytes) = (rerun.status().as_u16(), rerun.bytes().await.map_or(0, |b| b.len()));
                let chat = client
                    .post(format!("{base}/chat/stream"))
                    .bearer_auth(&token)
                    .json(&serde_json::json!({"message": "show me something huge"}))
                    .send()
                    .await
                    .expect("chat");
                let chat_bytes = chat.bytes().await.map_or(0, |b| b.len());
                (rerun_status, rerun_bytes, chat_bytes)
            }));
        }
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.expect("task"));
        }
        sampling.store(false, Ordering::Relaxed);
        sampler.await.expect("sampler");
        let after = support::rss_mib();
        let peak = *peak.lock().expect("lock");
        for (i, (status, rerun_bytes, chat_bytes)) in outcomes.iter().enumerate() {
            println!("user {i}: re-run {status}, {rerun_bytes} bytes; chat stream {chat_bytes} bytes");
        }
        let growth = peak - before;
        println!(
            "RSS before {before:.1} MiB, peak {peak:.1} MiB (+{growth:.1}), after {after:.1} MiB; \
             bound: DuckDB {DUCKDB_MEMORY_LIMIT_MIB:.0} MiB + server {SERVER_SHARE_MIB:.0} MiB = {:.0} MiB -> {}",
            DUCKDB_MEMORY_LIMIT_MIB + SERVER_SHARE_MIB,
            if growth <= DUCKDB_MEMORY_LIMIT_MIB + SERVER_SHARE_MIB { "within" } else { "EXCEEDED" }
        );
    });
}
