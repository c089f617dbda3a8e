//! Backends as [`ConfigSource`]s: the native source runs its file I/O on the blocking pool, and
//! can watch its search locations for changes.

use std::sync::Arc;
use std::time::Duration;

use vortex_core::native::NativeSource;
use vortex_core::{
    BoxFuture, ChangeListener, ConfigQuery, ConfigSource, CoreError, Environment, Listeners, Resource, SourceChange,
    SourceHealth,
};

/// The native backend behind the async [`ConfigSource`] interface.
#[derive(Clone)]
pub struct NativeBackend {
    inner: Arc<NativeSource>,
    /// Told when [`watching`](Self::watching) sees a change; the cache subscribes here.
    listeners: Arc<Listeners>,
}

impl std::fmt::Debug for NativeBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeBackend").field("inner", &self.inner).finish_non_exhaustive()
    }
}

impl NativeBackend {
    /// Wraps a native source.
    pub fn new(source: NativeSource) -> Self {
        Self { inner: Arc::new(source), listeners: Arc::default() }
    }

    /// Polls the search locations every `interval` ([`NativeSource::fingerprint_blocking`]) and
    /// tells the subscribers when a file was added, removed or changed, as Spring's file monitor
    /// does for native locations: a cache in front drops what it holds, so an edit is served
    /// within one interval instead of one TTL. Spawns a task on the current tokio runtime, which
    /// ends when the last clone of this backend is dropped.
    #[must_use]
    pub fn watching(self, interval: Duration) -> Self {
        let (source, listeners) = (Arc::downgrade(&self.inner), Arc::downgrade(&self.listeners));
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last = None;
            loop {
                ticks.tick().await;
                let Some(source) = source.upgrade() else { break };
                // A directory walk: it waits on the file system, and must not queue behind renders.
                let print = match crate::heavy::blocking(move || source.fingerprint_blocking()).await {
                    Ok(print) => print,
                    Err(err) => {
                        tracing::error!(error = %err, "native: the change check failed");
                        continue;
                    }
                };
                if last.is_some_and(|last| last != print) {
                    let Some(listeners) = listeners.upgrade() else { break };
                    tracing::info!("native: files changed in the search locations");
                    listeners.notify(&SourceChange::everything());
                }
                last = Some(print);
            }
        });
        self
    }
}

impl ConfigSource for NativeBackend {
    fn load<'a>(&'a self, query: &'a ConfigQuery) -> BoxFuture<'a, Result<Environment, CoreError>> {
        let inner = Arc::clone(&self.inner);
        let query = query.clone();
        Box::pin(crate::heavy::run(move || inner.load_blocking(&query)))
    }

    fn resource<'a>(&'a self, query: &'a ConfigQuery, path: &'a str) -> BoxFuture<'a, Result<Resource, CoreError>> {
        let inner = Arc::clone(&self.inner);
        let query = query.clone();
        let path = path.to_owned();
        Box::pin(crate::heavy::run(move || inner.resource_blocking(&query, &path)))
    }

    fn health(&self) -> SourceHealth {
        self.inner.health()
    }

    fn default_label(&self) -> Option<&str> {
        Some(self.inner.default_label())
    }

    fn subscribe(&self, listener: ChangeListener) {
        self.listeners.subscribe(listener);
    }
}
