//! Reading a question: its language, which instruments it names, what it asks, over which period. Pure functions,
//! tested here. Questions in English and in Russian are understood alike.

/// The language a question is written in; the answer is written in the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lang {
    En,
    Ru,
}

/// Russian when the question has more Cyrillic letters than Latin ones outside tickers, else English.
pub(super) fn language(question: &str) -> Lang {
    let cyrillic = question.chars().filter(|c| ('\u{400}'..='\u{4ff}').contains(c)).count();
    let latin_lower = question.chars().filter(char::is_ascii_lowercase).count();
    if cyrillic > 0 && cyrillic >= latin_lower { Lang::Ru } else { Lang::En }
}

/// Russian names of instruments, mapped to the word of their English name the matcher looks for.
const RUSSIAN_NAMES: [(&str, &str); 6] = [
    ("биткоин", "bitcoin"),
    ("биткойн", "bitcoin"),
    ("эфириум", "ethereum"),
    ("эфир", "ethereum"),
    ("солана", "solana"),
    ("нова", "nova"),
];

/// What a question asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Intent {
    /// The latest daily bar of these symbols.
    Price(Vec<String>),
    /// Returns of these symbols over this many days (0: year to date), and how to say the period.
    Returns(Vec<String>, u32, String),
    /// The biggest moves of the latest day.
    Movers,
    /// The demo portfolio's positions and P&L.
    Portfolio,
    /// VWAP from minute bars.
    Vwap(Vec<String>),
    /// A chart of the first symbol; candlesticks when `true`.
    Chart(Vec<String>, bool),
    /// Not a shape the offline model knows.
    Unknown,
}

/// The instruments `question` names, by ticker (`NOVA`, `btc` for `BTC-USD`) or by the first word of their name.
pub(super) fn symbols_in(question: &str, instruments: &[(String, String)]) -> Vec<String> {
    let lower = question.to_lowercase();
    let words: Vec<String> = lower
        .split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '.'))
        .filter(|w| !w.is_empty())
        .map(|w| {
            // A Russian name in any case ending ("биткоина", "эфиром") stands for its English word.
            RUSSIAN_NAMES
                .iter()
                .find(|(ru, _)| w.starts_with(ru))
                .map_or_else(|| w.to_owned(), |(_, en)| (*en).to_owned())
        })
        .collect();
    let mut found = Vec::new();
    for (symbol, name) in instruments.iter() {
        let sym = symbol.to_lowercase();
        let base = sym.split('-').next().unwrap_or(&sym).to_owned();
        let first_name_word = name.split_whitespace().next().unwrap_or_default();
        let hit = words.iter().any(|w| *w == sym || (base.len() >= 3 && *w == base && symbol.contains('-')))
            || (first_name_word.len() >= 4 && words.iter().any(|w| w == first_name_word));
        if hit && !found.contains(symbol) {
            found.push(symbol.clone());
        }
    }
    found
}

/// What `question` asks, given the instruments it names. Word stems cover Russian case endings.
pub(super) fn intent(question: &str, symbols: Vec<String>) -> Intent {
    let q = question.to_lowercase();
    let lang = language(question);
    let has = |words: &[&str]| words.iter().any(|w| q.contains(w));
    let candles = has(&["candle", "свеч"]);
    if has(&["chart", "plot", "graph", "candle", "график", "свеч", "диаграмм"]) && !symbols.is_empty()
    {
        return Intent::Chart(symbols, candles);
    }
    if has(&[
        "portfolio",
        "p&l",
        "pnl",
        "position",
        "holding",
        "my account",
        "портфел",
        "позици",
        "мои счет",
        "мои счёт",
    ]) {
        return Intent::Portfolio;
    }
    if has(&["mover", "gainer", "loser", "biggest move", "лидер", "сильнее всего", "больше всего", "движени", "растущ"])
    {
        return Intent::Movers;
    }
    if symbols.is_empty() {
        return Intent::Unknown;
    }
    if has(&["vwap", "средневзвешенн"]) {
        return Intent::Vwap(symbols);
    }
    if has(&["доходност", "изменени", "динамик", "с начала года", "за последн", "прибавил", "вырос", "упал"])
        || has(&[
            "return",
            "performance",
            "perform",
            "change",
            "gain",
            "ytd",
            "over the last",
            "over 1",
            "over 2",
            "over 3",
            "over 6",
        ])
    {
        let (days, label) = period(&q, lang);
        return Intent::Returns(symbols, days, label);
    }
    if has(&["price", "close", "quote", "trading", "worth", "last", "latest", "how much"]) {
        return Intent::Price(symbols);
    }
    Intent::Price(symbols)
}

