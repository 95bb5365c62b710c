//! Chat-log writer benchmark against the real table (its indexes, rollup triggers and full-text index): sustained
//! throughput with one and with two flushers against one INSERT per row, the enqueue latency a run sees while
//! Postgres is slow (table locked) or down, and a 30-second stop of the Postgres server mid-stream (every record
//! must arrive).
//!
//! Run: `source scripts/env.sh && export DATABASE_URL=$(scripts/pg start bench) && cargo bench --features ssr --bench log_writer`
use std::time::{Duration, Instant};

use tradechat::server::store::chat_logs::{self, ChatLogRecord};
use tradechat::server::store::log_writer::{ChatLogWriter, WriterConfig};

#[path = "support.rs"]
mod support;

fn record(user: uuid::Uuid, i: usize) -> ChatLogRecord {
    ChatLogRecord {
        id: None,
        user_id: user,
        conversation_id: None,
        conversation_title: None,
        question: format!("What was the 30-day return of NOVA? ({i})"),
        response: "NOVA returned 4.2 % over the last 30 days, from 182.40 to 190.06.".repeat(4),
        tools_used: serde_json::json!([{"name": "run_sql", "input": {"sql": "SELECT 1"}, "duration_ms": 12, "ok": true, "rows": 1}]),
        checks: None,
        input_tokens: Some(2_400),
        output_tokens: Some(180),
        cache_creation_tokens: Some(0),
        cache_read_tokens: Some(1_800),
        cost: Some(rust_decimal::Decimal::new(3_480, 6)),
        model: "claude-haiku-4-5-20251001".into(),
        status: tradechat::domain::RunStatus::Ok,
        error: None,
        failure: None,
        duration_ms: Some(2_100),
        created_at: chrono::Utc::now().naive_utc(),
    }
}

async fn count(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM chat_logs").fetch_one(pool).await.expect("count")
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let url = support::fresh_database("writer").await;
        let vars = [("DATABASE_URL", url.clone())];
        let config = tradechat::server::config::Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .expect("config");
        let pool = tradechat::server::store::connect_and_migrate(&config).await.expect("migrate");
        let user: uuid::Uuid = sqlx::query_scalar("INSERT INTO auth.users (email) VALUES ('bench@example.com') RETURNING id")
            .fetch_one(&pool)
            .await
            .expect("user");

        // One INSERT per row.
        let n_single = 5_000;
        let started = Instant::now();
        let ids: Vec<i64> = sqlx::query_scalar("SELECT nextval('chat_logs_id_seq') FROM generate_series(1, $1)")
            .bind(n_single as i64)
            .fetch_all(&pool)
            .await
            .expect("ids");
        for (i, id) in ids.iter().enumerate() {
            let mut r = record(user, i);
            r.id = Some(*id);
            chat_logs::insert_one(&mut pool.acquire().await.expect("conn"), &r).await.expect("insert");
        }
        let single = n_single as f64 / started.elapsed().as_secs_f64();
        println!("one INSERT per row:        {single:>9.0} rows/s ({n_single} rows)");

        // The writer, sustained: the producer keeps the queue at most half full (so nothing spills to the spool and
        // the figure is what the writer stores, not what the queue absorbs).
        let mut writers = Vec::new();
        for flushers in [1, 2] {
            let dir = tempfile::tempdir().expect("dir");
            let config = WriterConfig { flushers, ..WriterConfig::default() };
            let (writer, task) = ChatLogWriter::start(pool.clone(), dir.path(), config).await;
            let n = 60_000;
            let rate = sustained(&pool, &writer, user, n).await;
            let m = writer.metrics();
            println!(
                "writer, {flushers} flusher(s):       {rate:>9.0} rows/s ({n} rows, {} batches, max batch {}, max flush {:.1} ms, spooled {}) = {:.1}x",
                m.batches, m.max_batch_size, m.max_flush_ms, m.spooled, rate / single
            );
            writers.push((writer, task));
        }
        let (writer, task) = writers.pop().expect("the two-flusher writer");
        for (_, task) in writers {
            task.shutdown(Duration::from_secs(10)).await;
        }

        // Enqueue latency while Postgres is slowed: another session holds the table for 5 s.
        let mut blocker = pool.begin().await.expect("begin");
        sqlx::query("LOCK TABLE chat_logs IN ACCESS EXCLUSIVE MODE").execute(&mut *blocker).await.expect("lock");
        let mut latencies = Vec::new();
        let until = Instant::now() + Duration::from_secs(5);
        let mut i = 0;
        while Instant::now() < until {
            let mut r = record(user, i);
            r.id = writer.reserve_id();
            let t = Instant::now();
            writer.enqueue(r).await;
            latencies.push(t.elapsed());
            i += 1;
            if i % 100 == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        blocker.rollback().await.expect("unlock");
        latencies.sort();
        println!(
            "enqueue while slowed:      p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms ({} records; spooled {})",
            support::pct(&latencies, 0.5),
            support::pct(&latencies, 0.99),
            latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
            latencies.len(),
            writer.metrics().spooled
        );
        task.shutdown(Duration::from_secs(30)).await;

        // Enqueue latency while Postgres is down: a writer whose pool points at a closed port.
        let down = sqlx::postgres::PgPoolOptions::new()
            .acquire_timeout(Duration::from_secs(1))
            .connect_lazy("postgres://nobody@127.0.0.1:9/none")
            .expect("lazy pool");
        let dir = tempfile::tempdir().expect("dir");
        let (writer, task) = ChatLogWriter::start(down, dir.path(), WriterConfig::default()).await;
        let mut latencies = Vec::new();
        for i in 0..20_000 {
            let t = Instant::now();
            writer.enqueue(record(user, i)).await;
            latencies.push(t.elapsed());
        }
        latencies.sort();
        println!(
            "enqueue while down:        p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms (20000 records; spooled {}, lost {})",
            support::pct(&latencies, 0.5),
            support::pct(&latencies, 0.99),
            latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
            writer.metrics().spooled,
            writer.metrics().lost
        );
        task.shutdown(Duration::from_secs(10)).await;

        outage_of_thirty_seconds().await;
    });
}

