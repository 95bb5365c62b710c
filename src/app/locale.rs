//! The UI's language: the translations (`locales/<locale>/<namespace>.json`, through `leptos_i18n`), the switcher,
//! and how dates and numbers are written in each locale.
//!
//! The locale is resolved on the server — the switcher's cookie, else `Accept-Language`, else English — and the
//! browser hydrates with the same one, so both sides render the same text. Dates and numbers are formatted here
//! rather than with ICU: two locales need a few patterns, and ICU's data would double the WASM bundle.
use chrono::{DateTime, Datelike, Timelike, Utc};
use leptos::prelude::*;
use leptos::server::ServerAction;

use crate::api::SetLocale;
pub use crate::i18n::{I18nContextProvider, Locale, t, t_string, use_i18n};

/// A UI string in the page's language, as a plain `&'static str`: `tr!(i18n, namespace.key)`. A page's language
/// is fixed for its life (the switcher reloads the page), so static text needs no reactive closure of its own —
/// `t!`'s closure per string was a large share of the browser bundle's view code. `t!` stays for strings with
/// interpolated values.
macro_rules! tr {
    ($i18n:expr, $($key:tt)+) => {
        $crate::i18n::td_string!($i18n.get_locale_untracked(), $($key)+)
    };
}
use leptos_i18n::Locale as _;
pub(crate) use tr;

// `load_locales!` reads these files at compile time but cannot tell Cargo so; including them makes an edited
// translation rebuild the crate.
const _TRANSLATIONS: [&str; 12] = [
    include_str!("../../locales/en/common.json"),
    include_str!("../../locales/en/components.json"),
    include_str!("../../locales/en/auth.json"),
    include_str!("../../locales/en/chat.json"),
    include_str!("../../locales/en/pages.json"),
    include_str!("../../locales/en/errors.json"),
    include_str!("../../locales/ru/common.json"),
    include_str!("../../locales/ru/components.json"),
    include_str!("../../locales/ru/auth.json"),
    include_str!("../../locales/ru/chat.json"),
    include_str!("../../locales/ru/pages.json"),
    include_str!("../../locales/ru/errors.json"),
];

/// The current locale (reactive).
pub fn current() -> Locale {
    use_i18n().get_locale()
}

/// How a locale names itself in the switcher.
fn native_name(locale: Locale) -> &'static str {
    match locale {
        Locale::en => "English",
        Locale::ru => "Русский",
    }
}

const MONTHS_EN: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const MONTHS_RU: [&str; 12] =
    ["янв.", "февр.", "мар.", "апр.", "мая", "июн.", "июл.", "авг.", "сент.", "окт.", "нояб.", "дек."];

/// A timestamp in full, in UTC: `2026-12-02 14:05 UTC` / `02.12.2026 14:05 UTC`.
pub fn date_time(locale: Locale, at: DateTime<Utc>) -> String {
    match locale {
        Locale::en => at.format("%Y-%m-%d %H:%M UTC").to_string(),
        Locale::ru => at.format("%d.%m.%Y %H:%M UTC").to_string(),
    }
}

/// A timestamp without the zone, for tables: `2026-12-02 14:05` / `02.12.2026 14:05`.
pub fn date_time_short(locale: Locale, at: DateTime<Utc>) -> String {
    match locale {
        Locale::en => at.format("%Y-%m-%d %H:%M").to_string(),
        Locale::ru => at.format("%d.%m.%Y %H:%M").to_string(),
    }
}

/// Day, month and time, for lists of recent things: `Dec 02, 14:05` / `02 дек., 14:05`.
pub fn day_and_time(locale: Locale, at: DateTime<Utc>) -> String {
    let month = at.month0() as usize;
    match locale {
        Locale::en => format!("{} {:02}, {:02}:{:02}", MONTHS_EN[month], at.day(), at.hour(), at.minute()),
        Locale::ru => format!("{:02} {}, {:02}:{:02}", at.day(), MONTHS_RU[month], at.hour(), at.minute()),
    }
}

