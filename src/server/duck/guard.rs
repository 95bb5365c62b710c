//! The statement guard: a second line of defence in front of the hardened connection (which is the first).
//!
//! Two checks, both must pass:
//! 1. [`check_lexically`] — a tokenizer that understands comments, string literals (`'…'`, `E'…'`,
//!    `$tag$…$tag$`) and quoted identifiers: exactly one statement, of a read-only kind, calling no function that
//!    reads files, the network or the environment;
//! 2. [`check_parsed`] — DuckDB's own parser (`json_serialize_sql`) on the same text: it must yield exactly one
//!    `SELECT` statement (DESCRIBE/SHOW/SUMMARIZE/VALUES/FROM-first are SELECTs to the parser; PIVOT is checked
//!    as `FROM (PIVOT …)`, EXPLAIN by its inner statement, cut where the tokenizer found the EXPLAIN keyword), no
//!    function in its syntax tree may be forbidden, and no table reference may name a file (`FROM 'x.csv'`).
//!
//! A rejection says why in a sentence the model can act on.
use serde_json::Value;

/// Longest SQL text accepted.
pub const MAX_SQL_BYTES: usize = 20_000;

/// Why a statement was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Nothing to run.
    #[error("The query is empty; send one SELECT statement.")]
    Empty,
    /// Longer than [`MAX_SQL_BYTES`].
    #[error("The query is {0} bytes long; the limit is 20000. Simplify it or split the question.")]
    TooLong(usize),
    /// More than one statement.
    #[error("Only one SQL statement can run per call; remove the `;` and run the statements one at a time.")]
    MultipleStatements,
    /// A string literal, quoted identifier or comment is not closed.
    #[error("The query has an unterminated {0}; close it and try again.")]
    Unterminated(&'static str),
    /// A statement kind that writes, configures or reaches outside the database.
    #[error(
        "Only read-only queries can run (SELECT, WITH, FROM, VALUES, TABLE, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN, \
         PIVOT, UNPIVOT); `{0}` is not one of them."
    )]
    NotReadOnly(String),
    /// A function that reads files, the network, secrets or the environment, or runs SQL from a string.
    #[error(
        "The function `{0}` reads files, the network or the environment (or runs SQL from a string) and is not \
         allowed; query the tables in the database instead."
    )]
    ForbiddenFunction(String),
    /// A table reference that names a file (`FROM 'trades.csv'`, `FROM "s3://bucket/key.parquet"`): DuckDB would
    /// read the file in place of a table.
    #[error("Reading files is not allowed (`{0}` names a file, not a table); query the tables listed in the schema.")]
    ReadsFile(String),
    /// A PIVOT without an `IN` list would create a type first, which a read-only database cannot do.
    #[error(
        "PIVOT needs an explicit value list here, e.g. `PIVOT t ON side IN ('buy', 'sell') USING sum(quantity)`; \
         or use conditional aggregation (`sum(x) FILTER (WHERE side = 'buy')`)."
    )]
    PivotNeedsIn,
    /// DuckDB's parser refused the text.
    #[error("The SQL does not parse: {0}")]
    Syntax(String),
}

/// The statement kinds that may run, by their first keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// SELECT, WITH, FROM-first, VALUES, TABLE, DESCRIBE, SHOW, SUMMARIZE: all SELECTs to DuckDB's parser.
    Query,
    /// PIVOT / UNPIVOT: parsed and run as `FROM (…)`.
    Pivot,
    /// EXPLAIN [ANALYZE] of a query.
    Explain,
}

/// A statement that passed the lexical check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub kind: Kind,
    /// The text to run (one statement, without a trailing `;`).
    pub sql: String,
    /// The text DuckDB's parser must accept as exactly one SELECT.
    pub parse_as: String,
}

const QUERY_KEYWORDS: [&str; 8] = ["select", "with", "from", "values", "table", "describe", "show", "summarize"];
const PIVOT_KEYWORDS: [&str; 5] = ["pivot", "unpivot", "pivot_wider", "pivot_longer", "unpivot_longer"];

