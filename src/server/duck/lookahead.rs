//! The look-ahead guard: reads the syntax tree DuckDB's parser makes of a query (`json_serialize_sql`, the same
//! tree the statement guard checks) for ways trading SQL reads the future relative to the bar it decides on.
//! A finding is a warning — on the tool step and in the tool result the model sees, so it can correct itself — and
//! never blocks the query.
//!
//! Precision matters more than recall: reading later data is not wrong in itself (a forward return is the outcome
//! an event study measures), deciding with it is. So the rules are:
//! - **a window frame over `FOLLOWING` rows** (`avg(close) OVER (… AND 5 FOLLOWING)`): every such frame mixes later
//!   bars into the value of this one;
//! - **a decision made with a later bar**: a `WHERE`, `HAVING`, `QUALIFY`, `CASE WHEN` or join condition that uses
//!   `lead(…)`, a `FOLLOWING` frame, a column of a bar joined as later (`b.date > a.date`), or a column computed from
//!   any of these in a CTE or subquery;
//! - **a signal traded on the bar that made it**: a decision comparing the bar's own `close`/`high`/`low` (or a
//!   moving average that includes it) selecting or weighting that same bar's return (`close / lag(close) - 1`),
//!   where the trade could only start at the next bar;
//! - **today's holdings for a historical window**: symbols chosen from `positions` (what is held now) while the
//!   query reads bars up to a fixed past date (survivorship).
use std::collections::HashSet;

use serde_json::Value;

use super::guard::each_node as walk;

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// A window frame reaches `FOLLOWING` rows.
    FollowingFrame,
    /// A filter or condition uses a later bar's value.
    DecidesWithLaterBar,
    /// A signal on a bar's close is applied to that same bar's return.
    SameBarSignal,
    /// Current holdings pick the symbols of a historical window.
    TodaysHoldings,
}

/// One warning about a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: Rule,
    /// What was found and what to do instead, for the model and the user.
    pub message: String,
}

impl Rule {
    fn message(self) -> &'static str {
        match self {
            Self::FollowingFrame => {
                "a window frame reads FOLLOWING rows, so each row's value includes later bars; use a frame that ends \
                 at CURRENT ROW (or 1 PRECEDING) when the value feeds a decision"
            }
            Self::DecidesWithLaterBar => {
                "a filter or condition uses a later bar's value (lead(), a FOLLOWING frame or a bar joined as later); \
                 decide with data up to the bar itself and keep later values only as the outcome"
            }
            Self::SameBarSignal => {
                "a signal computed from a bar's close selects or weights that same bar's return, which was already \
                 over when the signal existed; apply it to the next bar (lag the signal, or lead the return)"
            }
            Self::TodaysHoldings => {
                "the symbols come from today's positions while the window ends at a fixed past date, so the history \
                 only covers what is held now (survivorship); choose symbols by what was known at the time"
            }
        }
    }
}

/// The findings for a parsed query (`json_serialize_sql`'s output as JSON), at most one per rule.
pub fn review(tree: &Value) -> Vec<Finding> {
    let mut nodes = Vec::new();
    collect_selects(&tree["statements"], &mut nodes);
    let mut rules: Vec<Rule> = Vec::new();
    let mut add = |rule: Rule| {
        if !rules.contains(&rule) {
            rules.push(rule);
        }
    };

    let mut following = false;
    walk(tree, &mut |n| following |= is_window(n) && reads_following(n));
    if following {
        add(Rule::FollowingFrame);
    }

    // Columns (by name) computed from later data, and from a bar's own close; propagated through CTEs and
    // subqueries until nothing changes.
    let later_relations: Vec<HashSet<String>> = nodes.iter().map(|node| later_joined(node)).collect();
    let mut future: HashSet<String> = HashSet::new();
    let mut same_bar_return: HashSet<String> = HashSet::new();
    let mut current_level: HashSet<String> = HashSet::new();
    for _ in 0..4 {
        for (node, later) in nodes.iter().zip(&later_relations) {
            for item in node["select_list"].as_array().into_iter().flatten() {
                let Some(name) = output_name(item) else { continue };
                if reads_future(item, later, &future) {
                    future.insert(name.clone());
                }
                if is_same_bar_return(item) {
                    same_bar_return.insert(name.clone());
                } else if reads_current_level(item, &current_level) {
                    current_level.insert(name);
                }
            }
        }
    }

    for (node, later) in nodes.iter().zip(&later_relations) {
        let decisions = decisions(node);
        if decisions.iter().any(|d| decides_with_future(d, later, &future)) {
            add(Rule::DecidesWithLaterBar);
        }
        let signal_on_close = decisions.iter().any(|d| compares_current_level(d, &current_level));
        let uses_same_bar_return = node["select_list"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|item| any(item, &|n| is_same_bar_return(n) || refers_to(n, &same_bar_return)));
        if signal_on_close && uses_same_bar_return {
            add(Rule::SameBarSignal);
        }
    }

    if reads_table(tree, "positions") && has_fixed_past_end(tree) && reads_bars(tree) {
        add(Rule::TodaysHoldings);
    }
    rules.into_iter().map(|rule| Finding { rule, message: rule.message().to_owned() }).collect()
}

