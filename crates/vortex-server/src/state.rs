//! The state every handler shares, and the one place it is assembled: [`Builder::build`] stacks the
//! layers over the backend in one fixed order, whatever order they were configured in.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use vortex_core::cipher::{InvalidCipher, TextEncryptor};
use vortex_core::overrides::overrides_source;
use vortex_core::process::Processed;
use vortex_core::snapshot::Snapshot;
use vortex_core::{ConfigQuery, ConfigSource, CoreError};

use crate::access::{Access, AccessConfig, Clients, ClientsError};
use crate::auth::WebhookSecret;
use crate::bus::{Bus, BusConfig};
use crate::cache::{Cache, CacheConfig};
use crate::metrics::Observability;
use crate::watch::{Watch, WatchConfig};

/// Shared state of every handler, built once by a [`Builder`] (or [`AppState::from_settings`]).
/// Cloning it (axum does, per request) is one reference-count increment.
#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Shared>,
}

/// What an [`AppState`] shares.
pub(crate) struct Shared {
    /// The backend with every layer but the cache: what misses and resources read.
    pub(crate) source: Arc<dyn ConfigSource>,
    pub(crate) cache: Cache,
    /// The bus, when this replica is on one.
    pub(crate) bus: Bus,
    /// Held reads (`?wait=`).
    pub(crate) watch: Watch,
    pub(crate) backend_name: &'static str,
    /// Who may do what (`security.*`).
    pub(crate) access: Access,
    /// The audit log (`security.audit`), when on.
    pub(crate) audit: Option<crate::audit::Auditor>,
    /// The key of `{cipher}` values and `/encrypt` (`encrypt.key`), when set.
    pub(crate) encryptor: Option<Arc<TextEncryptor>>,
    /// `POST /monitor` verifies signatures with it when set (`security.webhook_secret`).
    pub(crate) webhook: Option<WebhookSecret>,
    pub(crate) observability: Observability,
    /// The placeholder budget of one response beyond its input (`server.placeholder_budget_bytes`).
    pub(crate) placeholder_budget: usize,
    /// Every route is under this path (`server.prefix`), when set.
    pub(crate) prefix: Option<Arc<str>>,
    /// Whether an environment without property sources is served (`server.accept_empty`).
    pub(crate) accept_empty: bool,
    /// Set when the server starts to stop: readiness answers 503 and every response closes its
    /// connection.
    pub(crate) draining: AtomicBool,
}

impl AppState {
    /// A builder for a server over `backend`, named `backend_name` in health and metrics (`git`,
    /// `native`, ...).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use vortex_core::native::{NativeOptions, NativeSource};
    /// # use vortex_server::{AppState, NativeBackend};
    /// # fn demo(source: NativeSource) {
    /// let state = AppState::builder(Arc::new(NativeBackend::new(source)), "native")
    ///     .overrides(vec![("logging.level.root".to_owned(), "WARN".to_owned())])
    ///     .prefix("/config")
    ///     .build();
    /// # }
    /// ```
    pub fn builder(backend: Arc<dyn ConfigSource>, backend_name: &'static str) -> Builder {
        Builder {
            backend,
            backend_name,
            observability: Observability::default(),
            cache: CacheConfig::default(),
            bus: BusConfig::default(),
            watch: WatchConfig::default(),
            overrides: Vec::new(),
            encryption: None,
            access: AccessConfig::default(),
            audit: None,
            webhook: None,
            placeholder_budget: vortex_settings::ServerSettings::default().placeholder_budget_bytes,
            prefix: None,
            accept_empty: vortex_settings::ServerSettings::default().accept_empty,
        }
    }

    /// The state for `backend` with nothing else: no cache, metrics, authentication or admin API.
    pub fn new(backend: Arc<dyn ConfigSource>, backend_name: &'static str) -> Self {
        Self::builder(backend, backend_name).build()
    }

    /// The response cache, when there is one.
    #[cfg(feature = "cache")]
    pub fn cache(&self) -> Option<&vortex_cache::CachedSource<Arc<dyn ConfigSource>>> {
        self.inner.cache.inner.as_ref()
    }

