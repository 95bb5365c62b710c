//! A saved answer's steps run again, compared with what the answer was based on: rows added and removed, cells
//! changed (biggest moves first), and for each checked number whether it still holds.
//!
//! Rows are matched by their key columns — those whose cells were all text (a symbol, a day) — or by position when
//! there are none. A checked number holds when its cell (found by its row's key) still rounds to what was written,
//! or its derivation, computed from the cells now, still does; it has *moved* when the row at its place in the
//! result is another one ("top mover was NOVA, is now QBIT"), and is *gone* when its row or step is.
use std::collections::HashMap;

use serde_json::Value;

use super::{fit, number, numbers_in_text};
use crate::api::{
    AnswerChecks, CellChange, CellRef, CheckSource, Derivation, NumberNow, NumberStatus, RerunReport, StepDiff, Verdict,
};

/// A step's result now.
#[derive(Debug, Clone, PartialEq)]
pub struct Fresh {
    pub columns: Vec<String>,
    /// The rows as the model would see them ([`super::seen_rows`]), like the stored ones.
    pub rows: Vec<Vec<Value>>,
    pub data_as_of: Option<String>,
}

/// The report of `answer` (whose numbers `checks` checked) re-run: `now[i]` is source `i` run again, or why it
/// could not.
pub fn compare(
    answer: &str,
    checks: &AnswerChecks,
    now: &[Result<Fresh, String>],
    ran_at: chrono::DateTime<chrono::Utc>,
) -> RerunReport {
    // Each source's rows then and now, matched, or why it could not run again.
    let matched: Vec<Result<(Matched, &Fresh), &String>> = checks
        .sources
        .iter()
        .zip(now)
        .map(|(old, new)| new.as_ref().map(|new| (Matched::new(old, new), new)))
        .collect();
    let steps = checks
        .sources
        .iter()
        .zip(&matched)
        .map(|(old, m)| match m {
            Ok((m, new)) => m.diff(old, new),
            Err(e) => StepDiff::failed(old.step, (*e).clone()),
        })
        .collect();
    let value_now = |cell: &CellRef| -> Result<Value, NumberStatus> {
        let source = usize::from(cell.source);
        let (old, (m, new)) = match (checks.sources.get(source), matched.get(source)) {
            (Some(old), Some(Ok(m))) => (old, m),
            _ => return Err(NumberStatus::Gone),
        };
        let row = cell.row as usize;
        let key = m.old_keys.get(row).ok_or(NumberStatus::Gone)?;
        if m.keyed
            && let Some(at_place) = m.new_keys.get(row)
            && at_place != key
        {
            return Err(NumberStatus::Moved { was: key.clone(), now: at_place.clone() });
        }
        let new_row = m.new_index.get(key).ok_or(NumberStatus::Gone)?;
        let name = old.columns.get(usize::from(cell.column)).ok_or(NumberStatus::Gone)?;
        let column = new.columns.iter().position(|c| c == name).ok_or(NumberStatus::Gone)?;
        new.rows[*new_row].get(column).cloned().ok_or(NumberStatus::Gone)
    };
    let numbers = checks
        .numbers
        .iter()
        .enumerate()
        .filter_map(|(index, n)| {
            let written = answer.get(n.start as usize..n.end as usize)?.to_owned();
            let readings = numbers_in_text(&written).into_iter().next()?.readings;
            let holds = |v: f64| readings.iter().any(|r| fit(r, v).is_some());
            let status = match &n.verdict {
                Verdict::Unverified => return None,
                Verdict::Verified { cell } => match value_now(cell) {
                    Err(status) => status,
                    Ok(v) if number(&v).is_some_and(holds) => NumberStatus::Holds,
                    Ok(v) => NumberStatus::Changed { now: text(&v) },
                },
                Verdict::Derived { op, cells } => {
                    let values: Result<Vec<f64>, NumberStatus> = match op {
                        // A column's sum or mean is over the column now, whatever rows it holds and in what order.
                        Derivation::Sum | Derivation::Mean => column_now(checks, now, cells),
                        _ => cells
                            .iter()
                            .map(|c| value_now(c).and_then(|v| number(&v).ok_or(NumberStatus::Gone)))
                            .collect(),
                    };
                    match values.map(|v| derive(*op, &v)) {
                        Err(status) => status,
                        Ok(Some(v)) if holds(v) => NumberStatus::Holds,
                        Ok(Some(v)) => NumberStatus::Changed { now: like(&written, v, *op) },
                        Ok(None) => NumberStatus::Gone,
                    }
                }
            };
            Some(NumberNow { index, written, status })
        })
        .collect();
    RerunReport { ran_at, steps, numbers }
}

