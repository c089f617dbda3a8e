//! The bus behind one type, whether or not this build has it (feature `bus`): with the feature
//! off, or `bus.enabled` false, every method answers "no bus", so no other module needs a `cfg`.
//!
//! With the bus, a change this replica sees is announced to its peers before Spring services are
//! told to refresh:
//!
//! - changes the backend reports by itself (a background fetch that moved a label, the native
//!   watcher) are announced by a task of this module, with a refresh event for every service
//!   (`**`: which files changed is not known);
//! - changes this replica fetched because it was asked to (`/monitor`, `/actuator/busrefresh`, a
//!   peer's announcement) are *explicit*: the listener leaves them to the code that asked, which
//!   announces them itself (`/monitor`, `busrefresh`) or confirms them (a peer's), so that nothing
//!   is announced twice and no announcement echoes between replicas.

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use vortex_core::{ConfigSource, CoreError, SourceChange};

/// The bus settings a builder was given: none, or (feature `bus`) how to join one.
#[derive(Clone, Default)]
pub(crate) struct BusConfig {
    #[cfg(feature = "bus")]
    pub(crate) join: Option<(vortex_bus::BusOptions, vortex_bus::AmqpOptions)>,
}

impl BusConfig {
    /// The bus `bus.enabled` asks for, when this build has one; the default id names this host
    /// and `port`.
    ///
    /// # Errors
    /// A broker URI that cannot be read (`bus.amqp.uri`), or the bus asked for in a build without it.
    pub(crate) fn from_settings(settings: &vortex_settings::BusSettings, port: u16) -> Result<Self, CoreError> {
        if !settings.enabled {
            return Ok(Self::default());
        }
        #[cfg(feature = "bus")]
        {
            let invalid = |reason: String| CoreError::InvalidInput { what: "bus.amqp.uri", reason };
            let mut uri = vortex_bus::AmqpUri::parse(&settings.amqp.uri).map_err(invalid)?;
            if let Some(password) = &settings.amqp.password {
                uri = uri.with_password(password.expose());
            }
            let id = settings.id.clone().unwrap_or_else(|| vortex_bus::default_id(port));
            let options = vortex_bus::BusOptions {
                peer_timeout: std::time::Duration::from_millis(settings.peer_timeout_ms),
                heartbeat: std::time::Duration::from_secs(settings.heartbeat_seconds),
                ..vortex_bus::BusOptions::new(id.clone())
            };
            let amqp = vortex_bus::AmqpOptions {
                uri,
                destination: settings.destination.clone(),
                connection_name: id,
                connect_timeout: std::time::Duration::from_millis(settings.amqp.connect_timeout_ms),
            };
            Ok(Self { join: Some((options, amqp)) })
        }
        #[cfg(not(feature = "bus"))]
        {
            let _ = port;
            Err(CoreError::InvalidInput {
                what: "bus.enabled",
                reason: "this build has no bus: build vortex-server with the `bus` feature".to_owned(),
            })
        }
    }
}

/// The Spring destinations of service names (`orders` → `orders:**`, `*` → `*:**`); a name no
/// service can have (spaces, over 255 bytes) is left out. Empty without the feature.
pub(crate) fn destinations(names: &[String]) -> Vec<String> {
    #[cfg(feature = "bus")]
    return names.iter().filter_map(|name| vortex_bus::destination(Some(name)).ok()).collect();
    #[cfg(not(feature = "bus"))]
    {
        let _ = names;
        Vec::new()
    }
}

/// The Spring destination of `name` (a service name or a destination; `None`: every service).
///
/// # Errors
/// A value no service's bus id can match, or a build without the bus.
pub(crate) fn destination(name: Option<&str>) -> Result<String, String> {
    #[cfg(feature = "bus")]
    return vortex_bus::destination(name);
    #[cfg(not(feature = "bus"))]
    {
        let _ = name;
        Err("this build has no bus".to_owned())
    }
}

/// How a change was passed on: to the peers, then to the Spring services.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Propagated {
    /// Whether the peers were told (false: no connection to the broker).
    pub(crate) announced: bool,
    /// The peers that fetched the change.
    pub(crate) confirmed: Vec<String>,
    /// The peers whose fetch failed: they still serve the previous content.
    pub(crate) failed: Vec<String>,
    /// The peers that did not answer within `bus.peer_timeout_ms`.
    pub(crate) missing: Vec<String>,
    /// The ids of the refresh events sent to Spring services.
    pub(crate) events: Vec<String>,
    /// Why no refresh event was sent, when none could be.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

/// The bus of a server, or nothing.
#[derive(Clone, Default)]
pub(crate) struct Bus {
    #[cfg(feature = "bus")]
    link: Option<Arc<link::Link>>,
}