/// A unit of a period, and how many days it has.
#[derive(Debug, Clone, Copy)]
enum Unit {
    Day,
    Week,
    Month,
    Year,
}

impl Unit {
    fn days(self) -> u32 {
        match self {
            Self::Day => 1,
            Self::Week => 7,
            Self::Month => 30,
            Self::Year => 365,
        }
    }

    /// The unit of a word: `days`, `недели`, `месяцев`, `лет`, `30-дневная`…
    fn of(word: &str) -> Option<Self> {
        let stems: [(&[&str], Self); 4] = [
            (&["day", "дн", "ден", "дня"], Self::Day),
            (&["week", "недел"], Self::Week),
            (&["month", "месяц"], Self::Month),
            (&["year", "год", "лет"], Self::Year),
        ];
        stems.iter().find(|(prefixes, _)| prefixes.iter().any(|p| word.starts_with(p))).map(|(_, unit)| *unit)
    }

    /// `n` of this unit, said in `lang` (Russian counts take one of three forms).
    fn say(self, n: u32, lang: Lang) -> String {
        match lang {
            Lang::En => {
                let word = match self {
                    Self::Day => "day",
                    Self::Week => "week",
                    Self::Month => "month",
                    Self::Year => "year",
                };
                format!("{n} {word}{}", if n == 1 { "" } else { "s" })
            }
            Lang::Ru => {
                let forms = match self {
                    Self::Day => ["день", "дня", "дней"],
                    Self::Week => ["неделю", "недели", "недель"],
                    Self::Month => ["месяц", "месяца", "месяцев"],
                    Self::Year => ["год", "года", "лет"],
                };
                let form = match (n % 10, n % 100) {
                    (_, 11..=14) => 2,
                    (1, _) => 0,
                    (2..=4, _) => 1,
                    _ => 2,
                };
                format!("{n} {}", forms[form])
            }
        }
    }
}

