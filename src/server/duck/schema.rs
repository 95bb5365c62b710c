//! Schema introspection for the model: relations, columns with types and comments, row counts and a few sample
//! values — whatever database `DATABASE_PATH` holds. Computed once per file version (see `Duck::schema`).
use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};

use duckdb::Connection;
use serde::{Deserialize, Serialize};

use super::{DuckError, quote_ident};

/// Sample values shown per column.
const SAMPLES: usize = 3;
/// Longest sample value shown.
const SAMPLE_CHARS: usize = 40;

/// A column of a table or view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnInfo {
    pub name: String,
    /// DuckDB type.
    pub type_name: String,
    /// `COMMENT ON COLUMN`, if any.
    pub comment: Option<String>,
    /// A few distinct non-null values, as text.
    pub samples: Vec<String>,
}

/// A table or view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relation {
    /// Name, schema-qualified unless in `main`.
    pub name: String,
    /// `table` or `view`.
    pub kind: String,
    /// `COMMENT ON TABLE/VIEW`, if any.
    pub comment: Option<String>,
    /// Exact row count (tables only; views are not counted, they may be expensive).
    pub row_count: Option<i64>,
    /// Columns in order.
    pub columns: Vec<ColumnInfo>,
    /// The latest value of its date and time columns, as text (tables only): what "data as of" says of a query
    /// that reads it.
    #[serde(default)]
    pub latest: Option<String>,
}

/// The database's schema as the model is told it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SchemaSummary {
    /// Tables, then views, by name.
    pub relations: Vec<Relation>,
    /// [`Self::to_prompt`]'s text, written on first use: every run's system prompt and every whole-schema
    /// `describe_schema` call share it, and a summary lives as long as its file version (see `Duck::schema`).
    #[serde(skip)]
    prompt: OnceLock<Arc<str>>,
}

impl PartialEq for SchemaSummary {
    fn eq(&self, other: &Self) -> bool {
        self.relations == other.relations
    }
}

impl Eq for SchemaSummary {}

impl SchemaSummary {
    /// A summary of `relations`.
    pub fn new(relations: Vec<Relation>) -> Self {
        Self { relations, prompt: OnceLock::new() }
    }

    /// Compact text for the system prompt, written once per summary.
    pub fn to_prompt(&self) -> Arc<str> {
        Arc::clone(self.prompt.get_or_init(|| prompt_for(&self.relations).into()))
    }

    /// The same text for one relation (`describe_schema` with a table).
    pub fn relation_prompt(relation: &Relation) -> String {
        prompt_for(std::slice::from_ref(relation))
    }

    /// The latest date or time in the relations named `tables` (a query's base tables; CTE names match none).
    pub fn data_as_of(&self, tables: &[String]) -> Option<String> {
        tables.iter().filter_map(|t| self.relation(t)?.latest.clone()).max()
    }

    /// The relation called `name` (case-insensitive).
    pub fn relation(&self, name: &str) -> Option<&Relation> {
        self.relations.iter().find(|r| r.name.eq_ignore_ascii_case(name))
    }
}

/// Compact text for `relations`, as the system prompt shows them.
fn prompt_for(relations: &[Relation]) -> String {
    let mut out = String::new();
    for r in relations {
        let count = r.row_count.map(|n| format!(", {n} rows")).unwrap_or_default();
        let _ = write!(out, "{} {} ({} columns{count})", r.kind.to_uppercase(), r.name, r.columns.len());
        if let Some(c) = &r.comment {
            let _ = write!(out, ": {c}");
        }
        out.push('\n');
        for col in &r.columns {
            let _ = write!(out, "  - {} {}", col.name, col.type_name);
            if let Some(c) = &col.comment {
                let _ = write!(out, ": {c}");
            }
            if !col.samples.is_empty() {
                let _ = write!(out, " (e.g. {})", col.samples.join(", "));
            }
            out.push('\n');
        }
    }
    out
}

/// Reads the schema summary from the catalog.
pub(super) fn introspect(conn: &Connection) -> Result<SchemaSummary, DuckError> {
    let mut stmt = conn.prepare(
        "SELECT schema_name, table_name, 'table' AS kind, comment FROM duckdb_tables() WHERE NOT internal \
         UNION ALL \
         SELECT schema_name, view_name, 'view', comment FROM duckdb_views() WHERE NOT internal AND NOT temporary \
         ORDER BY kind, schema_name, table_name LIMIT 200",
    )?;
    let listed = stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<String>>(3)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;

    let mut relations = Vec::with_capacity(listed.len());
    for (schema, name, kind, comment) in listed {
        let qualified = format!("{}.{}", quote_ident(&schema), quote_ident(&name));
        let row_count = if kind == "table" {
            Some(conn.query_row(&format!("SELECT count(*) FROM {qualified}"), [], |r| r.get::<_, i64>(0))?)
        } else {
            None
        };
        let mut cols = conn.prepare(
            "SELECT column_name, data_type, comment FROM duckdb_columns() \
             WHERE schema_name = ? AND table_name = ? ORDER BY column_index",
        )?;
        let mut columns = cols
            .query_map([&schema, &name], |r| {
                Ok(ColumnInfo { name: r.get(0)?, type_name: r.get(1)?, comment: r.get(2)?, samples: Vec::new() })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        for col in &mut columns {
            col.samples = samples(conn, &qualified, &col.name).unwrap_or_default();
        }
        let latest = if kind == "table" { latest(conn, &qualified, &columns).unwrap_or(None) } else { None };
        relations.push(Relation {
            name: if schema == "main" { name } else { format!("{schema}.{name}") },
            kind,
            comment: comment.filter(|c| !c.is_empty()),
            row_count,
            columns,
            latest,
        });
    }
    Ok(SchemaSummary::new(relations))
}

/// The latest value over the date and time columns of a table, as ISO text (`None` when it has none, or they are
/// empty). DuckDB answers `max` of a column from its row-group statistics, so this is cheap on any size.
fn latest(conn: &Connection, relation: &str, columns: &[ColumnInfo]) -> Result<Option<String>, DuckError> {
    let temporal: Vec<String> = columns
        .iter()
        .filter(|c| c.type_name == "DATE" || c.type_name.starts_with("TIMESTAMP"))
        .map(|c| format!("max({})::VARCHAR", quote_ident(&c.name)))
        .collect();
    if temporal.is_empty() {
        return Ok(None);
    }
    let latest = if temporal.len() == 1 { temporal[0].clone() } else { format!("greatest({})", temporal.join(", ")) };
    let sql = format!("SELECT {latest} FROM {relation}");
    Ok(conn.query_row(&sql, [], |r| r.get::<_, Option<String>>(0))?)
}

/// A few distinct values from the first rows of a column (cheap on any table size).
fn samples(conn: &Connection, relation: &str, column: &str) -> Result<Vec<String>, DuckError> {
    let col = quote_ident(column);
    let sql = format!(
        "SELECT DISTINCT CAST(c AS VARCHAR) FROM (SELECT {col} AS c FROM {relation} LIMIT 1000) \
         WHERE c IS NOT NULL ORDER BY 1 LIMIT {SAMPLES}"
    );
    let mut stmt = conn.prepare(&sql)?;
    let values = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .filter_map(Result::ok)
        .map(|v| {
            if v.chars().count() > SAMPLE_CHARS {
                format!("{}…", v.chars().take(SAMPLE_CHARS).collect::<String>())
            } else {
                v
            }
        })
        .collect();
    Ok(values)
}
