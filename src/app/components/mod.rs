//! Reusable UI parts.
pub mod chart;
pub mod copy_button;
pub mod data_table;
pub mod get_form;
pub mod pager;
pub mod search_form;
pub mod star;
pub mod status_panel;
pub mod tool_step;
