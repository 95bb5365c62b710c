//! Verified numbers: every number an answer states, matched against the rows its own tool steps returned.
//!
//! A number is *verified* when a cell holds it (as written or rounded to the digits written, scaled by its unit:
//! `%` of a fraction or of a percentage, `K`/`M`/`B`, basis points), *derived* when a simple derivation gives it
//! (a difference, ratio or percent change of cells the answer cites, of a cited cell and another in its row, or of
//! a column's first and last cells; the sum or mean of a column), and *unverified* otherwise. Numbers the question or the step's SQL already held
//! (`top 5`, `30 days`, `LIMIT 10`) are parameters, not claims, and are left out unless a cell holds them.
//!
//! Pure and fast (no I/O): it reads the rows the model saw, kept in memory by the run.
mod derive;
mod numbers;
pub mod rerun;

use serde_json::Value;

pub use self::numbers::{Quoted, Reading, numbers_in_markdown, numbers_in_text};
use crate::api::{AnswerChecks, CellRef, CheckSource, CheckedNumber, Verdict};

/// Numbers on each side of a number whose cells it is first compared with.
const NEIGHBOURS: usize = 2;

/// A numeric cell: where it is and its value.
#[derive(Debug, Clone, Copy)]
struct Cell {
    /// Index of its source.
    source: usize,
    row: usize,
    column: usize,
    value: f64,
}

/// The verdicts on every number of `answer`, which answered `question` with the steps of `sources` (each step that
/// returned rows, with the rows the model saw: [`seen_rows`]). The checks keep the sources.
pub fn check(question: &str, answer: &str, sources: Vec<CheckSource>) -> AnswerChecks {
    let cells: Vec<Cell> = sources
        .iter()
        .enumerate()
        .flat_map(|(source, s)| {
            s.rows.iter().enumerate().flat_map(move |(row, cells)| {
                cells
                    .iter()
                    .enumerate()
                    .filter_map(move |(column, v)| number(v).map(|value| Cell { source, row, column, value }))
            })
        })
        .collect();
    let given: Vec<Reading> = std::iter::once(question)
        .chain(sources.iter().map(|s| s.sql.as_str()))
        .flat_map(numbers_in_text)
        .flat_map(|q| q.readings)
        .collect();

    let quoted = numbers_in_markdown(answer);
    // First pass: cells. Every cell a quoted number fits is kept, not only the best (the verdict): the same value
    // often sits in two cells (a close and the next day's open), and a derivation may be from either. The cells
    // cited feed the derivations of the second pass.
    let fits: Vec<Vec<Fit>> = quoted.iter().map(|q| fitting_cells(&q.readings, &cells)).collect();
    let direct: Vec<Option<usize>> = fits.iter().map(|f| best(f)).collect();
    let fitting: Vec<Vec<usize>> = fits.iter().map(|f| f.iter().map(|fit| fit.cell).collect()).collect();
    let mut cited: Vec<usize> = fitting.iter().flatten().copied().collect();
    cited.sort_unstable();
    cited.dedup();
    let derivations = derive::Derivations::new(&cells, &cited);
    // A derivation from the numbers written around a number is tried first.
    let near = |k: usize| {
        let mut near: Vec<usize> =
            fitting[k.saturating_sub(NEIGHBOURS)..(k + NEIGHBOURS + 1).min(fitting.len())].concat();
        near.sort_unstable();
        near.dedup();
        derive::Derivations::among(&cells, &near)
    };

    let mut numbers = Vec::with_capacity(quoted.len());
    for (k, (q, cell)) in quoted.iter().zip(direct).enumerate() {
        let verdict = match cell {
            Some(cell) => Verdict::Verified { cell: cite(cells[cell]) },
            None if q.readings.iter().any(|r| given.iter().any(|g| same(r, g))) => continue,
            None => match near(k).find(&q.readings).or_else(|| derivations.find(&q.readings)).copied() {
                Some(found) => Verdict::Derived {
                    op: found.op,
                    cells: derive::Derivations::operands(&found, &cells).into_iter().map(|c| cite(cells[c])).collect(),
                },
                None => Verdict::Unverified,
            },
        };
        numbers.push(CheckedNumber { start: q.span.start as u32, end: q.span.end as u32, verdict });
    }
    AnswerChecks { numbers, sources }
}

