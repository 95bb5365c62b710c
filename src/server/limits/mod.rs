//! Limits, budgets, alerts and usage: enforced through Postgres so every instance agrees.
//!
//! - [`admission`] — rate, concurrency and budget checks plus the run's reservation, and its settlement;
//! - [`alerts`] — thresholds that fire once per window, stored and posted to a webhook;
//! - [`dashboards`] — "My usage" and the admin dashboard.
pub mod admission;
pub mod alerts;
pub mod dashboards;
