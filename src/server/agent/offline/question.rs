//! Reading a question: which instruments it names, what it asks, over which period. Pure functions, tested here.

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
        .map(str::to_owned)
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

/// What `question` asks, given the instruments it names.
pub(super) fn intent(question: &str, symbols: Vec<String>) -> Intent {
    let q = question.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| q.contains(w));
    if has(&["chart", "plot", "graph", "candle"]) && !symbols.is_empty() {
        return Intent::Chart(symbols, q.contains("candle"));
    }
    if has(&["portfolio", "p&l", "pnl", "position", "holding", "my account"]) {
        return Intent::Portfolio;
    }
    if has(&["mover", "gainer", "loser", "biggest move"]) {
        return Intent::Movers;
    }
    if symbols.is_empty() {
        return Intent::Unknown;
    }
    if q.contains("vwap") {
        return Intent::Vwap(symbols);
    }
    if has(&[
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
    ]) {
        let (days, label) = period(&q);
        return Intent::Returns(symbols, days, label);
    }
    if has(&["price", "close", "quote", "trading", "worth", "last", "latest", "how much"]) {
        return Intent::Price(symbols);
    }
    Intent::Price(symbols)
}

/// The period of a returns question in days, and how to say it.
pub(super) fn period(q: &str) -> (u32, String) {
    if q.contains("ytd") || q.contains("year to date") || q.contains("this year") {
        return (0, "year to date".into());
    }
    let words: Vec<&str> = q.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    for pair in words.windows(2) {
        let n = pair[0].parse::<u32>().ok().or_else(|| pair[0].strip_suffix("d").and_then(|d| d.parse().ok()));
        if let Some(n) = n {
            let (days, unit) = match pair[1] {
                u if u.starts_with("day") => (n, "day"),
                u if u.starts_with("week") => (n * 7, "week"),
                u if u.starts_with("month") => (n * 30, "month"),
                u if u.starts_with("year") => (n * 365, "year"),
                _ => continue,
            };
            return (days.clamp(1, 3650), format!("{n} {unit}{}", if n == 1 { "" } else { "s" }));
        }
        if let Some(n) = pair[0].strip_suffix('d').and_then(|d| d.parse::<u32>().ok()) {
            return (n.clamp(1, 3650), format!("{n} days"));
        }
    }
    for w in &words {
        if let Some(n) = w.strip_suffix('d').and_then(|d| d.parse::<u32>().ok()) {
            return (n.clamp(1, 3650), format!("{n} days"));
        }
    }
    if q.contains("month") {
        return (30, "1 month".into());
    }
    if q.contains("week") {
        return (7, "1 week".into());
    }
    if q.contains("year") {
        return (365, "1 year".into());
    }
    (30, "30 days".into())
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
        assert_eq!(period("30-day return of nova"), (30, "30 days".to_owned()));
        assert_eq!(period("performance over 3 months"), (90, "3 months".to_owned()));
        assert_eq!(period("return over 2 weeks"), (14, "2 weeks".to_owned()));
        assert_eq!(period("1 year return"), (365, "1 year".to_owned()));
        assert_eq!(period("ytd performance"), (0, "year to date".to_owned()));
        assert_eq!(period("return of nova"), (30, "30 days".to_owned()));
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
