//! Reusable UI parts.
pub mod chart;
pub mod data_table;
pub mod star;
pub mod status_panel;
pub mod tool_step;
