//! The demo data generator: deterministic, and its data valid.
use chrono::NaiveDate;
use duckdb::{AccessMode, Connection};
use tradechat::server::demo_data::{self, Options};

use crate::helpers::demo_duckdb;

fn open(path: &std::path::Path) -> Connection {
    let config = duckdb::Config::default().access_mode(AccessMode::ReadOnly).expect("config");
    Connection::open_with_flags(path, config).expect("open demo data")
}

fn small(seed: u64) -> Options {
    Options {
        scale: 0.2,
        seed,
        minute_days: 3,
        ..Options::ending(NaiveDate::from_ymd_opt(2026, 11, 20).expect("date"))
    }
}

/// A digest of every row of every table and view, independent of storage layout.
fn checksum(conn: &Connection) -> String {
    let relations = ["instruments", "daily_bars", "minute_bars", "accounts", "trades", "positions", "daily_pnl"];
    relations
        .iter()
        .map(|r| {
            let sql = format!("SELECT count(*) || ':' || md5(string_agg(CAST(t AS VARCHAR), '|' ORDER BY CAST(t AS VARCHAR))) FROM {r} t");
            let digest: String = conn.query_row(&sql, [], |row| row.get(0)).expect("checksum");
            format!("{r}={digest}")
        })
        .collect::<Vec<_>>()
        .join(";")
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[test]
fn same_seed_gives_the_same_data_and_another_seed_does_not() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b, c) = (dir.path().join("a.duckdb"), dir.path().join("b.duckdb"), dir.path().join("c.duckdb"));
    demo_data::generate(&a, &small(7)).expect("first");
    demo_data::generate(&b, &small(7)).expect("second");
    demo_data::generate(&c, &small(8)).expect("other seed");
    let (ca, cb, cc) = (checksum(&open(&a)), checksum(&open(&b)), checksum(&open(&c)));
    assert_eq!(ca, cb);
    assert_ne!(ca, cc);
    assert!(!dir.path().join("a.duckdb.building").exists(), "the build file is renamed into place");
}

#[test]
fn bars_are_valid_ohlc_and_minutes_add_up_to_their_day() {
    let conn = open(demo_duckdb());
    for table in ["daily_bars", "minute_bars"] {
        let bad = count(
            &conn,
            &format!(
                "SELECT count(*) FROM {table} WHERE NOT (low <= least(open, close) AND greatest(open, close) <= high \
                 AND low > 0 AND volume >= 0)"
            ),
        );
        assert_eq!(bad, 0, "{table} has rows outside low <= open, close <= high");
    }
    assert!(count(&conn, "SELECT count(*) FROM minute_bars") > 0);
    let session = count(
        &conn,
        "SELECT count(*) FROM minute_bars WHERE CAST(ts AS TIME) < TIME '09:30' OR CAST(ts AS TIME) >= TIME '16:00'",
    );
    assert_eq!(session, 0, "minute bars are regular-session only");
    let mismatched = count(
        &conn,
        "WITH agg AS (SELECT symbol, CAST(ts AS DATE) AS date, arg_min(open, ts) AS open, max(high) AS high, \
                min(low) AS low, arg_max(close, ts) AS close, sum(volume) AS volume FROM minute_bars GROUP BY ALL) \
         SELECT count(*) FROM agg JOIN daily_bars d USING (symbol, date) \
         WHERE (agg.open, agg.high, agg.low, agg.close, agg.volume) <> (d.open, d.high, d.low, d.close, d.volume)",
    );
    assert_eq!(mismatched, 0, "on minute days the daily bar is the aggregate of its minutes");
}

#[test]
fn calendars_and_history_are_realistic() {
    let conn = open(demo_duckdb());
    let weekend_equities = count(
        &conn,
        "SELECT count(*) FROM daily_bars JOIN instruments USING (symbol) \
         WHERE asset_class <> 'crypto' AND dayofweek(date) IN (0, 6)",
    );
    assert_eq!(weekend_equities, 0);
    let weekend_crypto = count(
        &conn,
        "SELECT count(*) FROM daily_bars JOIN instruments USING (symbol) \
         WHERE asset_class = 'crypto' AND dayofweek(date) IN (0, 6)",
    );
    assert!(weekend_crypto > 0, "crypto trades at weekends");
    let short_history = count(
        &conn,
        "SELECT count(*) FROM (SELECT symbol, max(date) - min(date) AS span FROM daily_bars GROUP BY symbol) \
         WHERE span < 5 * 365",
    );
    assert_eq!(short_history, 0, "every symbol has at least five years of history");
    let gaps = count(
        &conn,
        "SELECT count(*) FROM (SELECT open, lag(close) OVER (PARTITION BY symbol ORDER BY date) AS prev \
         FROM daily_bars) WHERE prev IS NOT NULL AND open <> prev",
    );
    assert!(gaps > 0, "opens gap away from the previous close");
}

