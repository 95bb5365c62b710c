//! Integration tests against a real Postgres (`DATABASE_URL`, started by `./scripts/test`) and real DuckDB.
//! One test binary, many modules: one link instead of one per file.
mod agent;
mod auth_flows;
mod auth_tokens;
mod checks;
mod demo_data;
mod drain;
mod duck;
mod health;
mod helpers;
mod limits;
mod log_writer;
mod relay;
mod security;
mod step_edits;
mod store;
mod traces;
