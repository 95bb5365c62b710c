//! The spool: an append-only JSON-lines file in the data folder that holds chat-log records Postgres could not
//! take (outage, full queue, shutdown). It is replayed when Postgres is back or at the next start; inserts are
//! idempotent on the record id, so a replay interrupted half-way and run again cannot duplicate a row.
use std::path::{Path, PathBuf};

use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

use crate::server::store::chat_logs::ChatLogRecord;

const ACTIVE: &str = "chat-log-spool.jsonl";
const REPLAYING: &str = "chat-log-spool.replaying.jsonl";
const REJECTED: &str = "chat-log-rejected.jsonl";

/// Spool files under one folder.
pub struct Spool {
    dir: PathBuf,
    /// Open append handle to the active file; `None` until the first append after a hand-off.
    file: Mutex<Option<tokio::fs::File>>,
}

impl Spool {
    /// The spool in `dir` (created on first append).
    pub fn new(dir: &Path) -> Self {
        Self { dir: dir.to_path_buf(), file: Mutex::new(None) }
    }

    /// Appends `records`, one JSON line each, and syncs them to disk before returning.
    pub async fn append(&self, records: &[ChatLogRecord]) -> std::io::Result<()> {
        let mut lines = Vec::new();
        for r in records {
            serde_json::to_writer(&mut lines, r).map_err(std::io::Error::other)?;
            lines.push(b'\n');
        }
        let mut guard = self.file.lock().await;
        if guard.is_none() {
            tokio::fs::create_dir_all(&self.dir).await?;
            let file = tokio::fs::OpenOptions::new().create(true).append(true).open(self.dir.join(ACTIVE)).await?;
            *guard = Some(file);
        }
        let file = guard.as_mut().ok_or_else(|| std::io::Error::other("spool file not open"))?;
        file.write_all(&lines).await?;
        file.sync_data().await
    }

    /// Sets aside a record Postgres refused for its contents, with the reason, in a file of its own (one JSON
    /// line `{"error", "record"}` each) that an operator can inspect and, once fixed, re-insert.
    pub async fn reject(&self, record: &ChatLogRecord, error: &str) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(&serde_json::json!({ "error": error, "record": record }))
            .map_err(std::io::Error::other)?;
        line.push(b'\n');
        tokio::fs::create_dir_all(&self.dir).await?;
        let mut file = tokio::fs::OpenOptions::new().create(true).append(true).open(self.dir.join(REJECTED)).await?;
        file.write_all(&line).await?;
        file.sync_data().await
    }

    /// Path of the file refused records are set aside in.
    pub fn rejected_path(&self) -> PathBuf {
        self.dir.join(REJECTED)
    }

    /// The file to replay, if any: a replay left over from before, else the active file (handed off by renaming
    /// it, so appends continue into a fresh file meanwhile).
    pub async fn take_for_replay(&self) -> std::io::Result<Option<PathBuf>> {
        let replaying = self.dir.join(REPLAYING);
        if tokio::fs::try_exists(&replaying).await? {
            return Ok(Some(replaying));
        }
        let active = self.dir.join(ACTIVE);
        let mut guard = self.file.lock().await;
        if !tokio::fs::try_exists(&active).await? {
            return Ok(None);
        }
        if let Some(mut file) = guard.take() {
            file.flush().await?;
        }
        tokio::fs::rename(&active, &replaying).await?;
        Ok(Some(replaying))
    }

    /// Reads a spool file: its records, and how many lines were unreadable (a torn last line after a crash).
    pub async fn read(path: &Path) -> std::io::Result<(Vec<ChatLogRecord>, usize)> {
        let text = tokio::fs::read_to_string(path).await?;
        let mut records = Vec::new();
        let mut malformed = 0;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            match serde_json::from_str(line) {
                Ok(r) => records.push(r),
                Err(e) => {
                    malformed += 1;
                    tracing::error!(error = %e, "unreadable chat-log spool line skipped");
                }
            }
        }
        Ok((records, malformed))
    }

    /// Whether any spooled records wait for replay.
    pub async fn has_pending(&self) -> bool {
        for name in [ACTIVE, REPLAYING] {
            if tokio::fs::metadata(self.dir.join(name)).await.is_ok_and(|m| m.len() > 0) {
                return true;
            }
        }
        false
    }
}
