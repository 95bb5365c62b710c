//! DuckDB values → JSON, exactly.
//!
//! Rules (documented for the UI and the model):
//! - integers of any width are JSON numbers when |v| ≤ 2^53 − 1 (exact in every JSON parser, JavaScript's
//!   included) and decimal strings beyond;
//! - DECIMAL is a JSON number when that number prints back to the same decimal digits, else an exact string;
//! - FLOAT/DOUBLE are numbers (FLOAT by its shortest decimal form); NaN and ±infinity are the strings `"NaN"`,
//!   `"Infinity"`, `"-Infinity"`;
//! - DATE `YYYY-MM-DD`; TIME `HH:MM:SS[.ffffff]`; TIMESTAMP ISO 8601 `YYYY-MM-DDTHH:MM:SS[.fff…]`, with `Z` for
//!   TIMESTAMP WITH TIME ZONE; INTERVAL as DuckDB prints it (`1 year 2 months 3 days 04:05:06.5`);
//! - BLOB as DuckDB prints it (`\xAB` escapes); UUID and ENUM as strings; LIST/ARRAY as arrays; STRUCT as objects;
//!   MAP as an object when every key is text, else an array of `{"key", "value"}`; UNION as its active value.
//!
//! Types DuckDB's Rust API cannot decode faithfully (BIT, BIGNUM, TIME WITH TIME ZONE, …) are cast to VARCHAR in
//! SQL before reading (see `query`).
use chrono::{DateTime, NaiveDate, NaiveTime};
use duckdb::types::{TimeUnit, Value};
use serde_json::{Map, Number, Value as Json};

/// Largest integer every JSON parser reads exactly.
const MAX_SAFE_INTEGER: i128 = (1 << 53) - 1;

/// Converts one value. `with_time_zone` marks a top-level TIMESTAMP WITH TIME ZONE column.
pub fn to_json(value: &Value, with_time_zone: bool) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Boolean(b) => Json::Bool(*b),
        Value::TinyInt(v) => int(i128::from(*v)),
        Value::SmallInt(v) => int(i128::from(*v)),
        Value::Int(v) => int(i128::from(*v)),
        Value::BigInt(v) => int(i128::from(*v)),
        Value::HugeInt(v) => int(*v),
        Value::UTinyInt(v) => int(i128::from(*v)),
        Value::USmallInt(v) => int(i128::from(*v)),
        Value::UInt(v) => int(i128::from(*v)),
        Value::UBigInt(v) => int(i128::from(*v)),
        Value::UHugeInt(v) => i128::try_from(*v).map_or_else(|_| Json::String(v.to_string()), int),
        Value::Float(v) => float(v.to_string().parse::<f64>().unwrap_or(f64::from(*v))),
        Value::Double(v) => float(*v),
        Value::Decimal(d) => decimal(&d.to_string()),
        Value::Timestamp(unit, v) => timestamp(*unit, *v, with_time_zone),
        Value::Text(s) => Json::String(s.clone()),
        Value::Enum(s) => Json::String(s.clone()),
        Value::Blob(bytes) | Value::Geometry(bytes) => Json::String(blob(bytes)),
        Value::Date32(days) => Json::String(date(*days)),
        Value::Time64(unit, v) => Json::String(time(*unit, *v)),
        Value::Interval { months, days, nanos } => Json::String(interval(*months, *days, *nanos)),
        Value::List(items) | Value::Array(items) => Json::Array(items.iter().map(|v| to_json(v, false)).collect()),
        Value::Struct(fields) => {
            Json::Object(fields.iter().map(|(k, v)| (k.clone(), to_json(v, false))).collect::<Map<_, _>>())
        }
        Value::Map(entries) => {
            let all_text = entries.iter().all(|(k, _)| matches!(k, Value::Text(_)));
            if all_text {
                Json::Object(
                    entries
                        .iter()
                        .filter_map(|(k, v)| match k {
                            Value::Text(key) => Some((key.clone(), to_json(v, false))),
                            _ => None,
                        })
                        .collect(),
                )
            } else {
                Json::Array(
                    entries
                        .iter()
                        .map(|(k, v)| serde_json::json!({ "key": to_json(k, false), "value": to_json(v, false) }))
                        .collect(),
                )
            }
        }
        Value::Union(inner) => to_json(inner, false),
        // Newer variants of the crate's enum: fall back to DuckDB-independent debug text rather than lose the row.
        #[allow(unreachable_patterns)]
        other => Json::String(format!("{other:?}")),
    }
}

