//! The Vortex Config server: Spring Cloud Config's HTTP read API over a configuration backend.
//!
//! It owns the HTTP edge: routes and their parsing, the single mapping from domain errors to HTTP
//! statuses and JSON bodies, authentication, health, request limits, logging set-up and graceful
//! shutdown. Domain rules live in `vortex-core`; settings in `vortex-settings`.
//!
//! This crate is the only one that installs a tracing subscriber; it must never hold domain logic
//! that a backend would need.
//!
//! | feature | adds | default |
//! |---|---|---|
//! | `git` | the git backend (`vortex-git`, gitoxide) | yes |
//! | `cache` | the response cache (`vortex-cache`, moka) and its admin routes | yes |
//! | `metrics` | Prometheus metrics at `/metrics` and `/actuator/prometheus` (`vortex-metrics/prometheus`) | yes |

mod admin;
mod auth;
mod backend;
pub mod cli;
mod edge;
mod encrypt;
mod error;
mod heavy;
mod listen;
#[cfg(feature = "metrics")]
mod metrics;
mod monitor;
mod routes;
pub mod telemetry;
#[cfg(feature = "tls")]
mod tls;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use vortex_core::cipher::{DecryptingSource, InvalidCipher, TextEncryptor};
use vortex_core::native::{NativeOptions, NativeSource};
use vortex_core::overrides::{OverridingSource, overrides_source};
use vortex_core::snapshot::Snapshot;
use vortex_core::{ConfigQuery, ConfigSource, CoreError};
use vortex_settings::Settings;

pub use backend::NativeBackend;
pub use edge::{App, EdgeFuture};
pub use error::{ApiError, error_chain};
pub use listen::{ServeOptions, serve};
pub use routes::V2_MEDIA_TYPE;

/// Shared state of every handler, built once in [`AppState::from_settings`]. Cloning it (axum does,
/// per request and per middleware) is one reference-count increment.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Shared>,
}

/// What an [`AppState`] shares.
#[derive(Clone)]
struct Shared {
    source: Arc<dyn ConfigSource>,
    #[cfg(feature = "cache")]
    cache: Option<vortex_cache::CachedSource<Arc<dyn ConfigSource>>>,
    backend_name: &'static str,
    auth: Option<Arc<auth::BasicAuth>>,
    admin: Option<Arc<auth::BearerToken>>,
    /// The key of `{cipher}` values and `/encrypt` (`encrypt.key`), when set.
    encryptor: Option<Arc<TextEncryptor>>,
    /// `POST /monitor` verifies signatures with it when set (`security.webhook_secret`).
    webhook: Option<Arc<auth::WebhookSecret>>,
    #[cfg(feature = "metrics")]
    prometheus: Option<(vortex_metrics::Prometheus, Arc<vortex_metrics::HttpMetrics>)>,
    request_timeout: Duration,
    body_limit: usize,
    /// How long a request body may take to arrive (`server.body_read_timeout_seconds`).
    body_read_timeout: Duration,
    /// The placeholder budget of one response beyond its input (`server.placeholder_budget_bytes`).
    placeholder_budget: usize,
    max_uri_bytes: usize,
    max_concurrent_requests: usize,
    /// Every route is under this path (`server.prefix`), when set.
    prefix: Option<Arc<str>>,
    /// Whether an environment without property sources is served (`server.accept_empty`).
    accept_empty: bool,
}

impl AppState {
    /// Builds the state for a backend with the default limits of the `server` settings, no cache,
    /// no authentication and no admin API.
    pub fn new(source: Arc<dyn ConfigSource>, backend_name: &'static str) -> Self {
        let defaults = vortex_settings::ServerSettings::default();
        let shared = Shared {
            source,
            #[cfg(feature = "cache")]
            cache: None,
            backend_name,
            auth: None,
            admin: None,
            encryptor: None,
            webhook: None,
            #[cfg(feature = "metrics")]
            prometheus: None,
            request_timeout: Duration::from_secs(defaults.request_timeout_seconds),
            body_limit: defaults.body_limit_bytes,
            body_read_timeout: Duration::from_secs(defaults.body_read_timeout_seconds),
            placeholder_budget: defaults.placeholder_budget_bytes,
            max_uri_bytes: defaults.max_uri_bytes,
            max_concurrent_requests: defaults.max_concurrent_requests,
            prefix: None,
            accept_empty: defaults.accept_empty,
        };
        Self { inner: Arc::new(shared) }
    }

