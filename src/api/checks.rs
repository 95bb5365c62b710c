//! The check of an answer's numbers against the rows its tool steps returned, as stored with the exchange and
//! shown in the UI (`server::checks` computes it).
use serde::{Deserialize, Serialize};

/// Every number of one answer, each with its verdict, and the rows the verdicts cite.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AnswerChecks {
    /// The numbers in the order they appear.
    pub numbers: Vec<CheckedNumber>,
    /// Every tool step that returned rows, with the rows the model saw: what the answer was based on (the cited
    /// cells point into them, and a re-run compares against them).
    pub sources: Vec<CheckSource>,
}

impl AnswerChecks {
    /// Numbers found in a cell or derived from cells.
    pub fn checked(&self) -> usize {
        self.numbers.iter().filter(|n| !matches!(n.verdict, Verdict::Unverified)).count()
    }

    /// The same checks with only the rows its verdicts cite (the others emptied, so row indexes hold): what a live
    /// answer needs to show them. The stored checks keep every row, for re-runs.
    pub fn cited_only(&self) -> Self {
        let mut cited: Vec<Vec<bool>> = self.sources.iter().map(|s| vec![false; s.rows.len()]).collect();
        for n in &self.numbers {
            let cells: &[CellRef] = match &n.verdict {
                Verdict::Verified { cell } => std::slice::from_ref(cell),
                Verdict::Derived { cells, .. } => cells,
                Verdict::Unverified => &[],
            };
            for c in cells {
                if let Some(row) = cited.get_mut(usize::from(c.source)).and_then(|s| s.get_mut(c.row as usize)) {
                    *row = true;
                }
            }
        }
        let sources = self
            .sources
            .iter()
            .zip(cited)
            .map(|(source, cited)| {
                let last = cited.iter().rposition(|c| *c).map_or(0, |i| i + 1);
                let rows = source.rows[..last]
                    .iter()
                    .zip(&cited)
                    .map(|(row, keep)| if *keep { row.clone() } else { Vec::new() })
                    .collect();
                CheckSource { rows, ..source.clone() }
            })
            .collect();
        Self { numbers: self.numbers.clone(), sources }
    }

    /// The value of the cell `cell` names.
    pub fn value(&self, cell: &CellRef) -> Option<&serde_json::Value> {
        let source = self.sources.get(usize::from(cell.source))?;
        source.rows.get(cell.row as usize)?.get(usize::from(cell.column))
    }
}

/// One number of the answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckedNumber {
    /// Byte offset in the answer's text where the number starts (its sign or currency sign included).
    pub start: u32,
    /// Byte offset just past it (its unit included: `%`, `K`, `bp`…).
    pub end: u32,
    pub verdict: Verdict,
}

/// What a number was found to be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Verdict {
    /// A cell of a result, as written or rounded, scaled by its unit.
    Verified { cell: CellRef },
    /// A simple derivation from cells.
    Derived { op: Derivation, cells: Vec<CellRef> },
    /// Neither: no result of this answer holds it.
    Unverified,
}

/// How a derived number comes from its cells (`a`, `b` in the order of [`Verdict::Derived::cells`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Derivation {
    /// `a − b`.
    Difference,
    /// `a / b`.
    Ratio,
    /// `(b − a) / a × 100`.
    PercentChange,
    /// The sum of every cell.
    Sum,
    /// The mean of every cell.
    Mean,
}

/// A cell of a cited source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellRef {
    /// Index in [`AnswerChecks::sources`].
    pub source: u16,
    /// The row's index in the step's result (0-based).
    pub row: u32,
    /// The column's index.
    pub column: u16,
}

/// A tool step that returned rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckSource {
    /// Its index among the answer's tool steps.
    pub step: u16,
    /// The SQL it ran.
    pub sql: String,
    /// The result's columns.
    pub columns: Vec<String>,
    /// The first rows, as the model saw them (at most 50, and about 8 KB).
    pub rows: Vec<Vec<serde_json::Value>>,
    /// The latest date or time in the tables the SQL read, when they have one.
    pub data_as_of: Option<String>,
}

/// A saved answer's steps run again on the current data, against what the answer was based on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RerunReport {
    /// When it ran.
    pub ran_at: chrono::DateTime<chrono::Utc>,
    /// Each step that returned rows, compared.
    pub steps: Vec<StepDiff>,
    /// Each checked number of the answer, and whether it still holds.
    pub numbers: Vec<NumberNow>,
}

impl RerunReport {
    /// Checked numbers that no longer hold.
    pub fn broken(&self) -> usize {
        self.numbers.iter().filter(|n| n.status != NumberStatus::Holds).count()
    }
}

/// One step's rows then and now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepDiff {
    /// Its index among the answer's tool steps.
    pub step: u16,
    /// Why it could not run again, if it could not (the guard's or DuckDB's message).
    pub error: Option<String>,
    /// The columns that name a row (text and dates: a symbol, a day); rows are matched by them, or by position
    /// when there are none.
    pub key_columns: Vec<String>,
    /// Rows there now that were not.
    pub added: Vec<Vec<serde_json::Value>>,
    /// Rows that were there and are not now.
    pub removed: Vec<Vec<serde_json::Value>>,
    /// Changed cells of rows in both, biggest relative move first (at most [`StepDiff::SHOWN`]).
    pub changed: Vec<CellChange>,
    /// How many cells changed in all.
    pub changed_cells: usize,
    /// Rows in both with no cell changed.
    pub unchanged_rows: usize,
    /// "Data as of" now.
    pub data_as_of: Option<String>,
}

impl StepDiff {
    /// Rows added, removed and cells changed listed at most.
    pub const SHOWN: usize = 20;
}

/// One cell of a row in both results, then and now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellChange {
    /// The row's key (its key cells joined, or `row N`).
    pub row: String,
    pub column: String,
    pub was: serde_json::Value,
    pub now: serde_json::Value,
    /// The relative move, in percent, for numbers.
    pub change_pct: Option<f64>,
}

/// A checked number of the answer, now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumberNow {
    /// Index in the answer's [`AnswerChecks::numbers`].
    pub index: usize,
    /// The number as the answer wrote it.
    pub written: String,
    pub status: NumberStatus,
}

/// Whether a checked number still holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NumberStatus {
    /// Its cell (or derivation) still gives it.
    Holds,
    /// Its cell now holds another value (or its derivation gives another).
    Changed { now: String },
    /// Its row's place in the result now holds another row ("top mover was NOVA, is now QBIT").
    Moved { was: String, now: String },
    /// Its row is gone, or its step could not run again.
    Gone,
}
