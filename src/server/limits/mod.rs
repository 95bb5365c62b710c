//! Limits, budgets and alerts: enforced through Postgres so every instance agrees.
//!
//! - [`admission`] — rate, concurrency and budget checks plus the run's reservation, and its settlement;
//! - [`alerts`] — thresholds that fire once per window, stored and posted to a webhook;
//! - [`settler`] — ended runs settled to their real cost in batches, then their users' alerts checked.
//!
//! What users and admins see of their usage is [`crate::server::usage`].
pub mod admission;
pub mod alerts;
pub mod settler;

use rust_decimal::Decimal;

/// An amount as users read it in refusals and alerts: `$2.00`.
fn usd(d: Decimal) -> String {
    format!("${:.2}", d.round_dp(2))
}