    /// The shared part, for the builder methods: never shared yet while the state is built.
    fn shared_mut(&mut self) -> &mut Shared {
        Arc::make_mut(&mut self.inner)
    }

    /// Records metrics into `prometheus` and serves them at `/metrics` and `/actuator/prometheus`:
    /// backend loads from now on, HTTP traffic, and the cache when [`with_cache`](Self::with_cache)
    /// is called after this. Starts the exporter's upkeep when called within a tokio runtime.
    #[cfg(feature = "metrics")]
    #[must_use]
    pub fn with_metrics(mut self, prometheus: vortex_metrics::Prometheus) -> Self {
        let metrics = prometheus.metrics().clone();
        metrics.build_info(env!("CARGO_PKG_VERSION"), FEATURES);
        let shared = self.shared_mut();
        shared.source =
            Arc::new(vortex_metrics::MeteredSource::new(Arc::clone(&shared.source), shared.backend_name, &metrics));
        let http = Arc::new(metrics.http(edge::ROUTES));
        metrics::spawn_upkeep(&prometheus);
        shared.prometheus = Some((prometheus, http));
        self
    }

    /// Puts a response cache with `options` in front of the backend. Its metrics are recorded when
    /// [`with_metrics`](Self::with_metrics) was called first and `options` carries none.
    #[cfg(feature = "cache")]
    #[must_use]
    pub fn with_cache(mut self, options: vortex_cache::CacheOptions) -> Self {
        let shared = self.shared_mut();
        #[cfg(feature = "metrics")]
        let options = match &shared.prometheus {
            Some((prometheus, _)) => vortex_cache::CacheOptions { metrics: prometheus.metrics().cache(), ..options },
            None => options,
        };
        shared.cache = Some(vortex_cache::CachedSource::new(Arc::clone(&shared.source), options));
        self
    }