fn int(v: i128) -> Json {
    if (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&v) {
        Json::Number(Number::from(v as i64))
    } else {
        Json::String(v.to_string())
    }
}

fn float(v: f64) -> Json {
    match Number::from_f64(v) {
        Some(n) => Json::Number(n),
        None if v.is_nan() => Json::String("NaN".into()),
        None if v > 0.0 => Json::String("Infinity".into()),
        None => Json::String("-Infinity".into()),
    }
}

/// A decimal's exact digits, as a number when the number prints back to the same value.
fn decimal(exact: &str) -> Json {
    if let Ok(v) = exact.parse::<f64>()
        && let Some(n) = Number::from_f64(v)
        && same_decimal(&n.to_string(), exact)
    {
        return Json::Number(n);
    }
    Json::String(exact.to_owned())
}

/// Whether two decimal texts denote the same number (ignoring trailing fractional zeros and a `.0`).
fn same_decimal(a: &str, b: &str) -> bool {
    fn canonical(s: &str) -> String {
        let s = s.strip_prefix('+').unwrap_or(s);
        if s.contains('e') || s.contains('E') {
            return s.to_owned();
        }
        let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { s };
        if s == "-0" { "0".to_owned() } else { s.to_owned() }
    }
    canonical(a) == canonical(b)
}

fn to_nanos(unit: TimeUnit, v: i64) -> i128 {
    let v = i128::from(v);
    match unit {
        TimeUnit::Second => v * 1_000_000_000,
        TimeUnit::Millisecond => v * 1_000_000,
        TimeUnit::Microsecond => v * 1_000,
        TimeUnit::Nanosecond => v,
    }
}

fn timestamp(unit: TimeUnit, v: i64, with_time_zone: bool) -> Json {
    // DuckDB's ±infinity timestamps are the extreme values.
    if v == i64::MAX {
        return Json::String("infinity".into());
    }
    if v == -i64::MAX || v == i64::MIN {
        return Json::String("-infinity".into());
    }
    let nanos = to_nanos(unit, v);
    let secs = nanos.div_euclid(1_000_000_000);
    let sub = nanos.rem_euclid(1_000_000_000);
    let Some(dt) = i64::try_from(secs).ok().and_then(|s| DateTime::from_timestamp(s, sub as u32)) else {
        return Json::String(format!("{v} ({unit:?} since 1970-01-01)"));
    };
    let mut text = dt.naive_utc().format("%Y-%m-%dT%H:%M:%S").to_string();
    text.push_str(&fraction(sub as u32, unit));
    if with_time_zone {
        text.push('Z');
    }
    Json::String(text)
}

/// `.fff`, `.ffffff` or `.fffffffff` as the unit allows, with trailing zeros trimmed; empty when zero.
fn fraction(nanos: u32, unit: TimeUnit) -> String {
    if nanos == 0 {
        return String::new();
    }
    let digits = match unit {
        TimeUnit::Second => return String::new(),
        TimeUnit::Millisecond => format!("{:03}", nanos / 1_000_000),
        TimeUnit::Microsecond => format!("{:06}", nanos / 1_000),
        TimeUnit::Nanosecond => format!("{nanos:09}"),
    };
    format!(".{}", digits.trim_end_matches('0'))
}

fn date(days: i32) -> String {
    match days {
        i32::MAX => "infinity".into(),
        d if d == -i32::MAX || d == i32::MIN => "-infinity".into(),
        d => NaiveDate::from_ymd_opt(1970, 1, 1)
            .and_then(|epoch| epoch.checked_add_signed(chrono::Duration::days(i64::from(d))))
            .map_or_else(|| format!("{d} days since 1970-01-01"), |x| x.format("%Y-%m-%d").to_string()),
    }
}

