//! Every setting, read once at start-up from the environment (and `.env`), typed and validated.
//!
//! A bad value stops the server with one line naming the variable. Secrets are [`SecretString`]s, so they never
//! appear in `Debug` output or logs.
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;

/// A setting that is missing or malformed.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {problem}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub var: &'static str,
    /// What is wrong with it, and what would be right.
    pub problem: String,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err("expected `text` or `json`".into()),
        }
    }
}

/// DuckDB settings: where the trading data lives and how much of the machine queries may use.
#[derive(Debug, Clone)]
pub struct DuckConfig {
    /// `DATABASE_PATH`: the DuckDB file (opened read-only).
    pub path: PathBuf,
    /// `DUCKDB_MEMORY_LIMIT`: DuckDB's `memory_limit`, e.g. `1GB`.
    pub memory_limit: String,
    /// `DUCKDB_THREADS`: DuckDB's worker threads per database.
    pub threads: u32,
    /// `DUCKDB_MAX_TEMP_SIZE`: cap on temporary (spill) space, e.g. `1GB`.
    pub max_temp_directory_size: String,
    /// `QUERY_TIMEOUT_SECS`: deadline of one query.
    pub query_timeout: Duration,
    /// `DUCKDB_MAX_CONCURRENT_QUERIES`: queries running at once; further ones wait.
    pub max_concurrent_queries: usize,
}

/// The server's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `DATABASE_URL`: Postgres (Supabase's database, or the local cluster).
    pub database_url: SecretString,
    /// `DATABASE_MAX_CONNECTIONS`: size of the Postgres pool.
    pub database_max_connections: u32,
    /// `DATABASE_CONNECT_TIMEOUT_SECS`: how long start-up waits for Postgres before giving up.
    pub database_connect_timeout: Duration,
    /// DuckDB settings.
    pub duck: DuckConfig,
    /// `DATA_DIR`: local state (spool files, generated secrets). Created if missing.
    pub data_dir: PathBuf,
    /// `LOG_FORMAT`: `text` or `json`.
    pub log_format: LogFormat,
    /// `SHUTDOWN_GRACE_SECS`: how long in-flight work may take to finish after SIGTERM.
    pub shutdown_grace: Duration,
}

impl Config {
    /// Reads the configuration from the process environment, after loading `.env` if present.
    pub fn from_env() -> Result<Self, ConfigError> {
        // A missing .env is normal; a malformed one is an error worth stopping for.
        if let Err(e) = dotenvy::dotenv()
            && !e.not_found()
        {
            return Err(ConfigError { var: ".env", problem: e.to_string() });
        }
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so tests can supply their own variables.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        Ok(Self {
            database_url: SecretString::from(env.required(
                "DATABASE_URL",
                "set it to a Postgres URL (./scripts/run starts a local Postgres for you)",
            )?),
            database_max_connections: env.parse_or("DATABASE_MAX_CONNECTIONS", 10u32, |n| *n > 0)?,
            database_connect_timeout: Duration::from_secs(env.parse_or(
                "DATABASE_CONNECT_TIMEOUT_SECS",
                30u64,
                |_| true,
            )?),
            duck: DuckConfig {
                path: PathBuf::from(env.string_or("DATABASE_PATH", "data/trading.duckdb")),
                memory_limit: env.size_or("DUCKDB_MEMORY_LIMIT", "1GB")?,
                threads: env.parse_or("DUCKDB_THREADS", 2u32, |n| *n > 0)?,
                max_temp_directory_size: env.size_or("DUCKDB_MAX_TEMP_SIZE", "1GB")?,
                query_timeout: Duration::from_secs_f64(
                    env.parse_or("QUERY_TIMEOUT_SECS", 10.0f64, |s| *s > 0.0 && *s <= 3600.0)?,
                ),
                max_concurrent_queries: env.parse_or("DUCKDB_MAX_CONCURRENT_QUERIES", 4usize, |n| *n > 0)?,
            },
            data_dir: PathBuf::from(env.string_or("DATA_DIR", "data")),
            log_format: env.parse_or("LOG_FORMAT", LogFormat::Text, |_| true)?,
            shutdown_grace: Duration::from_secs(env.parse_or("SHUTDOWN_GRACE_SECS", 20u64, |_| true)?),
        })
    }
}

