//! The demo trading data set: a deterministic generator of realistic market and portfolio data in DuckDB.
//!
//! Same options (seed, scale, end date) → the same file contents, row for row. The generator is the only code
//! that knows this schema: the server and the agent discover whatever schema `DATABASE_PATH` holds.
//!
//! - `universe` — the instruments and their model parameters; `calendar` — exchange days;
//! - `market` — factor model, GARCH volatility, gaps and intraday sessions;
//! - `portfolio` — accounts and fills consistent with the bars.
mod calendar;
mod market;
mod portfolio;
mod universe;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{Datelike, NaiveDate};
use duckdb::{Connection, params};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub use calendar::last_trading_day_on_or_before;

/// Errors while generating the data set.
#[derive(Debug, thiserror::Error)]
pub enum DemoDataError {
    /// Bad options.
    #[error("{0}")]
    Invalid(String),
    /// DuckDB failed.
    #[error("duckdb: {0}")]
    Duck(#[from] duckdb::Error),
    /// The file could not be written or moved into place.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: std::io::Error,
    },
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    /// Size multiplier: 1 gives ~54 symbols and ~2 million rows; 10 gives 10× the symbols.
    pub scale: f64,
    /// Random seed.
    pub seed: u64,
    /// Last day of data (the most recent trading day on or before it).
    pub end: NaiveDate,
    /// Years of daily history.
    pub years: u32,
    /// Trading days with minute bars, counting back from `end`.
    pub minute_days: usize,
}

impl Options {
    /// Default options ending at `end`.
    pub fn ending(end: NaiveDate) -> Self {
        Self { scale: 1.0, seed: 42, end, years: 5, minute_days: 130 }
    }

    fn validate(&self) -> Result<(), DemoDataError> {
        if !(self.scale > 0.0 && self.scale <= 100.0) {
            return Err(DemoDataError::Invalid(format!("--scale must be in (0, 100], got {}", self.scale)));
        }
        if !(1..=30).contains(&self.years) {
            return Err(DemoDataError::Invalid(format!("--years must be in 1..=30, got {}", self.years)));
        }
        Ok(())
    }
}

/// What was generated.
#[derive(Debug)]
pub struct Summary {
    /// The file written.
    pub path: PathBuf,
    /// Rows per table, in creation order.
    pub rows: Vec<(&'static str, usize)>,
    /// Wall time.
    pub elapsed: Duration,
}

impl Summary {
    /// Total rows over all tables.
    pub fn total_rows(&self) -> usize {
        self.rows.iter().map(|(_, n)| n).sum()
    }
}

/// Generates the data set into `out`, atomically: it is built beside it and renamed into place when complete,
/// so a reader never sees a half-written file.
pub fn generate(out: &Path, options: &Options) -> Result<Summary, DemoDataError> {
    options.validate()?;
    let started = Instant::now();
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|source| DemoDataError::Io { context: format!("creating {}", dir.display()), source })?;
    }
    let building = out.with_extension("duckdb.building");
    remove_if_exists(&building)?;
    remove_if_exists(&building.with_extension("building.wal"))?;

    let rows = {
        let conn = Connection::open(&building)?;
        let rows = write_all(&conn, options)?;
        conn.execute_batch("CHECKPOINT")?;
        rows
    };
    std::fs::rename(&building, out).map_err(|source| DemoDataError::Io {
        context: format!("moving {} to {}", building.display(), out.display()),
        source,
    })?;
    Ok(Summary { path: out.to_path_buf(), rows, elapsed: started.elapsed() })
}

fn write_all(conn: &Connection, options: &Options) -> Result<Vec<(&'static str, usize)>, DemoDataError> {
    conn.execute_batch(include_str!("schema.sql"))?;
    let end = calendar::last_trading_day_on_or_before(options.end);
    let start = NaiveDate::from_ymd_opt(end.year() - options.years as i32, end.month(), 1)
        .ok_or_else(|| DemoDataError::Invalid(format!("no start date {} years before {end}", options.years)))?;
    let instruments = universe::instruments(options.scale);

    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let factors = market::Factors::simulate(start, end, &mut rng);
    let minute_from = factors.equity_days.len().checked_sub(options.minute_days.max(1)).map(|i| factors.equity_days[i]);
    let minute_symbols = ((40.0 * options.scale).round() as usize).max(4);
    let accounts = portfolio::accounts(&instruments, start);
    let kept: Vec<&str> = accounts.iter().flat_map(|a| a.symbols.iter().map(String::as_str)).collect();

    let mut instrument_app = conn.appender("instruments")?;
    for i in &instruments {
        instrument_app.append_row(params![
            i.symbol,
            i.name,
            i.class.as_str(),
            i.sector,
            i.exchange,
            "USD",
            i.lot_size
        ])?;
    }
    instrument_app.flush()?;

    let (mut daily_rows, mut minute_rows) = (0, 0);
    let mut series_of_traded = HashMap::new();
    {
        let mut daily = conn.appender("daily_bars")?;
        let mut minutes = conn.appender("minute_bars")?;
        let mut with_minutes = 0;
        for (index, instrument) in instruments.iter().enumerate() {
            // Each instrument draws from its own stream: adding one never changes another's history.
            let mut stream = ChaCha8Rng::seed_from_u64(options.seed);
            stream.set_stream(index as u64 + 1);
            let wants_minutes = instrument.class != universe::AssetClass::Crypto && with_minutes < minute_symbols;
            with_minutes += usize::from(wants_minutes);
            let series = market::simulate(instrument, &factors, minute_from.filter(|_| wants_minutes), &mut stream);
            for b in &series.daily {
                daily.append_row(params![instrument.symbol, b.date, b.open, b.high, b.low, b.close, b.volume])?;
            }
            daily_rows += series.daily.len();
            for (_, day) in &series.minutes {
                for m in day {
                    minutes.append_row(params![instrument.symbol, m.ts, m.open, m.high, m.low, m.close, m.volume])?;
                }
                minute_rows += day.len();
            }
            if kept.contains(&instrument.symbol.as_str()) {
                series_of_traded.insert(instrument.symbol.clone(), series);
            }
        }
        daily.flush()?;
        minutes.flush()?;
    }

    let mut portfolio_rng = ChaCha8Rng::seed_from_u64(options.seed);
    portfolio_rng.set_stream(0);
    let trades = portfolio::trades(&accounts, &instruments, &series_of_traded, &mut portfolio_rng);
    {
        let mut app = conn.appender("accounts")?;
        for a in &accounts {
            app.append_row(params![a.id, a.name, a.style, "USD", a.opened_on])?;
        }
        let mut app = conn.appender("trades")?;
        for t in &trades {
            app.append_row(params![
                t.id,
                t.account_id,
                t.symbol,
                t.side.as_str(),
                t.quantity,
                t.price,
                t.fees,
                t.executed_at
            ])?;
        }
    }
    conn.execute_batch(include_str!("finish.sql"))?;

    Ok(vec![
        ("instruments", instruments.len()),
        ("daily_bars", daily_rows),
        ("minute_bars", minute_rows),
        ("accounts", accounts.len()),
        ("trades", trades.len()),
    ])
}

fn remove_if_exists(path: &Path) -> Result<(), DemoDataError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(DemoDataError::Io { context: format!("removing {}", path.display()), source: e })
        }
        _ => Ok(()),
    }
}