/// A cell a quoted number fits: its index, how far it is (in units of the tolerance) and by which reading.
#[derive(Debug, Clone, Copy)]
struct Fit {
    cell: usize,
    distance: f64,
    reading: usize,
}

/// Every cell some reading of `readings` fits, in cell order, each with its closest reading.
fn fitting_cells(readings: &[Reading], cells: &[Cell]) -> Vec<Fit> {
    cells
        .iter()
        .enumerate()
        .filter_map(|(cell, c)| {
            readings
                .iter()
                .enumerate()
                .filter_map(|(reading, r)| fit(r, c.value).map(|distance| Fit { cell, distance, reading }))
                .min_by(|a, b| a.distance.total_cmp(&b.distance))
        })
        .collect()
}

/// The cell fitted best: the closest relative to the precision written; on a tie, the earlier reading, then the
/// earlier cell.
fn best(fits: &[Fit]) -> Option<usize> {
    fits.iter()
        .min_by(|a, b| a.distance.total_cmp(&b.distance).then(a.reading.cmp(&b.reading)).then(a.cell.cmp(&b.cell)))
        .map(|f| f.cell)
}

/// How far `value` is from reading `r`, in units of its tolerance, when `value` rounds to it (`None` otherwise).
/// A percentage fits a cell holding percent or a fraction; a number written without a sign fits either sign.
pub(crate) fn fit(r: &Reading, value: f64) -> Option<f64> {
    let scales: &[f64] = if r.percent { &[1.0, 100.0] } else { &[1.0] };
    scales
        .iter()
        .flat_map(|scale| {
            let v = value * scale;
            [Some(v), (!r.signed).then_some(-v)]
        })
        .flatten()
        .filter_map(|v| {
            let slack = r.tolerance + 1e-9 * v.abs().max(1e-9);
            let d = (v - r.value).abs();
            (d <= slack).then(|| d / slack.max(f64::MIN_POSITIVE))
        })
        .min_by(f64::total_cmp)
}

/// Whether two readings are the same number (the question's `30` and the answer's `30`).
fn same(a: &Reading, b: &Reading) -> bool {
    a.percent == b.percent && (a.value.abs() - b.value.abs()).abs() <= 1e-9 * a.value.abs().max(1.0)
}

/// A number from a JSON cell: numbers, and text that is one whole number (exact decimals arrive as text).
pub(crate) fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) if s.len() <= 40 => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// Where `cell` is, as the checks name it.
fn cite(cell: Cell) -> CellRef {
    CellRef {
        source: u16::try_from(cell.source).unwrap_or(u16::MAX),
        row: u32::try_from(cell.row).unwrap_or(u32::MAX),
        column: u16::try_from(cell.column).unwrap_or(u16::MAX),
    }
}

/// The first rows of a result as the model saw them: at most [`SEEN_ROWS`], and about [`SEEN_BYTES`] of JSON.
/// Both the stored answer and a re-run of it keep these, so the two compare like for like.
pub fn seen_rows(rows: &[Vec<Value>]) -> Vec<Vec<Value>> {
    let mut bytes = 0usize;
    rows.iter()
        .take(SEEN_ROWS)
        .take_while(|row| {
            bytes += row.iter().map(|v| serde_json::to_string(v).map_or(0, |s| s.len() + 1)).sum::<usize>();
            bytes <= SEEN_BYTES
        })
        .cloned()
        .collect()
}

/// Rows of a step the check reads and keeps (the model's share of a result).
pub const SEEN_ROWS: usize = 50;
/// Bytes of a step's rows the check reads and keeps.
pub const SEEN_BYTES: usize = 8_000;

#[cfg(test)]
mod tests;