/// Day and month of a date: `1 Jan` / `1 янв.`.
pub fn day_month(locale: Locale, date: chrono::NaiveDate) -> String {
    let month = date.month0() as usize;
    match locale {
        Locale::en => format!("{} {}", date.day(), MONTHS_EN[month]),
        Locale::ru => format!("{} {}", date.day(), MONTHS_RU[month]),
    }
}

/// `value` with `decimals` places and the locale's separators: `1,234.50` / `1 234,50` (a no-break space groups
/// thousands in Russian).
pub fn number(locale: Locale, value: f64, decimals: usize) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let (group, point) = match locale {
        Locale::en => (",", "."),
        Locale::ru => ("\u{a0}", ","),
    };
    let fixed = format!("{:.*}", decimals, value.abs());
    let (int, frac) = fixed.split_once('.').unwrap_or((&fixed, ""));
    let mut out = String::with_capacity(fixed.len() + fixed.len() / 3 * group.len() + 1);
    if value < 0.0 && fixed.bytes().any(|b| b.is_ascii_digit() && b != b'0') {
        out.push('-');
    }
    for (i, digit) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push_str(group);
        }
        out.push(digit);
    }
    if !frac.is_empty() {
        out.push_str(point);
        out.push_str(frac);
    }
    out
}

/// The language switcher: one button per other locale. It posts a form (so it works before the WASM loads, and
/// the next page comes back in the new language); once hydrated, it posts in the background and reloads the page.
#[component]
pub fn LocaleSwitcher() -> impl IntoView {
    let i18n = use_i18n();
    let action = ServerAction::<SetLocale>::new();
    Effect::new(move |_| {
        // The server set the cookie; the page comes back in the new language (UI text is fixed per page, see
        // `tr!`). The page is what the address says, so nothing on it is lost.
        if let Some(Ok(_)) = action.value().get() {
            let _ = window().location().reload();
        }
    });
    view! {
        <ActionForm action attr:class="locale-switcher">
            {move || {
                let current = i18n.get_locale();
                Locale::get_all()
                    .iter()
                    .copied()
                    .filter(|l| *l != current)
                    .map(|l| {
                        view! {
                            <button
                                type="submit"
                                name="locale"
                                value=l.as_str()
                                class="btn small ghost"
                                lang=l.as_str()
                                data-testid="locale-switch"
                                title=tr!(i18n, common.language)
                            >
                                {native_name(l)}
                            </button>
                        }
                    })
                    .collect_view()
            }}
        </ActionForm>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn numbers_use_each_locales_separators() {
        assert_eq!(number(Locale::en, 1234567.891, 2), "1,234,567.89");
        assert_eq!(number(Locale::ru, 1234567.891, 2), "1\u{a0}234\u{a0}567,89");
        assert_eq!(number(Locale::en, -0.004, 2), "0.00");
        assert_eq!(number(Locale::en, -1234.5, 1), "-1,234.5");
        assert_eq!(number(Locale::ru, 999.0, 0), "999");
        assert_eq!(number(Locale::en, 100.0, 0), "100");
    }

    #[test]
    fn dates_follow_the_locale() {
        let at = Utc.with_ymd_and_hms(2026, 12, 2, 14, 5, 0).single().expect("valid");
        assert_eq!(date_time(Locale::en, at), "2026-12-02 14:05 UTC");
        assert_eq!(date_time(Locale::ru, at), "02.12.2026 14:05 UTC");
        assert_eq!(day_and_time(Locale::en, at), "Dec 02, 14:05");
        assert_eq!(day_and_time(Locale::ru, at), "02 дек., 14:05");
    }

    #[test]
    fn both_locales_have_the_same_keys() {
        for (en, ru) in _TRANSLATIONS[..6].iter().zip(&_TRANSLATIONS[6..]) {
            let keys = |text: &str| -> Vec<String> {
                let value: serde_json::Value = serde_json::from_str(text).expect("valid JSON");
                let mut keys: Vec<String> = value.as_object().expect("an object").keys().cloned().collect();
                keys.sort();
                keys
            };
            assert_eq!(keys(en), keys(ru));
        }
    }
}
