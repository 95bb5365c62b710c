//! The DuckDB query layer against a real DuckDB file: guard, hardening, deadlines, JSON values, schema.
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};
use tradechat::server::config::DuckConfig;
use tradechat::server::duck::guard::Rejection;
use tradechat::server::duck::{Duck, DuckError};

use crate::helpers::demo_duckdb;

fn config(path: &std::path::Path) -> DuckConfig {
    DuckConfig {
        path: path.to_path_buf(),
        memory_limit: "512MB".into(),
        threads: 2,
        max_temp_directory_size: "64MB".into(),
        query_timeout: Duration::from_secs(10),
        max_concurrent_queries: 4,
    }
}

fn demo() -> Duck {
    Duck::new(config(demo_duckdb()))
}

#[tokio::test]
async fn the_guard_with_duckdbs_parser_allows_reads_and_refuses_the_rest() {
    let duck = demo();
    let allowed = [
        "SELECT symbol, close FROM daily_bars ORDER BY date DESC LIMIT 3",
        "WITH last AS (SELECT max(date) AS d FROM daily_bars) SELECT count(*) FROM daily_bars, last WHERE date = d",
        "FROM instruments SELECT symbol LIMIT 2",
        "VALUES (1, 'a')",
        "TABLE accounts",
        "DESCRIBE trades",
        "SHOW TABLES",
        "SUMMARIZE accounts",
        "EXPLAIN SELECT * FROM trades",
        "PIVOT (SELECT symbol, side, quantity FROM trades) ON side IN ('buy', 'sell') USING sum(quantity)",
        "UNPIVOT (SELECT 1 AS a, 2 AS b) ON a, b INTO NAME k VALUE v",
        "SELECT 'x; DROP TABLE trades' AS s;",
        "/* comment; */ SELECT 1 -- trailing; comment",
        "SELECT count(*) FROM main.trades",
        "/* explain SELECT 1 -- */ EXPLAIN ANALYZE SELECT count(*) FROM trades",
    ];
    for sql in allowed {
        let result = duck.query(sql, 100).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert!(!result.columns.is_empty(), "{sql}");
    }
    type Expect = fn(&Rejection) -> bool;
    let file: Expect = |r| matches!(r, Rejection::ReadsFile(_));
    let refused: [(&str, Expect); 24] = [
        ("PIVOT trades ON side USING sum(quantity)", |r| *r == Rejection::PivotNeedsIn),
        ("SELECT 1; SELECT 2", |r| *r == Rejection::MultipleStatements),
        ("SELECT 1 /* ; */ ; DELETE FROM trades", |r| *r == Rejection::MultipleStatements),
        ("INSERT INTO trades SELECT * FROM trades", |r| matches!(r, Rejection::NotReadOnly(_))),
        ("WITH d AS (DELETE FROM trades RETURNING *) SELECT * FROM d", |r| matches!(r, Rejection::Syntax(_))),
        ("WITH d AS (SELECT 1) INSERT INTO accounts SELECT * FROM d", |r| matches!(r, Rejection::NotReadOnly(_))),
        ("SELECT * FROM \"read_csv\"('/etc/passwd')", |r| *r == Rejection::ForbiddenFunction("read_csv".into())),
        ("SELECT * FROM main.read_text('/etc/hosts')", |r| *r == Rejection::ForbiddenFunction("read_text".into())),
        ("SELECT (SELECT count(*) FROM glob('/*'))", |r| *r == Rejection::ForbiddenFunction("glob".into())),
        ("ATTACH ':memory:' AS m", |r| matches!(r, Rejection::NotReadOnly(_))),
        ("SELECT FROM WHERE", |r| matches!(r, Rejection::Syntax(_))),
        ("EXPLAIN ANALYZE INSERT INTO accounts VALUES (9)", |r| matches!(r, Rejection::NotReadOnly(_))),
        ("PIVOT trades ON side USING sum(quantity); DROP TABLE trades", |r| *r == Rejection::MultipleStatements),
        // `explain` in a comment must not make the parser check a different statement than the one that runs.
        ("/* explain SELECT 1 -- */ EXPLAIN ANALYZE SELECT * FROM \"read_text\"('/etc/passwd')", |r| {
            *r == Rejection::ForbiddenFunction("read_text".into())
        }),
        ("/* explain SELECT 1 -- */ EXPLAIN ANALYZE SELECT * FROM '/etc/passwd'", file),
        ("/* explain SELECT 1 -- */ EXPLAIN SELECT * FROM main.read_text('/etc/hosts')", |r| {
            *r == Rejection::ForbiddenFunction("read_text".into())
        }),
        // A file named as a table is read by a replacement scan.
        ("SELECT * FROM '/x.csv'", file),
        ("FROM 'data.parquet'", file),
        ("SELECT * FROM \"x.json\"", file),
        ("SELECT * FROM 's3://b/k.csv'", file),
        ("SELECT count(*) FROM trades JOIN '/tmp/x.csv' USING (symbol)", file),
        ("SELECT (SELECT count(*) FROM 'x.parquet')", file),
        ("DESCRIBE '/x.csv'", file),
        ("SUMMARIZE SELECT * FROM 'x.csv'", file),
    ];
    for (sql, expected) in refused {
        match duck.query(sql, 100).await {
            Err(DuckError::Rejected(r)) => assert!(expected(&r), "{sql}: unexpected rejection {r:?}"),
            other => panic!("{sql} should be rejected, got {other:?}"),
        }
    }
    // Nothing above changed the data.
    let trades = duck.query("SELECT count(*) AS n FROM trades", 1).await.expect("count");
    assert!(trades.rows[0][0].as_i64().unwrap_or_default() > 0);
}

