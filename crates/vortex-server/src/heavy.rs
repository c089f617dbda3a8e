//! Blocking work off the async workers: CPU-heavy work — parsing files, rendering large
//! environments, resolving placeholders — a few at a time ([`run`]), and waiting work without a
//! permit ([`blocking`]). The server's one way onto tokio's blocking pool.
//!
//! The async workers answer every request, `/health` included: a render that takes 100 ms on one
//! of them delays everything queued behind it. On the blocking pool it delays nothing, and the
//! permits (one per CPU) keep a burst of distinct heavy requests from running hundreds of parses
//! at once, each with its transient memory: the work is CPU-bound, so more at once would not
//! finish sooner anyway.

use std::sync::{Arc, OnceLock};

use tokio::sync::Semaphore;
use vortex_core::{CoreError, ErrorKind};

/// The permits shared by every heavy task of the process.
fn permits() -> &'static Arc<Semaphore> {
    static PERMITS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    PERMITS.get_or_init(|| {
        let cpus = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        Arc::new(Semaphore::new(cpus.max(2)))
    })
}

/// Runs `work` on the blocking pool once a permit is free, holding the permit until the work
/// ends, even when the caller stops waiting. A panic or cancellation is an internal error.
pub(crate) async fn run<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, CoreError> + Send + 'static,
) -> Result<T, CoreError> {
    let permit = Arc::clone(permits()).acquire_owned().await.map_err(|closed| internal(Box::new(closed)))?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work()
    })
    .await
    .map_err(|join| internal(Box::new(join)))?
}

/// Runs blocking work that waits rather than computes (a directory walk) on the blocking pool,
/// without a permit: it must not queue behind heavy renders. A panic is an internal error.
pub(crate) async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, CoreError> {
    tokio::task::spawn_blocking(work).await.map_err(|join| internal(Box::new(join)))
}

fn internal(source: Box<dyn std::error::Error + Send + Sync>) -> CoreError {
    CoreError::Backend {
        kind: ErrorKind::Internal,
        message: "a background task failed".to_owned(),
        source: Some(source),
    }
}
