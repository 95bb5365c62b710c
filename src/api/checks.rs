//! The check of an answer's numbers against the rows its tool steps returned, as stored with the exchange and
//! shown in the UI (`server::checks` computes it).
use serde::{Deserialize, Serialize};

/// Every number of one answer, each with its verdict, and the rows the verdicts cite.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AnswerChecks {
    /// The numbers in the order they appear.
    pub numbers: Vec<CheckedNumber>,
    /// The tool steps cited, each with only the rows cited.
    pub sources: Vec<CheckSource>,
}

impl AnswerChecks {
    /// Numbers found in a cell or derived from cells.
    pub fn checked(&self) -> usize {
        self.numbers.iter().filter(|n| !matches!(n.verdict, Verdict::Unverified)).count()
    }

    /// The source `cell` points into, and the cited row it names.
    pub fn cell(&self, cell: &CellRef) -> Option<(&CheckSource, &CitedRow)> {
        let source = self.sources.get(usize::from(cell.source))?;
        let row = source.rows.iter().find(|r| r.index == cell.row)?;
        Some((source, row))
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

/// A tool step whose rows a verdict cites.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckSource {
    /// Its index among the answer's tool steps.
    pub step: u16,
    /// The SQL it ran.
    pub sql: String,
    /// The result's columns.
    pub columns: Vec<String>,
    /// The rows cited, in result order.
    pub rows: Vec<CitedRow>,
    /// The latest date or time in the tables the SQL read, when they have one.
    pub data_as_of: Option<String>,
}

/// A row of a result, as the step returned it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CitedRow {
    /// Its index in the result (0-based).
    pub index: u32,
    pub cells: Vec<serde_json::Value>,
}
