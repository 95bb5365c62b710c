//! The final turn of an answer: the text, written from the tool results (so every number in it is one the tools
//! returned), or what the offline model can do when the question is not one of its shapes.
use serde_json::Value;

use super::question::{Intent, Lang};

/// The final turn: an answer written from the tool results, in the question's language. Each shape reads its cells
/// once; the language only picks the wording.
pub(super) fn answer(intent: Intent, lang: Lang, results: &[(&str, bool)]) -> String {
    let say = |en: String, ru: String| if lang == Lang::Ru { ru } else { en };
    if let Some((error, _)) = results.iter().find(|(_, is_error)| *is_error) {
        return say(
            format!("I could not get that from the database: {error}"),
            format!("Не удалось получить это из базы данных: {error}"),
        );
    }
    let (columns, rows) = parse_result(results[0].0);
    if rows.is_empty() && !matches!(intent, Intent::Chart(..)) {
        return say(
            "The database has no data for that (check the symbol and the dates covered).".into(),
            "В базе нет данных для этого запроса (проверьте тикер и период, за который есть данные).".into(),
        );
    }
    let first = |i: usize| rows.first().map(|r| cell(&r[i])).unwrap_or_default();
    match intent {
        Intent::Price(_) => {
            let mut text = String::new();
            for row in &rows {
                let c: Vec<String> = (0..7).map(|i| row.get(i).map(cell).unwrap_or_default()).collect();
                text.push_str(&say(
                    format!(
                        "**{}** closed at **{}** on {} (open {}, high {}, low {}, volume {}).\n\n",
                        c[0], c[5], c[1], c[2], c[3], c[4], c[6]
                    ),
                    format!(
                        "**{}** закрылся на **{}** {} (открытие {}, максимум {}, минимум {}, объём {}).\n\n",
                        c[0], c[5], c[1], c[2], c[3], c[4], c[6]
                    ),
                ));
            }
            text.push_str(&say(
                "Prices are the latest daily bar in the database.".into(),
                "Цены — последний дневной бар в базе.".into(),
            ));
            text
        }
        Intent::Returns(_, days, label) => {
            let (table, from, to) = (markdown_table(&columns, &rows), first(1), first(2));
            let period = if days == 0 { label.clone() } else { format!("за {label}") };
            say(
                format!(
                    "Returns over the last {label}, close to close:\n\n{table}\nThe window runs from {from} to {to}."
                ),
                format!("Доходность {period}, от закрытия до закрытия:\n\n{table}\nОкно: с {from} по {to}."),
            )
        }
        Intent::Movers => {
            let (day, table) = (first(1), markdown_table(&columns, &rows));
            say(
                format!("The biggest moves on {day} (close-to-close change):\n\n{table}"),
                format!("Самые сильные движения {day} (изменение от закрытия до закрытия):\n\n{table}"),
            )
        }
        Intent::Portfolio => {
            let (_, pnl_rows) = results.get(1).map(|(t, _)| parse_result(t)).unwrap_or_default();
            let day = pnl_rows
                .first()
                .map(|r| {
                    let (date, pnl) = (cell(&r[0]), cell(&r[1]));
                    say(
                        format!("\n\nOn {date} the portfolio's P&L for the day was **{pnl}** USD."),
                        format!("\n\nP&L портфеля за {date} составил **{pnl}** USD."),
                    )
                })
                .unwrap_or_default();
            let table = markdown_table(&columns, &rows);
            say(
                format!("Your demo accounts, valued at the latest close:\n\n{table}{day}"),
                format!("Ваши демо-счета по последней цене закрытия:\n\n{table}{day}"),
            )
        }
        Intent::Vwap(_) => {
            let table = markdown_table(&columns, &rows);
            say(format!("VWAP from one-minute bars:\n\n{table}"), format!("VWAP по минутным барам:\n\n{table}"))
        }
        Intent::Chart(symbols, _) => {
            let symbol = &symbols[0];
            if rows.is_empty() {
                return say(
                    format!("There is no price history for {symbol} to chart."),
                    format!("Для {symbol} нет истории цен, чтобы построить график."),
                );
            }
            let c: Vec<String> = (0..6).map(first).collect();
            let drawn = results.get(1).is_some_and(|(t, _)| t.starts_with("Chart"));
            say(
                format!(
                    "Here is **{symbol}** from {} to {}: it went from {} to {} (range {} – {}).\n\n{}",
                    c[0],
                    c[1],
                    c[2],
                    c[3],
                    c[4],
                    c[5],
                    if drawn { "The chart is above." } else { "" }
                ),
                format!(
                    "Вот **{symbol}** с {} по {}: от {} до {} (диапазон {} – {}).\n\n{}",
                    c[0],
                    c[1],
                    c[2],
                    c[3],
                    c[4],
                    c[5],
                    if drawn { "График — выше." } else { "" }
                ),
            )
        }
        Intent::Unknown => capabilities(lang),
    }
}

/// What the offline model can answer: its reply to anything else, in the question's language.
pub(super) fn capabilities(lang: Lang) -> String {
    if lang == Lang::Ru {
        return "Я — **офлайн-демомодель**: AI-провайдер не настроен (задайте `ANTHROPIC_API_KEY`, чтобы работал \
                Claude), поэтому я отвечаю лишь на несколько видов вопросов о демоданных:\n\n\
                - последняя цена инструмента — *\"последняя цена NOVA\"*\n\
                - доходность за период — *\"доходность QBIT и SEMX за 30 дней\"*\n\
                - лидеры движения — *\"лидеры роста и падения сегодня\"*\n\
                - ваш демопортфель — *\"как дела у моего портфеля?\"*\n\
                - VWAP по минутным барам — *\"VWAP по NOVA\"*\n\
                - графики — *\"график BTC-USD\"* или *\"свечной график NOVA\"*\n\n\
                На этот вопрос в такой формулировке я ответить не могу."
            .into();
    }
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