/// Every `SELECT_NODE` in the tree (CTEs, subqueries, set operations, joins' subqueries).
fn collect_selects<'a>(node: &'a Value, out: &mut Vec<&'a Value>) {
    walk(node, &mut |n| {
        if n["type"] == "SELECT_NODE" {
            out.push(n);
        }
    });
}

/// Whether `pred` holds for `node` or a node below it, not looking inside nested queries (their own selects are
/// reviewed on their own) or inside `lag(…)` (a lagged value is a past one).
fn any(node: &Value, pred: &dyn Fn(&Value) -> bool) -> bool {
    match node {
        Value::Object(map) => {
            if pred(node) {
                return true;
            }
            if map.get("type").and_then(Value::as_str) == Some("WINDOW_LAG") {
                return false;
            }
            map.iter().filter(|(k, _)| k.as_str() != "subquery").any(|(_, v)| any(v, pred))
        }
        Value::Array(items) => items.iter().any(|v| any(v, pred)),
        _ => false,
    }
}

fn is_window(node: &Value) -> bool {
    node["class"] == "WINDOW"
}

/// A window whose frame starts or ends after the current row.
fn reads_following(node: &Value) -> bool {
    ["start", "end"].iter().any(|k| node[*k].as_str().is_some_and(|b| b.contains("FOLLOWING")))
}

/// The qualifier and name of a column reference (`b.close` → (Some("b"), "close")).
fn column(node: &Value) -> Option<(Option<&str>, &str)> {
    if node["class"] != "COLUMN_REF" {
        return None;
    }
    let names: Vec<&str> = node["column_names"].as_array()?.iter().filter_map(Value::as_str).collect();
    match names.as_slice() {
        [name] => Some((None, name)),
        [.., relation, name] => Some((Some(relation), name)),
        [] => None,
    }
}

fn refers_to(node: &Value, names: &HashSet<String>) -> bool {
    column(node).is_some_and(|(_, name)| names.contains(&name.to_ascii_lowercase()))
}

/// What a select-list item is called outside (its alias, else the column it names).
fn output_name(item: &Value) -> Option<String> {
    item["alias"]
        .as_str()
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .or_else(|| column(item).map(|(_, name)| name.to_owned()))
        .map(|n| n.to_ascii_lowercase())
}

fn is_time_column(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "date" | "ts" | "time" | "timestamp" | "day" | "executed_at" | "bar_time"
    )
}