    /// The snapshot that answers `query`: from the cache when there is one, else freshly loaded.
    pub(crate) async fn snapshot(&self, query: &ConfigQuery) -> Result<Arc<Snapshot>, CoreError> {
        if let Some(cached) = self.inner.cache.get(query).await {
            return cached;
        }
        Ok(Arc::new(Snapshot::new(self.inner.source.load(query).await?)))
    }

    /// Whether the server is draining (see [`App::drain`](crate::App::drain)).
    pub(crate) fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::Relaxed)
    }

    /// Counts a refused authentication attempt, when metrics are on.
    pub(crate) fn auth_failed(&self, api: vortex_metrics::AuthApi, missing: bool) {
        self.inner.observability.auth_failed(api, missing);
    }
}

/// Configures an [`AppState`]. Every method may be called in any order: [`build`](Self::build)
/// stacks the layers over the backend in one fixed order — backend, metrics, post-processing
/// (overrides, then decryption), cache — so that the cache keeps finished environments, an
/// override may be a `{cipher}` value, and backend metrics time real loads only.
#[must_use]
pub struct Builder {
    backend: Arc<dyn ConfigSource>,
    backend_name: &'static str,
    observability: Observability,
    cache: CacheConfig,
    bus: BusConfig,
    watch: WatchConfig,
    overrides: Vec<(String, String)>,
    encryption: Option<(Arc<TextEncryptor>, Option<InvalidCipher>)>,
    access: AccessConfig,
    audit: Option<crate::audit::Auditor>,
    webhook: Option<WebhookSecret>,
    placeholder_budget: usize,
    prefix: Option<Arc<str>>,
    accept_empty: bool,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder").field("backend_name", &self.backend_name).finish_non_exhaustive()
    }
}

impl Builder {
    /// Records metrics into `prometheus` and serves them at `/metrics` and `/actuator/prometheus`:
    /// backend loads, the cache, HTTP traffic. Starts the exporter's upkeep when built within a
    /// tokio runtime.
    #[cfg(feature = "metrics")]
    pub fn metrics(mut self, prometheus: vortex_metrics::Prometheus) -> Self {
        self.observability = Observability::prometheus(prometheus);
        self
    }

    /// Puts a response cache with `options` in front of the backend (its metrics are the
    /// server's, whatever `options` carries).
    #[cfg(feature = "cache")]
    pub fn cache(mut self, options: vortex_cache::CacheOptions) -> Self {
        self.cache = CacheConfig { options: Some(options) };
        self
    }

    /// The cache of the settings (see [`CacheConfig::from_settings`]).
    pub(crate) fn cache_config(mut self, cache: CacheConfig) -> Self {
        self.cache = cache;
        self
    }

    /// Joins a Spring Cloud Bus: changes this replica sees are announced to its peers (which fetch
    /// and confirm) and then to Spring services as refresh events; changes the peers announce are
    /// fetched. The broker connection is made in the background (call [`build`](Self::build) within
    /// a tokio runtime); without a broker the server serves, and health says the bus is degraded.
    #[cfg(feature = "bus")]
    pub fn bus(mut self, options: vortex_bus::BusOptions, amqp: vortex_bus::AmqpOptions) -> Self {
        self.bus = BusConfig { join: Some((options, amqp)) };
        self
    }

    /// Holds reads with `?wait=` for at most `max_wait` (plus jitter), at most `max_watchers` at
    /// once; `None` answers them at once. On by default: 55 s, 10,000 (`watch.*`).
    pub fn watch(mut self, limits: Option<(Duration, usize)>) -> Self {
        self.watch = match limits {
            Some((max_wait, max_watchers)) => WatchConfig { enabled: true, max_wait, max_watchers },
            None => WatchConfig { enabled: false, ..self.watch },
        };
        self
    }

    /// The held reads of the settings.
    pub(crate) fn watch_config(mut self, watch: WatchConfig) -> Self {
        self.watch = watch;
        self
    }

    /// The bus of the settings (see [`BusConfig::from_settings`]).
    pub(crate) fn bus_config(mut self, bus: BusConfig) -> Self {
        self.bus = bus;
        self
    }

