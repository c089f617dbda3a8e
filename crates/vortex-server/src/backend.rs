//! Backends as [`ConfigSource`]s: the native source runs its file I/O on the blocking pool.

use std::sync::Arc;

use vortex_core::native::NativeSource;
use vortex_core::{BoxFuture, ConfigQuery, ConfigSource, CoreError, Environment, ErrorKind, Resource, SourceHealth};

/// The native backend behind the async [`ConfigSource`] interface.
#[derive(Debug, Clone)]
pub struct NativeBackend {
    inner: Arc<NativeSource>,
}

impl NativeBackend {
    /// Wraps a native source.
    pub fn new(source: NativeSource) -> Self {
        Self { inner: Arc::new(source) }
    }
}

/// Runs blocking work on tokio's blocking pool and maps a panic or cancellation to an internal error.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, CoreError> + Send + 'static,
) -> Result<T, CoreError> {
    tokio::task::spawn_blocking(work).await.map_err(|join| CoreError::Backend {
        kind: ErrorKind::Internal,
        message: "backend task failed".to_owned(),
        source: Some(Box::new(join)),
    })?
}

impl ConfigSource for NativeBackend {
    fn load<'a>(&'a self, query: &'a ConfigQuery) -> BoxFuture<'a, Result<Environment, CoreError>> {
        let inner = Arc::clone(&self.inner);
        let query = query.clone();
        Box::pin(blocking(move || inner.load_blocking(&query)))
    }

    fn resource<'a>(&'a self, query: &'a ConfigQuery, path: &'a str) -> BoxFuture<'a, Result<Resource, CoreError>> {
        let inner = Arc::clone(&self.inner);
        let query = query.clone();
        let path = path.to_owned();
        Box::pin(blocking(move || inner.resource_blocking(&query, &path)))
    }

    fn health(&self) -> SourceHealth {
        self.inner.health()
    }

    fn default_label(&self) -> Option<&str> {
        Some(self.inner.default_label())
    }
}