#[tokio::test]
async fn the_connection_itself_cannot_read_files_write_or_loosen_its_settings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let secret = dir.path().join("secret.csv");
    std::fs::write(&secret, "a,b\n1,2\n").expect("write csv");
    let path = secret.display().to_string();
    let duck = demo();
    // Straight to the connection: no guard in the way, only the settings it was opened with.
    let attempts = vec![
        format!("SELECT * FROM read_csv('{path}')"),
        format!("SELECT * FROM read_text('{path}')"),
        format!("SELECT * FROM read_blob('{path}')"),
        format!("SELECT * FROM '{path}'"),
        format!("FROM \"{path}\""),
        format!("COPY (SELECT 1) TO '{}'", dir.path().join("out.csv").display()),
        format!("ATTACH '{}' AS other", dir.path().join("other.duckdb").display()),
        "SET enable_external_access = true".to_owned(),
        "SET memory_limit = '100GB'".to_owned(),
        "SET lock_configuration = false".to_owned(),
        "INSTALL httpfs".to_owned(),
        "LOAD httpfs".to_owned(),
        "CREATE TABLE sneaky AS SELECT 1".to_owned(),
        "DELETE FROM trades".to_owned(),
    ];
    for sql in attempts {
        let outcome = duck.run(move |conn| Ok(conn.execute_batch(&sql).map_err(|e| (sql.clone(), e)))).await;
        match outcome {
            Ok(Err((_, _))) => {}
            Ok(Ok(())) => panic!("the hardened connection ran a statement it must refuse"),
            Err(e) => panic!("unexpected failure: {e}"),
        }
    }
    let settings = duck
        .run(|conn| {
            Ok(conn.query_row(
                "SELECT current_setting('enable_external_access')::VARCHAR, current_setting('lock_configuration')::VARCHAR, \
                 current_setting('access_mode')::VARCHAR, current_setting('autoload_known_extensions')::VARCHAR",
                [],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?)),
            )?)
        })
        .await
        .expect("settings");
    assert_eq!(settings, ("false".into(), "true".into(), "read_only".into(), "false".into()));
    // And through the guard, the same file named as a table is refused before it reaches the connection.
    match duck.query(&format!("SELECT * FROM '{path}'"), 10).await {
        Err(DuckError::Rejected(Rejection::ReadsFile(name))) => assert_eq!(name, path),
        other => panic!("a file named as a table must be refused, got {other:?}"),
    }
}

#[tokio::test]
async fn a_slow_query_is_interrupted_near_its_deadline_while_others_keep_running() {
    let mut cfg = config(demo_duckdb());
    cfg.query_timeout = Duration::from_millis(1500);
    let duck = Duck::new(cfg);
    let slow = {
        let duck = duck.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let result = duck.query("SELECT count(*) FROM range(100000000000) a WHERE hash(a.range) % 7 = 3", 10).await;
            (started.elapsed(), result)
        })
    };
    // Meanwhile, quick queries keep answering.
    tokio::time::sleep(Duration::from_millis(200)).await;
    for _ in 0..5 {
        let started = Instant::now();
        duck.query("SELECT max(close) FROM daily_bars", 1).await.expect("quick query");
        assert!(started.elapsed() < Duration::from_millis(1000), "a quick query waited on the slow one");
    }
    let (elapsed, result) = slow.await.expect("join");
    assert!(matches!(result, Err(DuckError::Timeout(_))), "{result:?}");
    assert!(elapsed >= Duration::from_millis(1500), "stopped too early: {elapsed:?}");
    assert!(elapsed < Duration::from_millis(2500), "not stopped within 1 s of the deadline: {elapsed:?}");
    let message = result.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("add LIMIT"), "{message}");
}

