//! Running one guarded query and collecting its result as JSON-safe rows.
use std::sync::Arc;
use std::time::{Duration, Instant};

use duckdb::Connection;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::DuckError;
use super::guard::{self, Checked, Kind};
use super::session::{Plan, Session};
use super::values::to_json;

/// Rows the UI may fetch of one result (the model sees far fewer; see [`QueryResult::for_model`]).
pub const MAX_FETCH_ROWS: usize = 10_000;
/// Characters one text cell keeps (bytes for blobs): a longer value is cut, with a marker saying how long it was,
/// inside DuckDB before the result is collected (so `repeat('x', 20000000)` costs the server 4 KiB, not 20 MB).
pub const CELL_BYTES: usize = 4 * 1024;
/// Bytes of rows one result keeps (about their JSON size); rows past it are counted, not kept.
pub const RESULT_BYTES: usize = 256 * 1024;

/// A result column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// Name as the query labels it.
    pub name: String,
    /// DuckDB type, e.g. `DOUBLE`, `DECIMAL(18,4)`, `TIMESTAMP WITH TIME ZONE`.
    pub type_name: String,
}

/// A query's result: the first rows (up to the fetch cap) and how many there were in all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryResult {
    /// Columns, in order.
    pub columns: Vec<Column>,
    /// The first rows, each as JSON values in column order.
    pub rows: Vec<Vec<Json>>,
    /// Rows the query produced in all.
    pub total_rows: u64,
    /// Wall time in DuckDB, milliseconds.
    pub elapsed_ms: f64,
    /// Whether rows were left out because the kept ones reached [`RESULT_BYTES`] (not only the row cap).
    #[serde(default)]
    pub byte_capped: bool,
    /// Look-ahead warnings about the SQL (`lookahead::review`): shown on the step and told to the model.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// The base tables the SQL reads (and its CTE names), for "data as of" (`SchemaSummary::data_as_of`).
    #[serde(default)]
    pub tables: Vec<String>,
}

impl QueryResult {
    /// Whether some rows were left out.
    pub fn truncated(&self) -> bool {
        (self.rows.len() as u64) < self.total_rows
    }

    /// The result as the model sees it: a header, then rows as JSON arrays, capped at `max_rows` rows and about
    /// `max_bytes` bytes, ending with an explicit `truncated: showing N of M rows` marker when anything is left out.
    ///
    /// A cell longer than its share of the byte cap is cut, and says so (`…(truncated, N chars)`), so that even the
    /// first row fits: one huge value cannot flood the model.
    pub fn for_model(&self, max_rows: usize, max_bytes: usize) -> String {
        let header = self.columns.iter().map(|c| format!("{} {}", c.name, c.type_name)).collect::<Vec<_>>().join(", ");
        let mut out = format!("columns: {header}\n");
        let budget = cell_budget(max_bytes.saturating_sub(out.len()), self.columns.len());
        let mut shown = 0usize;
        for row in self.rows.iter().take(max_rows) {
            let cells: Vec<Json> = row.iter().map(|cell| cut_cell(cell, budget)).collect();
            let line = serde_json::to_string(&cells).unwrap_or_default();
            if out.len() + line.len() + 1 > max_bytes && shown > 0 {
                break;
            }
            out.push_str(&line);
            out.push('\n');
            shown += 1;
        }
        if self.byte_capped && (shown as u64) < self.total_rows {
            out.push_str(&format!(
                "result too large: showing {shown} of {} rows (the rows kept reached {} KiB); aggregate or select \
                 fewer columns\n",
                self.total_rows,
                RESULT_BYTES / 1024
            ));
        } else if (shown as u64) < self.total_rows {
            out.push_str(&format!(
                "truncated: showing {shown} of {} rows; aggregate, filter or add LIMIT to see what matters\n",
                self.total_rows
            ));
        } else {
            out.push_str(&format!("({} rows)\n", self.total_rows));
        }
        out.push_str(&self.warnings_for_model());
        out
    }

    /// The look-ahead warnings as the model reads them, one `warning (look-ahead bias): …` line each.
    pub fn warnings_for_model(&self) -> String {
        self.warnings.iter().map(|w| format!("warning (look-ahead bias): {w}\n")).collect()
    }
}

/// Fewest bytes a cell keeps however many columns share the cap.
const MIN_CELL_BYTES: usize = 24;