impl StepDiff {
    /// A step that could not run again, and why.
    fn failed(step: u16, error: String) -> Self {
        Self {
            step,
            error: Some(error),
            key_columns: Vec::new(),
            added: Vec::new(),
            removed: Vec::new(),
            changed: Vec::new(),
            changed_cells: 0,
            unchanged_rows: 0,
            data_as_of: None,
        }
    }
}

/// The numbers now of the column the first of `cells` is in (a sum's or mean's column).
fn column_now(
    checks: &AnswerChecks,
    now: &[Result<Fresh, String>],
    cells: &[CellRef],
) -> Result<Vec<f64>, NumberStatus> {
    let cell = cells.first().ok_or(NumberStatus::Gone)?;
    let source = usize::from(cell.source);
    let name =
        checks.sources.get(source).and_then(|s| s.columns.get(usize::from(cell.column))).ok_or(NumberStatus::Gone)?;
    let Some(Ok(fresh)) = now.get(source) else { return Err(NumberStatus::Gone) };
    let column = fresh.columns.iter().position(|c| c == name).ok_or(NumberStatus::Gone)?;
    Ok(fresh.rows.iter().filter_map(|r| r.get(column).and_then(number)).collect())
}

/// How the rows of one source then and now correspond.
struct Matched {
    /// Whether rows are matched by key columns (else by position).
    keyed: bool,
    key_columns: Vec<usize>,
    /// Each row's key, then and now.
    old_keys: Vec<String>,
    new_keys: Vec<String>,
    /// Where each key is now.
    new_index: HashMap<String, usize>,
}

impl Matched {
    fn new(old: &CheckSource, new: &Fresh) -> Self {
        // Key columns: every cell text that is not a number, and a column of that name now.
        let key_columns: Vec<usize> = (0..old.columns.len())
            .filter(|&c| {
                !old.rows.is_empty()
                    && old.rows.iter().all(|r| matches!(r.get(c), Some(v @ Value::String(_)) if number(v).is_none()))
                    && new.columns.contains(&old.columns[c])
            })
            .collect();
        let new_key_columns: Vec<usize> =
            key_columns.iter().filter_map(|&c| new.columns.iter().position(|n| *n == old.columns[c])).collect();
        let key_of = |row: &[Value], columns: &[usize]| {
            columns.iter().map(|&c| row.get(c).map(text).unwrap_or_default()).collect::<Vec<_>>().join(" · ")
        };
        let mut old_keys: Vec<String> = old.rows.iter().map(|r| key_of(r, &key_columns)).collect();
        let mut new_keys: Vec<String> = new.rows.iter().map(|r| key_of(r, &new_key_columns)).collect();
        let unique = |keys: &[String]| {
            let mut sorted = keys.to_vec();
            sorted.sort_unstable();
            sorted.windows(2).all(|w| w[0] != w[1])
        };
        let keyed = !key_columns.is_empty() && unique(&old_keys) && unique(&new_keys);
        if !keyed {
            old_keys = (1..=old.rows.len()).map(|i| format!("row {i}")).collect();
            new_keys = (1..=new.rows.len()).map(|i| format!("row {i}")).collect();
        }
        let new_index = new_keys.iter().enumerate().map(|(i, k)| (k.clone(), i)).collect();
        Self { keyed, key_columns: if keyed { key_columns } else { Vec::new() }, old_keys, new_keys, new_index }
    }

