//! The final turn of an answer: the text, written from the tool results (so every number in it is one the tools
//! returned), or what the offline model can do when the question is not one of its shapes.
use serde_json::Value;

use super::question::{Intent, Lang};

/// The final turn: an answer written from the tool results, in the question's language.
pub(super) fn answer(intent: Intent, lang: Lang, results: &[(&str, bool)]) -> String {
    let ru = lang == Lang::Ru;
    if let Some((error, _)) = results.iter().find(|(_, is_error)| *is_error) {
        return if ru {
            format!("Не удалось получить это из базы данных: {error}")
        } else {
            format!("I could not get that from the database: {error}")
        };
    }
    let (columns, rows) = parse_result(results[0].0);
    if rows.is_empty() && !matches!(intent, Intent::Chart(..)) {
        return if ru {
            "В базе нет данных для этого запроса (проверьте тикер и период, за который есть данные).".into()
        } else {
            "The database has no data for that (check the symbol and the dates covered).".into()
        };
    }
    match intent {
        Intent::Price(_) => {
            let mut text = String::new();
            for row in &rows {
                let c = |i: usize| row.get(i).map(cell).unwrap_or_default();
                text.push_str(&if ru {
                    format!(
                        "**{}** закрылся на **{}** {} (открытие {}, максимум {}, минимум {}, объём {}).\n\n",
                        c(0),
                        c(5),
                        c(1),
                        c(2),
                        c(3),
                        c(4),
                        c(6)
                    )
                } else {
                    format!(
                        "**{}** closed at **{}** on {} (open {}, high {}, low {}, volume {}).\n\n",
                        c(0),
                        c(5),
                        c(1),
                        c(2),
                        c(3),
                        c(4),
                        c(6)
                    )
                });
            }
            text.push_str(if ru {
                "Цены — последний дневной бар в базе."
            } else {
                "Prices are the latest daily bar in the database."
            });
            text
        }
        Intent::Returns(_, days, label) => {
            let table = markdown_table(&columns, &rows);
            let from = rows.first().map(|r| cell(&r[1])).unwrap_or_default();
            let to = rows.first().map(|r| cell(&r[2])).unwrap_or_default();
            if ru {
                let period = if days == 0 { label } else { format!("за {label}") };
                format!("Доходность {period}, от закрытия до закрытия:\n\n{table}\nОкно: с {from} по {to}.")
            } else {
                format!(
                    "Returns over the last {label}, close to close:\n\n{table}\nThe window runs from {from} to {to}."
                )
            }
        }
        Intent::Movers if ru => format!(
            "Самые сильные движения {} (изменение от закрытия до закрытия):\n\n{}",
            rows.first().map(|r| cell(&r[1])).unwrap_or_default(),
            markdown_table(&columns, &rows)
        ),
        Intent::Portfolio if ru => {
            let (_, pnl_rows) = results.get(1).map(|(t, _)| parse_result(t)).unwrap_or_default();
            let day = pnl_rows
                .first()
                .map(|r| format!("\n\nP&L портфеля за {} составил **{}** USD.", cell(&r[0]), cell(&r[1])))
                .unwrap_or_default();
            format!("Ваши демо-счета по последней цене закрытия:\n\n{}{day}", markdown_table(&columns, &rows))
        }
        Intent::Vwap(_) if ru => format!("VWAP по минутным барам:\n\n{}", markdown_table(&columns, &rows)),
        Intent::Chart(symbols, _) if ru => match rows.first() {
            Some(r) => format!(
                "Вот **{}** с {} по {}: от {} до {} (диапазон {} – {}).\n\n{}",
                symbols[0],
                cell(&r[0]),
                cell(&r[1]),
                cell(&r[2]),
                cell(&r[3]),
                cell(&r[4]),
                cell(&r[5]),
                if results.get(1).is_some_and(|(t, _)| t.starts_with("Chart")) {
                    "График — выше."
                } else {
                    ""
                }
            ),
            None => format!("Для {} нет истории цен, чтобы построить график.", symbols[0]),
        },
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