/// Bytes one cell may take in the model's view: an equal share of `available` bytes per column, less the row's
/// punctuation and room for the truncation marker.
fn cell_budget(available: usize, columns: usize) -> usize {
    let columns = columns.max(1);
    (available / columns).saturating_sub(40).max(MIN_CELL_BYTES)
}

/// `cell`, or when its JSON text is longer than `budget` bytes, a string holding the start of it and an explicit
/// marker with its full length. Strings are cut in their text; lists, structs and maps in their JSON text.
fn cut_cell(cell: &Json, budget: usize) -> Json {
    match cell {
        Json::String(s) if escaped_len(s) > budget => Json::String(truncated(s, budget)),
        Json::Array(_) | Json::Object(_) => {
            let json = serde_json::to_string(cell).unwrap_or_default();
            if json.len() <= budget { cell.clone() } else { Json::String(truncated(&json, budget)) }
        }
        _ => cell.clone(),
    }
}

/// Bytes `c` takes inside a JSON string.
fn escaped_char_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if c < ' ' => 6,
        c => c.len_utf8(),
    }
}

/// Bytes `text` takes inside a JSON string.
fn escaped_len(text: &str) -> usize {
    text.chars().map(escaped_char_len).sum()
}

/// The start of `text` taking at most `budget` bytes as JSON, then the truncation marker with the full length.
fn truncated(text: &str, budget: usize) -> String {
    let mut used = 0;
    let kept: String = text
        .chars()
        .take_while(|&c| {
            used += escaped_char_len(c);
            used <= budget
        })
        .collect();
    format!("{kept}…(truncated, {} chars)", text.chars().count())
}

/// Types the Rust API cannot decode faithfully (or at all); such columns are read as DuckDB's own text.
fn needs_text_cast(type_name: &str) -> bool {
    let t = type_name.to_ascii_uppercase();
    t.contains("BIT")
        || t.contains("BIGNUM")
        || t.contains("VARINT")
        || t.contains("TIME WITH TIME ZONE") && !t.starts_with("TIMESTAMP WITH TIME ZONE")
        || (t.contains("TIMESTAMP WITH TIME ZONE") && t != "TIMESTAMP WITH TIME ZONE")
        || t.contains("GEOMETRY")
        || t.contains("VARIANT")
        || t.contains("UHUGEINT") && t != "UHUGEINT"
}

/// Where a query's rows go as they are read.
pub(super) trait RowSink {
    /// Whether the next row's values are wanted (rows past a cap are only counted, not converted).
    fn wants_more(&self) -> bool;
    /// Longest text or blob kept whole; longer ones are cut (with their length) before leaving DuckDB.
    fn cell_bytes(&self) -> Option<usize> {
        Some(CELL_BYTES)
    }
    /// Takes one row's values, in column order; an error stops the query.
    fn take(&mut self, values: Vec<Json>) -> Result<(), DuckError>;
}

/// Keeps the first `cap` rows, up to [`RESULT_BYTES`].
struct FirstRows {
    rows: Vec<Vec<Json>>,
    cap: usize,
    bytes: usize,
    byte_capped: bool,
}

impl RowSink for FirstRows {
    fn wants_more(&self) -> bool {
        self.rows.len() < self.cap && !self.byte_capped
    }

    fn take(&mut self, values: Vec<Json>) -> Result<(), DuckError> {
        let size: usize = values.iter().map(json_size).sum::<usize>() + values.len() + 2;
        if self.bytes + size > RESULT_BYTES && !self.rows.is_empty() {
            self.byte_capped = true;
            return Ok(());
        }
        self.bytes += size;
        self.rows.push(values);
        Ok(())
    }
}

/// About how many bytes `value` takes as JSON (exact for scalars and plain strings).
fn json_size(value: &Json) -> usize {
    match value {
        Json::Null => 4,
        Json::Bool(_) => 5,
        Json::Number(n) => n.to_string().len(),
        Json::String(s) => escaped_len(s) + 2,
        Json::Array(items) => items.iter().map(json_size).sum::<usize>() + items.len() + 2,
        Json::Object(fields) => fields.iter().map(|(k, v)| k.len() + 4 + json_size(v)).sum::<usize>() + 2,
    }
}