    fn diff(&self, old: &CheckSource, new: &Fresh) -> StepDiff {
        let old_index: HashMap<&String, usize> = self.old_keys.iter().enumerate().map(|(i, k)| (k, i)).collect();
        let added: Vec<Vec<Value>> = self
            .new_keys
            .iter()
            .enumerate()
            .filter(|(_, k)| !old_index.contains_key(k))
            .map(|(i, _)| new.rows[i].clone())
            .collect();
        let removed: Vec<Vec<Value>> = self
            .old_keys
            .iter()
            .enumerate()
            .filter(|(_, k)| !self.new_index.contains_key(*k))
            .map(|(i, _)| old.rows[i].clone())
            .collect();
        let mut changed = Vec::new();
        let mut unchanged_rows = 0;
        for (i, key) in self.old_keys.iter().enumerate() {
            let Some(&j) = self.new_index.get(key) else { continue };
            let before = changed.len();
            for (c, name) in old.columns.iter().enumerate() {
                if self.key_columns.contains(&c) {
                    continue;
                }
                let Some(n) = new.columns.iter().position(|x| x == name) else { continue };
                let (was, now) = (old.rows[i].get(c).cloned().unwrap_or(Value::Null), new.rows[j].get(n).cloned());
                let now = now.unwrap_or(Value::Null);
                if same_value(&was, &now) {
                    continue;
                }
                let change_pct = match (number(&was), number(&now)) {
                    (Some(a), Some(b)) if a != 0.0 => Some((b - a) / a.abs() * 100.0),
                    _ => None,
                };
                changed.push(CellChange { row: key.clone(), column: name.clone(), was, now, change_pct });
            }
            if changed.len() == before {
                unchanged_rows += 1;
            }
        }
        let changed_cells = changed.len();
        changed.sort_by(|a, b| {
            let size = |c: &CellChange| c.change_pct.map_or(-1.0, f64::abs);
            size(b).total_cmp(&size(a))
        });
        changed.truncate(StepDiff::SHOWN);
        StepDiff {
            step: old.step,
            error: None,
            key_columns: self.key_columns.iter().map(|&c| old.columns[c].clone()).collect(),
            added: added.into_iter().take(StepDiff::SHOWN).collect(),
            removed: removed.into_iter().take(StepDiff::SHOWN).collect(),
            changed,
            changed_cells,
            unchanged_rows,
            data_as_of: new.data_as_of.clone(),
        }
    }
}

/// Whether two cells hold the same value (numbers equal to within rounding noise).
fn same_value(a: &Value, b: &Value) -> bool {
    match (number(a), number(b)) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-12 * x.abs().max(y.abs()).max(1.0),
        _ => a == b,
    }
}

/// A cell as text.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "NULL".into(),
        other => other.to_string(),
    }
}

/// `op` over `v` (two cells, or a whole column for a sum or mean).
fn derive(op: Derivation, v: &[f64]) -> Option<f64> {
    let value = match (op, v) {
        (Derivation::Difference, [a, b]) => a - b,
        (Derivation::Ratio, [a, b]) if *b != 0.0 => a / b,
        (Derivation::PercentChange, [a, b]) if *a != 0.0 => (b - a) / a * 100.0,
        (Derivation::Sum, cells) if !cells.is_empty() => cells.iter().sum(),
        (Derivation::Mean, cells) if !cells.is_empty() => cells.iter().sum::<f64>() / cells.len() as f64,
        _ => return None,
    };
    value.is_finite().then_some(value)
}

