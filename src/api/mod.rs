//! Server functions and the types they exchange with the browser.
//!
//! Each server function is thin: it finds the caller and the shared state, calls a plain async function in
//! `crate::server`, and maps that module's error into [`AppError`] once.
mod error;
mod metrics;
mod status;
mod types;

pub use error::AppError;
pub use metrics::WriterMetrics;
pub use status::{ComponentStatus, StatusReport, TableCount, system_status};
pub use types::{ConversationSummary, Exchange, Page, Profile, SavedChat, SavedRef};