/// A statement that runs until it is interrupted (hours on two threads).
const ENDLESS: &str = "SELECT count(*) FROM range(100000000000) a WHERE hash(a.range) % 7 = 3";

/// Interrupts the connection it was given when dropped, so a failing test does not leave an endless query behind
/// (the runtime waits for blocking tasks when it shuts down: the test would hang instead of failing).
struct Cleanup(Option<Arc<duckdb::InterruptHandle>>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(handle) = &self.0 {
            handle.interrupt();
        }
    }
}

#[tokio::test]
async fn an_interrupt_landing_between_two_statements_is_not_lost() {
    let duck = demo();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let (handle_tx, handle_rx) = std::sync::mpsc::channel();
    let started = Instant::now();
    let result = duck
        .run_with_deadline(Duration::from_millis(500), move |conn| {
            let _ = handle_tx.send(conn.interrupt_handle());
            // The deadline passes during the first statement; the work ignores that and starts another. DuckDB resets
            // the interrupt flag when a statement starts, so only a repeated interrupt stops the second one.
            let first = conn.query_row(ENDLESS, [], |r| r.get::<_, i64>(0));
            let second = conn.query_row(ENDLESS, [], |r| r.get::<_, i64>(0));
            let _ = done_tx.send((first.is_err(), second.is_err()));
            Ok(())
        })
        .await;
    let _cleanup = Cleanup(handle_rx.try_recv().ok());
    assert!(matches!(result, Err(DuckError::Timeout(_))), "{result:?}");
    // Both statements stop within a few interrupt rounds of the deadline (500 ms), well before the caller would
    // stop waiting (1 s later).
    assert!(started.elapsed() < Duration::from_millis(1200), "answered {:?} after the start", started.elapsed());
    let both_interrupted = tokio::task::spawn_blocking(move || done_rx.recv_timeout(Duration::from_secs(3)))
        .await
        .expect("join")
        .expect("the work ended soon after its deadline");
    assert_eq!(both_interrupted, (true, true));
}

