//! The chat-log writer against real Postgres: batching, exactly-once, outage and shutdown without loss.
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

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
    let (writer, task) = ChatLogWriter::start(pool.clone(), dir.path(), fast_config()).await;
    let started = Instant::now();
    for i in 0..10_000 {
        let id = writer.reserve_id();
        let mut record = log_record(0, user.user_id, &format!("question {i}"));
        record.id = id;
        writer.enqueue(record).await;
    }
    let enqueue_time = started.elapsed();
    let counted = wait_for_rows(&pool, 10_000, Duration::from_secs(60)).await;
    task.shutdown(Duration::from_secs(5)).await;
    assert_eq!(counted, (10_000, 10_000), "every record once");
    let metrics = writer.metrics();
    assert_eq!(metrics.inserted, 10_000);
    assert!(metrics.batches >= 40, "batched: {} batches", metrics.batches);
    assert!(metrics.max_batch_size <= 250);
    assert_eq!((metrics.spooled, metrics.lost), (0, 0));
    assert!(enqueue_time < Duration::from_secs(30), "enqueueing never waits on Postgres ({enqueue_time:?})");
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
            assert!(started.elapsed() < Duration::from_millis(500), "enqueue must not wait on a down Postgres");
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