/// The relations a select node joins as later bars: `b` in `JOIN … b ON b.date > a.date` (or `b.date = a.date + …`).
fn later_joined(node: &Value) -> HashSet<String> {
    let mut later = HashSet::new();
    walk(&node["from_table"], &mut |n| {
        if n["type"] != "JOIN" {
            return;
        }
        walk(&n["condition"], &mut |c| {
            if c["class"] != "COMPARISON" {
                return;
            }
            let (left, right) = (&c["left"], &c["right"]);
            let time_of = |side: &Value| -> Option<String> {
                let found = column(side).or_else(|| {
                    // `a.date + 1`, `a.date + INTERVAL 5 DAY`: the column under the addition.
                    (side["function_name"] == "+")
                        .then(|| side["children"].as_array()?.iter().find_map(column))
                        .flatten()
                })?;
                match found {
                    (Some(relation), name) if is_time_column(name) => Some(relation.to_ascii_lowercase()),
                    _ => None,
                }
            };
            let shifted = |side: &Value| side["function_name"] == "+";
            let (Some(l), Some(r)) = (time_of(left), time_of(right)) else { return };
            if l == r {
                return;
            }
            match c["type"].as_str().unwrap_or_default() {
                "COMPARE_GREATERTHAN" | "COMPARE_GREATERTHANOREQUALTO" => {
                    later.insert(l);
                }
                "COMPARE_LESSTHAN" | "COMPARE_LESSTHANOREQUALTO" => {
                    later.insert(r);
                }
                "COMPARE_EQUAL" if shifted(right) && !shifted(left) => {
                    later.insert(l);
                }
                "COMPARE_EQUAL" if shifted(left) && !shifted(right) => {
                    later.insert(r);
                }
                _ => {}
            }
        });
    });
    later
}

/// Whether an expression reads a later bar: `lead()`, a `FOLLOWING` frame, a column of a later-joined relation or
/// a column computed from later data.
fn reads_future(expr: &Value, later: &HashSet<String>, future: &HashSet<String>) -> bool {
    any(expr, &|n| {
        n["type"] == "WINDOW_LEAD"
            || (is_window(n) && reads_following(n))
            || refers_to(n, future)
            || column(n).is_some_and(|(rel, _)| rel.is_some_and(|r| later.contains(&r.to_ascii_lowercase())))
    })
}

/// Whether a decision uses later data other than to check it for NULL (dropping rows without an outcome decides
/// nothing).
fn decides_with_future(decision: &Value, later: &HashSet<String>, future: &HashSet<String>) -> bool {
    match decision {
        Value::Object(map) => {
            let kind = map.get("type").and_then(Value::as_str).unwrap_or_default();
            if matches!(kind, "OPERATOR_IS_NULL" | "OPERATOR_IS_NOT_NULL") {
                return false;
            }
            if matches!(map.get("class").and_then(Value::as_str), Some("CONJUNCTION" | "OPERATOR"))
                && kind != "OPERATOR_NOT"
            {
                return map["children"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|x| decides_with_future(x, later, future)));
            }
            reads_future(decision, later, future)
        }
        _ => false,
    }
}

fn is_price_level(name: &str) -> bool {
    matches!(name.to_ascii_lowercase().as_str(), "close" | "high" | "low" | "adj_close" | "price")
}

/// `close / lag(close) - 1` and its kin: an expression with the bar's own close and a lagged one.
fn is_same_bar_return(expr: &Value) -> bool {
    let lagged_close =
        |n: &Value| n["type"] == "WINDOW_LAG" && n["children"].as_array().is_some_and(|c| c.iter().any(mentions_level));
    let mut has_lag = false;
    walk(expr, &mut |n| has_lag |= lagged_close(n));
    has_lag && any(expr, &|n| column(n).is_some_and(|(_, name)| is_price_level(name)))
}

fn mentions_level(node: &Value) -> bool {
    let mut found = false;
    walk(node, &mut |n| found |= column(n).is_some_and(|(_, name)| is_price_level(name)));
    found
}

/// Whether an expression uses the bar's own price level (outside `lag`), directly or through a column computed
/// from it (a moving average whose frame includes the current row).
fn reads_current_level(expr: &Value, current: &HashSet<String>) -> bool {
    any(expr, &|n| column(n).is_some_and(|(_, name)| is_price_level(name)) || refers_to(n, current))
}

/// A comparison whose sides use the bar's own price level (`close > sma20`, `high >= 100`). Checks for NULL and
/// the bar's date are not signals.
fn compares_current_level(decision: &Value, current: &HashSet<String>) -> bool {
    any(decision, &|n| {
        let comparison = n["class"] == "COMPARISON" || n["class"] == "BETWEEN";
        comparison
            && ["left", "right", "input", "lower", "upper"]
                .iter()
                .any(|side| !n[*side].is_null() && reads_current_level(&n[*side], current))
    })
}

