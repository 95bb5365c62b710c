//! Graceful shutdown: SIGTERM or Ctrl-C stops accepting connections, cancels the shutdown token (streams end
//! cleanly), and lets in-flight work finish within the grace period.
use tokio_util::sync::CancellationToken;

/// Resolves on the first SIGTERM or Ctrl-C (or when `token` is cancelled elsewhere), cancelling `token`.
pub async fn signal(token: CancellationToken) {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received; shutting down"),
        () = terminate => tracing::info!("SIGTERM received; shutting down"),
        () = token.cancelled() => {},
    }
    token.cancel();
}
