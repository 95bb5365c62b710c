//! The `tradechat` server binary: parses the command line and hands over to `tradechat::server::cli`.
// mimalloc: the server allocates many small short-lived values per request (JSON, events, rows) from many
// threads; it spends about a third of glibc malloc's time on them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tradechat::server::cli::main().await
}
