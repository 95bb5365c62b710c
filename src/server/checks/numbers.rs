//! The numbers a text states, and what each may mean: its value with the precision it was written at, and its unit.
//!
//! Read from the Markdown's text only (code, link targets and list markers are not claims), by the same parser the
//! UI renders with, so the byte ranges found here are where the UI marks the numbers. Dates, times, years,
//! identifiers (`Q3`, `v2`, `30d`) and modifiers (`30-day`) are not numbers here.
use std::ops::Range;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

/// A number as written, with every value it may stand for.
#[derive(Debug, Clone, PartialEq)]
pub struct Quoted {
    /// Where it is in the text (sign, currency and unit included).
    pub span: Range<usize>,
    /// What it may mean: one reading, or two when the separator is ambiguous (`1,234`: a thousand and more in
    /// English, a little over one in Russian).
    pub readings: Vec<Reading>,
}

/// One meaning of a written number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// The value with its multiplier applied (`1.2M` is 1 200 000); a percentage is its number of percent.
    pub value: f64,
    /// Half a unit of the last digit written, times the multiplier: how far a value may be and still round to it.
    pub tolerance: f64,
    /// Whether it is a percentage (`%`, percentage points, or basis points converted to percent).
    pub percent: bool,
    /// Whether a sign was written (prose often drops it: "fell 3.2%" for −3.2).
    pub signed: bool,
}

/// The numbers in the text of `markdown`, in order.
pub fn numbers_in_markdown(markdown: &str) -> Vec<Quoted> {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut out = Vec::new();
    let mut in_code_block = 0usize;
    let mut in_link = 0usize;
    for (event, range) in Parser::new_ext(markdown, options).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(_)) => in_code_block += 1,
            Event::End(TagEnd::CodeBlock) => in_code_block = in_code_block.saturating_sub(1),
            Event::Start(Tag::Link { .. } | Tag::Image { .. }) => in_link += 1,
            Event::End(TagEnd::Link | TagEnd::Image) => in_link = in_link.saturating_sub(1),
            // Only text that is the source as written: offsets inside it are offsets in the source (text with
            // escapes or entities differs, and is left unread rather than marked in the wrong place).
            Event::Text(text) if in_code_block == 0 && in_link == 0 && markdown.get(range.clone()) == Some(&*text) => {
                out.extend(numbers_in_text(&text).into_iter().map(|mut q| {
                    q.span = q.span.start + range.start..q.span.end + range.start;
                    q
                }));
            }
            _ => {}
        }
    }
    out
}

/// The numbers in plain `text` (the question, an SQL query), in order.
pub fn numbers_in_text(text: &str) -> Vec<Quoted> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let end_of = |i: usize| chars.get(i).map_or(text.len(), |(b, _)| *b);
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].1.is_ascii_digit() {
            i += 1;
            continue;
        }
        let (number, next) = scan(&chars, i);
        if let Some(n) = number {
            let span = chars[n.start].0..end_of(n.end);
            out.push(Quoted { span, readings: n.readings });
        }
        i = next.max(i + 1);
    }
    out
}

/// A number found by [`scan`]: its char range and readings.
struct Scanned {
    start: usize,
    end: usize,
    readings: Vec<Reading>,
}

