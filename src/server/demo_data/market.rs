//! The price model: a factor model with volatility clustering, overnight gaps and intraday paths.
//!
//! Daily log return of instrument i on day t:
//!   r = drift − ½σ² + β·market_t + sector_t + ε_t,   ε_t ~ N(0, h_t),  h_t = ω + α·ε²_{t−1} + β_g·h_{t−1}
//! Factors follow GARCH(1,1) too, so calm and turbulent periods come in clusters across the whole market.
//! Crypto has its own factor, partly correlated with equities, and trades every calendar day.
//! On minute-bar days the session is a Brownian bridge from open to close with U-shaped volatility and
//! volume; the day's high, low and volume are then aggregated from the minutes, so both tables agree.
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use super::universe::{AssetClass, Instrument, SECTORS, tick_for};

/// Minutes in the regular session, 09:30–16:00.
pub const SESSION_MINUTES: usize = 390;

/// One daily OHLCV bar.
#[derive(Debug, Clone, Copy)]
pub struct DailyBar {
    /// Trading day.
    pub date: NaiveDate,
    /// Prices.
    pub open: f64,
    /// Prices.
    pub high: f64,
    /// Prices.
    pub low: f64,
    /// Prices.
    pub close: f64,
    /// Units traded.
    pub volume: i64,
}

/// One 1-minute bar of the regular session.
#[derive(Debug, Clone, Copy)]
pub struct MinuteBar {
    /// Start of the minute, exchange local time.
    pub ts: NaiveDateTime,
    /// Prices.
    pub open: f64,
    /// Prices.
    pub high: f64,
    /// Prices.
    pub low: f64,
    /// Prices.
    pub close: f64,
    /// Units traded.
    pub volume: i64,
}

/// An instrument's simulated history.
#[derive(Debug, Default)]
pub struct Series {
    /// Daily bars, oldest first.
    pub daily: Vec<DailyBar>,
    /// Minute bars of the days that have them, per day (same order as `daily`).
    pub minutes: Vec<(NaiveDate, Vec<MinuteBar>)>,
}

/// A GARCH(1,1) variance process with a given long-run daily variance.
#[derive(Debug, Clone, Copy)]
struct Garch {
    omega: f64,
    alpha: f64,
    beta: f64,
    h: f64,
}

impl Garch {
    fn new(long_run_var: f64, alpha: f64, beta: f64) -> Self {
        Self { omega: long_run_var * (1.0 - alpha - beta), alpha, beta, h: long_run_var }
    }

    /// The next shock, given a standard normal draw.
    fn step(&mut self, z: f64) -> f64 {
        let e = self.h.sqrt() * z;
        self.h = self.omega + self.alpha * e * e + self.beta * self.h;
        e
    }
}

/// Common factor shocks per day, shared by every instrument.
#[derive(Debug)]
pub struct Factors {
    /// Equity trading days, with the market and sector shocks of each.
    pub equity_days: Vec<NaiveDate>,
    market: Vec<f64>,
    sectors: Vec<[f64; SECTORS.len()]>,
    /// Every calendar day, with the crypto factor shock of each.
    pub crypto_days: Vec<NaiveDate>,
    crypto: Vec<f64>,
}

impl Factors {
    /// Simulates the factors over `[start, end]`.
    pub fn simulate(start: NaiveDate, end: NaiveDate, rng: &mut impl Rng) -> Self {
        let equity_days = super::calendar::trading_days(start, end);
        let crypto_days: Vec<NaiveDate> = start.iter_days().take_while(|d| *d <= end).collect();
        let mut market_g = Garch::new(0.16f64.powi(2) / 252.0, 0.09, 0.89);
        let mut sector_g = [Garch::new(0.10f64.powi(2) / 252.0, 0.06, 0.90); SECTORS.len()];
        let mut crypto_g = Garch::new(0.55f64.powi(2) / 365.0, 0.10, 0.86);

        let mut market = Vec::with_capacity(equity_days.len());
        let mut market_z_by_day = std::collections::HashMap::with_capacity(equity_days.len());
        let mut sectors = Vec::with_capacity(equity_days.len());
        for day in &equity_days {
            let z: f64 = rng.sample(StandardNormal);
            market.push(market_g.step(z));
            market_z_by_day.insert(*day, z);
            let mut s = [0.0; SECTORS.len()];
            for (value, g) in s.iter_mut().zip(sector_g.iter_mut()) {
                *value = g.step(rng.sample(StandardNormal));
            }
            sectors.push(s);
        }
        // Crypto moves with equities on days both trade (correlation ~0.3), on its own at weekends.
        let crypto = crypto_days
            .iter()
            .map(|day| {
                let own: f64 = rng.sample(StandardNormal);
                let z = match market_z_by_day.get(day) {
                    Some(m) => 0.3 * m + (1.0f64 - 0.09).sqrt() * own,
                    None => own,
                };
                crypto_g.step(z)
            })
            .collect();
        Self { equity_days, market, sectors, crypto_days, crypto }
    }
}

