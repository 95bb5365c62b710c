//! DuckDB query layer benchmark: generator build time, and p50/p95 latency of typical agent queries through the
//! full path (guard, DuckDB's parser check, DESCRIBE, execution, JSON conversion) at scale 1 and scale 10.
//!
//! Run: `source scripts/env.sh && cargo bench --features ssr --bench duck_queries`
//! (`BENCH_SCALES=1` to skip scale 10; `BENCH_RUNS=50` for more samples). Prints figures; asserts nothing.
use std::time::{Duration, Instant};

use tradechat::server::config::DuckConfig;
use tradechat::server::demo_data::{self, Options};
use tradechat::server::duck::Duck;

const QUERIES: [(&str, &str); 5] = [
    ("last close", "SELECT symbol, arg_max(close, date) AS close, max(date) AS date FROM daily_bars GROUP BY symbol"),
    (
        "30-day returns, all symbols",
        "WITH last AS (SELECT max(date) AS d FROM daily_bars), \
         w AS (SELECT symbol, date, close FROM daily_bars, last WHERE date > d - INTERVAL 30 DAY) \
         SELECT symbol, arg_max(close, date) / arg_min(close, date) - 1 AS ret_30d FROM w GROUP BY symbol ORDER BY ret_30d DESC",
    ),
    (
        "top movers (last day)",
        "WITH r AS (SELECT symbol, date, close / lag(close) OVER (PARTITION BY symbol ORDER BY date) - 1 AS ret \
         FROM daily_bars QUALIFY date = max(date) OVER ()) SELECT * FROM r ORDER BY abs(ret) DESC LIMIT 10",
    ),
    (
        "VWAP from minute bars (last day)",
        "WITH d AS (SELECT max(CAST(ts AS DATE)) AS day FROM minute_bars) \
         SELECT symbol, sum(close * volume) / sum(volume) AS vwap, sum(volume) AS volume \
         FROM minute_bars, d WHERE CAST(ts AS DATE) = d.day GROUP BY symbol ORDER BY volume DESC",
    ),
    (
        "portfolio P&L",
        "SELECT account_id, sum(market_value) AS market_value, sum(total_pnl) AS total_pnl FROM positions \
         GROUP BY account_id ORDER BY account_id",
    ),
];

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(30);
    let scales: Vec<f64> = std::env::var("BENCH_SCALES")
        .unwrap_or_else(|_| "1,10".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let end = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).expect("date");

    for scale in scales {
        let path = dir.path().join(format!("scale-{scale}.duckdb"));
        let summary = demo_data::generate(&path, &Options { scale, ..Options::ending(end) }).expect("generate");
        let size_mb = std::fs::metadata(&path).map(|m| m.len() as f64 / 1e6).unwrap_or_default();
        println!(
            "\nscale {scale}: generated {} rows ({} minute bars) in {:.1} s, file {size_mb:.0} MB",
            summary.total_rows(),
            summary.rows.iter().find(|(t, _)| *t == "minute_bars").map_or(0, |(_, n)| *n),
            summary.elapsed.as_secs_f64()
        );
        let duck = Duck::new(DuckConfig {
            path: path.clone(),
            memory_limit: "2GB".into(),
            threads: 2,
            max_temp_directory_size: "1GB".into(),
            query_timeout: Duration::from_secs(60),
            max_concurrent_queries: 4,
        });
        let started = Instant::now();
        runtime.block_on(duck.schema()).expect("schema");
        println!("  schema introspection (once per file version): {:.0} ms", started.elapsed().as_secs_f64() * 1e3);
        println!("  {:<34} {:>9} {:>9} {:>9}", "query", "p50 ms", "p95 ms", "rows");
        for (name, sql) in QUERIES {
            runtime.block_on(duck.query(sql, 10_000)).expect("warm-up");
            let mut samples = Vec::with_capacity(runs);
            let mut rows = 0;
            for _ in 0..runs {
                let t = Instant::now();
                let result = runtime.block_on(duck.query(sql, 10_000)).expect("query");
                samples.push(t.elapsed());
                rows = result.total_rows;
            }
            samples.sort();
            println!(
                "  {:<34} {:>9.2} {:>9.2} {:>9}",
                name,
                percentile(&samples, 0.5).as_secs_f64() * 1e3,
                percentile(&samples, 0.95).as_secs_f64() * 1e3,
                rows
            );
        }
    }
}