    /// Answers 408 to requests not answered within `timeout` (`server.request_timeout_seconds`).
    #[must_use]
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.shared_mut().request_timeout = timeout;
        self
    }

    /// Allows placeholder resolution `bytes` of work per response beyond four times its input
    /// (`server.placeholder_budget_bytes`); over it, the response is 500 `invalid_config`.
    #[must_use]
    pub fn with_placeholder_budget(mut self, bytes: usize) -> Self {
        self.shared_mut().placeholder_budget = bytes;
        self
    }

    /// Serves every route under `prefix` (`/config`: `/config/orders/dev`, `/config/health`), as
    /// Spring's `spring.cloud.config.server.prefix`. A trailing `/` is ignored; an empty prefix or
    /// `/` means the root. Validated settings (`server.prefix`) only hold clean prefixes.
    #[must_use]
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        let prefix = prefix.trim_end_matches('/');
        self.shared_mut().prefix = (!prefix.is_empty()).then(|| {
            let prefix = if prefix.starts_with('/') { prefix.to_owned() } else { format!("/{prefix}") };
            Arc::from(prefix)
        });
        self
    }

    /// With `false`, answers 404 instead of an environment that has no property source at all
    /// (`server.accept_empty`, Spring's `accept-empty`), in Environment JSON and the flat formats.
    /// An application that only the shared `application.*` files answer is still served.
    #[must_use]
    pub fn with_accept_empty(mut self, accept_empty: bool) -> Self {
        self.shared_mut().accept_empty = accept_empty;
        self
    }

    /// Serves at most `max` requests at once: the next ones are answered 503 with `Retry-After`
    /// at once (`server.max_concurrent_requests`). Health and metrics are never refused.
    #[must_use]
    pub fn with_max_concurrent_requests(mut self, max: usize) -> Self {
        self.shared_mut().max_concurrent_requests = max.max(1);
        self
    }

    /// Has `POST /monitor` accept only webhooks signed with `secret` (`security.webhook_secret`):
    /// GitHub's `X-Hub-Signature-256`, Gitea's and Gogs' signatures, or GitLab's token.
    #[must_use]
    pub fn with_webhook_secret(mut self, secret: &str) -> Self {
        self.shared_mut().webhook = Some(Arc::new(auth::WebhookSecret::new(secret)));
        self
    }

    /// Counts a refused authentication attempt, when metrics are on.
    fn auth_failed(&self, api: vortex_metrics::AuthApi, missing: bool) {
        #[cfg(feature = "metrics")]
        if let Some((_, http)) = &self.inner.prometheus {
            http.auth_failed(api, missing);
        }
        let _ = (api, missing);
    }

    /// Turns the admin API on, answering only requests that carry `Authorization: Bearer <token>`.
    #[must_use]
    pub fn with_admin_token(mut self, token: &str) -> Self {
        self.shared_mut().admin = Some(Arc::new(auth::BearerToken::new(token)));
        self
    }

    /// Serves `overrides` (dotted keys and values, see [`overrides_source`]) as a property source
    /// named `overrides`, first in every environment: it wins over every file, in every format.
    /// Call it before [`with_encryption`](Self::with_encryption) (an override may be a `{cipher}`
    /// value, as in Spring) and [`with_cache`](Self::with_cache). No overrides, no source.
    #[must_use]
    pub fn with_overrides(mut self, overrides: Vec<(String, String)>) -> Self {
        if !overrides.is_empty() {
            let shared = self.shared_mut();
            let source = overrides_source(overrides);
            shared.source = Arc::new(OverridingSource::new(Arc::clone(&shared.source), source));
        }
        self
    }

    /// Installs `encryptor` for `POST /encrypt` and `/decrypt`, and with `decrypt` also serves
    /// `{cipher}` values decrypted, an invalid one as `decrypt` says. Call it before
    /// [`with_cache`](Self::with_cache), so that the cache keeps decrypted environments and a
    /// value is decrypted once per load rather than per request.
    #[must_use]
    pub fn with_encryption(mut self, encryptor: TextEncryptor, decrypt: Option<InvalidCipher>) -> Self {
        let shared = self.shared_mut();
        let encryptor = Arc::new(encryptor);
        if let Some(invalid) = decrypt {
            shared.source =
                Arc::new(DecryptingSource::new(Arc::clone(&shared.source), Arc::clone(&encryptor), invalid));
        }
        shared.encryptor = Some(encryptor);
        self
    }

    /// The response cache, when there is one.
    #[cfg(feature = "cache")]
    pub fn cache(&self) -> Option<&vortex_cache::CachedSource<Arc<dyn ConfigSource>>> {
        self.inner.cache.as_ref()
    }

    /// The snapshot that answers `query`: from the cache when there is one, else freshly loaded.
    async fn snapshot(&self, query: &ConfigQuery) -> Result<Arc<Snapshot>, CoreError> {
        #[cfg(feature = "cache")]
        if let Some(cache) = &self.inner.cache {
            return cache.get(query).await;
        }
        Ok(Arc::new(Snapshot::new(self.inner.source.load(query).await?)))
    }

    /// Builds the state from validated settings: the enabled backend, limits and authentication.
    /// Starts the git backend's background fetching when git is enabled.
    ///
    /// # Errors
    /// When the enabled backend cannot be built, or is not compiled into this binary.
    pub async fn from_settings(settings: &Settings) -> Result<Self, CoreError> {
        let backends = &settings.backends;
        #[cfg(feature = "metrics")]
        let prometheus = match settings.metrics.enabled {
            true => Some(vortex_metrics::Prometheus::new().map_err(|e| CoreError::Backend {
                kind: vortex_core::ErrorKind::Internal,
                message: "metrics: the Prometheus exporter cannot be built".to_owned(),
                source: Some(Box::new(e)),
            })?),
            false => None,
        };
        #[cfg(feature = "metrics")]
        let metrics = prometheus.as_ref().map(|p| p.metrics().clone()).unwrap_or_default();
        #[cfg(not(feature = "metrics"))]
        let metrics = vortex_metrics::Metrics::disabled();
        let mut state = if backends.native.enabled {
            let native = &backends.native;
            let source = NativeSource::new(NativeOptions {
                search_locations: native.search_locations.clone(),
                default_label: native.default_label.clone(),
                add_label_locations: native.add_label_locations,
                version: native.version.clone(),
            })?;
            let mut backend = NativeBackend::new(source);
            // Only a cache can hold what the files said before: without one, nothing to tell.
            if cfg!(feature = "cache") && settings.cache.enabled && native.watch_interval_seconds > 0 {
                backend = backend.watching(Duration::from_secs(native.watch_interval_seconds));
            }
            Self::new(Arc::new(backend), "native")
        } else {
            Self::new(git_backend(&backends.git, &metrics).await?, "git")
        };
        #[cfg(feature = "metrics")]
        if let Some(prometheus) = prometheus {
            state = state.with_metrics(prometheus);
        }
        let shared = state.shared_mut();
        shared.request_timeout = Duration::from_secs(settings.server.request_timeout_seconds);
        shared.body_limit = settings.server.body_limit_bytes;
        shared.body_read_timeout = Duration::from_secs(settings.server.body_read_timeout_seconds);
        shared.placeholder_budget = settings.server.placeholder_budget_bytes;
        shared.max_uri_bytes = settings.server.max_uri_bytes;
        shared.max_concurrent_requests = settings.server.max_concurrent_requests.max(1);
        shared.accept_empty = settings.server.accept_empty;
        shared.auth = auth::BasicAuth::from_settings(&settings.security.basic_auth).map(Arc::new);
        if let Some(token) = &settings.security.admin_token {
            state = state.with_admin_token(token.expose());
        }
        if let Some(secret) = &settings.security.webhook_secret {
            state = state.with_webhook_secret(secret.expose());
        }
        if let Some(prefix) = &settings.server.prefix {
            state = state.with_prefix(prefix);
        }
        state = state.with_overrides(vortex_settings::flatten_overrides(&settings.overrides));
        let encrypt = &settings.encrypt;
        if let Some(key) = &encrypt.key {
            let encryptor = TextEncryptor::new(key.expose(), &encrypt.salt)
                .map_err(|err| CoreError::InvalidInput { what: "encrypt.key", reason: err.to_string() })?;
            let invalid = if encrypt.prefix_invalid_properties { InvalidCipher::Prefix } else { InvalidCipher::Keep };
            state = state.with_encryption(encryptor, encrypt.decrypt_on_server.then_some(invalid));
        }
        #[cfg(feature = "cache")]
        if settings.cache.enabled {
            state = state.with_cache(cache_options(&settings.cache));
        }
        Ok(state)
    }
}