    /// Serves `overrides` (dotted keys and values, see [`overrides_source`]) as a property source
    /// named `overrides`, first in every environment: it wins over every file, in every format. An
    /// override may be a `{cipher}` value, decrypted as in Spring. No overrides, no source.
    pub fn overrides(mut self, overrides: Vec<(String, String)>) -> Self {
        self.overrides = overrides;
        self
    }

    /// Installs `encryptor` for `POST /encrypt` and `/decrypt`, and with `decrypt` also serves
    /// `{cipher}` values decrypted, an invalid one as `decrypt` says.
    pub fn encryption(mut self, encryptor: TextEncryptor, decrypt: Option<InvalidCipher>) -> Self {
        self.encryption = Some((Arc::new(encryptor), decrypt));
        self
    }

    /// Requires HTTP basic authentication with `username` and `password` on the read API. Without
    /// a password (a `password_file` never read), no one is let in.
    /// It stands for a client that reads everything and may encrypt.
    pub fn basic_auth(mut self, username: &str, password: Option<&str>) -> Self {
        self.access.basic = Some((username.to_owned(), password.map(str::to_owned)));
        self
    }

    /// Turns the admin API on, answering only requests that carry `Authorization: Bearer <token>`
    /// (which may also decrypt and see health details).
    pub fn admin_token(mut self, token: &str) -> Self {
        self.access.admin_token = Some(token.to_owned());
        self
    }

    /// Scopes reads to `clients` (`security.clients`) and those of `file`
    /// (`security.clients_file`, read now, re-read when it changes and on SIGHUP while a
    /// [`serve`](crate::serve) runs): each reads only the applications, profiles and labels its
    /// globs match, and does only what its roles allow.
    ///
    /// # Errors
    /// Every problem of the clients and the file: a hash that is not an argon2id hash, a file
    /// that cannot be read or holds invalid clients.
    pub fn clients(
        mut self,
        clients: Vec<vortex_settings::ClientSettings>,
        file: Option<std::path::PathBuf>,
    ) -> Result<Self, ClientsError> {
        self.access.clients = Clients::new(clients, file)?;
        Ok(self)
    }

    /// Writes one JSON line per request the access policy decided to `path` (appended), or to
    /// standard output without one (`security.audit`).
    ///
    /// # Errors
    /// When the file cannot be opened for appending.
    pub fn audit(mut self, path: Option<&std::path::Path>) -> std::io::Result<Self> {
        self.audit = Some(crate::audit::Auditor::open(path)?);
        Ok(self)
    }

    /// Has `/metrics` and `/actuator/prometheus` require a client with the `admin` or `health`
    /// role (`security.protect_metrics`).
    pub fn protect_metrics(mut self, protect: bool) -> Self {
        self.access.protect_metrics = protect;
        self
    }

    /// The label a request without one is checked with against clients' label scopes: the
    /// backend's default label.
    pub fn default_label(mut self, label: Option<&str>) -> Self {
        self.access.default_label = label.map(str::to_owned);
        self
    }

    /// Has `POST /monitor` accept only webhooks signed with `secret` (`security.webhook_secret`):
    /// GitHub's `X-Hub-Signature-256`, Gitea's and Gogs' signatures, or GitLab's token.
    pub fn webhook_secret(mut self, secret: &str) -> Self {
        self.webhook = Some(WebhookSecret::new(secret));
        self
    }

    /// Allows placeholder resolution `bytes` of work per response beyond four times its input
    /// (`server.placeholder_budget_bytes`); over it, the response is 500 `invalid_config`.
    pub fn placeholder_budget(mut self, bytes: usize) -> Self {
        self.placeholder_budget = bytes;
        self
    }

    /// Serves every route under `prefix` (`/config`: `/config/orders/dev`, `/config/health`), as
    /// Spring's `spring.cloud.config.server.prefix`. A trailing `/` is ignored; an empty prefix or
    /// `/` means the root.
    pub fn prefix(mut self, prefix: &str) -> Self {
        let prefix = prefix.trim_end_matches('/');
        self.prefix = (!prefix.is_empty()).then(|| {
            let prefix = if prefix.starts_with('/') { prefix.to_owned() } else { format!("/{prefix}") };
            Arc::from(prefix)
        });
        self
    }