/// Functions that must never run, whatever the connection settings.
fn is_forbidden_function(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    const EXACT: [&str; 16] = [
        "glob",
        "getenv",
        "duckdb_secrets",
        "which_secret",
        "query",
        "query_table",
        "json_execute_serialized_sql",
        "sniff_csv",
        "st_read",
        "st_read_meta",
        "load_aws_credentials",
        "parquet_metadata",
        "parquet_schema",
        "parquet_file_metadata",
        "parquet_kv_metadata",
        "parquet_bloom_probe",
    ];
    const PREFIXES: [&str; 7] = ["read_", "iceberg_", "delta_", "postgres_", "mysql_", "sqlite_", "http"];
    EXACT.contains(&name.as_str())
        || PREFIXES.iter().any(|p| name.starts_with(p))
        || name.ends_with("_scan")
        || name.starts_with("pragma_")
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    /// A quoted identifier, by its unquoted name.
    QuotedIdent(String),
    Literal,
    Semicolon,
    Open,
    Other,
}

/// A token and the byte range of the SQL text it covers.
#[derive(Debug, Clone, PartialEq)]
struct Spanned {
    token: Token,
    start: usize,
    end: usize,
}

/// Splits SQL into tokens, skipping whitespace and comments. String contents are opaque.
fn tokenize(sql: &str) -> Result<Vec<Spanned>, Rejection> {
    let chars: Vec<char> = sql.chars().collect();
    // Byte offset of every char, and of the end of the text.
    let offsets: Vec<usize> = sql.char_indices().map(|(b, _)| b).chain(std::iter::once(sql.len())).collect();
    let mut tokens = Vec::new();
    let mut push = |token: Token, start: usize, end: usize| {
        tokens.push(Spanned { token, start: offsets[start], end: offsets[end] });
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let start = i;
        match c {
            c if c.is_whitespace() => i += 1,
            '-' if next == Some('-') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if next == Some('*') => {
                // Block comments nest, as in Postgres.
                let mut depth = 0;
                loop {
                    match (chars.get(i), chars.get(i + 1)) {
                        (Some('/'), Some('*')) => {
                            depth += 1;
                            i += 2;
                        }
                        (Some('*'), Some('/')) => {
                            depth -= 1;
                            i += 2;
                            if depth == 0 {
                                break;
                            }
                        }
                        (Some(_), _) => i += 1,
                        (None, _) => return Err(Rejection::Unterminated("comment")),
                    }
                }
            }
            '\'' => {
                i = skip_quoted(&chars, i, '\'', false).ok_or(Rejection::Unterminated("string literal"))?;
                push(Token::Literal, start, i);
            }
            'e' | 'E' if next == Some('\'') => {
                i = skip_quoted(&chars, i + 1, '\'', true).ok_or(Rejection::Unterminated("string literal"))?;
                push(Token::Literal, start, i);
            }
            '"' => {
                i = skip_quoted(&chars, i, '"', false).ok_or(Rejection::Unterminated("quoted identifier"))?;
                let name: String = chars[start + 1..i - 1].iter().collect();
                push(Token::QuotedIdent(name.replace("\"\"", "\"")), start, i);
            }
            '$' if dollar_tag(&chars, i).is_some() => {
                let tag = dollar_tag(&chars, i).unwrap_or_default();
                let body_start = i + tag.chars().count();
                let rest: String = chars[body_start..].iter().collect();
                let end = rest.find(&tag).ok_or(Rejection::Unterminated("dollar-quoted string"))?;
                i = body_start + rest[..end].chars().count() + tag.chars().count();
                push(Token::Literal, start, i);
            }
            ';' => {
                i += 1;
                push(Token::Semicolon, start, i);
            }
            '(' => {
                i += 1;
                push(Token::Open, start, i);
            }
            c if c.is_alphabetic() || c == '_' => {
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$') {
                    i += 1;
                }
                push(Token::Word(chars[start..i].iter().collect()), start, i);
            }
            _ => {
                i += 1;
                push(Token::Other, start, i);
            }
        }
    }
    Ok(tokens)
}

