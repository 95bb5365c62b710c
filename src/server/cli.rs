//! The `tradechat` binary's commands: `serve` (the default) and `generate-demo-data`.
use clap::{Parser, Subcommand};
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

use crate::server::config::Config;
use crate::server::{demo_data, site, startup, telemetry};

/// tradechat: a trading copilot over DuckDB market data.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the web app (the default). Site settings from Leptos.toml (see `server::site`); LEPTOS_SITE_ADDR
    /// overrides the address.
    Serve,
    /// Generate the deterministic demo trading data set into a DuckDB file.
    GenerateDemoData(GenerateArgs),
}

#[derive(Debug, clap::Args)]
struct GenerateArgs {
    /// Output file (replaced atomically when complete).
    #[arg(long, env = "DATABASE_PATH", default_value = "data/trading.duckdb")]
    out: std::path::PathBuf,
    /// Size multiplier: 1 ≈ 54 symbols and ~2M rows; 10 ≈ 540 symbols.
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Random seed: the same seed and options give the same data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Last day of data, YYYY-MM-DD [default: the last trading day before today].
    #[arg(long)]
    end: Option<chrono::NaiveDate>,
    /// Years of daily history.
    #[arg(long, default_value_t = 5)]
    years: u32,
    /// Trading days of minute bars, back from the end.
    #[arg(long, default_value_t = 130)]
    minute_days: usize,
}

/// Parses the command line and runs the chosen command.
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve().await,
        Command::GenerateDemoData(args) => generate_demo_data(args).await,
    }
}

async fn generate_demo_data(args: GenerateArgs) -> ExitCode {
    let _logs = telemetry::init(crate::server::config::LogFormat::Text);
    let yesterday = chrono::Utc::now().date_naive() - chrono::Duration::days(1);
    let options = demo_data::Options {
        scale: args.scale,
        seed: args.seed,
        end: args.end.unwrap_or_else(|| demo_data::last_trading_day_on_or_before(yesterday)),
        years: args.years,
        minute_days: args.minute_days,
    };
    let out = args.out;
    tracing::info!(path = %out.display(), ?options, "generating demo data");
    match tokio::task::spawn_blocking(move || demo_data::generate(&out, &options)).await {
        Ok(Ok(summary)) => {
            for (table, rows) in &summary.rows {
                tracing::info!(table, rows, "written");
            }
            tracing::info!(
                path = %summary.path.display(),
                total_rows = summary.total_rows(),
                seconds = summary.elapsed.as_secs_f64(),
                "demo data ready"
            );
            ExitCode::SUCCESS
        }
        Ok(Err(e)) => {
            tracing::error!("generating demo data failed: {e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            tracing::error!("generating demo data failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            let _logs = telemetry::init(crate::server::config::LogFormat::Text);
            tracing::error!("configuration error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let telemetry = telemetry::init(config.log_format);
    let code = match try_serve(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    };
    telemetry.shutdown().await;
    code
}

async fn try_serve(config: Config) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let leptos_options = site::load()?;
    let addr = leptos_options.site_addr;
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
    let app = startup::build(config, leptos_options, CancellationToken::new()).await?;
    tracing::info!("tradechat listening on http://{addr}");
    startup::serve(listener, app).await?;
    tracing::info!("tradechat stopped");
    Ok(())
}
