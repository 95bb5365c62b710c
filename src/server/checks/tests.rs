use serde_json::{Value, json};

use super::*;
use crate::api::Derivation;

fn source(step: u16, sql: &str, columns: &[&str], rows: Value) -> CheckSource {
    CheckSource {
        step,
        sql: sql.into(),
        columns: columns.iter().map(|c| (*c).to_owned()).collect(),
        rows: serde_json::from_value(rows).expect("rows"),
        data_as_of: Some("2026-11-27".into()),
    }
}

/// Each number's text and verdict.
fn verdicts<'a>(answer: &'a str, checks: &AnswerChecks) -> Vec<(&'a str, Verdict)> {
    checks.numbers.iter().map(|n| (&answer[n.start as usize..n.end as usize], n.verdict.clone())).collect()
}

fn movers() -> CheckSource {
    source(
        0,
        "SELECT symbol, prev_close, close, pct FROM movers ORDER BY abs(pct) DESC LIMIT 3",
        &["symbol", "prev_close", "close", "pct"],
        json!([["NOVA", 100.2, 105.31, 0.051], ["QBIT", "48.10", "46.02", -0.0432], ["SEMX", 12.0, 12.5, 0.0417]]),
    )
}

#[test]
fn a_cell_as_written_rounded_or_scaled_is_verified_and_cited_with_its_row() {
    let answer = "**NOVA** rose to **105.31** (+5.1%), QBIT fell 4.3% to 46.02.";
    let checks = check("top 3 movers", answer, vec![movers()]);
    let cell = |row, column| Verdict::Verified { cell: CellRef { source: 0, row, column } };
    assert_eq!(
        verdicts(answer, &checks),
        vec![("105.31", cell(0, 2)), ("+5.1%", cell(0, 3)), ("4.3%", cell(1, 3)), ("46.02", cell(1, 2)),]
    );
    assert_eq!(checks.checked(), 4);
    let source = &checks.sources[0];
    assert_eq!((source.step, source.rows.len()), (0, 3), "the rows the answer was based on are kept");
    assert_eq!(checks.value(&CellRef { source: 0, row: 1, column: 2 }), Some(&json!("46.02")));
    // What a live answer is sent: the cited rows only, at their places.
    let live = checks.cited_only();
    assert_eq!(live.numbers, checks.numbers);
    assert_eq!(live.sources[0].rows.len(), 2, "rows after the last cited one are left out");
    assert_eq!(live.value(&CellRef { source: 0, row: 1, column: 2 }), Some(&json!("46.02")));
    assert_eq!(source.data_as_of.as_deref(), Some("2026-11-27"));
}

#[test]
fn differences_ratios_and_percent_changes_of_cited_cells_are_derived() {
    let answer = "NOVA went from 100.2 to 105.31, a gain of 5.11 points; QBIT closed at 46.02, down 4.324% from its \
                  previous close, and is 43.7% of NOVA's.";
    let checks = check("how did NOVA do?", answer, vec![movers()]);
    let found = verdicts(answer, &checks);
    assert!(matches!(found[0].1, Verdict::Verified { .. }) && matches!(found[1].1, Verdict::Verified { .. }));
    assert!(matches!(&found[2], ("5.11", Verdict::Derived { op: Derivation::Difference, cells }) if cells.len() == 2));
    assert!(matches!(found[3].1, Verdict::Verified { .. }));
    // The cell says −4.32 %; the three decimals written are the change from the previous close, not the cell.
    assert!(matches!(&found[4], ("4.324%", Verdict::Derived { op: Derivation::PercentChange, .. })), "{:?}", found[4]);
    assert!(matches!(&found[5], ("43.7%", Verdict::Derived { op: Derivation::Ratio, .. })), "{:?}", found[5]);
}

#[test]
fn a_column_sum_or_mean_is_derived() {
    let answer = "Together they closed at 163.83, on average 54.61.";
    let checks = check("closes", answer, vec![movers()]);
    let ops: Vec<_> = checks.numbers.iter().map(|n| n.verdict.clone()).collect();
    assert!(matches!(&ops[0], Verdict::Derived { op: Derivation::Sum, cells } if cells.len() == 3), "{ops:?}");
    assert!(matches!(&ops[1], Verdict::Derived { op: Derivation::Mean, .. }), "{ops:?}");
}