#[tokio::test]
async fn a_query_whose_caller_goes_away_is_interrupted_and_then_frees_its_slot() {
    let mut cfg = config(demo_duckdb());
    cfg.max_concurrent_queries = 1;
    cfg.query_timeout = Duration::from_secs(60);
    let duck = Duck::new(cfg);
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let (handle_tx, handle_rx) = std::sync::mpsc::channel();
    let abandoned = {
        let duck = duck.clone();
        tokio::spawn(async move {
            duck.run(move |conn| {
                let _ = handle_tx.send(conn.interrupt_handle());
                let _ = done_tx.send(conn.query_row(ENDLESS, [], |r| r.get::<_, i64>(0)).is_err());
                Ok(())
            })
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _cleanup = Cleanup(handle_rx.try_recv().ok());
    let busy = duck.run_with_deadline(Duration::from_millis(100), |_| Ok(())).await;
    assert!(matches!(busy, Err(DuckError::Busy)), "the only slot is taken: {busy:?}");

    // The caller goes away (a stopped run, a caller-side timeout): the query must not run on unobserved.
    let dropped_at = Instant::now();
    abandoned.abort();
    let interrupted = tokio::task::spawn_blocking(move || done_rx.recv_timeout(Duration::from_secs(5)))
        .await
        .expect("join")
        .expect("the abandoned query ended");
    assert!(interrupted, "it ended by being interrupted");
    assert!(
        dropped_at.elapsed() < Duration::from_secs(1),
        "interrupted {:?} after its caller left",
        dropped_at.elapsed()
    );
    // Its slot is free again.
    let quick = tokio::time::timeout(Duration::from_secs(2), duck.query("SELECT max(close) FROM daily_bars", 1)).await;
    assert!(matches!(quick, Ok(Ok(_))), "{quick:?}");
}

#[tokio::test]
async fn work_deaf_to_interrupts_is_answered_for_in_time_and_keeps_its_slot_until_it_ends() {
    let mut cfg = config(demo_duckdb());
    cfg.max_concurrent_queries = 1;
    let duck = Duck::new(cfg);
    let started = Instant::now();
    let result = duck
        .run_with_deadline(Duration::from_millis(300), |_| {
            std::thread::sleep(Duration::from_secs(3));
            Ok(())
        })
        .await;
    assert!(matches!(result, Err(DuckError::Timeout(_))), "{result:?}");
    let answered = started.elapsed();
    assert!(answered < Duration::from_millis(1600), "not answered within ~1 s of the deadline: {answered:?}");
    // The work still runs, so its slot is still taken ...
    let busy = duck.run_with_deadline(Duration::from_millis(200), |_| Ok(())).await;
    assert!(matches!(busy, Err(DuckError::Busy)), "{busy:?}");
    // ... until it ends.
    duck.run_with_deadline(Duration::from_secs(5), |_| Ok(())).await.expect("the slot came back");
    assert!(started.elapsed() >= Duration::from_secs(3));
}

/// Every type, its JSON, and DuckDB's own reading of that JSON back into the type equals the original.
#[tokio::test]
async fn every_duckdb_type_round_trips_to_json_exactly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("types.duckdb");
    {
        let conn = duckdb::Connection::open(&path).expect("create");
        conn.execute_batch("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')").expect("enum");
    }
    let duck = Duck::new(config(&path));
    let cases: Vec<(&str, &str, Json)> = vec![
        ("NULL::INTEGER", "INTEGER", Json::Null),
        ("true", "BOOLEAN", json!(true)),
        ("(-128)::TINYINT", "TINYINT", json!(-128)),
        ("32767::SMALLINT", "SMALLINT", json!(32767)),
        ("(-2147483648)::INTEGER", "INTEGER", json!(-2147483648i64)),
        ("9007199254740991::BIGINT", "BIGINT", json!(9007199254740991i64)),
        ("9223372036854775807::BIGINT", "BIGINT", json!("9223372036854775807")),
        ("255::UTINYINT", "UTINYINT", json!(255)),
        ("65535::USMALLINT", "USMALLINT", json!(65535)),
        ("4294967295::UINTEGER", "UINTEGER", json!(4294967295u64)),
        ("18446744073709551615::UBIGINT", "UBIGINT", json!("18446744073709551615")),
        (
            "(-170141183460469231731687303715884105728)::HUGEINT",
            "HUGEINT",
            json!("-170141183460469231731687303715884105728"),
        ),
        (
            "340282366920938463463374607431768211455::UHUGEINT",
            "UHUGEINT",
            json!("340282366920938463463374607431768211455"),
        ),
        ("1.1::FLOAT", "FLOAT", json!(1.1)),
        ("0.1::DOUBLE", "DOUBLE", json!(0.1)),
        ("'NaN'::DOUBLE", "DOUBLE", json!("NaN")),
        ("'-inf'::DOUBLE", "DOUBLE", json!("-Infinity")),
        ("123.4500::DECIMAL(10,4)", "DECIMAL(10,4)", json!(123.45)),
        ("12345678901234567890.123456789::DECIMAL(38,9)", "DECIMAL(38,9)", json!("12345678901234567890.123456789")),
        ("'hello, ''world'''::VARCHAR", "VARCHAR", json!("hello, 'world'")),
        ("'\\x00\\xFFab'::BLOB", "BLOB", json!("\\x00\\xFFab")),
        ("'8d8c7f0e-9f1b-4b3a-9b5e-3f8c1f4b2a10'::UUID", "UUID", json!("8d8c7f0e-9f1b-4b3a-9b5e-3f8c1f4b2a10")),
        ("DATE '2024-02-29'", "DATE", json!("2024-02-29")),
        ("TIME '12:34:56.789'", "TIME", json!("12:34:56.789")),
        ("TIMESTAMP '2024-01-02 03:04:05.123456'", "TIMESTAMP", json!("2024-01-02T03:04:05.123456")),
        ("TIMESTAMP_S '2024-01-02 03:04:05'", "TIMESTAMP_S", json!("2024-01-02T03:04:05")),
        ("TIMESTAMP_MS '2024-01-02 03:04:05.120'", "TIMESTAMP_MS", json!("2024-01-02T03:04:05.12")),
        ("TIMESTAMP_NS '2024-01-02 03:04:05.123456789'", "TIMESTAMP_NS", json!("2024-01-02T03:04:05.123456789")),
        ("TIMESTAMPTZ '2024-01-02 03:04:05.5+00'", "TIMESTAMPTZ", json!("2024-01-02T03:04:05.5Z")),
        ("INTERVAL '1 year 2 months 3 days 04:05:06.5'", "INTERVAL", json!("1 year 2 months 3 days 04:05:06.5")),
        ("INTERVAL '-2 days -1 second'", "INTERVAL", json!("-2 days -00:00:01")),
        ("'ok'::mood", "mood", json!("ok")),
        ("'101'::BIT", "BIT", json!("101")),
        ("123456789012345678901234567890::BIGNUM", "BIGNUM", json!("123456789012345678901234567890")),
        ("TIMETZ '12:34:56+02'", "TIMETZ", json!("12:34:56+02")),
    ];
    for (expr, type_name, expected) in &cases {
        let result = duck.query(&format!("SELECT {expr} AS v"), 1).await.unwrap_or_else(|e| panic!("{expr}: {e}"));
        let got = &result.rows[0][0];
        assert_eq!(got, expected, "{expr}");
        if got.is_null() {
            continue;
        }
        // Read the JSON text back with DuckDB: it must be the very same value.
        let text = match got {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
        let check = format!("SELECT (CAST('{}' AS {type_name}) = ({expr}))::VARCHAR AS same", text.replace('\'', "''"));
        let same = duck.query(&check, 1).await.unwrap_or_else(|e| panic!("{check}: {e}"));
        assert_eq!(same.rows[0][0], json!("true"), "{expr} did not round-trip through {text}");
    }

    // Nested types keep their structure.
    let nested = duck
        .query(
            "SELECT [1, 2, NULL] AS l, [1.5, 2.25]::DECIMAL(4,2)[2] AS a, {'a': 1, 'b': [DATE '2024-01-01']} AS s, \
             MAP {'k': 1, 'j': 2} AS m, MAP {1: 'x'} AS mi, union_value(num := 2)::UNION(num INTEGER, str VARCHAR) AS u",
            1,
        )
        .await
        .expect("nested");
    assert_eq!(
        Json::Array(nested.rows[0].clone()),
        json!([[1, 2, null], [1.5, 2.25], {"a": 1, "b": ["2024-01-01"]}, {"k": 1, "j": 2}, [{"key": 1, "value": "x"}], 2])
    );
    assert_eq!(nested.columns[0].type_name, "INTEGER[]");
}

#[tokio::test]
async fn results_are_capped_for_the_ui_and_marked_for_the_model() {
    let duck = demo();
    let result = duck.query("SELECT range AS n FROM range(25000)", 20_000).await.expect("query");
    assert_eq!(result.rows.len(), 10_000, "the UI cap is 10 000 rows");
    assert_eq!(result.total_rows, 25_000);
    assert!(result.truncated());
    let text = result.for_model(50, 4_000);
    assert!(text.contains("truncated: showing 50 of 25000 rows"), "{text}");
}

#[tokio::test]
async fn the_schema_is_described_once_per_file_version() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("copy.duckdb");
    std::fs::copy(demo_duckdb(), &path).expect("copy");
    let duck = Duck::new(config(&path));
    let first = duck.schema().await.expect("schema");
    let daily = first.relation("daily_bars").expect("daily_bars");
    assert_eq!(daily.kind, "table");
    assert!(daily.row_count.unwrap_or_default() > 0);
    assert!(daily.comment.as_deref().unwrap_or_default().contains("OHLCV"));
    let close = daily.columns.iter().find(|c| c.name == "close").expect("close column");
    assert_eq!(close.type_name, "DOUBLE");
    assert!(close.comment.is_some() && !close.samples.is_empty());
    assert_eq!(first.relation("positions").map(|r| r.kind.as_str()), Some("view"));
    let prompt = first.to_prompt();
    assert!(prompt.contains("TABLE daily_bars") && prompt.contains("- symbol VARCHAR"), "{prompt}");

    let again = duck.schema().await.expect("cached");
    assert!(Arc::ptr_eq(&first, &again), "same file version: computed once");

    // A new file version (the user swapped in other data) is described afresh.
    {
        let conn = duckdb::Connection::open(&path).expect("open rw");
        conn.execute_batch("CREATE TABLE extra (x INTEGER); COMMENT ON TABLE extra IS 'added later';").expect("alter");
    }
    let changed = duck.schema().await.expect("recomputed");
    assert!(!Arc::ptr_eq(&first, &changed));
    assert_eq!(changed.relation("extra").and_then(|r| r.comment.clone()), Some("added later".into()));
}

#[tokio::test]
async fn concurrent_callers_share_one_schema_scan() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("copy.duckdb");
    std::fs::copy(demo_duckdb(), &path).expect("copy");
    let duck = Duck::new(config(&path));
    // A caller that stops waiting does not cancel the scan the others wait for.
    assert!(tokio::time::timeout(Duration::from_millis(1), duck.schema()).await.is_err());
    let callers: Vec<_> = (0..6)
        .map(|_| {
            let duck = duck.clone();
            tokio::spawn(async move { duck.schema().await })
        })
        .collect();
    let mut summaries = Vec::new();
    for caller in callers {
        summaries.push(caller.await.expect("join").expect("schema"));
    }
    assert!(summaries.windows(2).all(|w| Arc::ptr_eq(&w[0], &w[1])), "one scan, one summary");
    assert!(summaries[0].relation("daily_bars").is_some());
}

#[tokio::test]
async fn a_repeated_query_answers_from_its_plan_only_while_the_file_is_the_same() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("plans.duckdb");
    {
        let conn = duckdb::Connection::open(&path).expect("create");
        conn.execute_batch("CREATE TABLE notes AS SELECT repeat('n', 10000) AS body").expect("table");
    }
    let duck = Duck::new(config(&path));
    let sql = "SELECT body FROM notes";
    for _ in 0..3 {
        let result = duck.query(sql, 10).await.expect("query");
        assert_eq!(result.columns[0].type_name, "VARCHAR");
        let cell = result.rows[0][0].as_str().expect("text").to_owned();
        assert!(cell.ends_with("…(truncated, 10000 bytes)"), "long text is cut every time, planned or not");
    }
    // The same query text over a different schema is planned afresh: its column is now a number.
    std::fs::remove_file(&path).expect("remove");
    {
        let conn = duckdb::Connection::open(&path).expect("recreate");
        conn.execute_batch("CREATE TABLE notes AS SELECT 42::BIGINT AS body, 'padding' AS other").expect("table");
    }
    let result = duck.query(sql, 10).await.expect("query the new file");
    assert_eq!(result.columns[0].type_name, "BIGINT");
    assert_eq!(result.rows, vec![vec![json!(42)]]);
}

