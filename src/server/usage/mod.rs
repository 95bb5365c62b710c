//! Usage as people see it: "My usage" (spend against budget, alerts) and the admin dashboard (activity, tools,
//! daily costs, errors and durations, the costliest questions, alerts, the writer, per-user limit overrides), read
//! from the rollups the `chat_logs` triggers keep.
//!
//! - [`dashboards`] — the queries behind both pages and the overrides;
//! - [`date_range`] — the dashboard's date range, parsed at the edge.
pub mod dashboards;
pub mod date_range;
