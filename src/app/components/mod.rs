//! Reusable UI parts.
pub mod alert_text;
pub mod chart;
pub mod chart_builder;
pub mod copy_button;
pub mod data_table;
pub mod error_text;
pub mod get_form;
pub mod pager;
pub mod search_form;
pub mod star;
pub mod status_panel;
pub mod tool_step;

use crate::app::locale::Locale;

/// Which form of a counted word a number takes: a key's `_one`, `_few` or `_many` variant (English uses two of
/// them, Russian all three). Translations carry every variant in both locales, so their keys stay the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plural {
    One,
    Few,
    Many,
}

/// The plural form of `n` in `locale`.
pub(crate) fn plural(locale: Locale, n: u64) -> Plural {
    match locale {
        Locale::en if n == 1 => Plural::One,
        Locale::en => Plural::Many,
        Locale::ru => match (n % 10, n % 100) {
            (1, r) if r != 11 => Plural::One,
            (2..=4, r) if !(12..=14).contains(&r) => Plural::Few,
            _ => Plural::Many,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_counts_take_three_forms() {
        let forms: Vec<Plural> = [1, 2, 5, 11, 12, 21, 22, 25, 101, 111].map(|n| plural(Locale::ru, n)).to_vec();
        use Plural::*;
        assert_eq!(forms, [One, Few, Many, Many, Many, One, Few, Many, One, Many]);
        assert_eq!(plural(Locale::en, 1), One);
        assert_eq!(plural(Locale::en, 2), Many);
    }
}
