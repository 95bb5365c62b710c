//! Opening the DuckDB file the way DuckDB's "Securing DuckDB" guide says untrusted SQL needs it.
use duckdb::{AccessMode, Connection};

use super::DuckError;
use crate::server::config::DuckConfig;

/// Opens `config.path` read-only, without file or network access or extension loading, with memory, temp-space
/// and thread limits, and with the configuration locked so no statement can loosen it.
pub(super) fn open_read_only(config: &DuckConfig) -> Result<Connection, DuckError> {
    if !config.path.is_file() {
        return Err(DuckError::Missing(config.path.clone()));
    }
    let settings = duckdb::Config::default()
        .access_mode(AccessMode::ReadOnly)?
        .enable_external_access(false)?
        .enable_autoload_extension(false)?
        .with("autoinstall_known_extensions", "false")?
        .with("allow_community_extensions", "false")?
        .max_memory(&config.memory_limit)?
        .with("max_temp_directory_size", &config.max_temp_directory_size)?
        .threads(i64::from(config.threads))?;
    let conn = Connection::open_with_flags(&config.path, settings)?;
    // Last: after this no SET/PRAGMA can change any of the above.
    conn.execute_batch("SET lock_configuration = true")?;
    Ok(conn)
}
