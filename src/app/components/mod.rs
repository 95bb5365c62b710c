//! Reusable UI parts.
pub mod status_panel;
