//! Everything that runs only on the server (feature `ssr`).
//!
//! - [`config`] — settings from the environment; [`identity`] — who a verified token says is asking (a leaf the
//!   store uses too); [`auth`] — verifying it, sessions, sign-in;
//! - [`state`] — the shared [`state::AppState`]; [`edge`] — the one way to be a user in server functions and
//!   handlers; [`errors`] — server errors mapped to the edge's `AppError`;
//! - [`router`] — routes and middleware; [`health`] — `/healthz`; [`limits`] — rate limits, budgets, alerts;
//!   [`usage`] — "My usage" and the admin dashboard;
//! - [`agent`] — the TradingAgent, model clients, tools and runs; [`store`] — Postgres; [`duck`] — DuckDB; [`demo_data`] — the demo DuckDB data set's generator;
//! - [`cli`] — the binary's commands; [`startup`] — state assembly and serving;
//! - [`telemetry`] and [`shutdown`] — logs and signals; [`metrics`] — the operator's `/metrics`.
pub mod agent;
pub mod auth;
pub mod checks;
pub mod cli;
pub mod config;
pub mod demo_data;
pub mod downloads;
pub mod duck;
pub mod edge;
pub mod errors;
pub mod forms;
pub mod health;
pub mod identity;
pub mod limits;
pub mod metrics;
pub mod router;
pub mod saved_rerun;
pub mod security;
pub mod shutdown;
pub mod site;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod usage;
