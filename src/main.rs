//! The `tradechat` server binary: parses the command line and hands over to `tradechat::server::cli`.
#[tokio::main]
async fn main() -> std::process::ExitCode {
    tradechat::server::cli::main().await
}