/// The first `keep` bytes of a long text (cut at a character boundary) and how long it was.
fn cut_bytes(bytes: &[u8], keep: usize) -> String {
    let mut end = keep.min(bytes.len());
    let text = loop {
        match std::str::from_utf8(&bytes[..end]) {
            Ok(text) => break text,
            Err(e) if e.valid_up_to() > 0 && end - e.valid_up_to() < 4 => end = e.valid_up_to(),
            Err(_) => break "",
        }
    };
    format!("{text}…(truncated, {} bytes)", bytes.len())
}

/// Runs `checked` in `session`: DuckDB's parser check, then the query itself, keeping up to `fetch_rows` rows.
pub(super) fn run(session: &Session, checked: &Checked, fetch_rows: usize) -> Result<QueryResult, DuckError> {
    let started = Instant::now();
    let mut first = FirstRows { rows: Vec::new(), cap: fetch_rows, bytes: 0, byte_capped: false };
    let (columns, total_rows, plan) = read(session, checked, &mut first)?;
    Ok(QueryResult {
        columns,
        rows: first.rows,
        total_rows,
        elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
        byte_capped: first.byte_capped,
        warnings: plan.warnings.clone(),
        tables: plan.tables.clone(),
    })
}

/// The plan of `checked` on this file version: made earlier, or made now (DuckDB's parser check and `DESCRIBE`)
/// and kept when it is complete.
fn plan_of(session: &Session, checked: &Checked, cell_bytes: Option<usize>) -> Result<Arc<Plan>, DuckError> {
    if let Some(plan) = session.plan(&checked.sql, cell_bytes) {
        return Ok(plan);
    }
    let serialized: String =
        session.query_row("SELECT json_serialize_sql(?::VARCHAR)", [&checked.parse_as], |r| r.get(0))?;
    let parsed = guard::check_parsed(checked.kind, &serialized)?;
    let warnings = super::lookahead::review(&parsed.tree).into_iter().map(|f| f.message).collect();

    // DESCRIBE cannot wrap every statement (EXPLAIN, or DESCRIBE itself in some forms): then the types come from
    // the result's Arrow schema instead.
    let (described, complete) = if checked.kind == Kind::Explain {
        (Vec::new(), true)
    } else {
        match describe(session, &checked.sql) {
            Ok(columns) => (columns, true),
            Err(_) => (Vec::new(), false),
        }
    };
    let replaced: Vec<String> = described
        .iter()
        .filter_map(|c| {
            let name = super::quote_ident(&c.name);
            if needs_text_cast(&c.type_name) {
                Some(format!("CAST({name} AS VARCHAR) AS {name}"))
            } else if c.type_name == "VARCHAR" {
                // Long text is cut inside DuckDB, so neither its result nor the copy this crate makes of it (Arrow)
                // ever holds the whole value: `repeat('x', 20000000)` leaves DuckDB as 4 KiB and its length.
                cell_bytes.map(|keep| {
                    format!(
                        "CASE WHEN strlen({name}) > {keep} THEN left({name}, {keep}) || '…(truncated, ' || \
                         strlen({name}) || ' bytes)' ELSE {name} END AS {name}"
                    )
                })
            } else {
                None
            }
        })
        .collect();
    let exec_sql = if replaced.is_empty() {
        checked.sql.clone()
    } else {
        format!("SELECT * REPLACE ({}) FROM ({}) AS q", replaced.join(", "), checked.sql)
    };
    let plan = Arc::new(Plan { described, exec_sql, warnings, tables: parsed.tables });
    // A DESCRIBE that failed may have failed for this time only (an interrupt): plan again next time.
    if complete {
        session.remember(&checked.sql, cell_bytes, Arc::clone(&plan));
    }
    Ok(plan)
}