#[cfg(feature = "cache")]
fn cache_options(cache: &vortex_settings::CacheSettings) -> vortex_cache::CacheOptions {
    vortex_cache::CacheOptions {
        ttl: Duration::from_secs(cache.ttl_seconds),
        time_to_idle: cache.time_to_idle_seconds.map(Duration::from_secs),
        max_capacity: cache.max_capacity,
        max_bytes: cache.max_bytes,
        clock: vortex_cache::Clock::system(),
        metrics: vortex_metrics::CacheMetrics::default(),
    }
}

#[cfg(feature = "git")]
async fn git_backend(
    git: &vortex_settings::GitSettings,
    metrics: &vortex_metrics::Metrics,
) -> Result<Arc<dyn ConfigSource>, CoreError> {
    let remote = GitRemote {
        uri: git.uri.as_deref().unwrap_or_default(),
        search_paths: &git.search_paths,
        username: git.username.as_deref(),
        password: git.password.as_ref(),
        private_key_path: git.private_key_path.as_deref(),
    };
    let default = git_options(git, &remote, metrics.git());
    if git.repos.is_empty() {
        return git_repository(default, git.max_repositories).await;
    }
    // Every repository clones at once: start-up takes the slowest clone, not their sum.
    let default = tokio::spawn(git_repository(default, git.max_repositories));
    let mut starting = Vec::with_capacity(git.repos.len());
    for (name, repo) in &git.repos {
        // Spring's rule: a repository without a user of its own uses the top-level credentials.
        let (username, password) = match &repo.username {
            Some(username) => (Some(username.as_str()), repo.password.as_ref()),
            None => (git.username.as_deref(), git.password.as_ref()),
        };
        let remote = GitRemote {
            uri: repo.uri.as_deref().unwrap_or_default(),
            search_paths: &repo.search_paths,
            username,
            password,
            private_key_path: repo.private_key_path.as_deref().or(git.private_key_path.as_deref()),
        };
        let options = git_options(git, &remote, metrics.git_repository(name));
        starting.push((name, &repo.pattern, tokio::spawn(git_repository(options, git.max_repositories))));
    }
    let started = |joined: Result<Result<Arc<dyn ConfigSource>, CoreError>, tokio::task::JoinError>| {
        joined.map_err(|err| CoreError::Backend {
            kind: vortex_core::ErrorKind::Internal,
            message: "backends.git: starting a repository failed".to_owned(),
            source: Some(Box::new(err)),
        })?
    };
    let default = started(default.await)?;
    let mut repos = Vec::with_capacity(starting.len());
    for (name, patterns, source) in starting {
        repos.push(vortex_git::PatternRepo::new(name.clone(), patterns, started(source.await)?));
    }
    Ok(Arc::new(vortex_git::PatternRepos::new(default, repos)))
}

