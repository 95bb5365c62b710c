//! The derivations a number may come from: differences, ratios and percent changes of cells the answer cites (or
//! of a cited cell and another cell of its row, or of a column's first and last cells), and the sum and mean of
//! each column.
//!
//! The operands are kept that narrow on purpose: every derivation added is one more value a made-up number could
//! hit by chance, and the ones here are those an answer actually writes ("NOVA rose from 100.2 to 105.3, +5.1 %").
//! Where derived values crowd together anyway (the ratios of a row's prices all sit near 1), a hit is not taken as
//! evidence ([`crowded`]).
use super::{Cell, Reading};
use crate::api::Derivation;

/// Cited cells up to which any two may be compared (more, and only those sharing a row or column are).
const FEW_CITED: usize = 30;
/// How much wider than a number's own window the density of derived values is read over.
const NEIGHBOURHOOD: f64 = 10.0;
/// Expected chance hits in a number's window above which a hit there is not evidence.
const MAX_CHANCE_HITS: f64 = 0.5;

/// A derived value and what it comes from.
#[derive(Debug, Clone, Copy)]
pub struct Derived {
    pub value: f64,
    pub op: Derivation,
    pub operands: Operands,
}

/// The cells a derivation reads, as indices into the answer's numeric cells.
#[derive(Debug, Clone, Copy)]
pub enum Operands {
    /// `a` and `b`, in the order of [`Derivation`]'s formulas.
    Pair(usize, usize),
    /// Every numeric cell of one column of one step.
    Column { source: usize, column: usize },
}

/// Every derivation of one answer's cells, by what kind of number it gives, each list sorted by value.
pub struct Derivations {
    /// Percent changes: percentages.
    percent_changes: Vec<Derived>,
    /// Ratios: a plain number, or a percentage times 100.
    ratios: Vec<Derived>,
    /// Differences, sums and means: in the cells' own unit.
    others: Vec<Derived>,
}

impl Derivations {
    /// The derivations over `cells` (every numeric cell of the answer's steps, in step, row, column order) that
    /// involve the `cited` ones (indices into `cells`, ascending).
    pub fn new(cells: &[Cell], cited: &[usize]) -> Self {
        // The pairs first, each once (earlier cell first), then their values.
        let mut pairs: Vec<(usize, usize)> = Vec::new();
        let few = cited.len() <= FEW_CITED;
        for (i, &a) in cited.iter().enumerate() {
            let c = &cells[a];
            for &b in &cited[i + 1..] {
                let o = &cells[b];
                if few || o.source == c.source && (o.row == c.row || o.column == c.column) {
                    pairs.push((a, b));
                }
            }
            // The cells above and below it in its column (a day's change from the day before).
            for row in [c.row.wrapping_sub(1), c.row + 1] {
                let key = (c.source, row, c.column);
                if let Ok(j) = cells.binary_search_by_key(&key, |o| (o.source, o.row, o.column)) {
                    pairs.push((a.min(j), a.max(j)));
                }
            }
            // The rest of its row (cells of a row are next to each other).
            let row = |j: &usize| cells[*j].source == c.source && cells[*j].row == c.row;
            let first = (0..a).rev().take_while(row).last().unwrap_or(a);
            let last = (a + 1..cells.len()).take_while(row).last().unwrap_or(a);
            pairs.extend((first..=last).filter(|&j| j != a).map(|j| (a.min(j), a.max(j))));
        }
        let mut columns: Vec<((usize, usize), Vec<usize>)> = Vec::new();
        for (i, c) in cells.iter().enumerate() {
            match columns.iter_mut().find(|(key, _)| *key == (c.source, c.column)) {
                Some((_, members)) => members.push(i),
                None => columns.push(((c.source, c.column), vec![i])),
            }
        }
        let mut entries = Vec::with_capacity(pairs.len() * 6 + columns.len() * 2);
        for ((source, column), members) in &columns {
            if members.len() < 2 {
                continue;
            }
            // The change over the whole result (its first and last rows: a period's start and end).
            pairs.push((members[0], members[members.len() - 1]));
            let sum: f64 = members.iter().map(|&i| cells[i].value).sum();
            let operands = Operands::Column { source: *source, column: *column };
            entries.push(Derived { value: sum, op: Derivation::Sum, operands });
            entries.push(Derived { value: sum / members.len() as f64, op: Derivation::Mean, operands });
        }
        pairs.sort_unstable();
        pairs.dedup();
        for (a, b) in pairs {
            pair_values(&mut entries, cells, a, b);
        }
        Self::sorted(entries)
    }