/// Simulates one instrument. `minute_from` is the first day with minute bars (`None`: no minute bars).
pub fn simulate(
    instrument: &Instrument,
    factors: &Factors,
    minute_from: Option<NaiveDate>,
    rng: &mut impl Rng,
) -> Series {
    let crypto = instrument.class == AssetClass::Crypto;
    let days_per_year = if crypto { 365.0 } else { 252.0 };
    let days = if crypto { &factors.crypto_days } else { &factors.equity_days };
    let daily_var = instrument.vol.powi(2) / days_per_year;
    let mut idio = Garch::new(daily_var, 0.07, 0.90);
    let mu = instrument.drift / days_per_year;
    let mut series = Series { daily: Vec::with_capacity(days.len()), minutes: Vec::new() };
    let mut prev_close = instrument.start_price;

    for (t, &date) in days.iter().enumerate() {
        let systematic = if crypto {
            instrument.beta * factors.crypto[t]
        } else {
            instrument.beta * factors.market[t] + instrument.sector_index.map_or(0.0, |s| factors.sectors[t][s])
        };
        let eps = idio.step(rng.sample(StandardNormal));
        let sigma = (daily_var + 1e-12).sqrt().max(idio.h.sqrt());
        // News and earnings jumps (equities, ~4 a year) land overnight: they move both the open and the close.
        let jump = if !crypto && t > 0 && rng.random_bool(1.0 / 63.0) {
            2.5 * sigma * rng.sample::<f64, _>(StandardNormal)
        } else {
            0.0
        };
        let ret = mu - 0.5 * daily_var + systematic + eps + jump;
        // Overnight gap: equities open away from the previous close; crypto trades around the clock.
        let gap = if t == 0 || crypto { 0.0 } else { 0.3 * sigma * rng.sample::<f64, _>(StandardNormal) + jump };
        let tick = tick_for(instrument.class, prev_close);
        let open = round_to(prev_close * gap.exp(), tick);
        let close = round_to(prev_close * ret.exp(), tick);
        let base_volume = instrument.base_volume * lognormal(rng, 0.35) * (1.0 + 1.5 * (ret.abs() / sigma).min(6.0));

        let bar = if !crypto && minute_from.is_some_and(|from| date >= from) {
            let minutes = session(date, open, close, sigma, base_volume, tick, rng);
            let bar = DailyBar {
                date,
                open,
                close,
                high: minutes.iter().map(|m| m.high).fold(f64::MIN, f64::max),
                low: minutes.iter().map(|m| m.low).fold(f64::MAX, f64::min),
                volume: minutes.iter().map(|m| m.volume).sum(),
            };
            series.minutes.push((date, minutes));
            bar
        } else {
            let wick = 0.45 * sigma;
            DailyBar {
                date,
                open,
                close,
                high: round_to(open.max(close) * (wick * half_normal(rng)).exp(), tick),
                low: round_to(open.min(close) * (-wick * half_normal(rng)).exp(), tick),
                volume: base_volume.round() as i64,
            }
        };
        prev_close = bar.close;
        series.daily.push(bar);
    }
    series
}