impl Bus {
    /// Joins the bus `config` asks for, fetching through `source`, dropping from `cache` and waking
    /// `watch`'s held reads for peers; reports into
    /// `metrics`. Call it within a tokio runtime.
    pub(crate) fn start(
        config: BusConfig,
        source: &Arc<dyn ConfigSource>,
        cache: &crate::cache::Cache,
        watch: &crate::watch::Watch,
        metrics: &vortex_metrics::Metrics,
    ) -> Self {
        #[cfg(feature = "bus")]
        {
            let link = config
                .join
                .map(|(options, amqp)| link::Link::start(options, amqp, source, cache, watch, metrics.bus()));
            Self { link }
        }
        #[cfg(not(feature = "bus"))]
        {
            let _ = (config, source, cache, watch, metrics);
            Self {}
        }
    }

    /// Whether this replica is on a bus.
    pub(crate) fn is_on(&self) -> bool {
        #[cfg(feature = "bus")]
        return self.link.is_some();
        #[cfg(not(feature = "bus"))]
        false
    }

    /// Fetches through `source` now, as asked by a client; with the bus, the changes it causes are
    /// returned instead of being announced by the listener.
    pub(crate) async fn fetch(&self, source: &dyn ConfigSource) -> Result<SourceChange, CoreError> {
        #[cfg(feature = "bus")]
        if let Some(link) = &self.link {
            return link.local.fetch().await;
        }
        source.refresh().await.map(|()| SourceChange::everything())
    }

    /// Tells the peers about `change` (seen at `seen`), waits for them, then tells the Spring
    /// services of `destinations` to refresh. `None` without a bus.
    pub(crate) async fn propagate(
        &self,
        change: &SourceChange,
        destinations: &[String],
        seen: Instant,
    ) -> Option<Propagated> {
        #[cfg(feature = "bus")]
        if let Some(link) = &self.link {
            return Some(link.propagate(change, destinations, seen).await);
        }
        let _ = (change, destinations, seen);
        None
    }

    /// The bus section of `/health`, and whether it is degraded. `None` without a bus.
    pub(crate) fn health(&self) -> Option<(serde_json::Value, bool)> {
        #[cfg(feature = "bus")]
        if let Some(link) = &self.link {
            let health = link.bus.health();
            let degraded = health.status != vortex_core::HealthStatus::Up;
            return Some((serde_json::to_value(health).unwrap_or_default(), degraded));
        }
        None
    }

    /// Tells the peers this replica is leaving, so that no one waits for it (the server drains).
    pub(crate) fn leave(&self) {
        #[cfg(feature = "bus")]
        if let Some(link) = &self.link
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let bus = link.bus.clone();
            runtime.spawn(async move { bus.leave().await });
        }
    }
}

