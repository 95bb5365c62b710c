//! Deploys finish answers: the real server binary, a real SIGTERM, answers streaming to their clients meanwhile.
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::Value;
use tradechat::server::agent::fake_anthropic::{FakeAnthropic, Reply, sse};

use crate::helpers::{ServerProcess, pool_for};

/// The server binary with `fake` as its model and `grace_secs` to finish answers at SIGTERM.
async fn start(fake: &FakeAnthropic, grace_secs: u64) -> ServerProcess {
    let env = [
        ("ANTHROPIC_API_KEY", "test-key"),
        ("ANTHROPIC_BASE_URL", fake.base_url.as_str()),
        ("SHUTDOWN_GRACE_SECS", &grace_secs.to_string()),
        ("RATE_LIMIT_PER_MINUTE", "1000"),
        ("MAX_CONCURRENT_RUNS", "100"),
        ("DAILY_BUDGET_USD", "0"),
        ("MONTHLY_BUDGET_USD", "0"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    ServerProcess::start(&env).await
}

/// A model answer of `words` words arriving over about `words × pause`.
fn slow_answer(words: usize, pause: Duration) -> Reply {
    let text = (0..words).map(|i| format!("word{i} ")).collect::<String>();
    // Writes of about one text-delta frame (~110 bytes): a word every `pause`.
    Reply::Stream { frames: sse::text_answer(&text, 100, words as u64), chunk: 110, delay: pause }
}

/// Opens `n` answer streams; returns once each has its first bytes, with tasks that read each to its end.
async fn open_streams(server: &ServerProcess, token: &str, n: usize) -> Vec<tokio::task::JoinHandle<String>> {
    let (started_tx, mut started_rx) = tokio::sync::mpsc::channel(n);
    let mut streams = Vec::new();
    for i in 0..n {
        let request = reqwest::Client::new()
            .post(server.url("/chat/stream"))
            .bearer_auth(token)
            .json(&serde_json::json!({"message": format!("question {i}")}));
        let started = started_tx.clone();
        streams.push(tokio::spawn(async move {
            let response = request.send().await.expect("stream");
            let status = response.status();
            assert_eq!(status, 200, "question {i} was admitted: {}", response.text().await.unwrap_or_default());
            let mut body = response.bytes_stream();
            let mut text = String::new();
            let mut first = true;
            while let Some(Ok(chunk)) = body.next().await {
                text.push_str(&String::from_utf8_lossy(&chunk));
                if std::mem::take(&mut first) {
                    let _ = started.send(()).await;
                }
            }
            text
        }));
    }
    for _ in 0..n {
        tokio::time::timeout(Duration::from_secs(30), started_rx.recv()).await.expect("every stream started");
    }
    streams
}

/// The `done` event's data, if the stream has one as its last event.
fn done_of(stream: &str) -> Option<Value> {
    let last = stream.trim_end().rsplit("\n\n").next()?;
    if !last.lines().any(|l| l == "event: done") {
        return None;
    }
    let data = last.lines().find_map(|l| l.strip_prefix("data: "))?;
    serde_json::from_str(data).ok()
}

/// Runs that other instances would still see as running (`runs_live` rows without an end).
async fn unfinished_runs(database_url: &str) -> i64 {
    let pool = pool_for(database_url).await;
    sqlx::query_scalar("SELECT count(*) FROM runs_live WHERE finished_at IS NULL")
        .fetch_one(&pool)
        .await
        .expect("runs_live")
}

async fn statuses(database_url: &str) -> Vec<(String, i64)> {
    let pool = pool_for(database_url).await;
    sqlx::query_as("SELECT status, count(*) FROM chat_logs GROUP BY 1 ORDER BY 1").fetch_all(&pool).await.expect("logs")
}

#[tokio::test]
async fn sigterm_lets_fifty_streaming_answers_finish_and_refuses_new_questions_meanwhile() {
    let fake = FakeAnthropic::start().await.expect("fake model");
    fake.set_default(slow_answer(30, Duration::from_millis(100)));
    let mut server = start(&fake, 30).await;
    let token = server.sign_up("drain@example.com").await;
    let streams = open_streams(&server, &token, 50).await;

    server.sigterm();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Draining: a new question is refused with a time to come back; the health check takes the instance out.
    let refused = reqwest::Client::new()
        .post(server.url("/chat/stream"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"message": "one more"}))
        .send()
        .await
        .expect("ask while draining");
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("5"));
    let error: Value = refused.json().await.expect("error body");
    assert!(error["error"].as_str().is_some_and(|e| e.contains("restarting")), "{error}");
    let health = reqwest::get(server.url("/healthz")).await.expect("healthz while draining");
    assert_eq!(health.status(), 503);
    let health: Value = health.json().await.expect("health body");
    assert_eq!(health["status"], "draining");

    for (i, stream) in streams.into_iter().enumerate() {
        let text = tokio::time::timeout(Duration::from_secs(30), stream).await.expect("stream ends").expect("reader");
        let done = done_of(&text).unwrap_or_else(|| panic!("stream {i} ended without done: {text}"));
        assert_eq!(done["status"], "ok", "stream {i}: {done}");
        assert!(text.contains("word29"), "stream {i} has the whole answer");
    }
    assert!(server.exited(Duration::from_secs(30)).await, "clean exit: {}", server.log());
    assert_eq!(statuses(&server.database_url).await, vec![("ok".to_owned(), 50)]);
    // The relay wrote each run's end before the exit: no other instance takes them for runs of a dead one.
    assert_eq!(unfinished_runs(&server.database_url).await, 0);
}

#[tokio::test]
async fn answers_still_running_at_the_deadline_end_cancelled_and_are_logged() {
    let fake = FakeAnthropic::start().await.expect("fake model");
    // About 20 s an answer, against a 1 s grace period.
    fake.set_default(slow_answer(100, Duration::from_millis(200)));
    let mut server = start(&fake, 1).await;
    let token = server.sign_up("drain@example.com").await;
    let streams = open_streams(&server, &token, 5).await;

    let signalled = Instant::now();
    server.sigterm();
    for (i, stream) in streams.into_iter().enumerate() {
        let text = tokio::time::timeout(Duration::from_secs(15), stream).await.expect("stream ends").expect("reader");
        let done = done_of(&text).unwrap_or_else(|| panic!("stream {i} ended without done: {text}"));
        assert_eq!(done["status"], "cancelled", "stream {i}: {done}");
    }
    assert!(signalled.elapsed() < Duration::from_secs(10), "ended soon after the 1 s grace period");
    assert!(server.exited(Duration::from_secs(20)).await, "clean exit: {}", server.log());
    assert_eq!(statuses(&server.database_url).await, vec![("cancelled".to_owned(), 5)]);
    assert_eq!(unfinished_runs(&server.database_url).await, 0, "the cancelled runs' ends relayed before the exit");
}
