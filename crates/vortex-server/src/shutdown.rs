//! Graceful shutdown: the signals that stop the server, and those it logs and ignores.

use std::future::Future;

/// A future that completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
///
/// On Unix, SIGHUP, SIGUSR1 and SIGUSR2 are handled too: each is logged and otherwise ignored, so
/// that a stray `kill -HUP` (log rotation, a terminal closing) does not end the process without a
/// word, as the default action of these signals would.
///
/// The handlers are installed when this is called, not when the future is first polled: call it
/// before the server says it is listening, so a signal sent right after that line is never met
/// by the default action (termination without a graceful stop). Call it within a tokio runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (terminate, interrupt) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt()));
        for (kind, name) in [
            (SignalKind::hangup(), "SIGHUP"),
            (SignalKind::user_defined1(), "SIGUSR1"),
            (SignalKind::user_defined2(), "SIGUSR2"),
        ] {
            match signal(kind) {
                Ok(mut ignored) => {
                    tokio::spawn(async move {
                        while ignored.recv().await.is_some() {
                            tracing::info!(signal = name, "received a signal with nothing to do: ignored");
                        }
                    });
                }
                Err(err) => tracing::warn!(signal = name, error = %err, "cannot handle a signal"),
            }
        }
        async move {
            match (terminate, interrupt) {
                (Ok(mut terminate), Ok(mut interrupt)) => tokio::select! {
                    _ = terminate.recv() => tracing::info!("received SIGTERM"),
                    _ = interrupt.recv() => tracing::info!("received SIGINT"),
                },
                (Err(err), _) | (_, Err(err)) => {
                    tracing::error!(error = %err, "cannot listen for SIGTERM and SIGINT");
                    std::future::pending::<()>().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
        tracing::info!("received Ctrl-C");
    }
}