#[cfg(feature = "bus")]
mod link {
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex, PoisonError};
    use std::time::Instant;

    use tokio::sync::mpsc;
    use vortex_core::{BoxFuture, ConfigSource, CoreError, SourceChange};

    use super::Propagated;
    use crate::cache::Cache;
    use crate::watch::Watch;

    /// A joined bus and this replica's fetches.
    pub(super) struct Link {
        pub(super) bus: vortex_bus::Bus,
        pub(super) local: Arc<LocalFetch>,
    }

    impl Link {
        pub(super) fn start(
            options: vortex_bus::BusOptions,
            amqp: vortex_bus::AmqpOptions,
            source: &Arc<dyn ConfigSource>,
            cache: &Cache,
            watch: &Watch,
            metrics: vortex_metrics::BusMetrics,
        ) -> Arc<Self> {
            tracing::info!(id = %options.id, broker = %amqp.uri, exchange = %amqp.destination, "bus: joining");
            let (transport, incoming) = vortex_bus::AmqpTransport::start(amqp);
            let local = Arc::new(LocalFetch {
                source: Arc::clone(source),
                explicit: AtomicUsize::new(0),
                next: AtomicU64::new(0),
                collecting: Mutex::new(Vec::new()),
            });
            let bus = vortex_bus::Bus::start(
                options,
                Arc::new(transport),
                incoming,
                Arc::new(PeerFetch { local: Arc::clone(&local), cache: cache.clone(), watch: watch.clone() }),
                Arc::new(Metered(metrics)),
            );
            let link = Arc::new(Self { bus, local: Arc::clone(&local) });
            // Changes the backend finds by itself are announced by a task of their own: listeners
            // must not block.
            let (tx, rx) = mpsc::unbounded_channel();
            source.subscribe(Arc::new(move |change: &SourceChange| {
                if !local.observe(change) {
                    let _ = tx.send((change.clone(), Instant::now()));
                }
            }));
            tokio::spawn(announce_found(Arc::downgrade(&link), rx));
            link
        }

        pub(super) async fn propagate(
            &self,
            change: &SourceChange,
            destinations: &[String],
            seen: Instant,
        ) -> Propagated {
            let propagation = self.bus.announce(change, seen).await;
            let (events, error) = match self.bus.refresh_clients(destinations).await {
                Ok(events) => (events, None),
                Err(err) => (Vec::new(), Some(err.to_string())),
            };
            let propagated = Propagated {
                announced: propagation.announced,
                confirmed: propagation.confirmed,
                failed: propagation.failed,
                missing: propagation.missing,
                events,
                error,
            };
            tracing::info!(
                millis = propagation.elapsed.as_millis(), ?destinations, confirmed = ?propagated.confirmed,
                missing = ?propagated.missing, failed = ?propagated.failed, events = propagated.events.len(),
                "bus: change propagated"
            );
            propagated
        }
    }

    /// Announces what the backend found by itself, bursts merged into one announcement.
    async fn announce_found(link: std::sync::Weak<Link>, mut rx: mpsc::UnboundedReceiver<(SourceChange, Instant)>) {
        while let Some((mut change, seen)) = rx.recv().await {
            while let Ok((more, _)) = rx.try_recv() {
                change = change.merge(&more);
            }
            let Some(link) = link.upgrade() else { return };
            link.propagate(&change, &[vortex_bus::EVERYONE.to_owned()], seen).await;
        }
    }

    /// This replica's fetches when asked for: the changes they cause are collected for the caller
    /// instead of being announced by the listener.
    pub(super) struct LocalFetch {
        source: Arc<dyn ConfigSource>,
        /// Fetches asked for and running now.
        explicit: AtomicUsize,
        next: AtomicU64,
        /// What each running fetch has seen so far.
        collecting: Mutex<Vec<(u64, SourceChange)>>,
    }

    impl LocalFetch {
        /// Whether `change` belongs to a fetch asked for (it is then collected for it).
        fn observe(&self, change: &SourceChange) -> bool {
            if self.explicit.load(Ordering::Acquire) == 0 {
                return false;
            }
            let mut collecting = self.collecting.lock().unwrap_or_else(PoisonError::into_inner);
            for (_, seen) in collecting.iter_mut() {
                *seen = std::mem::take(seen).merge(change);
            }
            true
        }

        pub(super) async fn fetch(&self) -> Result<SourceChange, CoreError> {
            let id = self.next.fetch_add(1, Ordering::Relaxed);
            let empty = SourceChange::of_labels(Vec::new());
            self.collecting.lock().unwrap_or_else(PoisonError::into_inner).push((id, empty));
            self.explicit.fetch_add(1, Ordering::AcqRel);
            let result = self.source.refresh().await;
            self.explicit.fetch_sub(1, Ordering::AcqRel);
            let mut collecting = self.collecting.lock().unwrap_or_else(PoisonError::into_inner);
            let position = collecting.iter().position(|(i, _)| *i == id);
            let seen = position.map(|p| collecting.swap_remove(p).1).unwrap_or_default();
            result.map(|()| seen)
        }
    }

    /// A peer's change: fetch, then drop what the change made stale here too (a native backend
    /// has nothing to fetch, and the webhook's applications were named at the origin only).
    struct PeerFetch {
        local: Arc<LocalFetch>,
        cache: Cache,
        watch: Watch,
    }

    impl vortex_bus::Replica for PeerFetch {
        fn refresh<'a>(&'a self, change: &'a SourceChange) -> BoxFuture<'a, Result<(), CoreError>> {
            Box::pin(async move {
                self.local.fetch().await?;
                self.cache.invalidate_change(change);
                self.watch.changed(change);
                Ok(())
            })
        }
    }

    /// The bus's reports as metrics.
    struct Metered(vortex_metrics::BusMetrics);

    impl vortex_bus::Observer for Metered {
        fn published(&self, kind: &'static str, ok: bool) {
            self.0.published(kind, ok);
        }
        fn consumed(&self, kind: &'static str, outcome: vortex_bus::Outcome) {
            self.0.consumed(kind, outcome.as_str());
        }
        fn propagated(&self, p: &vortex_bus::Propagation) {
            self.0.propagated(p.elapsed, p.confirmed.len(), p.failed.len(), p.missing.len());
        }
        fn acknowledged(&self, acks: u64) {
            self.0.acknowledged(acks);
        }
        fn connection(&self, up: bool) {
            self.0.connection(up);
        }
        fn peers(&self, alive: usize) {
            self.0.peers(alive);
        }
    }
}
