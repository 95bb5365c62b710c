//! The final turn of an answer: the text, written from the tool results (so every number in it is one the tools
//! returned), or what the offline model can do when the question is not one of its shapes.
use serde_json::Value;

use super::question::Intent;

/// The final turn: an answer written from the tool results.
pub(super) fn answer(intent: Intent, results: &[(&str, bool)]) -> String {
    if let Some((error, _)) = results.iter().find(|(_, is_error)| *is_error) {
        return format!("I could not get that from the database: {error}");
    }
    let (columns, rows) = parse_result(results[0].0);
    if rows.is_empty() && !matches!(intent, Intent::Chart(..)) {
        return "The database has no data for that (check the symbol and the dates covered).".into();
    }
    match intent {
        Intent::Price(_) => {
            let mut text = String::new();
            for row in &rows {
                text.push_str(&format!(
                    "**{}** closed at **{}** on {} (open {}, high {}, low {}, volume {}).\n\n",
                    cell(&row[0]),
                    cell(&row[5]),
                    cell(&row[1]),
                    cell(&row[2]),
                    cell(&row[3]),
                    cell(&row[4]),
                    cell(&row[6])
                ));
            }
            text.push_str("Prices are the latest daily bar in the database.");
            text
        }
        Intent::Returns(_, _, label) => format!(
            "Returns over the last {label}, close to close:\n\n{}\nThe window runs from {} to {}.",
            markdown_table(&columns, &rows),
            rows.first().map(|r| cell(&r[1])).unwrap_or_default(),
            rows.first().map(|r| cell(&r[2])).unwrap_or_default()
        ),
        Intent::Movers => format!(
            "The biggest moves on {} (close-to-close change):\n\n{}",
            rows.first().map(|r| cell(&r[1])).unwrap_or_default(),
            markdown_table(&columns, &rows)
        ),
        Intent::Portfolio => {
            let (_, pnl_rows) = results.get(1).map(|(t, _)| parse_result(t)).unwrap_or_default();
            let day = pnl_rows
                .first()
                .map(|r| format!("\n\nOn {} the portfolio's P&L for the day was **{}** USD.", cell(&r[0]), cell(&r[1])))
                .unwrap_or_default();
            format!("Your demo accounts, valued at the latest close:\n\n{}{day}", markdown_table(&columns, &rows))
        }
        Intent::Vwap(_) => format!("VWAP from one-minute bars:\n\n{}", markdown_table(&columns, &rows)),
        Intent::Chart(symbols, _) => {
            let chart_note = results.get(1).map(|(t, _)| *t).unwrap_or_default();
            match rows.first() {
                Some(r) => format!(
                    "Here is **{}** from {} to {}: it went from {} to {} (range {} – {}).\n\n{}",
                    symbols[0],
                    cell(&r[0]),
                    cell(&r[1]),
                    cell(&r[2]),
                    cell(&r[3]),
                    cell(&r[4]),
                    cell(&r[5]),
                    if chart_note.starts_with("Chart") { "The chart is above." } else { "" }
                ),
                None => format!("There is no price history for {} to chart.", symbols[0]),
            }
        }
        Intent::Unknown => capabilities(),
    }
}

/// What the offline model can answer: its reply to anything else.
pub(super) fn capabilities() -> String {
    "I'm the **offline demo model**: no AI provider is configured (set `ANTHROPIC_API_KEY` to use Claude), so I can \
     only answer a few kinds of questions about the demo data:\n\n\
     - the latest price of a symbol — *\"latest price of NOVA\"*\n\
     - returns over a period — *\"30-day return of QBIT and SEMX\"*\n\
     - top movers — *\"top movers today\"*\n\
     - your demo portfolio — *\"how is my portfolio doing?\"*\n\
     - VWAP from minute bars — *\"VWAP of NOVA\"*\n\
     - charts — *\"chart BTC-USD\"* or *\"candlestick chart of NOVA\"*\n\n\
     I can't answer this question as asked."
        .into()
}

/// The rows of a `run_sql` result as the model sees it: columns, then JSON rows.
fn parse_result(text: &str) -> (Vec<String>, Vec<Vec<Value>>) {
    let mut lines = text.lines();
    let columns = lines
        .next()
        .and_then(|l| l.strip_prefix("columns: "))
        .map(|l| l.split(", ").map(|c| c.split(' ').next().unwrap_or_default().to_owned()).collect())
        .unwrap_or_default();
    let rows = lines.filter(|l| l.starts_with('[')).filter_map(|l| serde_json::from_str(l).ok()).collect();
    (columns, rows)
}

fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "–".into(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => format!("{}", (f * 10_000.0).round() / 10_000.0),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

fn markdown_table(columns: &[String], rows: &[Vec<Value>]) -> String {
    let mut out =
        format!("| {} |\n|{}|\n", columns.join(" | "), columns.iter().map(|_| "---").collect::<Vec<_>>().join("|"));
    for row in rows {
        out.push_str(&format!("| {} |\n", row.iter().map(cell).collect::<Vec<_>>().join(" | ")));
    }
    out
}
