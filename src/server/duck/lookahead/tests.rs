//! The look-ahead guard over a corpus of trading queries, parsed by the real DuckDB parser: half are clean (the
//! offline model's queries and what an analyst asks), half read the future. It prints the false-warning and
//! miss rates and fails on any false warning or miss.
use super::{Rule, review};

/// (query, the rule it should trip, or None when clean).
const CORPUS: &[(&str, Option<Rule>)] = &[
    // --- clean ---
    (
        "SELECT symbol, date, open, high, low, close, volume FROM daily_bars WHERE symbol IN ('NOVA') QUALIFY row_number() OVER (PARTITION BY symbol ORDER BY date DESC) = 1 ORDER BY symbol",
        None,
    ),
    (
        "WITH last AS (SELECT max(date) AS d FROM daily_bars WHERE symbol IN ('NOVA', 'QBIT')), w AS (SELECT symbol, date, close FROM daily_bars, last WHERE symbol IN ('NOVA', 'QBIT') AND date >= last.d - INTERVAL 30 DAY) SELECT symbol, min(date) AS from_date, max(date) AS to_date, arg_min(close, date) AS start_close, arg_max(close, date) AS end_close, round(100 * (arg_max(close, date) / arg_min(close, date) - 1), 2) AS return_pct FROM w GROUP BY symbol ORDER BY return_pct DESC",
        None,
    ),
    (
        "WITH r AS (SELECT symbol, date, close, close / lag(close) OVER (PARTITION BY symbol ORDER BY date) - 1 AS ret FROM daily_bars) SELECT symbol, date, close, round(100 * ret, 2) AS change_pct FROM r WHERE date = (SELECT max(date) FROM daily_bars) AND ret IS NOT NULL ORDER BY abs(ret) DESC LIMIT 5",
        None,
    ),
    (
        "SELECT a.name AS account, count(*) FILTER (WHERE p.quantity > 0) AS open_positions, round(sum(p.market_value), 2) AS market_value FROM positions p JOIN accounts a USING (account_id) GROUP BY a.name ORDER BY a.name",
        None,
    ),
    (
        "SELECT symbol, CAST(ts AS DATE) AS day, round(sum(close * volume) / sum(volume), 4) AS vwap FROM minute_bars WHERE symbol IN ('NOVA') AND CAST(ts AS DATE) = (SELECT max(CAST(ts AS DATE)) FROM minute_bars) GROUP BY ALL",
        None,
    ),
    (
        "SELECT date, open, high, low, close FROM (SELECT * FROM daily_bars WHERE symbol = 'NOVA' ORDER BY date DESC LIMIT 90) ORDER BY date",
        None,
    ),
    (
        "SELECT symbol, date, close, avg(close) OVER (PARTITION BY symbol ORDER BY date ROWS BETWEEN 19 PRECEDING AND CURRENT ROW) AS sma20 FROM daily_bars WHERE symbol = 'NOVA' ORDER BY date DESC LIMIT 30",
        None,
    ),
    // Signal on yesterday's close, traded today: correct.
    (
        "WITH s AS (SELECT symbol, date, close, close / lag(close) OVER w - 1 AS ret, avg(close) OVER (w ROWS BETWEEN 19 PRECEDING AND CURRENT ROW) AS sma FROM daily_bars WINDOW w AS (PARTITION BY symbol ORDER BY date)), t AS (SELECT *, lag(CASE WHEN close > sma THEN 1 ELSE 0 END) OVER (PARTITION BY symbol ORDER BY date) AS pos FROM s) SELECT symbol, sum(pos * ret) AS strategy_return FROM t GROUP BY symbol",
        None,
    ),
    // Event study: the forward return is the outcome, selected, not used to choose.
    (
        "SELECT a.symbol, a.date, b.close / a.close - 1 AS fwd_5d FROM daily_bars a JOIN daily_bars b ON b.symbol = a.symbol AND b.date = a.date + INTERVAL 7 DAY WHERE a.volume > 2 * (SELECT avg(volume) FROM daily_bars)",
        None,
    ),
    (
        "WITH f AS (SELECT symbol, date, lead(close, 5) OVER (PARTITION BY symbol ORDER BY date) / close - 1 AS fwd FROM daily_bars) SELECT symbol, avg(fwd) AS avg_fwd FROM f WHERE fwd IS NOT NULL GROUP BY symbol",
        None,
    ),
    (
        "SELECT symbol, max(high) - min(low) AS range FROM daily_bars WHERE date >= DATE '2026-01-01' GROUP BY symbol ORDER BY range DESC",
        None,
    ),
    ("SELECT date, sum(volume) OVER (PARTITION BY date) AS market_volume FROM daily_bars WHERE symbol = 'NOVA'", None),
    (
        "SELECT t.symbol, sum(t.quantity * t.price) AS notional FROM trades t WHERE t.executed_at >= now() - INTERVAL 30 DAY GROUP BY t.symbol",
        None,
    ),
    (
        "SELECT symbol, date, close FROM daily_bars WHERE close > 100 AND date = (SELECT max(date) FROM daily_bars)",
        None,
    ),
    (
        "SELECT p.symbol, p.quantity, d.close FROM positions p JOIN daily_bars d ON d.symbol = p.symbol WHERE d.date >= (SELECT max(date) FROM daily_bars) - INTERVAL 30 DAY",
        None,
    ),
    (
        "SELECT sector, avg(close / lag_close - 1) AS avg_ret FROM (SELECT i.sector, d.close, lag(d.close) OVER (PARTITION BY d.symbol ORDER BY d.date) AS lag_close FROM daily_bars d JOIN instruments i USING (symbol)) GROUP BY sector",
        None,
    ),
    // --- look-ahead ---
    (
        "SELECT symbol, date, avg(close) OVER (PARTITION BY symbol ORDER BY date ROWS BETWEEN 10 PRECEDING AND 10 FOLLOWING) AS centred FROM daily_bars",
        Some(Rule::FollowingFrame),
    ),
    (
        "SELECT symbol, date, max(high) OVER (PARTITION BY symbol ORDER BY date ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS future_high FROM daily_bars",
        Some(Rule::FollowingFrame),
    ),
    (
        "SELECT date, close, min(low) OVER (ORDER BY date RANGE BETWEEN CURRENT ROW AND INTERVAL 5 DAY FOLLOWING) AS next_low FROM daily_bars WHERE symbol = 'NOVA'",
        Some(Rule::FollowingFrame),
    ),
    (
        "SELECT symbol, date FROM (SELECT symbol, date, close, lead(close) OVER (PARTITION BY symbol ORDER BY date) AS next_close FROM daily_bars) WHERE next_close > close",
        Some(Rule::DecidesWithLaterBar),
    ),
    (
        "SELECT symbol, date, close FROM daily_bars QUALIFY lead(close) OVER (PARTITION BY symbol ORDER BY date) > close * 1.05",
        Some(Rule::DecidesWithLaterBar),
    ),
    (
        "WITH f AS (SELECT symbol, date, close, lead(close, 5) OVER (PARTITION BY symbol ORDER BY date) AS c5 FROM daily_bars), g AS (SELECT *, c5 / close - 1 AS gain FROM f) SELECT symbol, count(*) AS picks FROM g WHERE gain > 0.1 GROUP BY symbol",
        Some(Rule::DecidesWithLaterBar),
    ),
    (
        "SELECT a.symbol, a.date, a.close FROM daily_bars a JOIN daily_bars b ON b.symbol = a.symbol AND b.date > a.date WHERE b.close > a.close * 1.2",
        Some(Rule::DecidesWithLaterBar),
    ),
    (
        "SELECT a.date, CASE WHEN b.close > a.close THEN 'buy' ELSE 'sell' END AS signal FROM daily_bars a JOIN daily_bars b ON b.symbol = a.symbol AND b.date = a.date + INTERVAL 1 DAY",
        Some(Rule::DecidesWithLaterBar),
    ),
    (
        "SELECT a.symbol, avg(a.close) FROM daily_bars a JOIN daily_bars b ON a.symbol = b.symbol AND a.date < b.date AND b.close > a.close GROUP BY a.symbol",
        Some(Rule::DecidesWithLaterBar),
    ),
    (
        "SELECT symbol, sum(ret) AS total FROM (SELECT symbol, date, close, close / lag(close) OVER (PARTITION BY symbol ORDER BY date) - 1 AS ret, avg(close) OVER (PARTITION BY symbol ORDER BY date ROWS BETWEEN 19 PRECEDING AND CURRENT ROW) AS sma FROM daily_bars) WHERE close > sma GROUP BY symbol",
        Some(Rule::SameBarSignal),
    ),
    (
        "WITH s AS (SELECT symbol, date, close, high, close / lag(close) OVER (PARTITION BY symbol ORDER BY date) - 1 AS ret FROM daily_bars) SELECT symbol, sum(CASE WHEN close > 100 THEN ret ELSE 0 END) AS pnl FROM s GROUP BY symbol",
        Some(Rule::SameBarSignal),
    ),
    (
        "SELECT symbol, avg(close / lag(close) OVER (PARTITION BY symbol ORDER BY date) - 1) AS r FROM daily_bars WHERE high >= 200 GROUP BY symbol",
        Some(Rule::SameBarSignal),
    ),
    (
        "WITH s AS (SELECT symbol, date, close, close / lag(close) OVER (PARTITION BY symbol ORDER BY date) - 1 AS ret, max(close) OVER (PARTITION BY symbol ORDER BY date ROWS BETWEEN 20 PRECEDING AND CURRENT ROW) AS hi20 FROM daily_bars) SELECT symbol, avg(ret) FROM s WHERE close >= hi20 GROUP BY symbol",
        Some(Rule::SameBarSignal),
    ),
    (
        "SELECT symbol, round(100 * (arg_max(close, date) / arg_min(close, date) - 1), 2) AS ret FROM daily_bars WHERE symbol IN (SELECT symbol FROM positions) AND date BETWEEN DATE '2023-01-01' AND DATE '2023-12-31' GROUP BY symbol",
        Some(Rule::TodaysHoldings),
    ),
    (
        "SELECT d.symbol, avg(d.close) FROM daily_bars d JOIN positions p ON p.symbol = d.symbol WHERE d.date < DATE '2024-01-01' GROUP BY d.symbol",
        Some(Rule::TodaysHoldings),
    ),
    (
        "SELECT symbol, count(*) FROM minute_bars WHERE ts <= TIMESTAMP '2025-06-30 23:59:59' AND symbol IN (SELECT symbol FROM positions WHERE quantity > 0) GROUP BY symbol",
        Some(Rule::TodaysHoldings),
    ),
];