/// One repository of the git backend: a mirror of its remote, or with `{application}` in the
/// URI, a mirror per application cloned when it is first asked for.
#[cfg(feature = "git")]
async fn git_repository(
    options: vortex_git::GitOptions,
    max_repositories: usize,
) -> Result<Arc<dyn ConfigSource>, CoreError> {
    if options.uri.contains(vortex_git::APPLICATION_PLACEHOLDER) {
        return Ok(Arc::new(vortex_git::ApplicationRepos::new(options, max_repositories)?));
    }
    Ok(Arc::new(vortex_git::GitSource::start(options).await?))
}

/// What differs between the repositories of the git backend.
#[cfg(feature = "git")]
struct GitRemote<'a> {
    uri: &'a str,
    search_paths: &'a [String],
    username: Option<&'a str>,
    password: Option<&'a vortex_settings::Secret>,
    private_key_path: Option<&'a std::path::Path>,
}

#[cfg(feature = "git")]
fn git_options(
    git: &vortex_settings::GitSettings,
    remote: &GitRemote<'_>,
    metrics: vortex_metrics::GitMetrics,
) -> vortex_git::GitOptions {
    vortex_git::GitOptions {
        metrics,
        uri: remote.uri.to_owned(),
        basedir: git.basedir.clone(),
        default_label: git.default_label.clone(),
        try_master_branch: git.try_master_branch,
        search_paths: remote.search_paths.to_vec(),
        refresh_interval: Duration::from_secs(git.refresh_interval_seconds),
        timeout: Duration::from_secs(git.timeout_seconds),
        delete_untracked_branches: git.delete_untracked_branches,
        clone_on_start: git.clone_on_start,
        credentials: match (remote.username, remote.password) {
            (Some(username), Some(password)) => {
                Some(vortex_git::Credentials { username: username.to_owned(), password: password.expose().to_owned() })
            }
            _ => None,
        },
        ssh_command: Some(ssh_command(remote.private_key_path, git.timeout_seconds)),
    }
}

