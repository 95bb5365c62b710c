//! The first turn of an answer: a sentence saying what will be looked up, and the tool calls that do it (the same
//! tools, through the same agent loop, as Claude would use).
use serde_json::{Value, json};

use super::question::{Intent, Lang};
use crate::server::agent::llm::Block;

/// The first turn: a sentence (in the question's language) and the tool calls for the question, or `None` if it is
/// not a known shape.
pub(super) fn plan(intent: Intent, lang: Lang) -> Option<(String, Vec<Block>)> {
    let say = |en: String, ru: String| if lang == Lang::Ru { ru } else { en };
    let plan = match intent {
        Intent::Unknown => return None,
        Intent::Price(symbols) => (
            say(
                format!("Looking up the latest daily bar for {}.", symbols.join(", ")),
                format!("Смотрю последний дневной бар {}.", symbols.join(", ")),
            ),
            vec![tool(
                "offline_1",
                "run_sql",
                json!({"sql": format!(
                "SELECT symbol, date, open, high, low, close, volume FROM daily_bars WHERE symbol IN ({}) \
                 QUALIFY row_number() OVER (PARTITION BY symbol ORDER BY date DESC) = 1 ORDER BY symbol", list(&symbols))}),
            )],
        ),
        Intent::Returns(symbols, days, label) => {
            let window = if days == 0 {
                "date >= date_trunc('year', last.d)".to_owned()
            } else {
                format!("date >= last.d - INTERVAL {days} DAY")
            };
            (
                say(
                    format!("Computing the {label} return of {}.", symbols.join(", ")),
                    if days == 0 {
                        format!("Считаю доходность {} с начала года.", symbols.join(", "))
                    } else {
                        format!("Считаю доходность {} за {label}.", symbols.join(", "))
                    },
                ),
                vec![tool(
                    "offline_1",
                    "run_sql",
                    json!({"sql": format!(
                    "WITH last AS (SELECT max(date) AS d FROM daily_bars WHERE symbol IN ({s})), \
                     w AS (SELECT symbol, date, close FROM daily_bars, last WHERE symbol IN ({s}) AND {window}) \
                     SELECT symbol, min(date) AS from_date, max(date) AS to_date, arg_min(close, date) AS start_close, \
                     arg_max(close, date) AS end_close, round(100 * (arg_max(close, date) / arg_min(close, date) - 1), 2) AS return_pct \
                     FROM w GROUP BY symbol ORDER BY return_pct DESC", s = list(&symbols))}),
                )],
            )
        }
        Intent::Movers => (
            say(
                "Finding the biggest moves of the latest trading day.".into(),
                "Ищу самые сильные движения последнего торгового дня.".into(),
            ),
            vec![tool(
                "offline_1",
                "run_sql",
                json!({"sql":
                "WITH r AS (SELECT symbol, date, close, close / lag(close) OVER (PARTITION BY symbol ORDER BY date) - 1 AS ret \
                 FROM daily_bars) SELECT symbol, date, close, round(100 * ret, 2) AS change_pct FROM r \
                 WHERE date = (SELECT max(date) FROM daily_bars) AND ret IS NOT NULL ORDER BY abs(ret) DESC LIMIT 5"}),
            )],
        ),
        Intent::Portfolio => (
            say(
                "Summing up the positions and P&L of your accounts.".into(),
                "Подвожу итог по позициям и P&L ваших счетов.".into(),
            ),
            vec![
                tool(
                    "offline_1",
                    "run_sql",
                    json!({"sql":
                    "SELECT a.name AS account, count(*) FILTER (WHERE p.quantity > 0) AS open_positions, \
                     round(sum(p.market_value), 2) AS market_value, round(sum(p.total_pnl), 2) AS total_pnl \
                     FROM positions p JOIN accounts a USING (account_id) GROUP BY a.name ORDER BY a.name"}),
                ),
                tool(
                    "offline_2",
                    "run_sql",
                    json!({"sql":
                    "SELECT date, round(sum(pnl), 2) AS pnl FROM daily_pnl GROUP BY date ORDER BY date DESC LIMIT 1"}),
                ),
            ],
        ),
        Intent::Vwap(symbols) => (
            say(
                format!("Computing VWAP from minute bars for {}.", symbols.join(", ")),
                format!("Считаю VWAP по минутным барам для {}.", symbols.join(", ")),
            ),
            vec![tool(
                "offline_1",
                "run_sql",
                json!({"sql": format!(
                "SELECT symbol, CAST(ts AS DATE) AS day, round(sum(close * volume) / sum(volume), 4) AS vwap, sum(volume) AS volume \
                 FROM minute_bars WHERE symbol IN ({}) AND CAST(ts AS DATE) = (SELECT max(CAST(ts AS DATE)) FROM minute_bars) \
                 GROUP BY ALL ORDER BY symbol", list(&symbols))}),
            )],
        ),
        Intent::Chart(symbols, candles) => {
            let symbol = &symbols[0];
            let series = format!(
                "SELECT date, open, high, low, close FROM (SELECT * FROM daily_bars WHERE symbol = '{}' ORDER BY date DESC LIMIT 90) ORDER BY date",
                symbol.replace('\'', "''")
            );
            (
                say(
                    format!("Charting {symbol} over its last 90 trading days."),
                    format!("Строю график {symbol} за последние 90 торговых дней."),
                ),
                vec![
                    tool(
                        "offline_1",
                        "run_sql",
                        json!({"sql": format!(
                        "WITH s AS ({series}) SELECT min(date) AS from_date, max(date) AS to_date, arg_min(close, date) AS first_close, \
                         arg_max(close, date) AS last_close, min(low) AS low, max(high) AS high FROM s")}),
                    ),
                    tool(
                        "offline_2",
                        "make_chart",
                        json!({
                            "sql": series,
                            "kind": if candles { "candlestick" } else { "line" },
                            "x": "date",
                            "y": ["close"],
                            "title": say(
                                format!("{symbol} — last 90 trading days"),
                                format!("{symbol} — последние 90 торговых дней"),
                            ),
                        }),
                    ),
                ],
            )
        }
    };
    Some(plan)
}

fn list(symbols: &[String]) -> String {
    symbols.iter().map(|s| format!("'{}'", s.replace('\'', "''"))).collect::<Vec<_>>().join(", ")
}

fn tool(id: &str, name: &str, input: Value) -> Block {
    Block::ToolUse { id: id.into(), name: name.into(), input }
}