#[tokio::test]
async fn connections_are_lent_again_unless_their_work_was_interrupted() {
    let mut cfg = config(demo_duckdb());
    cfg.max_concurrent_queries = 1;
    cfg.query_timeout = Duration::from_millis(300);
    let duck = Duck::new(cfg);
    let handle_of = || duck.run_with_deadline(Duration::from_secs(5), |conn| Ok(conn.interrupt_handle()));
    // Work that ended normally gives its connection back.
    let first = handle_of().await.expect("a connection");
    let second = handle_of().await.expect("a connection");
    assert!(Arc::ptr_eq(&first, &second), "a clean connection is reused");

    let (handle_tx, handle_rx) = std::sync::mpsc::channel();
    let endless = duck
        .run(move |conn| {
            let _ = handle_tx.send(conn.interrupt_handle());
            Ok(conn.query_row(ENDLESS, [], |r| r.get::<_, i64>(0))?)
        })
        .await;
    let cleanup = Cleanup(handle_rx.try_recv().ok());
    assert!(matches!(endless, Err(DuckError::Timeout(_))), "{endless:?}");
    let interrupted = cleanup.0.as_ref().expect("the endless work's connection");
    assert!(Arc::ptr_eq(interrupted, &second), "the endless work had the idle connection");
    // Once it has given its slot back, work gets a fresh connection, which no stray interrupt meant for the
    // endless work can reach: a query lasting several interrupt rounds (50 ms each) completes.
    let fresh = handle_of().await.expect("the slot came back");
    assert!(!Arc::ptr_eq(interrupted, &fresh), "the interrupted connection was lent again");
    let counted = duck
        .run_with_deadline(Duration::from_secs(5), |conn| {
            Ok(conn.query_row("SELECT count(*) FROM range(30000000) a WHERE hash(a.range) % 7 = 3", [], |r| {
                r.get::<_, i64>(0)
            })?)
        })
        .await
        .expect("a long query on a reused connection completes");
    assert!(counted > 0);
}