#[test]
fn trades_fit_their_bars_and_positions_are_the_sum_of_trades() {
    let conn = open(demo_duckdb());
    assert!(count(&conn, "SELECT count(*) FROM trades") > 50);
    let outside_day = count(
        &conn,
        "SELECT count(*) FROM trades t JOIN daily_bars d ON d.symbol = t.symbol AND d.date = CAST(t.executed_at AS DATE) \
         WHERE t.price < d.low OR t.price > d.high",
    );
    assert_eq!(outside_day, 0, "fills lie within the day's low-high");
    let without_bar = count(
        &conn,
        "SELECT count(*) FROM trades t ANTI JOIN daily_bars d ON d.symbol = t.symbol AND d.date = CAST(t.executed_at AS DATE)",
    );
    assert_eq!(without_bar, 0, "every fill is on a day its instrument traded");
    let outside_minute = count(
        &conn,
        "SELECT count(*) FROM trades t JOIN minute_bars m ON m.symbol = t.symbol AND m.ts = date_trunc('minute', t.executed_at) \
         WHERE t.price < m.low OR t.price > m.high",
    );
    assert_eq!(outside_minute, 0, "fills on minute days lie within their minute's range");
    let mismatched = count(
        &conn,
        "WITH s AS (SELECT account_id, symbol, round(sum(CASE side WHEN 'buy' THEN quantity ELSE -quantity END), 8) AS q \
                    FROM trades GROUP BY ALL) \
         SELECT count(*) FROM s FULL JOIN positions p USING (account_id, symbol) WHERE p.quantity IS DISTINCT FROM s.q",
    );
    assert_eq!(mismatched, 0, "positions equal the sum of trades");
    let oversold = count(
        &conn,
        "SELECT count(*) FROM (SELECT sum(CASE side WHEN 'buy' THEN quantity ELSE -quantity END) \
           OVER (PARTITION BY account_id, symbol ORDER BY trade_id) AS held FROM trades) WHERE held < -1e-9",
    );
    assert_eq!(oversold, 0, "no account ever sells more than it holds");
    let pnl_rows = count(&conn, "SELECT count(*) FROM daily_pnl");
    assert!(pnl_rows > 0);
}

#[test]
fn every_table_and_column_is_documented() {
    let conn = open(demo_duckdb());
    let undocumented_tables =
        count(&conn, "SELECT count(*) FROM duckdb_tables() WHERE NOT internal AND (comment IS NULL OR comment = '')");
    assert_eq!(undocumented_tables, 0);
    let undocumented_views =
        count(&conn, "SELECT count(*) FROM duckdb_views() WHERE NOT internal AND (comment IS NULL OR comment = '')");
    assert_eq!(undocumented_views, 0);
    let undocumented_columns = count(
        &conn,
        "SELECT count(*) FROM duckdb_columns() c JOIN duckdb_tables() t USING (database_name, schema_name, table_name) \
         WHERE NOT t.internal AND (c.comment IS NULL OR c.comment = '')",
    );
    assert_eq!(undocumented_columns, 0);
    let view_columns = "SELECT count(*) FROM duckdb_columns() c JOIN duckdb_views() v \
         ON v.database_name = c.database_name AND v.schema_name = c.schema_name AND v.view_name = c.table_name \
         WHERE NOT v.internal";
    let counted = count(&conn, view_columns);
    assert!(counted >= 16, "positions and daily_pnl have columns: {counted}");
    let undocumented_view_columns = count(&conn, &format!("{view_columns} AND (c.comment IS NULL OR c.comment = '')"));
    assert_eq!(undocumented_view_columns, 0, "every view column has a COMMENT ON COLUMN");
}

#[test]
fn bad_options_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let err = demo_data::generate(&dir.path().join("x.duckdb"), &Options { scale: 0.0, ..small(1) })
        .expect_err("scale 0 is invalid");
    assert!(err.to_string().contains("--scale"), "{err}");
}