    /// `entries` split by the kind of number each gives, each list sorted by value.
    fn sorted(entries: Vec<Derived>) -> Self {
        let split = |keep: fn(Derivation) -> bool| {
            let mut list: Vec<Derived> = entries.iter().filter(|d| keep(d.op)).copied().collect();
            list.sort_by(|a, b| a.value.total_cmp(&b.value));
            list
        };
        Self {
            percent_changes: split(|op| op == Derivation::PercentChange),
            ratios: split(|op| op == Derivation::Ratio),
            others: split(|op| !matches!(op, Derivation::PercentChange | Derivation::Ratio)),
        }
    }

    /// Only the pairs of `cited` (the cells of the numbers written next to one: "closed at 4.66, −1.4 % from
    /// 4.73"): so few values that a hit among them is evidence even where the whole answer's are crowded.
    pub fn among(cells: &[Cell], cited: &[usize]) -> Self {
        let mut entries = Vec::new();
        for (i, &a) in cited.iter().enumerate() {
            for &b in &cited[i + 1..] {
                pair_values(&mut entries, cells, a, b);
            }
        }
        Self::sorted(entries)
    }

    /// The derivation `readings` fit best, if any: a percentage is a percent change or a ratio (×100), any other
    /// number a difference, sum, mean or ratio. Each list is sorted by value, so a reading looks only at the few
    /// values that could round to it.
    pub fn find(&self, readings: &[Reading]) -> Option<&Derived> {
        let mut best: Option<(f64, &Derived)> = None;
        for r in readings {
            let searches: [(&[Derived], f64); 2] = if r.percent {
                [(&self.percent_changes, 1.0), (&self.ratios, 100.0)]
            } else {
                [(&self.others, 1.0), (&self.ratios, 1.0)]
            };
            let slack = r.tolerance + 1e-9 * r.value.abs().max(1.0);
            let signs: &[f64] = if r.signed { &[1.0] } else { &[1.0, -1.0] };
            for (list, scale) in searches {
                for sign in signs {
                    let (low, high) = ((sign * r.value - slack) / scale, (sign * r.value + slack) / scale);
                    if crowded(list, low, high) {
                        continue;
                    }
                    let from = list.partition_point(|d| d.value < low);
                    for d in list[from..].iter().take_while(|d| d.value <= high) {
                        let distance = (d.value * scale - sign * r.value).abs() / slack.max(f64::MIN_POSITIVE);
                        if best.is_none_or(|(b, _)| distance < b) {
                            best = Some((distance, d));
                        }
                    }
                }
            }
        }
        best.map(|(_, d)| d)
    }

    /// The cells `d` reads, as indices into the answer's cells.
    pub fn operands(d: &Derived, cells: &[Cell]) -> Vec<usize> {
        match d.operands {
            Operands::Pair(a, b) => vec![a, b],
            Operands::Column { source, column } => {
                (0..cells.len()).filter(|&i| cells[i].source == source && cells[i].column == column).collect()
            }
        }
    }
}

/// Whether `list`'s values are so dense around `[low, high]` that a number written there would likely hit one by
/// chance: then a hit proves nothing, and none is claimed. The density is read over a window [`NEIGHBOURHOOD`]
/// times as wide.
fn crowded(list: &[Derived], low: f64, high: f64) -> bool {
    let (mid, half) = ((low + high) / 2.0, (high - low) / 2.0 * NEIGHBOURHOOD);
    let from = list.partition_point(|d| d.value < mid - half);
    let near = list[from..].iter().take_while(|d| d.value <= mid + half).count();
    // Expected chance hits in the window itself: near / NEIGHBOURHOOD.
    near as f64 / NEIGHBOURHOOD > MAX_CHANCE_HITS
}

/// The differences, ratios and percent changes of cells `a` and `b` (`a` the earlier), both ways.
fn pair_values(entries: &mut Vec<Derived>, cells: &[Cell], a: usize, b: usize) {
    let (x, y) = (cells[a].value, cells[b].value);
    let mut push = |value: f64, op, first: usize, second: usize| {
        if value.is_finite() {
            entries.push(Derived { value, op, operands: Operands::Pair(first, second) });
        }
    };
    push(x - y, Derivation::Difference, a, b);
    push(y - x, Derivation::Difference, b, a);
    if y != 0.0 {
        push(x / y, Derivation::Ratio, a, b);
        push((x - y) / y * 100.0, Derivation::PercentChange, b, a);
    }
    if x != 0.0 {
        push(y / x, Derivation::Ratio, b, a);
        push((y - x) / x * 100.0, Derivation::PercentChange, a, b);
    }
}
