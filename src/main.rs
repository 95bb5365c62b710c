//! The `tradechat` server binary: parses the command line and hands over to `tradechat::server::cli`.
// mimalloc: the server allocates many small short-lived values per request (JSON, events, rows) from many
// threads, which glibc malloc serves with contended arenas and fragments (RSS under load fell with it; see the
// README's Performance section).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tradechat::server::cli::main().await
}