/// Reads the token whose digits start at char `first`: the number (if it is one) and the index to go on from.
fn scan(chars: &[(usize, char)], first: usize) -> (Option<Scanned>, usize) {
    let c = |i: usize| chars.get(i).map(|(_, c)| *c);
    let is_digit = |i: usize| c(i).is_some_and(|c| c.is_ascii_digit());
    let digits_from = |mut i: usize| {
        while is_digit(i) {
            i += 1;
        }
        i
    };

    // What comes before: a letter, digit or `_`/`#`/`.` joined to it makes it part of a name or a rank.
    let before = first.checked_sub(1).and_then(c);
    if before.is_some_and(|b| b.is_alphanumeric() || matches!(b, '_' | '#' | '.' | '/' | ':' | '@')) {
        return (None, skip_token(chars, first));
    }

    // The integer part, with its thousands groups.
    let mut end = digits_from(first);
    let int_len = end - first;
    let mut grouped = false;
    let mut comma_groups = false;
    loop {
        let sep = c(end);
        let group_end = digits_from(end + 1);
        let is_group = group_end - (end + 1) == 3 && int_len <= 3;
        match sep {
            Some(',') if is_group && (comma_groups || !grouped) => {
                grouped = true;
                comma_groups = true;
                end = group_end;
            }
            // No-break and narrow no-break spaces group thousands in Russian typography.
            Some('\u{a0}' | '\u{202f}') if is_group && !comma_groups => {
                grouped = true;
                end = group_end;
            }
            // A plain space groups only when a decimal comma follows the groups (`1 234,56`): unambiguous.
            Some(' ')
                if is_group && !comma_groups && {
                    let mut j = group_end;
                    while c(j) == Some(' ') && (digits_from(j + 1) - (j + 1)) == 3 {
                        j = digits_from(j + 1);
                    }
                    c(j) == Some(',') && is_digit(j + 1)
                } =>
            {
                grouped = true;
                end = group_end;
            }
            _ => break,
        }
    }

    // Dates and times: 2026-11-27, 27.11.2026, 11/27/2026, 15:30.
    if !grouped {
        let shape: String = chars[first..chars.len().min(first + 10)]
            .iter()
            .map(|(_, ch)| if ch.is_ascii_digit() { '9' } else { *ch })
            .collect();
        let is_date = shape.starts_with("9999-99-99")
            || shape.starts_with("99.99.9999")
            || shape.starts_with("9.99.9999")
            || shape.starts_with("99/99/")
            || shape.starts_with("9/")
            || shape.starts_with("99/")
            || shape.starts_with("99:99")
            || shape.starts_with("9:99");
        if is_date {
            return (None, skip_token(chars, first));
        }
    }

    // The fraction: `.5`, or a decimal comma (`3,14`: not a group of three after a short integer).
    let mut decimals = 0usize;
    let mut decimal_comma = false;
    if c(end) == Some('.') && is_digit(end + 1) {
        let frac_end = digits_from(end + 1);
        decimals = frac_end - (end + 1);
        end = frac_end;
    } else if c(end) == Some(',') && is_digit(end + 1) && !comma_groups {
        let frac_end = digits_from(end + 1);
        decimals = frac_end - (end + 1);
        decimal_comma = true;
        end = frac_end;
    }
    // `1.2.3` (a version) or `1.2-3`: not a number.
    if c(end) == Some('.') && is_digit(end + 1) {
        return (None, skip_token(chars, first));
    }

    // A sign and currency before it: `-3.2`, `−$3.2`, `$-3.2`, `+4%`.
    let mut start = first;
    let mut signed = false;
    let mut negative = false;
    let is_sign = |ch: char| matches!(ch, '-' | '−' | '+');
    let is_currency = |ch: char| matches!(ch, '$' | '€' | '£' | '₽' | '¥');
    if start > 0 && c(start - 1).is_some_and(is_currency) {
        start -= 1;
    }
    if start > 0
        && let Some(sign) = c(start - 1).filter(|ch| is_sign(*ch))
        && (start < 2 || c(start - 2).is_none_or(|p| !p.is_alphanumeric() && !is_sign(p)))
    {
        signed = true;
        negative = sign != '+';
        start -= 1;
        if start > 0 && c(start - 1).is_some_and(is_currency) {
            start -= 1;
        }
    }

    // A modifier (`30-day`, `5-minute`) or an identifier (`30d`, `2nd`, `3x3`): not a stated figure.
    if c(end) == Some('-') && c(end + 1).is_some_and(char::is_alphabetic) {
        return (None, skip_token(chars, first));
    }

    // The unit.
    let (multiplier, percent_scale, unit_end) = unit(chars, end);
    if unit_end == end && c(end).is_some_and(|ch| ch.is_alphanumeric() || ch == '_') {
        return (None, skip_token(chars, first));
    }
    let end = unit_end;

    // A bare year (1900–2100 with no fraction, group or unit) names a time, not a figure.
    let int_text: String = chars[first..first + int_len].iter().map(|(_, ch)| *ch).collect();
    if !grouped
        && decimals == 0
        && multiplier == 1.0
        && percent_scale.is_none()
        && int_len == 4
        && !signed
        && int_text.parse::<u32>().is_ok_and(|year| (1900..=2100).contains(&year))
    {
        return (None, end);
    }

    let digits: String = chars[first..end.min(chars.len())]
        .iter()
        .map(|(_, ch)| *ch)
        .take_while(|ch| ch.is_ascii_digit() || matches!(ch, ',' | '.' | '\u{a0}' | '\u{202f}' | ' '))
        .collect();
    let mut readings = Vec::with_capacity(2);
    let mut push = |text: &str, decimals: usize| {
        if let Ok(v) = text.parse::<f64>() {
            let scale = percent_scale.unwrap_or(1.0);
            let unit_value = multiplier * scale;
            // A small bare integer is a count or a copied cell, not a rounding: it must match exactly.
            let exact = decimals == 0 && multiplier == 1.0 && percent_scale.is_none() && v < 100.0;
            readings.push(Reading {
                value: if negative { -v * unit_value } else { v * unit_value },
                tolerance: if exact { 0.0 } else { 0.5 * 10f64.powi(-(decimals as i32)) * unit_value },
                percent: percent_scale.is_some(),
                signed,
            });
        }
    };
    let plain: String = digits.chars().filter(|ch| !matches!(ch, ' ' | '\u{a0}' | '\u{202f}')).collect();
    let plain = plain.trim_end_matches(['.', ',']);
    if decimal_comma {
        push(&plain.replace(',', "."), decimals);
    } else if comma_groups {
        push(&plain.replace(',', ""), decimals);
        // `1,234` may be a Russian decimal comma too.
        if decimals == 0
            && let Some((int, frac)) = plain.split_once(',')
            && !frac.contains(',')
        {
            push(&format!("{int}.{frac}"), frac.len());
        }
    } else {
        push(plain, decimals);
    }
    if readings.is_empty() {
        return (None, end);
    }
    (Some(Scanned { start, end, readings }), end)
}