/// The `ssh` command for `ssh://` remotes. BatchMode: a server never prompts. The timeouts make a
/// host that goes silent end the transfer within about `timeout_seconds`, as the other transports
/// do: `ConnectTimeout` covers the connection and the banner, keep-alives every half timeout (two
/// unanswered end the session) cover a stall mid-transfer.
#[cfg(feature = "git")]
fn ssh_command(private_key_path: Option<&std::path::Path>, timeout_seconds: u64) -> String {
    let interval = (timeout_seconds / 2).max(1);
    let identity = private_key_path.map_or_else(String::new, |key| {
        // Quoted for the shell git runs the command with.
        let key = key.display().to_string().replace('\'', r"'\''");
        format!(" -i '{key}' -o IdentitiesOnly=yes")
    });
    format!(
        "ssh{identity} -o BatchMode=yes -o ConnectTimeout={timeout_seconds} -o ServerAliveInterval={interval} \
         -o ServerAliveCountMax=2"
    )
}

#[cfg(not(feature = "git"))]
async fn git_backend(
    _: &vortex_settings::GitSettings,
    _: &vortex_metrics::Metrics,
) -> Result<Arc<dyn ConfigSource>, CoreError> {
    Err(CoreError::Backend {
        kind: vortex_core::ErrorKind::Internal,
        message: "backends.git: this build has no git backend (feature `git`); enable backends.native".to_owned(),
        source: None,
    })
}

/// The routes of the config server for `state`, under its prefix when it has one, without the
/// edge: for embedding in an axum application that brings its own timeouts and limits (merge it,
/// or nest it under a path of your own). [`app`] is the complete application.
///
/// ```
/// # use std::sync::Arc;
/// # use axum::{Router, routing::get};
/// # use vortex_core::native::{NativeOptions, NativeSource};
/// # use vortex_server::{AppState, NativeBackend};
/// # fn demo(source: NativeSource) {
/// let state = AppState::new(Arc::new(NativeBackend::new(source)), "native");
/// let host: Router = Router::new()
///     .route("/hello", get(|| async { "hello" }))
///     .nest("/config", vortex_server::router(state)); // GET /config/orders/dev
/// # }
/// ```
pub fn router(state: AppState) -> Router {
    let routes = root_routes(state.clone());
    match &state.inner.prefix {
        Some(prefix) => Router::new().nest(prefix, routes),
        None => routes,
    }
}

/// Builds the config server's routes from validated settings in one call (backend, cache,
/// metrics, limits, authentication, `server.prefix`), for an axum application that mounts them
/// next to its own: `host.merge(router_from_settings(&settings).await?)`. Starts the git
/// backend's background fetching when git is enabled, so call it within a tokio runtime.
///
/// # Errors
/// When the enabled backend cannot be built, or is not compiled into this binary.
pub async fn router_from_settings(settings: &Settings) -> Result<Router, CoreError> {
    Ok(router(AppState::from_settings(settings).await?))
}

/// The routes at the root, whatever the prefix.
fn root_routes(state: AppState) -> Router {
    let app = Router::new()
        .route("/health", get(routes::health))
        .route("/actuator/health", get(routes::health))
        .route("/{a}", get(routes::read))
        .route("/{a}/{b}", get(routes::read))
        .route("/{a}/{b}/{c}", get(routes::read))
        .route("/{a}/{b}/{c}/{*path}", get(routes::read))
        .merge(admin::routes(state.clone()))
        .merge(encrypt::routes(state.clone()));
    #[cfg(feature = "metrics")]
    let app = metrics::routes(app, &state);
    app.fallback(no_route).with_state(state)
}