/// Runs `checked` in `session` and hands every row to `sink`; returns the columns, how many rows there were and
/// the query's plan (its look-ahead warnings and the tables it reads).
pub(super) fn read(
    session: &Session,
    checked: &Checked,
    sink: &mut impl RowSink,
) -> Result<(Vec<Column>, u64, Arc<Plan>), DuckError> {
    let cell_bytes = sink.cell_bytes();
    let plan = plan_of(session, checked, cell_bytes)?;
    let described = &plan.described;
    let mut stmt = session.prepare(&plan.exec_sql)?;
    let mut total_rows = 0u64;
    use duckdb::types::ValueRef;
    let mut rows = stmt.query([])?;
    let mut tz_columns: Option<Vec<bool>> = None;
    // Text was cut in SQL (to at most 4 bytes a character); this catches what could not be (blobs, or a query
    // DESCRIBE could not wrap).
    let cell_bytes = cell_bytes.map_or(usize::MAX, |keep| keep * 4 + 64);
    while let Some(row) = rows.next()? {
        total_rows += 1;
        if !sink.wants_more() {
            continue;
        }
        let tz = tz_columns.get_or_insert_with(|| {
            let count = row.as_ref().column_count();
            (0..count)
                .map(|i| {
                    matches!(row.as_ref().column_type(i), duckdb::arrow::datatypes::DataType::Timestamp(_, Some(_)))
                })
                .collect()
        });
        let mut values = Vec::with_capacity(tz.len());
        for (i, with_tz) in tz.iter().enumerate() {
            let value = row.get_ref(i)?;
            values.push(match value {
                // Cut before copying: the whole value never leaves DuckDB's memory.
                ValueRef::Text(bytes) | ValueRef::Blob(bytes) if bytes.len() > cell_bytes => {
                    Json::String(cut_bytes(bytes, cell_bytes))
                }
                _ => to_json(&value.to_owned(), *with_tz),
            });
        }
        sink.take(values)?;
    }
    drop(rows);
    let names = stmt.column_names();
    let columns = names
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            let type_name = described.get(i).map_or_else(
                || arrow_type_name(&stmt, i),
                |c| {
                    if needs_text_cast(&c.type_name) {
                        format!("VARCHAR (from {})", c.type_name)
                    } else {
                        c.type_name.clone()
                    }
                },
            );
            Column { name, type_name }
        })
        .collect();
    Ok((columns, total_rows, plan))
}

/// Column names and DuckDB types of a query, from `DESCRIBE` of it as a subquery.
fn describe(conn: &Connection, sql: &str) -> Result<Vec<Column>, DuckError> {
    let mut stmt = conn.prepare(&format!("DESCRIBE SELECT * FROM ({sql}) AS q"))?;
    let columns =
        stmt.query_map([], |r| Ok(Column { name: r.get(0)?, type_name: r.get(1)? }))?.collect::<Result<Vec<_>, _>>()?;
    Ok(columns)
}

/// A DuckDB-style type name from the result's Arrow type, for statements DESCRIBE cannot wrap.
fn arrow_type_name(stmt: &duckdb::Statement<'_>, i: usize) -> String {
    use duckdb::arrow::datatypes::DataType;
    match stmt.column_type(i) {
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Int8 | DataType::Int16 | DataType::Int32 => "INTEGER".into(),
        DataType::Int64 => "BIGINT".into(),
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => "UBIGINT".into(),
        DataType::Float32 | DataType::Float64 => "DOUBLE".into(),
        DataType::Decimal128(p, s) => format!("DECIMAL({p},{s})"),
        DataType::Date32 => "DATE".into(),
        DataType::Timestamp(_, None) => "TIMESTAMP".into(),
        DataType::Timestamp(_, Some(_)) => "TIMESTAMP WITH TIME ZONE".into(),
        DataType::Utf8 | DataType::LargeUtf8 => "VARCHAR".into(),
        other => format!("{other:?}"),
    }
}