/// The unit after the number ending at char `end`: (multiplier, percent scale when it is a percentage, the char
/// index past the unit). Without a unit: `(1, None, end)`.
fn unit(chars: &[(usize, char)], end: usize) -> (f64, Option<f64>, usize) {
    let c = |i: usize| chars.get(i).map(|(_, c)| *c);
    // The unit may follow one space (`1.2 million`, `5 %`).
    let mut at = end;
    let spaced = matches!(c(at), Some(' ' | '\u{a0}' | '\u{202f}'));
    if spaced {
        at += 1;
    }
    let word: String = chars[at.min(chars.len())..]
        .iter()
        .map(|(_, ch)| *ch)
        .take_while(|ch| ch.is_alphabetic() || *ch == '%' || *ch == '.')
        .take(12)
        .collect();
    let lower = word.to_lowercase();
    let boundary = |len: usize| c(at + len).is_none_or(|ch| !ch.is_alphanumeric());
    let table: &[(&str, f64, Option<f64>)] = &[
        ("%", 1.0, Some(1.0)),
        ("п.п.", 1.0, Some(1.0)),
        ("pp", 1.0, Some(1.0)),
        ("bps", 1.0, Some(0.01)),
        ("bp", 1.0, Some(0.01)),
        ("б.п.", 1.0, Some(0.01)),
        ("trillion", 1e12, None),
        ("billion", 1e9, None),
        ("million", 1e6, None),
        ("thousand", 1e3, None),
        ("трлн", 1e12, None),
        ("млрд", 1e9, None),
        ("млн", 1e6, None),
        ("тысяч", 1e3, None),
        ("тыс.", 1e3, None),
        ("тыс", 1e3, None),
        ("bn", 1e9, None),
        ("mn", 1e6, None),
    ];
    for (name, multiplier, percent) in table {
        if lower.starts_with(name) {
            let len = name.chars().count();
            // `%` needs no boundary; words do (`5 bpx` is not basis points).
            if *name == "%" || name.ends_with('.') || boundary(len) {
                return (*multiplier, *percent, at + len);
            }
        }
    }
    // One-letter multipliers touch the number: `1.2K`, `3.4M`, `5B` (a lower-case `m` is minutes as often).
    if !spaced && boundary(1) {
        match c(end) {
            Some('K' | 'k') => return (1e3, None, end + 1),
            Some('M') => return (1e6, None, end + 1),
            Some('B') => return (1e9, None, end + 1),
            Some('T') => return (1e12, None, end + 1),
            _ => {}
        }
    }
    (1.0, None, end)
}