/// The complete HTTP application for `state`: the [`router`] behind the edge, which applies the
/// request timeout, the body limit, the JSON error shape and the HTTP metrics.
pub fn app(state: AppState) -> App {
    App::new(router(state.clone()), &state)
}

/// Entry points for the fuzz targets in `fuzz/` (`cargo xtask fuzz`): the parsers of untrusted
/// input that are internal to the server. Not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    use axum::http::{HeaderMap, HeaderName, HeaderValue};

    /// Decodes a request target as the read API does; returns the queries and resource paths an
    /// accepted request would look up.
    pub fn decode_target(target: &str) -> Vec<(vortex_core::ConfigQuery, Option<String>)> {
        crate::routes::decode_target(target)
    }

    /// Parses a webhook: `headers` as `name: value` lines, then `body`. Returns the application
    /// names the push concerns, or `None` when no git host's format matched or the body was refused.
    pub fn webhook(headers: &str, body: &[u8]) -> Option<Vec<String>> {
        let mut map = HeaderMap::new();
        for line in headers.lines() {
            let Some((name, value)) = line.split_once(':') else { continue };
            if let (Ok(name), Ok(value)) = (HeaderName::try_from(name.trim()), HeaderValue::try_from(value.trim())) {
                map.append(name, value);
            }
        }
        let paths = crate::monitor::changed_paths(&map, body).ok()??;
        Some(crate::monitor::service_names(&paths))
    }

    /// Verifies a webhook signature with `secret`; `true` when accepted.
    pub fn verify_webhook(secret: &str, header: &str, value: &[u8], body: &[u8]) -> bool {
        let mut map = HeaderMap::new();
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(header), HeaderValue::from_bytes(value)) {
            map.insert(name, value);
        }
        crate::auth::WebhookSecret::new(secret).verify(&map, body).is_ok()
    }
}

/// The features compiled into this build, for `vortex_build_info`.
#[cfg(feature = "metrics")]
const FEATURES: &str = match (cfg!(feature = "git"), cfg!(feature = "cache")) {
    (true, true) => "git,cache,metrics",
    (true, false) => "git,metrics",
    (false, true) => "cache,metrics",
    (false, false) => "metrics",
};

/// Answers a path that no route serves.
async fn no_route(uri: axum::http::Uri) -> ApiError {
    ApiError::no_route(uri.path())
}

/// Renders the output of `--check-config`: where the settings came from, then the effective
/// settings as YAML with every secret redacted: the secret settings, and a password written into
/// any URL (`https://alice:secret@host/x.git` is printed `https://***@host/x.git`).
pub fn cli_report(loaded: &vortex_settings::Loaded) -> String {
    fn redact(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(text) if text.contains("://") => *text = vortex_core::redact_credentials(text),
            serde_json::Value::Array(items) => items.iter_mut().for_each(redact),
            serde_json::Value::Object(map) => map.values_mut().for_each(redact),
            _ => {}
        }
    }
    let source = match &loaded.file {
        Some(path) => format!("# settings file: {}\n", path.display()),
        None => "# settings file: none (built-in defaults)\n".to_owned(),
    };
    let tree = serde_json::to_value(&loaded.settings)
        .map(|mut json| {
            redact(&mut json);
            vortex_core::render::to_yaml(&vortex_core::render::Node::from(&json))
        })
        .unwrap_or_default();
    format!("# settings are valid\n{source}{tree}")
}

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

#[cfg(all(test, feature = "git"))]
mod tests {
    #[test]
    fn ssh_gets_timeouts_and_the_quoted_key() {
        assert_eq!(
            super::ssh_command(None, 5),
            "ssh -o BatchMode=yes -o ConnectTimeout=5 -o ServerAliveInterval=2 -o ServerAliveCountMax=2"
        );
        let key = std::path::Path::new("/keys/it's");
        assert_eq!(
            super::ssh_command(Some(key), 1),
            "ssh -i '/keys/it'\\''s' -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=1 \
             -o ServerAliveInterval=1 -o ServerAliveCountMax=2"
        );
    }
}
