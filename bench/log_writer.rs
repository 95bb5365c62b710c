//! Chat-log writer benchmark: throughput with batching vs one INSERT per row, and the enqueue latency a run sees
//! while Postgres is slow (table locked) or down.
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
        input_tokens: Some(2_400),
        output_tokens: Some(180),
        cache_creation_tokens: Some(0),
        cache_read_tokens: Some(1_800),
        cost: Some(rust_decimal::Decimal::new(3_480, 6)),
        model: "claude-haiku-4-5-20251001".into(),
        status: tradechat::domain::RunStatus::Ok,
        error: None,
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

        // The writer: batched.
        let dir = tempfile::tempdir().expect("dir");
        let (writer, task) = ChatLogWriter::start(pool.clone(), dir.path(), WriterConfig::default()).await;
        let n_batched = 100_000;
        let before = count(&pool).await;
        let started = Instant::now();
        for i in 0..n_batched {
            let mut r = record(user, i);
            r.id = writer.reserve_id();
            writer.enqueue(r).await;
        }
        while count(&pool).await < before + n_batched as i64 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let batched = n_batched as f64 / started.elapsed().as_secs_f64();
        let m = writer.metrics();
        println!(
            "writer, batched:           {batched:>9.0} rows/s ({n_batched} rows, {} batches, max batch {}, max flush {:.1} ms) = {:.1}x",
            m.batches, m.max_batch_size, m.max_flush_ms, batched / single
        );

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
    });
}
