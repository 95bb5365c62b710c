//! The demo portfolio: a few accounts and the fills that built their positions, drawn so that every fill
//! happens inside its bar's range at a time the market was open, and no account ever sells what it does not hold.
use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use rand::Rng;
use rand::seq::IndexedRandom;

use super::market::{DailyBar, MinuteBar, Series, round_to};
use super::universe::{AssetClass, Instrument, tick_for};

/// A demo account.
#[derive(Debug, Clone)]
pub struct Account {
    /// Key.
    pub id: i32,
    /// Display name.
    pub name: &'static str,
    /// What it trades.
    pub style: &'static str,
    /// When it opened.
    pub opened_on: NaiveDate,
    /// Symbols it trades.
    pub symbols: Vec<String>,
    /// Probability of trading on a given day.
    trade_probability: f64,
}

/// Buy or sell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Increases the position.
    Buy,
    /// Decreases it.
    Sell,
}

impl Side {
    /// The value stored in `trades.side`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Buy => "buy",
            Self::Sell => "sell",
        }
    }
}

/// One fill.
#[derive(Debug, Clone)]
pub struct Trade {
    /// Key (assigned in execution order).
    pub id: i64,
    pub account_id: i32,
    /// Instrument.
    pub symbol: String,
    pub side: Side,
    /// Units (a multiple of the lot size).
    pub quantity: f64,
    /// Fill price.
    pub price: f64,
    /// Commission and fees in USD.
    pub fees: f64,
    /// When it executed (exchange local time for equities, UTC for crypto).
    pub executed_at: NaiveDateTime,
}

/// The demo accounts, each trading the symbols of its style that exist at this scale.
pub fn accounts(instruments: &[Instrument], opened_on: NaiveDate) -> Vec<Account> {
    let pick = |wanted: &[&str], class: &[AssetClass], fallback: usize| -> Vec<String> {
        let present: Vec<String> =
            wanted.iter().filter(|s| instruments.iter().any(|i| i.symbol == **s)).map(|s| s.to_string()).collect();
        if !present.is_empty() {
            return present;
        }
        instruments.iter().filter(|i| class.contains(&i.class)).take(fallback).map(|i| i.symbol.clone()).collect()
    };
    let equity = [AssetClass::Equity, AssetClass::Etf];
    vec![
        Account {
            id: 1,
            name: "Long-term brokerage",
            style: "buy-and-hold ETFs and quality equities",
            opened_on,
            symbols: pick(&["BMKT", "TECQ", "UTLX", "NOVA", "MEDX", "PNCL", "GRID", "AERO"], &equity, 6),
            trade_probability: 0.05,
        },
        Account {
            id: 2,
            name: "Active trading",
            style: "swing trades in volatile equities",
            opened_on,
            symbols: pick(&["QBIT", "SEMX", "SOLR", "GENO", "LITH", "ROBO", "VLTB", "CLDX"], &equity, 6),
            trade_probability: 0.22,
        },
        Account {
            id: 3,
            name: "Crypto wallet",
            style: "major crypto assets",
            opened_on,
            symbols: pick(&["BTC-USD", "ETH-USD", "SOL-USD", "AVAX-USD"], &[AssetClass::Crypto], 3),
            trade_probability: 0.08,
        },
    ]
    .into_iter()
    .filter(|a| !a.symbols.is_empty())
    .collect()
}