/// Index just past a quoted run starting at `start` (the opening quote). A doubled quote is an escaped quote;
/// with `backslash`, `\x` escapes any character.
fn skip_quoted(chars: &[char], start: usize, quote: char, backslash: bool) -> Option<usize> {
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' if backslash => i += 2,
            c if c == quote => {
                if chars.get(i + 1) == Some(&quote) {
                    i += 2;
                } else {
                    return Some(i + 1);
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// `$tag$` (or `$$`) starting at `i`, if one does.
fn dollar_tag(chars: &[char], i: usize) -> Option<String> {
    let mut j = i + 1;
    while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
        j += 1;
    }
    let tag: String = chars[i..=j.min(chars.len() - 1)].iter().collect();
    (chars.get(j) == Some(&'$') && !chars.get(i + 1).is_some_and(|c| c.is_ascii_digit())).then_some(tag)
}

/// The lexical check: one read-only statement, no forbidden function.
pub fn check_lexically(sql: &str) -> Result<Checked, Rejection> {
    if sql.len() > MAX_SQL_BYTES {
        return Err(Rejection::TooLong(sql.len()));
    }
    let tokens = tokenize(sql)?;
    // Statements are the runs between semicolons; empty runs (`;;`, a trailing `;`) are not statements.
    let statements: Vec<&[Spanned]> = tokens.split(|t| t.token == Token::Semicolon).filter(|s| !s.is_empty()).collect();
    let statement = match statements.as_slice() {
        [] => return Err(Rejection::Empty),
        [one] => *one,
        _ => return Err(Rejection::MultipleStatements),
    };
    let kind = classify(statement)?;
    for pair in statement.windows(2) {
        if let [Spanned { token: Token::Word(name) | Token::QuotedIdent(name), .. }, Spanned { token: Token::Open, .. }] =
            pair
            && is_forbidden_function(name)
        {
            return Err(Rejection::ForbiddenFunction(name.to_ascii_lowercase()));
        }
    }
    let text = strip_trailing_semicolons(sql);
    let parse_as = match kind {
        Kind::Query => text.clone(),
        Kind::Pivot => format!("FROM ({text})"),
        // Cut where the tokenizer found EXPLAIN [ANALYZE], never by searching the text: the word may also stand in a
        // comment, and DuckDB's parser must check the statement that really runs.
        Kind::Explain => strip_trailing_semicolons(&sql[explained_start(statement)..]),
    };
    let sql = if kind == Kind::Pivot { parse_as.clone() } else { text };
    Ok(Checked { kind, sql, parse_as })
}

/// The statement kind from its first keyword (leading parentheses skipped: `(SELECT 1) UNION (SELECT 2)`).
fn classify(statement: &[Spanned]) -> Result<Kind, Rejection> {
    let mut words = statement.iter().map(|t| &t.token).skip_while(|t| **t == Token::Open);
    let first = match words.next() {
        Some(Token::Word(w)) => w.to_ascii_lowercase(),
        Some(_) | None => return Err(Rejection::NotReadOnly(first_text(statement))),
    };
    if QUERY_KEYWORDS.contains(&first.as_str()) {
        return Ok(Kind::Query);
    }
    if PIVOT_KEYWORDS.contains(&first.as_str()) {
        return Ok(Kind::Pivot);
    }
    if first == "explain" {
        let mut inner = words.filter_map(|t| match t {
            Token::Word(w) => Some(w.to_ascii_lowercase()),
            _ => None,
        });
        let mut next = inner.next().unwrap_or_default();
        if is_analyze(&next) {
            next = inner.next().unwrap_or_default();
        }
        return if QUERY_KEYWORDS.contains(&next.as_str()) {
            Ok(Kind::Explain)
        } else {
            Err(Rejection::NotReadOnly(format!("EXPLAIN {}", next.to_ascii_uppercase())))
        };
    }
    Err(Rejection::NotReadOnly(first.to_ascii_uppercase()))
}

fn is_analyze(word: &str) -> bool {
    word.eq_ignore_ascii_case("analyze") || word.eq_ignore_ascii_case("analyse")
}

fn first_text(statement: &[Spanned]) -> String {
    match statement.first().map(|t| &t.token) {
        Some(Token::Word(w)) => w.to_ascii_uppercase(),
        Some(Token::Literal) => "a string literal".into(),
        Some(Token::QuotedIdent(_)) => "a quoted identifier".into(),
        _ => "a symbol".into(),
    }
}

fn strip_trailing_semicolons(sql: &str) -> String {
    sql.trim().trim_end_matches(|c: char| c == ';' || c.is_whitespace()).to_owned()
}

/// Byte offset just past the `EXPLAIN` token (and the `ANALYZE` token right after it, if any) of an EXPLAIN
/// statement: where the explained statement begins.
fn explained_start(statement: &[Spanned]) -> usize {
    let mut rest = statement.iter().skip_while(|t| t.token == Token::Open);
    let Some(explain) = rest.next() else { return 0 };
    match rest.next() {
        Some(Spanned { token: Token::Word(w), end, .. }) if is_analyze(w) => *end,
        _ => explain.end,
    }
}

/// A statement DuckDB's parser accepted.
#[derive(Debug, PartialEq)]
pub struct Parsed {
    /// Its syntax tree, for the look-ahead review.
    pub tree: Value,
    /// The base tables it reads (CTE names included: the parser reports them alike), each named once.
    pub tables: Vec<String>,
}

/// The parser check, given `json_serialize_sql(parse_as)`'s output for a statement of `kind`.
pub fn check_parsed(kind: Kind, serialized: &str) -> Result<Parsed, Rejection> {
    let tree: Value = serde_json::from_str(serialized).map_err(|e| Rejection::Syntax(e.to_string()))?;
    if tree["error"].as_bool().unwrap_or(true) {
        let message = tree["error_message"].as_str().unwrap_or("unknown parser error");
        return Err(if message.contains("Only SELECT statements") && kind == Kind::Pivot {
            Rejection::PivotNeedsIn
        } else if message.contains("Only SELECT statements") {
            Rejection::NotReadOnly("a non-SELECT statement".into())
        } else {
            Rejection::Syntax(message.to_owned())
        });
    }
    match tree["statements"].as_array().map(Vec::len) {
        Some(1) => {}
        Some(0) | None => return Err(Rejection::Empty),
        Some(_) => return Err(Rejection::MultipleStatements),
    }
    let mut found = Found::default();
    walk(&tree["statements"], &mut found);
    if let Some(name) = found.functions.into_iter().find(|n| is_forbidden_function(n)) {
        return Err(Rejection::ForbiddenFunction(name.to_ascii_lowercase()));
    }
    if let Some(table) = found.tables.iter().find(|t| names_a_file(t)) {
        return Err(Rejection::ReadsFile(table.clone()));
    }
    let mut tables = found.tables;
    tables.sort_unstable();
    tables.dedup();
    Ok(Parsed { tree, tables })
}

/// What the syntax tree refers to.
#[derive(Default)]
struct Found {
    /// Every `function_name` (scalar, aggregate and table functions alike).
    functions: Vec<String>,
    /// The `table_name` of every base-table reference (tables, views, CTE names — and files read by a replacement
    /// scan, which the parser reports as base tables too).
    tables: Vec<String>,
}

fn walk(node: &Value, out: &mut Found) {
    each_node(node, &mut |n| {
        if let Some(name) = n.get("function_name").and_then(Value::as_str) {
            out.functions.push(name.to_owned());
        }
        if n.get("type").and_then(Value::as_str) == Some("BASE_TABLE")
            && let Some(name) = n.get("table_name").and_then(Value::as_str)
        {
            out.tables.push(name.to_owned());
        }
    });
}

/// Calls `f` on every object node of a syntax tree, parents before children (the statement guard's walk and the
/// look-ahead review's).
pub(super) fn each_node<'a>(node: &'a Value, f: &mut impl FnMut(&'a Value)) {
    match node {
        Value::Object(map) => {
            f(node);
            map.values().for_each(|v| each_node(v, f));
        }
        Value::Array(items) => items.iter().for_each(|v| each_node(v, f)),
        _ => {}
    }
}

/// Whether a base table's name is a file path or URL. Schema and catalog are separate fields of the reference, so
/// a dot inside the table name itself (`'x.csv'`, `"x.json"`) can only be a file extension.
fn names_a_file(table_name: &str) -> bool {
    table_name.contains(['/', '\\', ':', '.'])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(sql: &str) -> Checked {
        check_lexically(sql).unwrap_or_else(|e| panic!("{sql:?} should be allowed, got: {e}"))
    }

    fn rejected(sql: &str) -> Rejection {
        check_lexically(sql).expect_err(&format!("{sql:?} should be rejected"))
    }

    #[test]
    fn read_only_kinds_are_allowed() {
        for sql in [
            "SELECT 1",
            "select * from daily_bars limit 5",
            "WITH r AS (SELECT 1 AS x) SELECT * FROM r",
            "FROM daily_bars LIMIT 3",
            "VALUES (1, 'a'), (2, 'b')",
            "TABLE instruments",
            "DESCRIBE daily_bars",
            "SHOW TABLES",
            "SUMMARIZE daily_bars",
            "EXPLAIN SELECT 1",
            "EXPLAIN ANALYZE SELECT count(*) FROM trades",
            "(SELECT 1) UNION ALL (SELECT 2)",
            "SELECT 1;",
            "SELECT 1 ;  ;\n",
            "  -- leading comment\n SELECT 1",
            "/* a comment; with a semicolon */ SELECT 1",
            "SELECT 'a;b' AS s",
            "SELECT 'it''s; fine'",
            "SELECT E'one\\'; two'",
            "SELECT $$ ; DROP TABLE x; $$ AS body",
            "SELECT $tag$ ; $$ ; $tag$",
            "SELECT \"weird;name\" FROM (SELECT 1 AS \"weird;name\")",
            "SELECT 'read_csv(''x'')' AS text_not_a_call",
            "SELECT load, copy FROM (SELECT 1 AS load, 2 AS copy)",
            "SeLeCt 1",
        ] {
            allowed(sql);
        }
    }

    #[test]
    fn pivot_runs_as_a_subquery_and_explain_parses_its_inner_statement() {
        let pivot = allowed("PIVOT daily_bars ON symbol USING avg(close)");
        assert_eq!(pivot.kind, Kind::Pivot);
        assert_eq!(pivot.sql, "FROM (PIVOT daily_bars ON symbol USING avg(close))");
        assert_eq!(
            allowed("unpivot t on a, b into name k value v;").sql,
            "FROM (unpivot t on a, b into name k value v)"
        );
        let explain = allowed("EXPLAIN ANALYZE SELECT 1");
        assert_eq!((explain.kind, explain.parse_as.as_str()), (Kind::Explain, "SELECT 1"));
    }

    #[test]
    fn explain_is_cut_at_its_real_tokens_not_at_the_word_in_a_comment() {
        for (sql, inner) in [
            ("/* explain SELECT 1 -- */ EXPLAIN ANALYZE SELECT * FROM '/etc/passwd'", "SELECT * FROM '/etc/passwd'"),
            ("/* explain analyze SELECT 1 -- */ explain SELECT 2", "SELECT 2"),
            ("-- EXPLAIN SELECT 1\nEXPLAIN SELECT 2;", "SELECT 2"),
            ("/* EXPLAIN */ explain /* analyze SELECT 1 -- */ analyse SELECT 3 ;", "SELECT 3"),
            ("EXPLAIN /* c */ SELECT 'explain analyze' AS s", "/* c */ SELECT 'explain analyze' AS s"),
            ("/* é */ EXPLAIN ANALYZE SELECT 'ü'", "SELECT 'ü'"),
            ("(EXPLAIN SELECT 1)", "SELECT 1)"),
        ] {
            let checked = allowed(sql);
            assert_eq!((checked.kind, checked.parse_as.as_str()), (Kind::Explain, inner), "{sql}");
        }
    }

    #[test]
    fn writes_configuration_and_outside_access_are_rejected() {
        for (sql, keyword) in [
            ("INSERT INTO t VALUES (1)", "INSERT"),
            ("update t set a = 1", "UPDATE"),
            ("DELETE FROM t", "DELETE"),
            ("DROP TABLE daily_bars", "DROP"),
            ("ALTER TABLE t ADD COLUMN c INT", "ALTER"),
            ("CREATE TABLE t AS SELECT 1", "CREATE"),
            ("CREATE TEMP TABLE t AS SELECT 1", "CREATE"),
            ("PRAGMA database_list", "PRAGMA"),
            ("SET memory_limit = '100GB'", "SET"),
            ("RESET threads", "RESET"),
            ("COPY daily_bars TO 'out.csv'", "COPY"),
            ("EXPORT DATABASE 'dir'", "EXPORT"),
            ("IMPORT DATABASE 'dir'", "IMPORT"),
            ("ATTACH 'other.duckdb' AS o", "ATTACH"),
            ("DETACH o", "DETACH"),
            ("INSTALL httpfs", "INSTALL"),
            ("LOAD httpfs", "LOAD"),
            ("CALL pragma_version()", "CALL"),
            ("CHECKPOINT", "CHECKPOINT"),
            ("USE other", "USE"),
            ("BEGIN TRANSACTION", "BEGIN"),
            ("EXPLAIN DELETE FROM t", "EXPLAIN DELETE"),
            ("/* SELECT */ DROP TABLE t", "DROP"),
        ] {
            assert_eq!(rejected(sql), Rejection::NotReadOnly(keyword.into()), "{sql}");
        }
    }

    #[test]
    fn more_than_one_statement_is_rejected_however_it_hides() {
        for sql in [
            "SELECT 1; SELECT 2",
            "SELECT 1; DROP TABLE t",
            "SELECT 1 -- comment\n; DELETE FROM t",
            "SELECT 'a'; SELECT 'b;'",
            "SELECT 1 /* */ ; /* */ SELECT 2",
        ] {
            assert_eq!(rejected(sql), Rejection::MultipleStatements, "{sql}");
        }
    }

    #[test]
    fn file_network_and_environment_readers_are_rejected_anywhere() {
        for (sql, name) in [
            ("SELECT * FROM read_csv('/etc/passwd')", "read_csv"),
            ("SELECT * FROM read_csv_auto('x.csv')", "read_csv_auto"),
            ("SELECT * FROM READ_PARQUET('x.parquet')", "read_parquet"),
            ("SELECT * FROM read_json_auto('x.json')", "read_json_auto"),
            ("SELECT content FROM read_text('/etc/hosts')", "read_text"),
            ("SELECT * FROM read_blob('x')", "read_blob"),
            ("SELECT * FROM glob('/*')", "glob"),
            ("SELECT getenv('HOME')", "getenv"),
            ("SELECT * FROM duckdb_secrets()", "duckdb_secrets"),
            ("SELECT * FROM parquet_scan('x')", "parquet_scan"),
            ("SELECT * FROM sqlite_scan('x.db', 't')", "sqlite_scan"),
            ("SELECT * FROM (SELECT * FROM read_csv('x'))", "read_csv"),
            ("WITH f AS (SELECT * FROM read_csv('x')) SELECT * FROM f", "read_csv"),
            ("SELECT 1 WHERE EXISTS (SELECT 1 FROM read_text ('x'))", "read_text"),
            ("SELECT * FROM query('SELECT 1')", "query"),
            ("SELECT * FROM pragma_table_info('t')", "pragma_table_info"),
            ("SELECT * FROM \"READ_CSV\"('x')", "read_csv"),
            ("SELECT * FROM \"read_\"\"x\"('x')", "read_\"x"),
            // `explain` in a leading comment must not fool the EXPLAIN handling (DuckDB sees only `SELECT 1 -- …`
            // in the text after the comment's `explain`).
            ("/* explain SELECT 1 -- */ EXPLAIN ANALYZE SELECT * FROM \"read_text\"('/etc/passwd')", "read_text"),
            ("-- explain\nEXPLAIN SELECT * FROM \"glob\" ('/*')", "glob"),
        ] {
            assert_eq!(rejected(sql), Rejection::ForbiddenFunction(name.into()), "{sql}");
        }
    }

    #[test]
    fn empty_unterminated_and_oversized_input_is_rejected() {
        assert_eq!(rejected(""), Rejection::Empty);
        assert_eq!(rejected(" ; -- nothing\n"), Rejection::Empty);
        assert_eq!(rejected("SELECT 'open"), Rejection::Unterminated("string literal"));
        assert_eq!(rejected("SELECT \"open"), Rejection::Unterminated("quoted identifier"));
        assert_eq!(rejected("SELECT 1 /* open"), Rejection::Unterminated("comment"));
        assert_eq!(rejected("SELECT $x$ open"), Rejection::Unterminated("dollar-quoted string"));
        assert_eq!(rejected(&format!("SELECT '{}'", "x".repeat(MAX_SQL_BYTES))), Rejection::TooLong(20_009));
    }

    #[test]
    fn rejections_tell_the_model_what_to_do() {
        assert!(Rejection::MultipleStatements.to_string().contains("one at a time"));
        assert!(Rejection::ForbiddenFunction("read_csv".into()).to_string().contains("query the tables"));
        assert!(Rejection::NotReadOnly("DROP".into()).to_string().contains("`DROP` is not one of them"));
    }

    #[test]
    fn the_parser_check_reads_duckdb_output() {
        assert!(check_parsed(Kind::Query, r#"{"error":false,"statements":[{"node":{}}]}"#).is_ok());
        assert_eq!(
            check_parsed(Kind::Query, r#"{"error":false,"statements":[{"node":{}},{"node":{}}]}"#),
            Err(Rejection::MultipleStatements)
        );
        let not_select = r#"{"error":true,"error_message":"Only SELECT statements can be serialized to json!"}"#;
        assert!(matches!(check_parsed(Kind::Query, not_select), Err(Rejection::NotReadOnly(_))));
        assert_eq!(check_parsed(Kind::Pivot, not_select), Err(Rejection::PivotNeedsIn));
        let hidden =
            r#"{"error":false,"statements":[{"node":{"from_table":{"function":{"function_name":"read_csv"}}}}]}"#;
        assert_eq!(check_parsed(Kind::Query, hidden), Err(Rejection::ForbiddenFunction("read_csv".into())));
    }

    /// A base-table reference as `json_serialize_sql` reports it.
    fn from_table(schema: &str, table: &str) -> String {
        serde_json::json!({"error": false, "statements": [{"node": {"type": "SELECT_NODE", "from_table": {
            "type": "JOIN",
            "left": {"type": "BASE_TABLE", "catalog_name": "", "schema_name": "", "table_name": "trades"},
            "right": {"type": "BASE_TABLE", "catalog_name": "", "schema_name": schema, "table_name": table},
        }}}]})
        .to_string()
    }

    #[test]
    fn tables_that_name_files_are_refused() {
        for file in ["/x.csv", "data.parquet", "x.json", "s3://b/k.csv", "C:\\data\\x", "https://h/x", "../x"] {
            assert_eq!(
                check_parsed(Kind::Query, &from_table("", file)),
                Err(Rejection::ReadsFile(file.into())),
                "{file}"
            );
        }
        for table in ["daily_bars", "positions", "Daily Bars", "t_1"] {
            assert!(check_parsed(Kind::Query, &from_table("", table)).is_ok(), "{table}");
            assert!(check_parsed(Kind::Query, &from_table("main", table)).is_ok(), "{table}");
        }
        let message = Rejection::ReadsFile("x.csv".into()).to_string();
        assert!(message.contains("Reading files is not allowed") && message.contains("query the tables"), "{message}");
    }
}