/// Typed access to variables, producing [`ConfigError`]s that name the variable.
struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    /// The trimmed value, treating empty as unset (as `.env` files often leave `KEY=`).
    fn get(&self, var: &str) -> Option<String> {
        (self.0)(var).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    fn required(&self, var: &'static str, hint: &str) -> Result<String, ConfigError> {
        self.get(var).ok_or_else(|| ConfigError { var, problem: format!("not set; {hint}") })
    }

    fn string_or(&self, var: &str, default: &str) -> String {
        self.get(var).unwrap_or_else(|| default.to_owned())
    }

    fn parse_or<T>(&self, var: &'static str, default: T, valid: impl Fn(&T) -> bool) -> Result<T, ConfigError>
    where
        T: FromStr + std::fmt::Debug,
        T::Err: std::fmt::Display,
    {
        let Some(raw) = self.get(var) else {
            return Ok(default);
        };
        match raw.parse::<T>() {
            Ok(v) if valid(&v) => Ok(v),
            Ok(_) => Err(ConfigError { var, problem: format!("{raw:?} is out of range (default {default:?})") }),
            Err(e) => Err(ConfigError { var, problem: format!("{raw:?} is not valid: {e}") }),
        }
    }

    /// A DuckDB size such as `512MB` or `2GiB`; checked here so a typo fails at start-up, not at first query.
    fn size_or(&self, var: &'static str, default: &str) -> Result<String, ConfigError> {
        let raw = self.string_or(var, default);
        let digits = raw.trim_end_matches(|c: char| c.is_ascii_alphabetic()).trim();
        let unit = raw[digits.len()..].trim().to_ascii_uppercase();
        let unit_ok = ["", "B", "KB", "MB", "GB", "TB", "KIB", "MIB", "GIB", "TIB"].contains(&unit.as_str());
        if digits.parse::<f64>().is_ok_and(|n| n > 0.0) && unit_ok {
            Ok(raw)
        } else {
            Err(ConfigError { var, problem: format!("{raw:?} is not a size like 512MB or 2GB") })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_apply_when_only_the_database_is_given() {
        let c = config(&[("DATABASE_URL", "postgres://x@localhost/db")]).expect("valid");
        assert_eq!(c.duck.path, PathBuf::from("data/trading.duckdb"));
        assert_eq!(c.duck.query_timeout, Duration::from_secs(10));
        assert_eq!(c.database_max_connections, 10);
        assert_eq!(c.log_format, LogFormat::Text);
    }

    #[test]
    fn missing_database_url_names_the_variable() {
        let err = config(&[]).expect_err("DATABASE_URL is required");
        assert_eq!(err.var, "DATABASE_URL");
        assert!(err.to_string().starts_with("DATABASE_URL: not set"));
    }

    #[test]
    fn bad_values_name_the_variable_and_the_value() {
        let err = config(&[("DATABASE_URL", "postgres://x"), ("DUCKDB_THREADS", "many")]).expect_err("bad");
        assert_eq!(err.var, "DUCKDB_THREADS");
        assert!(err.to_string().contains("\"many\""), "{err}");

        let err = config(&[("DATABASE_URL", "postgres://x"), ("DUCKDB_THREADS", "0")]).expect_err("zero");
        assert!(err.to_string().contains("out of range"), "{err}");

        let err = config(&[("DATABASE_URL", "postgres://x"), ("DUCKDB_MEMORY_LIMIT", "lots")]).expect_err("size");
        assert_eq!(err.var, "DUCKDB_MEMORY_LIMIT");

        let err = config(&[("DATABASE_URL", "postgres://x"), ("LOG_FORMAT", "xml")]).expect_err("format");
        assert_eq!(err.var, "LOG_FORMAT");
    }

    #[test]
    fn sizes_accept_duckdb_units_and_blank_means_default() {
        let c = config(&[("DATABASE_URL", "postgres://x"), ("DUCKDB_MEMORY_LIMIT", "512MiB"), ("DUCKDB_THREADS", " ")])
            .expect("valid");
        assert_eq!(c.duck.memory_limit, "512MiB");
        assert_eq!(c.duck.threads, 2);
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let c = config(&[("DATABASE_URL", "postgres://user:hunter2@db/x")]).expect("valid");
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
