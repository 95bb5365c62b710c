//! The admin dashboard's date range, parsed at the edge: real dates, in order, at most [`MAX_DAYS`] long, within
//! years 2000–9999 — anything else (`to=-262143-01-01`) is a message, never date arithmetic that overflows.
use crate::api::reasons::{DateField, Invalid};
use chrono::{Duration, NaiveDate};

use crate::api::AppError;

/// The longest range, in days (ten years).
pub const MAX_DAYS: i64 = 3_660;
/// Days shown when no start is given.
const DEFAULT_DAYS: i64 = 30;

/// An inclusive range of days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
}

impl DateRange {
    /// `from`–`to` as `YYYY-MM-DD` (blank: the 30 days up to `today`).
    pub fn parse(from: Option<&str>, to: Option<&str>, today: NaiveDate) -> Result<Self, AppError> {
        let date = |raw: Option<&str>, what: DateField| -> Result<Option<NaiveDate>, AppError> {
            let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(None) };
            let parsed = raw
                .parse::<NaiveDate>()
                .ok()
                .filter(|d| (2000..=9999).contains(&chrono::Datelike::year(d)))
                .ok_or(AppError::Invalid(Invalid::Date(what)))?;
            Ok(Some(parsed))
        };
        let to = date(to, DateField::End)?.unwrap_or(today);
        let from = match date(from, DateField::Start)? {
            Some(from) => from,
            None => to.checked_sub_signed(Duration::days(DEFAULT_DAYS - 1)).unwrap_or(to),
        };
        if from > to {
            return Err(AppError::Invalid(Invalid::DateOrder));
        }
        if (to - from).num_days() >= MAX_DAYS {
            return Err(AppError::Invalid(Invalid::RangeTooLong));
        }
        Ok(Self { from, to })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    #[test]
    fn ranges_are_real_dates_in_order_and_bounded() {
        let today = day("2026-12-01");
        assert_eq!(
            DateRange::parse(None, None, today).expect("default"),
            DateRange { from: day("2026-11-02"), to: today }
        );
        let r = DateRange::parse(Some("2026-01-01"), Some("2026-02-01"), today).expect("range");
        assert_eq!((r.from, r.to), (day("2026-01-01"), day("2026-02-01")));
        for (from, to) in [
            (None, Some("-262143-01-01")),
            (Some("+262142-12-31"), None),
            (Some("2026-02-30"), None),
            (Some("0001-01-01"), None),
            (Some("yesterday"), None),
            (Some("2026-02-01"), Some("2026-01-01")),
            (Some("2000-01-01"), Some("2026-01-01")),
        ] {
            let err = DateRange::parse(from, to, today).expect_err("refused");
            assert_eq!(err.status(), 400, "{from:?}–{to:?}: {err}");
        }
    }
}
