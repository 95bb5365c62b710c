//! One module per page (the chat page lives in `crate::app::chat`).
pub mod admin;
pub mod history;
pub mod not_found;
mod rerun_report;
pub mod saved;
pub mod split_routes;
pub mod status;
pub mod usage;
