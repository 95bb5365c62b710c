//! The chat-log writer against real Postgres: batching, exactly-once, outage and shutdown without loss.
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use tradechat::api::reasons::{ModelFailure, RunFailure};
use tradechat::server::store::log_writer::{ChatLogWriter, WriterConfig};

use crate::helpers::{create_user, fresh_pool, log_record, pool_for};

fn fast_config() -> WriterConfig {
    WriterConfig {
        queue_capacity: 20_000,
        batch_size: 250,
        flush_interval: Duration::from_millis(20),
        retry_delays: vec![Duration::from_millis(50), Duration::from_millis(100)],
        replay_interval: Duration::from_millis(200),
        id_block: 500,
        flush_timeout: Duration::from_millis(800),
        flushers: 2,
    }
}

async fn count_logs(pool: &sqlx::PgPool) -> (i64, i64) {
    sqlx::query_as("SELECT count(*), count(DISTINCT id) FROM chat_logs").fetch_one(pool).await.expect("count")
}

async fn wait_for_rows(pool: &sqlx::PgPool, expected: i64, within: Duration) -> (i64, i64) {
    let deadline = Instant::now() + within;
    loop {
        let counted = count_logs(pool).await;
        if counted.0 >= expected || Instant::now() > deadline {
            return counted;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn ten_thousand_records_arrive_exactly_once_in_many_batches() {
    let pool = fresh_pool().await;
    let user = create_user(&pool, "writer@example.com").await;
    let dir = tempfile::tempdir().expect("temp dir");
    // A generous flush timeout: this test is about batching and exactly-once, not outages (a flush that timed out
    // on a busy machine after Postgres committed it would be retried and count as a skipped duplicate).
    let config = WriterConfig { flush_timeout: Duration::from_secs(30), ..fast_config() };
    let (writer, task) = ChatLogWriter::start(pool.clone(), dir.path(), config).await;
    for i in 0..10_000 {
        let id = writer.reserve_id();
        let mut record = log_record(0, user.user_id, &format!("question {i}"));
        record.id = id;
        writer.enqueue(record).await;
    }
    let counted = wait_for_rows(&pool, 10_000, Duration::from_secs(60)).await;
    task.shutdown(Duration::from_secs(5)).await;
    assert_eq!(counted, (10_000, 10_000), "every record once");
    let metrics = writer.metrics();
    assert_eq!(metrics.inserted + metrics.duplicates_skipped, 10_000, "{metrics:?}");
    assert!(metrics.batches >= 40, "batched: {} batches", metrics.batches);
    assert!(metrics.max_batch_size <= 250);
    assert_eq!((metrics.spooled, metrics.lost), (0, 0));
}

#[tokio::test]
async fn shutdown_with_a_full_queue_loses_nothing() {
    let pool = fresh_pool().await;
    let user = create_user(&pool, "drain@example.com").await;
    let dir = tempfile::tempdir().expect("temp dir");
    // Another session holds the table: every insert blocks, so the queue fills up and stays full.
    let mut blocker = pool.begin().await.expect("begin");
    sqlx::query("LOCK TABLE chat_logs IN ACCESS EXCLUSIVE MODE").execute(&mut *blocker).await.expect("lock");
    let config = WriterConfig { queue_capacity: 50, batch_size: 20, ..fast_config() };
    let (writer, task) = ChatLogWriter::start(pool.clone(), dir.path(), config.clone()).await;
    for i in 0..500 {
        let id = writer.reserve_id();
        let mut record = log_record(0, user.user_id, &format!("q{i}"));
        record.id = id;
        writer.enqueue(record).await;
    }
    assert!(writer.metrics().queue_depth > 0, "the queue is holding records at shutdown");
    task.shutdown(Duration::from_secs(3)).await;
    // After the stop, a late record (an in-flight run finishing) still lands safely in the spool.
    let mut late = log_record(0, user.user_id, "late");
    late.id = writer.reserve_id();
    writer.enqueue(late).await;
    let metrics = writer.metrics();
    assert!(metrics.spooled >= 400, "overflow and the undrainable rest went to the spool: {metrics:?}");
    assert_eq!(metrics.lost, 0);
    blocker.rollback().await.expect("unlock");

    // The next start replays the spool: every record is there once.
    let (_writer, task) = ChatLogWriter::start(pool.clone(), dir.path(), config).await;
    let counted = wait_for_rows(&pool, 501, Duration::from_secs(30)).await;
    task.shutdown(Duration::from_secs(5)).await;
    assert_eq!(counted, (501, 501));
}

#[tokio::test]
async fn a_replayed_spool_never_duplicates_rows() {
    let pool = fresh_pool().await;
    let user = create_user(&pool, "replay@example.com").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let (writer, task) = ChatLogWriter::start(pool.clone(), dir.path(), fast_config()).await;
    let mut records = Vec::new();
    for i in 0..20 {
        let mut r = log_record(0, user.user_id, &format!("dup {i}"));
        r.id = writer.reserve_id();
        records.push(r.clone());
        writer.enqueue(r).await;
    }
    wait_for_rows(&pool, 20, Duration::from_secs(10)).await;
    task.shutdown(Duration::from_secs(5)).await;
    // Simulate a crash after insert but before the spool was removed: the same records are in the spool again,
    // plus one that never reached Postgres and has no id yet.
    let spool = dir.path().join("chat-log-spool.jsonl");
    let mut lines: Vec<String> = records.iter().map(|r| serde_json::to_string(r).expect("json")).collect();
    let mut without_id = log_record(0, user.user_id, "spooled without id");
    without_id.id = None;
    lines.push(serde_json::to_string(&without_id).expect("json"));
    lines.push("{\"torn\": tr".into());
    std::fs::write(&spool, lines.join("\n") + "\n").expect("write spool");
    let (writer, task) = ChatLogWriter::start(pool.clone(), dir.path(), fast_config()).await;
    task.shutdown(Duration::from_secs(5)).await;
    assert_eq!(count_logs(&pool).await, (21, 21));
    assert_eq!(writer.metrics().spool_malformed, 1);
    assert!(!spool.exists() && !dir.path().join("chat-log-spool.replaying.jsonl").exists());
}

/// A record Postgres can never take (its user is gone) is set aside; the records batched with it, and every later
/// one, are stored as usual. Text with NUL characters (which Postgres text cannot hold) is stored without them.
#[tokio::test]
async fn a_record_postgres_refuses_is_set_aside_without_holding_back_the_others() {
    let pool = fresh_pool().await;
    let user = create_user(&pool, "poison@example.com").await;
    let dir = tempfile::tempdir().expect("temp dir");
    // A long flush interval puts all the records in one batch.
    let config = WriterConfig { flush_interval: Duration::from_millis(300), ..fast_config() };
    let (writer, task) = ChatLogWriter::start(pool.clone(), dir.path(), config).await;
    let record = |question: String, user_id| {
        let mut r = log_record(0, user_id, &question);
        r.id = writer.reserve_id();
        r
    };
    let mut with_nul = record("nul\0 question".into(), user.user_id);
    with_nul.response = "an answer\0 with NUL".into();
    with_nul.tools_used = serde_json::json!([{"name": "run_sql", "input": {"sql\0": "SELECT '\0'"}}]);
    // A provider's words in a failure are stored too (jsonb refuses U+0000 as text does).
    with_nul.failure = Some(RunFailure::Model(ModelFailure::Reported { detail: "model\0 text".into() }));
    let orphan = record("from a deleted user".into(), uuid::Uuid::new_v4());
    let orphan_id = orphan.id;
    let mut batch = vec![record("before".into(), user.user_id), orphan, with_nul];
    batch.extend((0..5).map(|i| record(format!("after {i}"), user.user_id)));
    for r in batch {
        writer.enqueue(r).await;
    }
    let counted = wait_for_rows(&pool, 7, Duration::from_secs(10)).await;
    // And the writer keeps writing normally afterwards (not degraded, nothing spooled).
    writer.enqueue(record("later".into(), user.user_id)).await;
    let counted_later = wait_for_rows(&pool, 8, Duration::from_secs(10)).await;
    task.shutdown(Duration::from_secs(5)).await;
    assert_eq!((counted, counted_later), ((7, 7), (8, 8)));
    let metrics = writer.metrics();
    assert_eq!((metrics.rejected, metrics.spooled, metrics.lost, metrics.degraded), (1, 0, 0, false));
    let stored: (String, String, serde_json::Value, serde_json::Value) =
        sqlx::query_as("SELECT question, response, tools_used, failure FROM chat_logs WHERE question LIKE 'nul%'")
            .fetch_one(&pool)
            .await
            .expect("the NUL record is stored");
    assert_eq!(stored.0, "nul question");
    assert_eq!(stored.1, "an answer with NUL");
    assert_eq!(stored.2, serde_json::json!([{"name": "run_sql", "input": {"sql": "SELECT ''"}}]));
    assert_eq!(stored.3, serde_json::json!({ "model": { "kind": "reported", "detail": "model text" } }));
    let rejected = std::fs::read_to_string(dir.path().join("chat-log-rejected.jsonl")).expect("rejected file");
    let line: serde_json::Value = serde_json::from_str(rejected.trim()).expect("one JSON line");
    assert_eq!(line["record"]["id"], serde_json::json!(orphan_id));
    assert!(line["error"].as_str().is_some_and(|e| e.contains("foreign key")), "{line}");
}

/// Stops the real Postgres server in the middle of a stream of records and restarts it: every record arrives.
#[tokio::test]
async fn records_survive_postgres_stopping_mid_stream() {
    let name = format!("writer-outage-{}", std::process::id());
    let data = tempfile::tempdir().expect("temp dir");
    // A cluster of its own (TRADECHAT_DATA is set for the script's process only): stopping it disturbs no other test.
    let url = pg_script_with_data(data.path(), &["start", &name]);
    let pool = pool_for(&url).await;
    let user = create_user(&pool, "outage@example.com").await;
    let spool_dir = tempfile::tempdir().expect("spool dir");
    let (writer, task) = ChatLogWriter::start(pool.clone(), spool_dir.path(), fast_config()).await;

    let mut sent = 0;
    for _ in 0..300 {
        let mut r = log_record(0, user.user_id, &format!("before {sent}"));
        r.id = writer.reserve_id();
        writer.enqueue(r).await;
        sent += 1;
    }
    pg_script_with_data(data.path(), &["stop", &name]);
    // Records keep coming for four seconds of outage: longer than every retry, so the spool must take them.
    for _ in 0..40 {
        for _ in 0..10 {
            let started = Instant::now();
            let mut r = log_record(0, user.user_id, &format!("during {sent}"));
            r.id = writer.reserve_id();
            writer.enqueue(r).await;
            assert!(started.elapsed() < Duration::from_secs(3), "enqueue must not wait on a down Postgres");
            sent += 1;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(writer.metrics().degraded, "the writer noticed the outage");
    pg_script_with_data(data.path(), &["start", &name]);
    for _ in 0..100 {
        let mut r = log_record(0, user.user_id, &format!("after {sent}"));
        r.id = writer.reserve_id();
        writer.enqueue(r).await;
        sent += 1;
    }
    let counted = wait_for_rows(&pool, sent, Duration::from_secs(60)).await;
    let metrics = writer.metrics();
    task.shutdown(Duration::from_secs(5)).await;
    pg_script_with_data(data.path(), &["reset", &name]);
    assert_eq!(counted, (sent, sent), "every record arrived exactly once; {metrics:?}");
    assert!(metrics.spooled > 0, "the outage was bridged by the spool: {metrics:?}");
    assert_eq!(metrics.lost, 0);
}

fn pg_script_with_data(data: &Path, args: &[&str]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pg");
    let out = Command::new(&script).env("TRADECHAT_DATA", data).args(args).output().expect("run scripts/pg");
    assert!(out.status.success(), "scripts/pg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