/// `value` written the way `written` was: as many decimals, and a percentage as one.
fn like(written: &str, value: f64, op: Derivation) -> String {
    let decimals = written
        .rsplit_once(['.', ','])
        .map_or(0, |(_, fraction)| fraction.chars().take_while(char::is_ascii_digit).count());
    let percent = written.contains('%');
    let shown = if percent && op == Derivation::Ratio { value * 100.0 } else { value };
    format!("{shown:.decimals$}{}", if percent { "%" } else { "" })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::server::checks::check;

    fn movers(rows: Value) -> (Vec<String>, Vec<Vec<Value>>) {
        (vec!["symbol".into(), "close".into(), "pct".into()], serde_json::from_value(rows).expect("rows"))
    }

    fn answer_on(rows: Value, answer: &str) -> AnswerChecks {
        let (columns, rows) = movers(rows);
        let source =
            CheckSource { step: 0, sql: "SELECT …".into(), columns, rows, data_as_of: Some("2026-11-20".into()) };
        check("top movers", answer, vec![source])
    }

    fn now(rows: Value) -> Vec<Result<Fresh, String>> {
        let (columns, rows) = movers(rows);
        vec![Ok(Fresh { columns, rows, data_as_of: Some("2026-11-21".into()) })]
    }

    const ANSWER: &str = "The top mover was NOVA at 105.3 (+5.1%); QBIT closed at 46.02.";

    fn then() -> Value {
        json!([["NOVA", 105.3, 5.1], ["QBIT", 46.02, -4.3], ["SEMX", 12.5, 0.4]])
    }

    #[test]
    fn the_same_data_changes_nothing_and_every_number_holds() {
        let checks = answer_on(then(), ANSWER);
        let report = compare(ANSWER, &checks, &now(then()), chrono::Utc::now());
        let step = &report.steps[0];
        assert_eq!((step.added.len(), step.removed.len(), step.changed_cells, step.unchanged_rows), (0, 0, 0, 3));
        assert_eq!(step.key_columns, vec!["symbol".to_owned()]);
        assert_eq!(report.numbers.len(), 3);
        assert!(report.numbers.iter().all(|n| n.status == NumberStatus::Holds), "{:?}", report.numbers);
        assert_eq!(report.broken(), 0);
    }

    #[test]
    fn new_data_shows_added_removed_and_changed_rows_and_which_numbers_no_longer_hold() {
        let checks = answer_on(then(), ANSWER);
        let fresh = now(json!([["QBIT", 49.9, 8.4], ["NOVA", 104.0, -1.2], ["LITH", 7.0, 0.1]]));
        let report = compare(ANSWER, &checks, &fresh, chrono::Utc::now());
        let step = &report.steps[0];
        assert_eq!(step.added, vec![vec![json!("LITH"), json!(7.0), json!(0.1)]]);
        assert_eq!(step.removed, vec![vec![json!("SEMX"), json!(12.5), json!(0.4)]]);
        assert_eq!(step.changed_cells, 4);
        // The biggest relative move first: QBIT's pct went from −4.3 to 8.4.
        assert_eq!((step.changed[0].row.as_str(), step.changed[0].column.as_str()), ("QBIT", "pct"));
        assert_eq!(step.data_as_of.as_deref(), Some("2026-11-21"));
        let status: Vec<(&str, &NumberStatus)> =
            report.numbers.iter().map(|n| (n.written.as_str(), &n.status)).collect();
        let moved = NumberStatus::Moved { was: "NOVA".into(), now: "QBIT".into() };
        assert_eq!(status[0], ("105.3", &moved), "the top row is another symbol now");
        assert_eq!(status[2], ("46.02", &NumberStatus::Moved { was: "QBIT".into(), now: "NOVA".into() }));
        assert_eq!(report.broken(), 3);
    }

    #[test]
    fn a_column_sum_is_taken_over_the_column_now_whatever_the_order_of_its_rows() {
        let answer = "Together they closed at 163.82.";
        let checks = answer_on(then(), answer);
        assert!(matches!(checks.numbers[0].verdict, Verdict::Derived { op: Derivation::Sum, .. }));
        let reordered = now(json!([["SEMX", 12.5, 0.4], ["NOVA", 105.3, 5.1], ["QBIT", 46.02, -4.3]]));
        assert_eq!(compare(answer, &checks, &reordered, chrono::Utc::now()).numbers[0].status, NumberStatus::Holds);
        let grown = now(json!([["NOVA", 105.3, 5.1], ["QBIT", 46.02, -4.3], ["SEMX", 13.5, 0.4]]));
        let status = &compare(answer, &checks, &grown, chrono::Utc::now()).numbers[0].status;
        assert_eq!(status, &NumberStatus::Changed { now: "164.82".into() });
    }

    #[test]
    fn a_value_that_changed_in_place_says_what_it_is_now_and_a_failed_step_loses_its_numbers() {
        let checks = answer_on(then(), ANSWER);
        let fresh = now(json!([["NOVA", 107.25, 7.2], ["QBIT", 46.02, -4.3], ["SEMX", 12.5, 0.4]]));
        let report = compare(ANSWER, &checks, &fresh, chrono::Utc::now());
        assert_eq!(report.numbers[0].status, NumberStatus::Changed { now: "107.25".into() });
        assert_eq!(report.numbers[2].status, NumberStatus::Holds);
        let failed = compare(ANSWER, &checks, &[Err("the table is gone".into())], chrono::Utc::now());
        assert_eq!(failed.steps[0].error.as_deref(), Some("the table is gone"));
        assert!(failed.numbers.iter().all(|n| n.status == NumberStatus::Gone));
    }
}