/// The conditions of a select node that choose or weight rows: WHERE, HAVING, QUALIFY, join conditions and the
/// unlagged `CASE WHEN`s of its select list.
fn decisions(node: &Value) -> Vec<&Value> {
    let mut out: Vec<&Value> =
        ["where_clause", "having", "qualify"].iter().map(|k| &node[*k]).filter(|v| !v.is_null()).collect();
    walk(&node["from_table"], &mut |n| {
        if n["type"] == "JOIN" && !n["condition"].is_null() {
            out.push(&n["condition"]);
        }
    });
    // A join condition saying which bar is later is how a forward window is built, not a decision.
    out.retain(|d| !is_only_time_ordering(d));
    // So is every `CASE WHEN` of the select list that is not lagged (a lagged signal acts on the next bar).
    for item in node["select_list"].as_array().into_iter().flatten() {
        case_conditions(item, &mut out);
    }
    out
}

/// The `WHEN` conditions of the CASE expressions in `expr`, outside `lag(…)` and nested queries.
fn case_conditions<'a>(expr: &'a Value, out: &mut Vec<&'a Value>) {
    match expr {
        Value::Object(map) => {
            if map.get("type").and_then(Value::as_str) == Some("WINDOW_LAG") {
                return;
            }
            if map.get("class").and_then(Value::as_str) == Some("CASE") {
                out.extend(map["case_checks"].as_array().into_iter().flatten().map(|c| &c["when_expr"]));
            }
            map.iter().filter(|(k, _)| k.as_str() != "subquery").for_each(|(_, v)| case_conditions(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| case_conditions(v, out)),
        _ => {}
    }
}

/// A join condition made only of equalities on keys and comparisons of time columns.
fn is_only_time_ordering(condition: &Value) -> bool {
    match condition["class"].as_str() {
        Some("CONJUNCTION") => condition["children"].as_array().is_some_and(|c| c.iter().all(is_only_time_ordering)),
        Some("COMPARISON") => {
            let is_key_or_time = |side: &Value| {
                column(side).is_some()
                    || (side["function_name"] == "+"
                        && side["children"].as_array().is_some_and(|c| c.iter().any(|x| column(x).is_some())))
            };
            is_key_or_time(&condition["left"])
                && is_key_or_time(&condition["right"])
                && !mentions_level(&condition["left"])
                && !mentions_level(&condition["right"])
        }
        _ => false,
    }
}

fn reads_table(tree: &Value, table: &str) -> bool {
    let mut found = false;
    walk(tree, &mut |n| {
        found |= n["type"] == "BASE_TABLE" && n["table_name"].as_str().is_some_and(|t| t.eq_ignore_ascii_case(table))
    });
    found
}

fn reads_bars(tree: &Value) -> bool {
    reads_table(tree, "daily_bars") || reads_table(tree, "minute_bars")
}

/// Whether a time column is bounded above by a constant (`date < DATE '2024-01-01'`, `BETWEEN … AND '2023-12-31'`).
fn has_fixed_past_end(tree: &Value) -> bool {
    let constant = |n: &Value| n["class"] == "CONSTANT" || (n["class"] == "CAST" && n["child"]["class"] == "CONSTANT");
    let time = |n: &Value| column(n).is_some_and(|(_, name)| is_time_column(name));
    let mut found = false;
    walk(tree, &mut |n| {
        let kind = n["type"].as_str().unwrap_or_default();
        found |= match kind {
            "COMPARE_LESSTHAN" | "COMPARE_LESSTHANOREQUALTO" => time(&n["left"]) && constant(&n["right"]),
            "COMPARE_GREATERTHAN" | "COMPARE_GREATERTHANOREQUALTO" => constant(&n["left"]) && time(&n["right"]),
            "COMPARE_BETWEEN" => time(&n["input"]) && constant(&n["upper"]),
            _ => false,
        };
    });
    found
}

#[cfg(test)]
mod tests;