/// The char index past the token at `i` (letters, digits and the punctuation inside names, dates and versions).
fn skip_token(chars: &[(usize, char)], mut i: usize) -> usize {
    while chars.get(i).is_some_and(|(_, c)| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | ':' | ',')) {
        // A trailing `.`/`,` ends a sentence, not the token; keep going only when more of the token follows.
        if matches!(chars[i].1, '.' | ',' | '-' | '/' | ':')
            && !chars.get(i + 1).is_some_and(|(_, c)| c.is_alphanumeric())
        {
            break;
        }
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<(String, Vec<f64>)> {
        numbers_in_text(text)
            .into_iter()
            .map(|q| (text[q.span.clone()].to_owned(), q.readings.iter().map(|r| r.value).collect()))
            .collect()
    }

    fn one(text: &str) -> Reading {
        let found = numbers_in_text(text);
        assert_eq!(found.len(), 1, "{text:?}: {found:?}");
        found[0].readings[0]
    }

    #[test]
    fn plain_grouped_and_decimal_numbers_are_read_with_their_precision() {
        assert_eq!(
            read("closed at 105.25 on volume 1,234,567"),
            vec![("105.25".into(), vec![105.25]), ("1,234,567".into(), vec![1_234_567.0]),]
        );
        let r = one("at 105.25 today");
        assert!((r.tolerance - 0.005).abs() < 1e-12);
        assert_eq!(one("a P&L of -1,234.5 USD").value, -1234.5);
        assert!(one("a P&L of -1,234.5 USD").signed);
        assert_eq!(one("P&L составил 1 234,56 USD").value, 1234.56);
        assert_eq!(one("объём 1\u{a0}234\u{a0}567").value, 1_234_567.0);
        assert_eq!(one("доходность 2,75").value, 2.75);
        assert_eq!(read("1,234 shares"), vec![("1,234".into(), vec![1234.0, 1.234])]);
    }

    #[test]
    fn units_scale_the_value() {
        let r = one("up 4.2% today");
        assert!(r.percent && (r.value - 4.2).abs() < 1e-12);
        assert_eq!(one("volume 1.2M shares").value, 1_200_000.0);
        assert!((one("volume 1.2M shares").tolerance - 50_000.0).abs() < 1e-6);
        assert_eq!(one("a $3.5B fund").value, 3.5e9);
        assert_eq!(one("about 12 million").value, 12e6);
        assert_eq!(one("объём 3,4 млн").value, 3.4e6);
        let bp = one("spread of 25 bps");
        assert!(bp.percent && (bp.value - 0.25).abs() < 1e-12);
        assert_eq!(one("fell −3.1% on").value, -3.1);
        assert_eq!(read("cost $0.0042"), vec![("$0.0042".into(), vec![0.0042])]);
    }

    #[test]
    fn dates_years_names_and_modifiers_are_not_figures() {
        for text in [
            "on 2026-11-27 it",
            "27.11.2026",
            "at 15:30 UTC",
            "in 2026",
            "Q3 results",
            "the 30-day return",
            "30d return",
            "version 1.2.3",
            "rank #1",
            "BTC-USD",
            "the 2nd day",
        ] {
            assert_eq!(read(text), vec![], "{text}");
        }
        assert_eq!(read("the 30-day return was 4.5%"), vec![("4.5%".into(), vec![4.5])]);
        assert_eq!(read("from 10 to 20."), vec![("10".into(), vec![10.0]), ("20".into(), vec![20.0])]);
    }

    #[test]
    fn markdown_numbers_skip_code_links_and_list_markers() {
        let md = "1. NOVA closed at **105.25**.\n2. See `LIMIT 5` and [page 3](https://x.test/4).\n\n\
                  ```sql\nSELECT 42\n```\n\n| sym | close |\n|---|---|\n| QBIT | 7.5 |\n";
        let found: Vec<&str> = numbers_in_markdown(md).iter().map(|q| &md[q.span.clone()]).collect();
        assert_eq!(found, vec!["105.25", "7.5"]);
    }
}
