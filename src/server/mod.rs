//! Everything that runs only on the server (feature `ssr`).
//!
//! - [`config`] — settings from the environment; [`auth`] — who is asking;
//! - [`state`] — the shared [`state::AppState`];
//! - [`router`] — routes and middleware; [`health`] — `/healthz`; [`limits`] — rate limits, budgets, alerts, usage;
//! - [`agent`] — the TradingAgent, model clients, tools and runs; [`store`] — Postgres; [`duck`] — DuckDB; [`demo_data`] — the demo DuckDB data set's generator;
//! - [`cli`] — the binary's commands; [`startup`] — state assembly and serving;
//! - [`telemetry`] and [`shutdown`] — logs and signals.
pub mod agent;
pub mod auth;
pub mod cli;
pub mod config;
pub mod demo_data;
pub mod downloads;
pub mod duck;
pub mod errors;
pub mod forms;
pub mod health;
pub mod limits;
pub mod router;
pub mod security;
pub mod shutdown;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod usage_range;
