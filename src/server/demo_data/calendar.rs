//! Exchange calendar for the demo data: NYSE-style trading days (weekdays minus the usual US market holidays).
use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// Whether US equities trade on `day`.
pub fn is_trading_day(day: NaiveDate) -> bool {
    !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) && !is_holiday(day)
}

/// The equity trading days in `[start, end]`.
pub fn trading_days(start: NaiveDate, end: NaiveDate) -> Vec<NaiveDate> {
    start.iter_days().take_while(|d| *d <= end).filter(|d| is_trading_day(*d)).collect()
}

/// The last trading day on or before `day`.
pub fn last_trading_day_on_or_before(mut day: NaiveDate) -> NaiveDate {
    while !is_trading_day(day) {
        day = day.pred_opt().unwrap_or(day);
    }
    day
}

fn is_holiday(day: NaiveDate) -> bool {
    let y = day.year();
    let fixed = |m, d| NaiveDate::from_ymd_opt(y, m, d).map(observed);
    let holidays = [
        // New Year's Day on a Saturday is not observed on the Friday before (it would fall in the old year).
        NaiveDate::from_ymd_opt(y, 1, 1).filter(|d| d.weekday() != Weekday::Sat).map(observed),
        nth_weekday(y, 1, Weekday::Mon, 3),              // Martin Luther King Jr. Day
        nth_weekday(y, 2, Weekday::Mon, 3),              // Washington's Birthday
        easter_sunday(y).map(|e| e - Duration::days(2)), // Good Friday
        last_weekday(y, 5, Weekday::Mon),                // Memorial Day
        if y >= 2022 { fixed(6, 19) } else { None },     // Juneteenth
        fixed(7, 4),                                     // Independence Day
        nth_weekday(y, 9, Weekday::Mon, 1),              // Labor Day
        nth_weekday(y, 11, Weekday::Thu, 4),             // Thanksgiving
        fixed(12, 25),                                   // Christmas
    ];
    holidays.iter().flatten().any(|h| *h == day)
}

/// A holiday on Saturday is observed on Friday, on Sunday on Monday.
fn observed(day: NaiveDate) -> NaiveDate {
    match day.weekday() {
        Weekday::Sat => day - Duration::days(1),
        Weekday::Sun => day + Duration::days(1),
        _ => day,
    }
}

fn nth_weekday(year: i32, month: u32, weekday: Weekday, n: u8) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, n)
}

fn last_weekday(year: i32, month: u32, weekday: Weekday) -> Option<NaiveDate> {
    nth_weekday(year, month, weekday, 5).or_else(|| nth_weekday(year, month, weekday, 4))
}

/// Easter Sunday (Gregorian), by the anonymous Gregorian algorithm.
fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = ((h + l - 7 * m + 114) % 31) + 1;
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
    }

    #[test]
    fn known_holidays_are_closed() {
        assert!(!is_trading_day(d(2024, 3, 29)), "Good Friday 2024");
        assert!(!is_trading_day(d(2025, 4, 18)), "Good Friday 2025");
        assert!(!is_trading_day(d(2024, 11, 28)), "Thanksgiving 2024");
        assert!(!is_trading_day(d(2022, 12, 26)), "Christmas 2022 observed on Monday");
        assert!(!is_trading_day(d(2021, 7, 5)), "Independence Day 2021 observed on Monday");
        assert!(!is_trading_day(d(2023, 6, 19)), "Juneteenth 2023");
        assert!(is_trading_day(d(2021, 12, 31)), "New Year 2022 fell on a Saturday: Dec 31 trades");
        assert!(!is_trading_day(d(2024, 6, 15)), "a Saturday");
        assert!(is_trading_day(d(2024, 6, 14)));
    }

    #[test]
    fn a_year_has_about_252_trading_days() {
        assert_eq!(trading_days(d(2024, 1, 1), d(2024, 12, 31)).len(), 252);
        assert_eq!(trading_days(d(2023, 1, 1), d(2023, 12, 31)).len(), 250);
    }

    #[test]
    fn last_trading_day_skips_weekends_and_holidays() {
        assert_eq!(last_trading_day_on_or_before(d(2024, 12, 1)), d(2024, 11, 29));
        assert_eq!(last_trading_day_on_or_before(d(2024, 3, 31)), d(2024, 3, 28));
    }
}