/// Enqueues `n` records as fast as the writer stores them; rows per second, counted in the table.
async fn sustained(pool: &sqlx::PgPool, writer: &ChatLogWriter, user: uuid::Uuid, n: usize) -> f64 {
    let before = count(pool).await;
    let started = Instant::now();
    for i in 0..n {
        while writer.metrics().queue_depth * 2 > writer.metrics().queue_capacity {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let mut r = record(user, i);
        r.id = writer.reserve_id();
        writer.enqueue(r).await;
    }
    while count(pool).await < before + n as i64 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    n as f64 / started.elapsed().as_secs_f64()
}

/// A Postgres server of its own, stopped for 30 s while records keep coming at a steady 2 000 a second: every
/// record must be in the table exactly once afterwards.
async fn outage_of_thirty_seconds() {
    let data = tempfile::tempdir().expect("cluster dir");
    let name = format!("bench-outage-{}", std::process::id());
    let url = pg_script(data.path(), &["start", &name]);
    let vars = [("DATABASE_URL", url)];
    let config =
        tradechat::server::config::Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .expect("config");
    let pool = tradechat::server::store::connect_and_migrate(&config).await.expect("migrate");
    let user: uuid::Uuid =
        sqlx::query_scalar("INSERT INTO auth.users (email) VALUES ('outage@example.com') RETURNING id")
            .fetch_one(&pool)
            .await
            .expect("user");
    let spool = tempfile::tempdir().expect("spool dir");
    let (writer, task) = ChatLogWriter::start(pool.clone(), spool.path(), WriterConfig::default()).await;
    let mut sent = 0usize;
    let started = Instant::now();
    let mut stopped_at = None;
    let mut restarted_at = None;
    let mut slowest = Duration::ZERO;
    while started.elapsed() < Duration::from_secs(50) {
        for _ in 0..20 {
            let mut r = record(user, sent);
            r.id = writer.reserve_id();
            let t = Instant::now();
            writer.enqueue(r).await;
            slowest = slowest.max(t.elapsed());
            sent += 1;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        if stopped_at.is_none() && started.elapsed() > Duration::from_secs(10) {
            pg_script(data.path(), &["stop", &name]);
            stopped_at = Some(started.elapsed());
        }
        if restarted_at.is_none() && stopped_at.is_some_and(|s| started.elapsed() > s + Duration::from_secs(30)) {
            pg_script(data.path(), &["start", &name]);
            restarted_at = Some(started.elapsed());
        }
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    let (rows, distinct): (i64, i64) = loop {
        let counted: Result<(i64, i64), _> =
            sqlx::query_as("SELECT count(*), count(DISTINCT id) FROM chat_logs").fetch_one(&pool).await;
        match counted {
            Ok(c) if c.0 >= sent as i64 || Instant::now() > deadline => break c,
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    let m = writer.metrics();
    task.shutdown(Duration::from_secs(10)).await;
    pg_script(data.path(), &["reset", &name]);
    println!(
        "postgres stopped 30 s:     {sent} sent, {rows} rows ({distinct} distinct), spooled {}, replayed {}, lost {}, slowest enqueue {:.2} ms",
        m.spooled,
        m.replayed,
        m.lost,
        slowest.as_secs_f64() * 1e3
    );
    assert_eq!((rows, distinct), (sent as i64, sent as i64), "every record arrives exactly once");
}

fn pg_script(data: &std::path::Path, args: &[&str]) -> String {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pg");
    let out = std::process::Command::new(&script).env("TRADECHAT_DATA", data).args(args).output().expect("scripts/pg");
    assert!(out.status.success(), "scripts/pg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