/// The period of a returns question in days (0: year to date), and how to say it in `lang`.
pub(super) fn period(q: &str, lang: Lang) -> (u32, String) {
    if ["ytd", "year to date", "this year", "с начала года", "в этом году"].iter().any(|w| q.contains(w))
    {
        return (0, if lang == Lang::Ru { "с начала года" } else { "year to date" }.into());
    }
    let words: Vec<&str> = q.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let found = |n: u32, unit: Unit| ((n * unit.days()).clamp(1, 3650), unit.say(n, lang));
    for pair in words.windows(2) {
        if let Ok(n) = pair[0].parse::<u32>()
            && let Some(unit) = Unit::of(pair[1])
        {
            return found(n, unit);
        }
    }
    for w in &words {
        if let Some(n) = w.strip_suffix('d').and_then(|d| d.parse::<u32>().ok()) {
            return found(n, Unit::Day);
        }
    }
    for (stems, unit) in
        [(["month", "месяц"], Unit::Month), (["week", "недел"], Unit::Week), (["year", "год"], Unit::Year)]
    {
        if stems.iter().any(|s| q.contains(s)) {
            return found(1, unit);
        }
    }
    found(30, Unit::Day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instruments() -> Vec<(String, String)> {
        [("NOVA", "nova systems"), ("QBIT", "qbit quantum"), ("BTC-USD", "bitcoin"), ("SEMX", "semx semiconductors")]
            .into_iter()
            .map(|(s, n)| (s.to_owned(), n.to_owned()))
            .collect()
    }

    #[test]
    fn symbols_by_ticker_base_or_first_name_word() {
        let all = instruments();
        assert_eq!(symbols_in("latest price of NOVA and qbit", &all), ["NOVA", "QBIT"]);
        assert_eq!(symbols_in("where is btc trading?", &all), ["BTC-USD"]);
        assert_eq!(symbols_in("how is bitcoin doing", &all), ["BTC-USD"]);
        assert!(symbols_in("what is the weather", &all).is_empty());
    }

    #[test]
    fn periods_in_days_weeks_months_years_and_year_to_date() {
        let en = |q: &str| period(q, Lang::En);
        assert_eq!(en("30-day return of nova"), (30, "30 days".to_owned()));
        assert_eq!(en("performance over 3 months"), (90, "3 months".to_owned()));
        assert_eq!(en("return over 2 weeks"), (14, "2 weeks".to_owned()));
        assert_eq!(en("1 year return"), (365, "1 year".to_owned()));
        assert_eq!(en("ytd performance"), (0, "year to date".to_owned()));
        assert_eq!(en("return of nova"), (30, "30 days".to_owned()));
        assert_eq!(en("90d return of nova"), (90, "90 days".to_owned()));
    }

    #[test]
    fn russian_periods_take_the_right_form_of_the_unit() {
        let ru = |q: &str| period(q, Lang::Ru);
        assert_eq!(ru("доходность nova за 30 дней"), (30, "30 дней".to_owned()));
        assert_eq!(ru("доходность за 3 месяца"), (90, "3 месяца".to_owned()));
        assert_eq!(ru("изменение за 2 недели"), (14, "2 недели".to_owned()));
        assert_eq!(ru("доходность за 1 год"), (365, "1 год".to_owned()));
        assert_eq!(ru("доходность за 21 день"), (21, "21 день".to_owned()));
        assert_eq!(ru("доходность за 11 дней"), (11, "11 дней".to_owned()));
        assert_eq!(ru("30-дневная доходность"), (30, "30 дней".to_owned()));
        assert_eq!(ru("доходность с начала года"), (0, "с начала года".to_owned()));
        assert_eq!(ru("доходность за месяц"), (30, "1 месяц".to_owned()));
        assert_eq!(ru("доходность qbit"), (30, "30 дней".to_owned()));
    }

    #[test]
    fn russian_questions_of_every_shape() {
        let nova = || vec!["NOVA".to_owned()];
        assert_eq!(language("Какая последняя цена NOVA?"), Lang::Ru);
        assert_eq!(language("latest price of NOVA"), Lang::En);
        assert_eq!(intent("Покажи график NOVA", nova()), Intent::Chart(nova(), false));
        assert_eq!(intent("свечной график NOVA", nova()), Intent::Chart(nova(), true));
        assert_eq!(intent("Как дела у моего портфеля?", vec![]), Intent::Portfolio);
        assert_eq!(intent("Лидеры роста и падения сегодня", vec![]), Intent::Movers);
        assert_eq!(intent("VWAP по NOVA", nova()), Intent::Vwap(nova()));
        assert_eq!(intent("Доходность NOVA за 30 дней", nova()), Intent::Returns(nova(), 30, "30 дней".into()));
        assert_eq!(intent("Какая последняя цена NOVA?", nova()), Intent::Price(nova()));
        assert_eq!(intent("Расскажи анекдот", vec![]), Intent::Unknown);
        let all = instruments();
        assert_eq!(symbols_in("сколько стоит биткоин?", &all), ["BTC-USD"]);
        assert_eq!(symbols_in("цена биткоина и NOVA", &all), ["NOVA", "BTC-USD"]);
    }

    #[test]
    fn intents_from_the_documented_shapes() {
        let nova = || vec!["NOVA".to_owned()];
        assert_eq!(intent("chart NOVA", nova()), Intent::Chart(nova(), false));
        assert_eq!(intent("candlestick chart of NOVA", nova()), Intent::Chart(nova(), true));
        assert_eq!(intent("how is my portfolio doing?", vec![]), Intent::Portfolio);
        assert_eq!(intent("top movers today", vec![]), Intent::Movers);
        assert_eq!(intent("VWAP of NOVA", nova()), Intent::Vwap(nova()));
        assert_eq!(intent("30-day return of NOVA", nova()), Intent::Returns(nova(), 30, "30 days".into()));
        assert_eq!(intent("latest price of NOVA", nova()), Intent::Price(nova()));
        assert_eq!(intent("tell me a joke", vec![]), Intent::Unknown);
    }
}