/// The message for a query stopped at its deadline.
pub fn timeout_message(limit: Duration) -> String {
    format!(
        "The query ran longer than {:.0} s and was stopped. Narrow it down: filter by symbol or date range, \
         aggregate before joining, or add LIMIT.",
        limit.as_secs_f64()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(rows: usize) -> QueryResult {
        QueryResult {
            columns: vec![Column { name: "n".into(), type_name: "INTEGER".into() }],
            rows: (0..rows).map(|i| vec![Json::from(i)]).collect(),
            total_rows: 1_000,
            elapsed_ms: 1.0,
            byte_capped: false,
            warnings: Vec::new(),
            tables: Vec::new(),
        }
    }

    #[test]
    fn the_model_sees_an_explicit_truncation_marker() {
        let text = result(100).for_model(10, 10_000);
        assert!(text.starts_with("columns: n INTEGER\n"));
        assert_eq!(text.lines().filter(|l| l.starts_with('[')).count(), 10);
        assert!(text.contains("truncated: showing 10 of 1000 rows"), "{text}");
    }

    #[test]
    fn the_byte_cap_also_truncates() {
        let text = result(100).for_model(100, 60);
        let shown = text.lines().filter(|l| l.starts_with('[')).count();
        assert!((1..100).contains(&shown));
        assert!(text.contains(&format!("truncated: showing {shown} of 1000 rows")));
    }

    #[test]
    fn one_huge_cell_is_cut_with_a_marker_so_even_the_first_row_respects_the_byte_cap() {
        let huge = "é".repeat(500_000);
        let r = QueryResult {
            columns: vec![
                Column { name: "id".into(), type_name: "INTEGER".into() },
                Column { name: "body".into(), type_name: "VARCHAR".into() },
                Column { name: "list".into(), type_name: "INTEGER[]".into() },
            ],
            rows: vec![vec![Json::from(7), Json::from(huge), Json::from((0..100_000).collect::<Vec<i64>>())]],
            total_rows: 1,
            elapsed_ms: 1.0,
            byte_capped: false,
            warnings: Vec::new(),
            tables: Vec::new(),
        };
        let text = r.for_model(50, 4_000);
        let row = text.lines().find(|l| l.starts_with('[')).expect("the row is shown");
        assert!(text.len() <= 4_000, "{} bytes", text.len());
        assert!(row.starts_with("[7,\"éé"), "{row}");
        assert!(row.contains("…(truncated, 500000 chars)"), "{row}");
        let list_len = serde_json::to_string(&r.rows[0][2]).expect("json").chars().count();
        assert!(row.contains(&format!("…(truncated, {list_len} chars)")), "{row}");
        assert!(text.ends_with("(1 rows)\n"));
    }

    #[test]
    fn short_cells_are_untouched() {
        let r = QueryResult {
            columns: vec![
                Column { name: "s".into(), type_name: "VARCHAR".into() },
                Column { name: "l".into(), type_name: "INTEGER[]".into() },
            ],
            rows: vec![vec![Json::from("short"), serde_json::json!([1, 2])]],
            total_rows: 1,
            elapsed_ms: 1.0,
            byte_capped: false,
            warnings: Vec::new(),
            tables: Vec::new(),
        };
        assert!(r.for_model(10, 10_000).contains("[\"short\",[1,2]]"));
        assert_eq!(cut_cell(&Json::from("abcdef"), 3), Json::from("abc…(truncated, 6 chars)"));
        assert_eq!(truncated("ééé", 3), "é…(truncated, 3 chars)");
        assert_eq!(truncated("\"\"\"", 4), "\"\"…(truncated, 3 chars)", "quotes count as escaped");
    }

    #[test]
    fn long_cells_are_cut_at_a_character_boundary_with_their_length() {
        let long = "é".repeat(CELL_BYTES);
        let cut = cut_bytes(long.as_bytes(), CELL_BYTES);
        assert!(cut.ends_with(&format!("…(truncated, {} bytes)", long.len())), "{}", &cut[cut.len() - 40..]);
        assert!(cut.len() <= CELL_BYTES + 40);
        let mut first = FirstRows { rows: Vec::new(), cap: 10_000, bytes: 0, byte_capped: false };
        let row = || vec![Json::from("x".repeat(CELL_BYTES))];
        while first.wants_more() {
            first.take(row()).expect("take");
        }
        assert!(first.byte_capped && first.bytes <= RESULT_BYTES, "{} bytes", first.bytes);
        assert_eq!(first.rows.len(), RESULT_BYTES / (CELL_BYTES + 5));
    }

    #[test]
    fn complete_results_say_how_many_rows() {
        let mut r = result(3);
        r.total_rows = 3;
        assert!(r.for_model(10, 10_000).ends_with("(3 rows)\n"));
    }

    #[test]
    fn exotic_types_are_read_as_text() {
        assert!(needs_text_cast("BIT"));
        assert!(needs_text_cast("TIME WITH TIME ZONE"));
        assert!(needs_text_cast("STRUCT(t TIMESTAMP WITH TIME ZONE)"));
        assert!(!needs_text_cast("TIMESTAMP WITH TIME ZONE"));
        assert!(!needs_text_cast("DECIMAL(18,4)"));
    }
}