/// The regular session of one day: 390 one-minute bars bridging `open` to `close`.
fn session(
    date: NaiveDate,
    open: f64,
    close: f64,
    daily_sigma: f64,
    day_volume: f64,
    tick: f64,
    rng: &mut impl Rng,
) -> Vec<MinuteBar> {
    let n = SESSION_MINUTES;
    // U-shaped activity: busy at the open and the close, quiet at lunch.
    let shape = |k: usize| {
        let k = k as f64;
        1.0 + 2.0 * (-k / 20.0).exp() + 1.5 * (-((n - 1) as f64 - k) / 30.0).exp()
    };
    let shape_sq_sum: f64 = (0..n).map(|k| shape(k).powi(2)).sum();
    let unit = 0.85 * daily_sigma / shape_sq_sum.sqrt();

    let mut walk = Vec::with_capacity(n + 1);
    walk.push(0.0f64);
    let mut sigmas = Vec::with_capacity(n);
    for k in 0..n {
        let s = unit * shape(k);
        sigmas.push(s);
        let last = walk[k];
        walk.push(last + s * rng.sample::<f64, _>(StandardNormal));
    }
    let target = (close / open).ln();
    let end = walk[n];
    let price = |k: usize| {
        if k == 0 {
            open
        } else if k == n {
            close
        } else {
            open * (walk[k] - (k as f64 / n as f64) * (end - target)).exp()
        }
    };

    let weights: Vec<f64> = (0..n).map(|k| shape(k) * lognormal(rng, 0.5)).collect();
    let weight_sum: f64 = weights.iter().sum();
    let session_start = NaiveTime::from_hms_opt(9, 30, 0).unwrap_or_default();
    let start = date.and_time(session_start);

    (0..n)
        .map(|k| {
            let o = round_to(price(k), tick);
            let c = round_to(price(k + 1), tick);
            let wick = 0.35 * sigmas[k];
            MinuteBar {
                ts: start + chrono::Duration::minutes(k as i64),
                open: o,
                close: c,
                high: round_to(o.max(c) * (wick * half_normal(rng)).exp(), tick),
                low: round_to(o.min(c) * (-wick * half_normal(rng)).exp(), tick),
                volume: (day_volume * weights[k] / weight_sum).round() as i64,
            }
        })
        .collect()
}

/// Rounds to a multiple of `tick`, never below one tick (prices stay positive).
pub fn round_to(value: f64, tick: f64) -> f64 {
    let units = (value / tick).round().max(1.0);
    // Round the product too, so 0.1 + 0.2-style binary noise does not leak into stored prices.
    let decimals = (-tick.log10()).ceil().max(0.0) as i32;
    let scale = 10f64.powi(decimals);
    (units * tick * scale).round() / scale
}

fn lognormal(rng: &mut impl Rng, sigma: f64) -> f64 {
    (sigma * rng.sample::<f64, _>(StandardNormal) - 0.5 * sigma * sigma).exp()
}

fn half_normal(rng: &mut impl Rng) -> f64 {
    let z: f64 = StandardNormal.sample(rng);
    z.abs()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn rounding_is_monotone_and_positive() {
        assert_eq!(round_to(12.345, 0.01), 12.35);
        assert_eq!(round_to(0.3, 0.1), 0.3);
        assert_eq!(round_to(0.000_000_1, 0.000_001), 0.000_001);
        assert!(round_to(10.004, 0.01) <= round_to(10.006, 0.01));
    }

    #[test]
    fn garch_clusters_volatility() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut g = Garch::new(1e-4, 0.09, 0.89);
        let shocks: Vec<f64> = (0..20_000).map(|_| g.step(rng.sample(StandardNormal))).collect();
        let sq: Vec<f64> = shocks.iter().map(|e| e * e).collect();
        let mean = sq.iter().sum::<f64>() / sq.len() as f64;
        let cov = sq.windows(2).map(|w| (w[0] - mean) * (w[1] - mean)).sum::<f64>() / (sq.len() - 1) as f64;
        let var = sq.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / sq.len() as f64;
        assert!(cov / var > 0.05, "squared shocks should be autocorrelated, got {}", cov / var);
        assert!((mean / 1e-4 - 1.0).abs() < 0.25, "long-run variance kept, got {mean}");
    }
}