fn tree(conn: &duckdb::Connection, sql: &str) -> serde_json::Value {
    let text: String =
        conn.query_row("SELECT json_serialize_sql(?::VARCHAR)", [sql], |r| r.get(0)).expect("json_serialize_sql");
    let tree: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(tree["error"], false, "{sql} does not parse: {}", tree["error_message"]);
    tree
}

#[test]
fn the_corpus_has_no_false_warning_and_no_miss() {
    let conn = duckdb::Connection::open_in_memory().expect("in-memory DuckDB");
    let (clean, biased): (Vec<&(&str, Option<Rule>)>, Vec<_>) = CORPUS.iter().partition(|(_, rule)| rule.is_none());
    assert!(clean.len() >= 15 && biased.len() >= 15, "the corpus needs 15 of each");
    let mut false_warnings = Vec::new();
    let mut misses = Vec::new();
    let started = std::time::Instant::now();
    for (sql, expected) in CORPUS {
        let found: Vec<Rule> = review(&tree(&conn, sql)).into_iter().map(|f| f.rule).collect();
        match expected {
            None if !found.is_empty() => false_warnings.push(format!("{sql}\n  warned {found:?}")),
            Some(rule) if !found.contains(rule) => misses.push(format!("{sql}\n  expected {rule:?}, found {found:?}")),
            _ => {}
        }
    }
    println!(
        "look-ahead corpus: {} clean, {} biased; false warnings {}/{} ({:.0} %), misses {}/{}; {:.2} ms per query \
         (parse + review)",
        clean.len(),
        biased.len(),
        false_warnings.len(),
        clean.len(),
        100.0 * false_warnings.len() as f64 / clean.len() as f64,
        misses.len(),
        biased.len(),
        started.elapsed().as_secs_f64() * 1000.0 / CORPUS.len() as f64,
    );
    assert!(false_warnings.is_empty(), "false warnings:\n{}", false_warnings.join("\n"));
    assert!(misses.is_empty(), "misses:\n{}", misses.join("\n"));
}

#[test]
fn every_finding_says_what_to_do_instead() {
    let conn = duckdb::Connection::open_in_memory().expect("in-memory DuckDB");
    let findings = review(&tree(&conn, CORPUS.iter().find(|(_, r)| *r == Some(Rule::SameBarSignal)).expect("one").0));
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(findings[0].message.contains("next bar"), "{}", findings[0].message);
}