fn time(unit: TimeUnit, v: i64) -> String {
    let nanos = to_nanos(unit, v);
    let secs = (nanos / 1_000_000_000) as u32;
    let sub = (nanos % 1_000_000_000) as u32;
    if secs >= 86_400 {
        return "24:00:00".into();
    }
    let t = NaiveTime::from_num_seconds_from_midnight_opt(secs, 0).unwrap_or(NaiveTime::MIN);
    format!("{}{}", t.format("%H:%M:%S"), fraction(sub, unit))
}

/// An interval as DuckDB prints it (`1 year 2 months 3 days 04:05:06.5`), which DuckDB also reads back exactly.
/// Months, days and time stay separate, as in DuckDB (a month is not 30 days).
fn interval(months: i32, days: i32, nanos: i64) -> String {
    fn unit(n: i64, name: &str) -> String {
        if n.abs() == 1 { format!("{n} {name}") } else { format!("{n} {name}s") }
    }
    let mut parts = Vec::new();
    let (years, months) = (i64::from(months) / 12, i64::from(months) % 12);
    if years != 0 {
        parts.push(unit(years, "year"));
    }
    if months != 0 {
        parts.push(unit(months, "month"));
    }
    if days != 0 {
        parts.push(unit(i64::from(days), "day"));
    }
    if nanos != 0 || parts.is_empty() {
        let sign = if nanos < 0 { "-" } else { "" };
        let n = nanos.unsigned_abs();
        let (h, m, s, sub) =
            (n / 3_600_000_000_000, n / 60_000_000_000 % 60, n / 1_000_000_000 % 60, n % 1_000_000_000);
        let frac = if sub == 0 { String::new() } else { format!(".{}", format!("{sub:09}").trim_end_matches('0')) };
        parts.push(format!("{sign}{h:02}:{m:02}:{s:02}{frac}"));
    }
    parts.join(" ")
}

/// Bytes as DuckDB prints a BLOB: printable ASCII as is, everything else `\xHH`.
fn blob(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for b in bytes {
        if (0x20..0x7f).contains(b) && *b != b'\\' && *b != b'\'' && *b != b'"' {
            out.push(char::from(*b));
        } else {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_beyond_2_53_become_exact_strings() {
        assert_eq!(int(9_007_199_254_740_991), serde_json::json!(9_007_199_254_740_991i64));
        assert_eq!(int(9_007_199_254_740_992), serde_json::json!("9007199254740992"));
        assert_eq!(
            int(-170_141_183_460_469_231_731_687_303_715_884_105_727),
            serde_json::json!("-170141183460469231731687303715884105727")
        );
    }

    #[test]
    fn decimals_are_numbers_only_when_exact() {
        assert_eq!(decimal("123.4500"), serde_json::json!(123.45));
        assert_eq!(decimal("0.1"), serde_json::json!(0.1));
        assert_eq!(decimal("12345678901234567890.123456789"), serde_json::json!("12345678901234567890.123456789"));
    }

    #[test]
    fn intervals_and_times_render_iso() {
        assert_eq!(interval(14, 3, 14_706_500_000_000), "1 year 2 months 3 days 04:05:06.5");
        assert_eq!(interval(0, 0, 0), "00:00:00");
        assert_eq!(interval(0, -2, -1_000_000_000), "-2 days -00:00:01");
        assert_eq!(time(TimeUnit::Microsecond, 45_296_789_000), "12:34:56.789");
        assert_eq!(date(19_782), "2024-02-29");
        assert_eq!(timestamp(TimeUnit::Second, 1_704_164_645, true), serde_json::json!("2024-01-02T03:04:05Z"));
    }

    #[test]
    fn non_finite_floats_are_named_strings() {
        assert_eq!(float(f64::NAN), serde_json::json!("NaN"));
        assert_eq!(float(f64::NEG_INFINITY), serde_json::json!("-Infinity"));
        assert_eq!(to_json(&Value::Float(1.1), false), serde_json::json!(1.1));
    }
}