#[test]
fn a_number_no_result_holds_is_unverified_and_parameters_are_left_out() {
    let answer = "The top 3 movers: NOVA closed at 107.9 and QBIT at 46.02.";
    let checks = check("top 3 movers today", answer, vec![movers()]);
    let found = verdicts(answer, &checks);
    assert_eq!(found.len(), 2, "the 3 of the question is not a claim: {found:?}");
    assert_eq!(found[0], ("107.9", Verdict::Unverified));
    assert!(matches!(found[1].1, Verdict::Verified { .. }));
    assert_eq!(checks.checked(), 1);
}

#[test]
fn small_integers_must_match_exactly() {
    let ev = source(0, "SELECT 1", &["trades", "avg"], json!([[12, 4.6]]));
    let answer = "There were 12 trades, 5 of them large.";
    let found = verdicts(answer, &check("trades?", answer, vec![ev]));
    assert!(matches!(found[0].1, Verdict::Verified { .. }));
    assert_eq!(found[1], ("5", Verdict::Unverified), "4.6 does not round to a count of 5");
}

#[test]
fn an_answer_without_results_has_only_unverified_numbers() {
    let answer = "NOVA is at 101.5.";
    let checks = check("NOVA?", answer, Vec::new());
    assert_eq!(verdicts(answer, &checks), vec![("101.5", Verdict::Unverified)]);
    assert!(checks.sources.is_empty());
}

#[test]
fn the_rows_kept_are_those_the_model_saw() {
    let rows: Vec<Vec<Value>> = (0..80).map(|i| vec![json!(i), json!("x".repeat(100))]).collect();
    let seen = seen_rows(&rows);
    assert!(seen.len() < 80 && seen.len() > 10, "{}", seen.len());
    assert_eq!(seen[..], rows[..seen.len()]);
    assert_eq!(seen_rows(&rows[..5]).len(), 5);
}

/// Figures: the time one check takes on a long answer over a full result (printed; `cargo test -- --nocapture`).
#[test]
fn checking_a_long_answer_takes_milliseconds() {
    let rows: Vec<Value> = (0..50)
        .map(|i| {
            let f = f64::from(i);
            json!([format!("S{i}"), 100.0 + f * 1.37, 101.0 + f * 1.41, 0.01 * f - 0.2, 1_000_000 + i * 7919, f * 0.5])
        })
        .collect();
    let ev = source(0, "SELECT *", &["symbol", "open", "close", "ret", "volume", "x"], Value::Array(rows));
    let mut answer = String::new();
    for i in 0..50 {
        let f = f64::from(i);
        answer.push_str(&format!(
            "- **S{i}** opened at {:.2}, closed at {:.2} ({:+.1}%), volume {:.1}M, made-up {:.3}.\n",
            100.0 + f * 1.37,
            101.0 + f * 1.41,
            (0.01 * f - 0.2) * 100.0,
            (1_000_000.0 + f * 7919.0) / 1e6,
            f * 2.9137 + 0.777
        ));
    }
    let started = std::time::Instant::now();
    let checks = check("all symbols", &answer, vec![ev]);
    let took = started.elapsed();
    let unverified = checks.numbers.iter().filter(|n| matches!(n.verdict, Verdict::Unverified)).count();
    println!(
        "checks: {} numbers in {} bytes over 50×6 cells: {} checked, {unverified} unverified, {:.2} ms",
        checks.numbers.len(),
        answer.len(),
        checks.checked(),
        took.as_secs_f64() * 1000.0
    );
    assert_eq!(checks.numbers.len(), 250);
    for (line, numbers) in checks.numbers.chunks(5).enumerate() {
        let real = numbers[..4].iter().all(|n| !matches!(n.verdict, Verdict::Unverified));
        assert!(real, "line {line}: the four real figures are checked: {numbers:?}");
    }
    assert!(unverified >= 45, "at most a few made-up figures hit a derivation by chance: {unverified} of 50");
}