/// Draws the accounts' fills from the simulated bars of the symbols they trade.
pub fn trades(
    accounts: &[Account],
    instruments: &[Instrument],
    series: &HashMap<String, Series>,
    rng: &mut impl Rng,
) -> Vec<Trade> {
    let mut trades = Vec::new();
    for account in accounts {
        let mut positions: HashMap<&str, f64> = HashMap::new();
        // Every day any of the account's symbols traded, in order.
        let mut days: Vec<NaiveDate> =
            account.symbols.iter().filter_map(|s| series.get(s)).flat_map(|s| s.daily.iter().map(|b| b.date)).collect();
        days.sort_unstable();
        days.dedup();
        for day in days {
            if !rng.random_bool(account.trade_probability) {
                continue;
            }
            // Draw the day's fills first, then decide sides in time order, so a sell never precedes its buy.
            let mut fills = Vec::new();
            for _ in 0..rng.random_range(1..=2) {
                let Some(symbol) = account.symbols.choose(rng) else {
                    continue;
                };
                let (Some(instrument), Some(s)) =
                    (instruments.iter().find(|i| &i.symbol == symbol), series.get(symbol))
                else {
                    continue;
                };
                let Ok(bar_index) = s.daily.binary_search_by_key(&day, |b| b.date) else {
                    continue;
                };
                let minutes = s.minutes.iter().find(|(d, _)| *d == day).map(|(_, m)| m.as_slice());
                let (price, executed_at) = fill_price_and_time(instrument, &s.daily[bar_index], minutes, rng);
                fills.push((executed_at, instrument, price));
            }
            fills.sort_by_key(|(at, _, _)| *at);
            for (executed_at, instrument, price) in fills {
                let symbol = instrument.symbol.as_str();
                let held = positions.get(symbol).copied().unwrap_or(0.0);
                let lot = instrument.lot_size;
                let (side, quantity) = if held >= lot && rng.random_bool(0.4) {
                    let fraction = if rng.random_bool(0.3) { 1.0 } else { rng.random_range(0.2..0.8) };
                    (Side::Sell, round_down_to_lot(held * fraction, lot).max(lot).min(held))
                } else {
                    let notional = rng.random_range(1_500.0..12_000.0);
                    (Side::Buy, round_down_to_lot(notional / price, lot).max(lot))
                };
                let signed = if side == Side::Buy { quantity } else { -quantity };
                let entry = positions.entry(symbol).or_insert(0.0);
                *entry = to_lots(*entry + signed, lot, f64::round);
                trades.push(Trade {
                    id: 0,
                    account_id: account.id,
                    symbol: symbol.to_owned(),
                    side,
                    quantity,
                    price,
                    fees: fees(instrument.class, quantity, price),
                    executed_at,
                });
            }
        }
    }
    trades.sort_by(|a, b| a.executed_at.cmp(&b.executed_at).then(a.account_id.cmp(&b.account_id)));
    for (i, t) in trades.iter_mut().enumerate() {
        t.id = i as i64 + 1;
    }
    trades
}

/// A price inside the bar's range and a time the market was open: inside a minute bar when the day has them.
fn fill_price_and_time(
    instrument: &Instrument,
    bar: &DailyBar,
    minutes: Option<&[MinuteBar]>,
    rng: &mut impl Rng,
) -> (f64, NaiveDateTime) {
    let tick = tick_for(instrument.class, bar.close);
    let within = |low: f64, high: f64, rng: &mut dyn rand::RngCore| {
        let p = if high > low { low + (high - low) * rng.random::<f64>() } else { low };
        round_to(p, tick).clamp(low, high)
    };
    if let Some(minute) = minutes.and_then(|m| m.choose(rng)) {
        let seconds = rng.random_range(0..60);
        return (within(minute.low, minute.high, rng), minute.ts + chrono::Duration::seconds(seconds));
    }
    let (start, span_minutes) = match instrument.class {
        AssetClass::Crypto => (NaiveTime::MIN, 24 * 60),
        _ => (NaiveTime::from_hms_opt(9, 30, 0).unwrap_or(NaiveTime::MIN), 390),
    };
    let offset = chrono::Duration::seconds(rng.random_range(0..span_minutes * 60));
    (within(bar.low, bar.high, rng), bar.date.and_time(start) + offset)
}

/// Commission: equities $0.005 a share (min $1, max 1 % of notional); crypto 0.10 % of notional.
fn fees(class: AssetClass, quantity: f64, price: f64) -> f64 {
    let notional = quantity * price;
    let fee = match class {
        AssetClass::Crypto => notional * 0.001,
        _ => (quantity * 0.005).max(1.0).min(notional * 0.01),
    };
    (fee.max(0.01) * 100.0).round() / 100.0
}

/// Rounds down to a whole number of lots.
fn round_down_to_lot(quantity: f64, lot: f64) -> f64 {
    to_lots(quantity + lot * 1e-9, lot, f64::floor)
}

/// A whole number of lots by `round`, with the lot's own decimals, so no binary noise remains.
fn to_lots(quantity: f64, lot: f64, round: fn(f64) -> f64) -> f64 {
    let lots = round(quantity / lot).max(0.0);
    let decimals = (-lot.log10()).ceil().max(0.0) as i32;
    let scale = 10f64.powi(decimals);
    (lots * lot * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fees_follow_the_schedule() {
        assert_eq!(fees(AssetClass::Equity, 100.0, 50.0), 1.0);
        assert_eq!(fees(AssetClass::Equity, 1000.0, 50.0), 5.0);
        assert_eq!(fees(AssetClass::Crypto, 0.5, 30_000.0), 15.0);
    }

    #[test]
    fn lots_round_down_cleanly() {
        assert_eq!(round_down_to_lot(12.9, 1.0), 12.0);
        assert_eq!(round_down_to_lot(0.123_456, 0.0001), 0.1234);
        assert_eq!(round_down_to_lot(0.3, 0.1), 0.3);
    }
}
