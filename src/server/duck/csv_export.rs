//! A query's whole result as CSV (RFC 4180 quoting by the `csv` crate), for "Download CSV": every row and whole
//! values, up to a byte cap for the file, so one download cannot hold unbounded memory.
use csv::Writer;
use serde_json::Value as Json;

use super::DuckError;
use super::guard::Checked;
use super::query::{self, RowSink};
use super::session::Session;

/// Writes rows as CSV records, refusing to grow past `max_bytes`.
struct CsvRows {
    writer: Writer<Vec<u8>>,
    max_bytes: usize,
}

impl RowSink for CsvRows {
    fn wants_more(&self) -> bool {
        true
    }

    /// Whole values: the download is bounded by its total size instead.
    fn cell_bytes(&self) -> Option<usize> {
        None
    }

    fn take(&mut self, values: Vec<Json>) -> Result<(), DuckError> {
        self.writer.write_record(values.iter().map(field)).map_err(|e| DuckError::Task(format!("CSV: {e}")))?;
        if self.writer.get_ref().len() > self.max_bytes {
            return Err(DuckError::TooLarge { limit: self.max_bytes, what: "a CSV download" });
        }
        Ok(())
    }
}

/// One cell as CSV text: numbers and booleans as written, NULL empty, nested values as their JSON.
fn field(value: &Json) -> String {
    match value {
        Json::Null => String::new(),
        Json::String(s) => s.clone(),
        Json::Bool(_) | Json::Number(_) => value.to_string(),
        Json::Array(_) | Json::Object(_) => value.to_string(),
    }
}

/// Runs `checked` in `session` and returns the header and every row as CSV, at most `max_bytes`.
pub(super) fn run(session: &Session, checked: &Checked, max_bytes: usize) -> Result<Vec<u8>, DuckError> {
    let mut rows = CsvRows { writer: Writer::from_writer(Vec::new()), max_bytes };
    let (columns, _, _) = query::read(session, checked, &mut rows)?;
    let body = rows.writer.into_inner().map_err(|e| DuckError::Task(format!("CSV: {e}")))?;
    let mut header = Writer::from_writer(Vec::new());
    header.write_record(columns.iter().map(|c| c.name.as_str())).map_err(|e| DuckError::Task(format!("CSV: {e}")))?;
    let mut out = header.into_inner().map_err(|e| DuckError::Task(format!("CSV: {e}")))?;
    out.extend_from_slice(&body);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_plain_text_and_nulls_empty() {
        assert_eq!(field(&Json::Null), "");
        assert_eq!(field(&Json::from("a,\"b\"")), "a,\"b\"");
        assert_eq!(field(&Json::from(1.5)), "1.5");
        assert_eq!(field(&serde_json::json!([1, 2])), "[1,2]");
    }
}
