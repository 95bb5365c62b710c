//! Agent/stream benchmark with the fake Messages API streaming instantly: runs per second and p50/p99
//! time-to-first-byte of `POST /chat/stream` at 1, 50 and 500 concurrent streams, and RSS over 10 000 sequential
//! runs and before/after 100 000 runs (admission, agent loop, SSE, chat-log writer and settlement all included).
//!
//! Run: `source scripts/env.sh && export DATABASE_URL=$(scripts/pg start bench) && cargo bench --features ssr --bench agent_runs`
//! (`BENCH_TOTAL_RUNS=20000` for a shorter run).
use std::sync::Arc;
use std::time::{Duration, Instant};

use tradechat::server::agent::fake_anthropic::{FakeAnthropic, Reply, sse};

#[path = "support.rs"]
mod support;

const SECRET: &str = "bench-secret-bench-secret-bench-secret-123";

/// Runs one question to the end; returns the time to the first byte of the stream, or the status of a refusal
/// (under overload the server sheds load with 503 rather than queueing without bound).
async fn one_run(client: &reqwest::Client, url: &str, token: &str) -> Result<Duration, u16> {
    let started = Instant::now();
    let mut response = client
        .post(url)
        .bearer_auth(token)
        .json(&serde_json::json!({"message": "What is the latest price of NOVA?"}))
        .send()
        .await
        .expect("post");
    if response.status() != 200 {
        return Err(response.status().as_u16());
    }
    let mut ttfb = None;
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.expect("chunk") {
        ttfb.get_or_insert_with(|| started.elapsed());
        body.extend_from_slice(&chunk);
        if body.windows(11).any(|w| w == b"event: done") {
            break;
        }
    }
    Ok(ttfb.unwrap_or_else(|| started.elapsed()))
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let fake = FakeAnthropic::start().await.expect("fake");
        // Instantly: the whole SSE body in one write.
        fake.set_default(Reply::Stream {
            frames: sse::text_answer("NOVA closed at 182.40 on 2026-11-20.", 1_200, 30),
            chunk: usize::MAX,
            delay: Duration::ZERO,
        });
        fake.record_requests(false);
        let (base, state) = support::spawn(&[
            ("ANTHROPIC_API_KEY", "bench".into()),
            ("ANTHROPIC_BASE_URL", fake.base_url.clone()),
            ("AUTH_JWT_SECRET", SECRET.into()),
            ("RATE_LIMIT_PER_MINUTE", "1000000".into()),
            ("MAX_CONCURRENT_RUNS", "100000".into()),
            ("DAILY_BUDGET_USD", "0".into()),
            ("MONTHLY_BUDGET_USD", "0".into()),
            ("COST_ALERT_USD", "0".into()),
            ("COST_ALERT_TOTAL_USD", "0".into()),
            ("DATABASE_MAX_CONNECTIONS", "40".into()),
            ("LOG_FORMAT", "text".into()),
        ])
        .await;
        let tokens = Arc::new(support::users(&state, SECRET, &base, 500).await);
        let client = reqwest::Client::builder().pool_max_idle_per_host(600).build().expect("client");
        let url = format!("{base}/chat/stream");
        // Warm-up.
        for t in tokens.iter().take(20) {
            let _ = one_run(&client, &url, t).await;
        }

        println!("{:>11} {:>10} {:>10} {:>10} {:>9}", "concurrency", "runs/s", "p50 ms", "p99 ms", "refused");
        for concurrency in [1usize, 50, 500] {
            let runs_each = (2_000 / concurrency).max(4);
            let started = Instant::now();
            let tasks: Vec<_> = (0..concurrency)
                .map(|w| {
                    let (client, url, tokens) = (client.clone(), url.clone(), Arc::clone(&tokens));
                    tokio::spawn(async move {
                        let token = &tokens[w % tokens.len()];
                        let mut ttfbs = Vec::with_capacity(runs_each);
                        for _ in 0..runs_each {
                            ttfbs.push(one_run(&client, &url, token).await);
                        }
                        ttfbs
                    })
                })
                .collect();
            let mut all = Vec::new();
            let mut refused = 0;
            for t in tasks {
                for outcome in t.await.expect("task") {
                    match outcome {
                        Ok(ttfb) => all.push(ttfb),
                        Err(_) => refused += 1,
                    }
                }
            }
            let rate = all.len() as f64 / started.elapsed().as_secs_f64();
            all.sort();
            println!(
                "{concurrency:>11} {rate:>10.0} {:>10.2} {:>10.2} {refused:>9}",
                support::pct(&all, 0.5),
                support::pct(&all, 0.99)
            );
        }

        // Memory: 10 000 sequential runs, printing RSS as they go; then up to 100 000 in all.
        let total: usize = std::env::var("BENCH_TOTAL_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
        let before = support::rss_mib();
        println!("\nRSS before: {before:.1} MiB (runs in memory: {})", state.agent.runs.len());
        for i in 1..=10_000 {
            let _ = one_run(&client, &url, &tokens[i % tokens.len()]).await;
            if i % 2_500 == 0 {
                println!(
                    "  after {i:>6} sequential runs: RSS {:.1} MiB, runs kept {}",
                    support::rss_mib(),
                    state.agent.runs.len()
                );
            }
        }
        let mut done = 10_000;
        while done < total {
            let batch: Vec<_> = (0..50)
                .map(|w| {
                    let (client, url, token) = (client.clone(), url.clone(), tokens[(done + w) % tokens.len()].clone());
                    tokio::spawn(async move {
                        for _ in 0..20 {
                            let _ = one_run(&client, &url, &token).await;
                        }
                    })
                })
                .collect();
            for t in batch {
                t.await.expect("task");
            }
            done += 1_000;
            if done % 20_000 == 0 {
                println!(
                    "  after {done:>6} runs: RSS {:.1} MiB, runs kept {}",
                    support::rss_mib(),
                    state.agent.runs.len()
                );
            }
        }
        println!("RSS after {total} runs: {:.1} MiB (before {before:.1} MiB)", support::rss_mib());
        let logged: i64 =
            sqlx::query_scalar("SELECT count(*) FROM chat_logs").fetch_one(&state.db).await.expect("count");
        println!("chat_logs rows: {logged}; writer: {:?}", state.log_writer.metrics());
    });
}
