//! Model prices with effective dates, matched by model name, and the cost of a run.
//!
//! Prices are data: the built-in table below, extended (or overridden) by the operator with `MODEL_PRICES`, a JSON
//! array of `{"model_prefix", "effective_from", "input_per_mtok", "output_per_mtok"}` (USD per million tokens).
//! The longest matching prefix wins, then the latest `effective_from` on or before the run's date. Cache writes
//! cost 1.25× the input price, cache reads 0.1×. An unknown model has no cost (`None`, logged), never 0.
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::llm::Usage;

/// One price entry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Price {
    /// Model names starting with this are priced by this entry.
    pub model_prefix: String,
    /// First day it applies.
    pub effective_from: NaiveDate,
    /// USD per million input tokens.
    pub input_per_mtok: Decimal,
    /// USD per million output tokens.
    pub output_per_mtok: Decimal,
}

/// The price table.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceTable {
    prices: Vec<Price>,
}

fn entry(prefix: &str, from: (i32, u32, u32), input: &str, output: &str) -> Price {
    Price {
        model_prefix: prefix.to_owned(),
        effective_from: NaiveDate::from_ymd_opt(from.0, from.1, from.2).unwrap_or(NaiveDate::MIN),
        input_per_mtok: input.parse().unwrap_or_default(),
        output_per_mtok: output.parse().unwrap_or_default(),
    }
}

impl Default for PriceTable {
    fn default() -> Self {
        Self {
            prices: vec![
                entry("claude-haiku-4-5", (2025, 10, 1), "1", "5"),
                entry("claude-3-5-haiku", (2024, 11, 4), "0.8", "4"),
                entry("claude-sonnet-4-5", (2025, 9, 29), "3", "15"),
                entry("claude-sonnet-4", (2025, 5, 22), "3", "15"),
                // Opus 4 and 4.1 (dated names `claude-opus-4-2025…` and `claude-opus-4-1…`).
                entry("claude-opus-4-2025", (2025, 5, 22), "15", "75"),
                entry("claude-opus-4-0", (2025, 5, 22), "15", "75"),
                entry("claude-opus-4-1", (2025, 8, 5), "15", "75"),
                // Opus 4.5 and later.
                entry("claude-opus-4", (2025, 11, 24), "5", "25"),
                entry("offline-demo", (2020, 1, 1), "0", "0"),
            ],
        }
    }
}

impl PriceTable {
    /// The built-in table extended by `MODEL_PRICES` (entries there are added; same prefix and date override).
    pub fn with_overrides(json: Option<&str>) -> Result<Self, String> {
        let mut table = Self::default();
        if let Some(json) = json.filter(|j| !j.trim().is_empty()) {
            let extra: Vec<Price> = serde_json::from_str(json).map_err(|e| format!("not a JSON price list: {e}"))?;
            for price in extra {
                table
                    .prices
                    .retain(|p| !(p.model_prefix == price.model_prefix && p.effective_from == price.effective_from));
                table.prices.push(price);
            }
        }
        Ok(table)
    }

    /// The entry pricing `model` on `date`.
    pub fn price(&self, model: &str, date: NaiveDate) -> Option<&Price> {
        self.prices
            .iter()
            .filter(|p| model.starts_with(&p.model_prefix) && p.effective_from <= date)
            .max_by_key(|p| (p.model_prefix.len(), p.effective_from))
    }

    /// USD cost of `usage` on `model` at `date`, rounded to 6 decimals; `None` for an unknown model.
    pub fn cost(&self, model: &str, date: NaiveDate, usage: &Usage) -> Option<Decimal> {
        let Some(p) = self.price(model, date) else {
            tracing::warn!(model, "no price known for this model: its cost is recorded as unknown");
            return None;
        };
        let million = Decimal::from(1_000_000u32);
        let input = Decimal::from(usage.input_tokens) * p.input_per_mtok;
        let cache_write = Decimal::from(usage.cache_creation_tokens) * p.input_per_mtok * Decimal::new(125, 2);
        let cache_read = Decimal::from(usage.cache_read_tokens) * p.input_per_mtok * Decimal::new(1, 1);
        let output = Decimal::from(usage.output_tokens) * p.output_per_mtok;
        Some(((input + cache_write + cache_read + output) / million).round_dp(6))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 27).expect("date")
    }

    fn usage(input: u64, output: u64, cache_creation: u64, cache_read: u64) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            cache_creation_tokens: cache_creation,
            cache_read_tokens: cache_read,
        }
    }

    fn cost(model: &str, u: Usage) -> Option<String> {
        PriceTable::default().cost(model, day(), &u).map(|c| c.normalize().to_string())
    }

    #[test]
    fn each_model_family_is_priced_per_million_tokens() {
        let m = usage(1_000_000, 1_000_000, 0, 0);
        assert_eq!(cost("claude-haiku-4-5-20251001", m), Some("6".into()));
        assert_eq!(cost("claude-sonnet-4-5-20250929", m), Some("18".into()));
        assert_eq!(cost("claude-opus-4-5-20251101", m), Some("30".into()));
        assert_eq!(cost("claude-opus-4-6", m), Some("30".into()), "Opus 4.5 and later");
        assert_eq!(cost("claude-opus-4-1-20250805", m), Some("90".into()));
        assert_eq!(cost("claude-opus-4-20250514", m), Some("90".into()), "Opus 4");
        assert_eq!(cost("offline-demo", m), Some("0".into()));
    }

    #[test]
    fn cache_writes_cost_more_and_reads_less_than_input() {
        // Haiku 4.5: 1 USD/MTok input → write 1.25, read 0.10.
        assert_eq!(cost("claude-haiku-4-5", usage(0, 0, 1_000_000, 0)), Some("1.25".into()));
        assert_eq!(cost("claude-haiku-4-5", usage(0, 0, 0, 1_000_000)), Some("0.1".into()));
        // A typical turn: 1 234 in, 567 out, 2 000 cache write, 10 000 cache read on Sonnet 4.5.
        // 1234*3 + 2000*3.75 + 10000*0.3 + 567*15 = 3702 + 7500 + 3000 + 8505 = 22707 → 0.022707 USD.
        assert_eq!(cost("claude-sonnet-4-5", usage(1_234, 567, 2_000, 10_000)), Some("0.022707".into()));
    }

    #[test]
    fn unknown_models_have_no_cost_not_zero() {
        assert_eq!(cost("gpt-4o", usage(1_000, 1_000, 0, 0)), None);
        assert_eq!(cost("claude-opus-5", usage(1_000, 1_000, 0, 0)), None);
    }

    #[test]
    fn effective_dates_and_operator_overrides_apply() {
        let table = PriceTable::with_overrides(Some(
            r#"[{"model_prefix": "claude-haiku-4-5", "effective_from": "2026-12-01", "input_per_mtok": "2", "output_per_mtok": "10"},
                {"model_prefix": "local-llama", "effective_from": "2020-01-01", "input_per_mtok": "0", "output_per_mtok": "0"}]"#,
        ))
        .expect("valid");
        let m = usage(1_000_000, 1_000_000, 0, 0);
        assert_eq!(table.cost("claude-haiku-4-5", day(), &m).map(|c| c.normalize().to_string()), Some("6".into()));
        let later = NaiveDate::from_ymd_opt(2026, 12, 2).expect("date");
        assert_eq!(table.cost("claude-haiku-4-5", later, &m).map(|c| c.normalize().to_string()), Some("12".into()));
        assert!(table.cost("local-llama-3", day(), &m).is_some());
        assert!(PriceTable::with_overrides(Some("not json")).is_err());
    }
}