    /// With `false`, answers 404 instead of an environment that has no property source at all
    /// (`server.accept_empty`, Spring's `accept-empty`), in Environment JSON and the flat formats.
    pub fn accept_empty(mut self, accept_empty: bool) -> Self {
        self.accept_empty = accept_empty;
        self
    }

    /// The state, its layers stacked in the one order described on [`Builder`].
    pub fn build(self) -> AppState {
        let observability = self.observability;
        let mut source = observability.meter(self.backend, self.backend_name);
        let encryptor = self.encryption.as_ref().map(|(encryptor, _)| Arc::clone(encryptor));
        let mut processed = Processed::new(Arc::clone(&source)).with_overrides(overrides_source(self.overrides));
        if let (Some(encryptor), Some((_, Some(invalid)))) = (&encryptor, &self.encryption) {
            processed = processed.with_decryption(Arc::clone(encryptor), *invalid);
        }
        if !processed.is_noop() {
            source = Arc::new(processed);
        }
        let cache = Cache::new(self.cache, &source, observability.metrics());
        // After the cache: its listener drops what a change made stale before the bus announces it,
        // and before held reads recompute their answers.
        let watch = Watch::new(self.watch, observability.metrics().watch());
        let bus = Bus::start(self.bus, &source, &cache, &watch, observability.metrics());
        let woken = watch.clone();
        source.subscribe(Arc::new(move |change| woken.changed(change)));
        let shared = Shared {
            source,
            cache,
            bus,
            watch,
            backend_name: self.backend_name,
            access: Access::new(self.access, observability.metrics().access()),
            audit: self.audit,
            encryptor,
            webhook: self.webhook,
            observability,
            placeholder_budget: self.placeholder_budget,
            prefix: self.prefix,
            accept_empty: self.accept_empty,
            draining: AtomicBool::new(false),
        };
        let state = AppState { inner: Arc::new(shared) };
        if state.inner.access.clients_file().is_some()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(crate::access::watch_clients_file(Arc::downgrade(&state.inner)));
        }
        state
    }
}

/// The limits the edge applies to every request: what [`App::new`](crate::App::new) is built with
/// besides the state, as [`ServeOptions`](crate::ServeOptions) is for the listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct EdgeOptions {
    /// Requests not answered within it get 408 (`server.request_timeout_seconds`).
    pub request_timeout: Duration,
    /// Request bodies over it get 413, on every route that reads one (`server.body_limit_bytes`).
    pub body_limit: usize,
    /// How long a request body may take to arrive (`server.body_read_timeout_seconds`).
    pub body_read_timeout: Duration,
    /// Request targets over it get 414 (`server.max_uri_bytes`).
    pub max_uri_bytes: usize,
    /// Requests served at once; the next get 503 at once (`server.max_concurrent_requests`).
    /// Health and metrics are never refused.
    pub max_concurrent_requests: usize,
}

impl EdgeOptions {
    /// The limits of the `server` settings.
    pub fn from_settings(server: &vortex_settings::ServerSettings) -> Self {
        Self {
            request_timeout: Duration::from_secs(server.request_timeout_seconds),
            body_limit: server.body_limit_bytes,
            body_read_timeout: Duration::from_secs(server.body_read_timeout_seconds),
            max_uri_bytes: server.max_uri_bytes,
            max_concurrent_requests: server.max_concurrent_requests.max(1),
        }
    }

    /// These limits with `timeout` for requests.
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// These limits with `limit` for bodies.
    #[must_use]
    pub fn body_limit(mut self, limit: usize) -> Self {
        self.body_limit = limit;
        self
    }

    /// These limits with at most `max` requests served at once.
    #[must_use]
    pub fn max_concurrent_requests(mut self, max: usize) -> Self {
        self.max_concurrent_requests = max.max(1);
        self
    }
}

impl Default for EdgeOptions {
    /// The defaults of the `server` settings.
    fn default() -> Self {
        Self::from_settings(&vortex_settings::ServerSettings::default())
    }
}
