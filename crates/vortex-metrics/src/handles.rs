//! Pre-registered handles, one set per subsystem: recording is an atomic operation on a handle,
//! never a lookup by name.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use metrics::{Counter, Gauge, Histogram, Key, Label, Level, Metadata, Recorder};
use vortex_core::{BoxFuture, ConfigQuery, ConfigSource, CoreError, Decorator, Environment, ErrorKind};

use crate::names;

const METADATA: Metadata<'static> = Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// Where metrics go: a recorder, or nowhere.
///
/// Subsystems get their handles from it once ([`Metrics::cache`], [`Metrics::git`], ...). Without a
/// recorder every handle is a no-op and nothing is timed.
#[derive(Clone, Default)]
pub struct Metrics {
    recorder: Option<Arc<dyn Recorder + Send + Sync>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").field("enabled", &self.is_enabled()).finish()
    }
}

impl Metrics {
    /// Metrics that go nowhere and cost nothing.
    pub fn disabled() -> Self {
        Self { recorder: None }
    }

    /// Metrics recorded on `recorder`, which learns every metric's description and unit now.
    pub fn new(recorder: Arc<dyn Recorder + Send + Sync>) -> Self {
        names::describe(recorder.as_ref());
        Self { recorder: Some(recorder) }
    }

    /// Whether a recorder is attached.
    pub fn is_enabled(&self) -> bool {
        self.recorder.is_some()
    }

    fn key(name: &'static str, labels: &[(&'static str, &'static str)]) -> Key {
        Key::from_parts(name, labels.iter().map(|&(k, v)| Label::from_static_parts(k, v)).collect::<Vec<_>>())
    }

    fn counter(&self, name: &'static str, labels: &[(&'static str, &'static str)]) -> Counter {
        self.recorder.as_ref().map_or_else(Counter::noop, |r| r.register_counter(&Self::key(name, labels), &METADATA))
    }

    fn gauge(&self, name: &'static str, labels: &[(&'static str, &'static str)]) -> Gauge {
        self.recorder.as_ref().map_or_else(Gauge::noop, |r| r.register_gauge(&Self::key(name, labels), &METADATA))
    }

    fn histogram(&self, name: &'static str, labels: &[(&'static str, &'static str)]) -> Histogram {
        self.recorder
            .as_ref()
            .map_or_else(Histogram::noop, |r| r.register_histogram(&Self::key(name, labels), &METADATA))
    }

    /// Sets `vortex_build_info{version, features}` to 1, `features` joined with commas.
    pub fn build_info(&self, version: &'static str, features: &[&str]) {
        let Some(recorder) = &self.recorder else { return };
        let labels = vec![Label::from_static_parts("version", version), Label::new("features", features.join(","))];
        recorder.register_gauge(&Key::from_parts(names::BUILD_INFO, labels), &METADATA).set(1.0);
    }

    /// The cache's handles.
    pub fn cache(&self) -> CacheMetrics {
        let outcome = |o| [("outcome", o)];
        let cause = |c| self.counter(names::CACHE_EVICTIONS, &[("cause", c)]);
        CacheMetrics {
            enabled: self.is_enabled(),
            hits: self.counter(names::CACHE_LOOKUPS, &outcome("hit")),
            misses: self.counter(names::CACHE_LOOKUPS, &outcome("miss")),
            hit_seconds: self.histogram(names::CACHE_LOOKUP_DURATION, &outcome("hit")),
            miss_seconds: self.histogram(names::CACHE_LOOKUP_DURATION, &outcome("miss")),
            expired: cause("expired"),
            size: cause("size"),
            explicit: cause("explicit"),
            replaced: cause("replaced"),
            stale_loads: self.counter(names::CACHE_STALE_LOADS, &[]),
            hit_ratio: self.gauge(names::CACHE_HIT_RATIO, &[]),
            entries: self.gauge(names::CACHE_ENTRIES, &[]),
            weighted_size: self.gauge(names::CACHE_WEIGHTED_SIZE, &[]),
        }
    }

    /// The git backend's handles, for its only (or its default) repository: the same as
    /// [`git_repository`](Self::git_repository) with [`names::DEFAULT_REPOSITORY`].
    pub fn git(&self) -> GitMetrics {
        self.git_repository(names::DEFAULT_REPOSITORY)
    }

    /// The handles of one repository of the git backend, labelled `repository` with its name (a
    /// pattern repository's name from the settings: a small set an operator chose, never a value
    /// a client sends).
    pub fn git_repository(&self, repository: &str) -> GitMetrics {
        let Some(recorder) = &self.recorder else {
            return GitMetrics {
                ok: Counter::noop(),
                failed: Counter::noop(),
                seconds: Histogram::noop(),
                last_success: Gauge::noop(),
                labels_moved: Counter::noop(),
            };
        };
        let key = |name: &'static str, result: Option<&'static str>| {
            let mut labels = vec![Label::new("repository", repository.to_owned())];
            labels.extend(result.map(|result| Label::from_static_parts("result", result)));
            Key::from_parts(name, labels)
        };
        GitMetrics {
            ok: recorder.register_counter(&key(names::GIT_FETCHES, Some("ok")), &METADATA),
            failed: recorder.register_counter(&key(names::GIT_FETCHES, Some("error")), &METADATA),
            seconds: recorder.register_histogram(&key(names::GIT_FETCH_DURATION, None), &METADATA),
            last_success: recorder.register_gauge(&key(names::GIT_LAST_SUCCESS, None), &METADATA),
            labels_moved: recorder.register_counter(&key(names::GIT_LABELS_MOVED, None), &METADATA),
        }
    }

    /// Handles for the HTTP edge; `routes` are the route templates it serves, every other path is
    /// recorded as `unmatched`.
    pub fn http(&self, routes: &'static [&'static str]) -> HttpMetrics {
        HttpMetrics {
            metrics: self.clone(),
            routes,
            slots: (0..(routes.len() + 1) * METHODS.len() * CLASSES.len()).map(|_| OnceLock::new()).collect(),
            in_flight: self.gauge(names::HTTP_IN_FLIGHT, &[]),
            not_modified: self.counter(names::HTTP_NOT_MODIFIED, &[]),
            rejected: Rejection::ALL.map(|r| self.counter(names::HTTP_REJECTED, &[("reason", r.label())])),
            auth_failures: AuthApi::ALL.map(|api| {
                ["missing", "wrong"].map(|credentials| {
                    self.counter(names::AUTH_FAILURES, &[("api", api.label()), ("credentials", credentials)])
                })
            }),
        }
    }
}

/// Why the edge refused a request (or a connection) before any handler ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// `server.max_concurrent_requests` were already being served: 503.
    Overloaded,
    /// The request target was over `server.max_uri_bytes`: 414.
    UriTooLong,
    /// `server.max_connections` were open: the connection was closed at accept.
    Connections,
}

impl Rejection {
    const ALL: [Self; 3] = [Self::Overloaded, Self::UriTooLong, Self::Connections];

    /// The `reason` label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Overloaded => "overloaded",
            Self::UriTooLong => "uri_too_long",
            Self::Connections => "connections",
        }
    }
}

/// Which API refused an authentication attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthApi {
    /// The read API's basic authentication.
    Read,
    /// The admin API's bearer token.
    Admin,
    /// `POST /monitor`'s webhook signature or token.
    Webhook,
}

impl AuthApi {
    const ALL: [Self; 3] = [Self::Read, Self::Admin, Self::Webhook];

    /// The `api` label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Admin => "admin",
            Self::Webhook => "webhook",
        }
    }
}

/// The cache's handles; see [`Metrics::cache`].
#[derive(Clone)]
pub struct CacheMetrics {
    enabled: bool,
    hits: Counter,
    misses: Counter,
    hit_seconds: Histogram,
    miss_seconds: Histogram,
    expired: Counter,
    size: Counter,
    explicit: Counter,
    replaced: Counter,
    stale_loads: Counter,
    hit_ratio: Gauge,
    entries: Gauge,
    weighted_size: Gauge,
}

impl Default for CacheMetrics {
    fn default() -> Self {
        Metrics::disabled().cache()
    }
}

impl std::fmt::Debug for CacheMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheMetrics").field("enabled", &self.enabled).finish()
    }
}

/// A started measurement. It reads the CPU's time-stamp counter (through `quanta`, which the
/// Prometheus exporter uses too): a few nanoseconds, where the system clock costs tens.
#[derive(Debug, Clone, Copy)]
pub struct Timer(quanta::Instant);

impl Timer {
    /// Starts measuring now.
    pub fn start() -> Self {
        Self(quanta::Instant::now())
    }

    /// The time since the start.
    pub fn elapsed(self) -> Duration {
        quanta::Instant::now().duration_since(self.0)
    }
}

/// Why an entry left the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvictionCause {
    /// Its time to live or to idle ran out.
    Expired,
    /// It made room under a bound.
    Size,
    /// An invalidation removed it.
    Explicit,
    /// A newer entry replaced it.
    Replaced,
}

impl CacheMetrics {
    /// The start of a timed lookup, or `None` when nothing is recorded (no clock read).
    pub fn start(&self) -> Option<Timer> {
        self.enabled.then(Timer::start)
    }

    /// Records a lookup answered from the cache.
    pub fn hit(&self, started: Option<Timer>) {
        self.hits.increment(1);
        if let Some(started) = started {
            self.hit_seconds.record(started.elapsed());
        }
    }

    /// Records a lookup that had to load (or wait for a load).
    pub fn miss(&self, started: Option<Timer>) {
        self.misses.increment(1);
        if let Some(started) = started {
            self.miss_seconds.record(started.elapsed());
        }
    }

    /// Records an eviction.
    pub fn evicted(&self, cause: EvictionCause) {
        match cause {
            EvictionCause::Expired => &self.expired,
            EvictionCause::Size => &self.size,
            EvictionCause::Explicit => &self.explicit,
            EvictionCause::Replaced => &self.replaced,
        }
        .increment(1);
    }

    /// Records a load dropped because an invalidation overlapped it.
    pub fn stale_load(&self) {
        self.stale_loads.increment(1);
    }

    /// Publishes the cache's size and hit ratio.
    pub fn sizes(&self, entries: u64, weighted_size: u64, hit_ratio: f64) {
        self.entries.set(entries as f64);
        self.weighted_size.set(weighted_size as f64);
        self.hit_ratio.set(hit_ratio);
    }
}

/// The git backend's handles; see [`Metrics::git`].
#[derive(Clone)]
pub struct GitMetrics {
    ok: Counter,
    failed: Counter,
    seconds: Histogram,
    last_success: Gauge,
    labels_moved: Counter,
}

impl Default for GitMetrics {
    fn default() -> Self {
        Metrics::disabled().git()
    }
}

impl std::fmt::Debug for GitMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GitMetrics")
    }
}

impl GitMetrics {
    /// Records a fetch that took `took` and moved `moved` labels (`None` when it failed).
    pub fn fetched(&self, took: Duration, moved: Option<usize>) {
        self.seconds.record(took);
        match moved {
            Some(moved) => {
                self.ok.increment(1);
                self.labels_moved.increment(u64::try_from(moved).unwrap_or(u64::MAX));
                let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
                self.last_success.set(now.as_secs_f64());
            }
            None => self.failed.increment(1),
        }
    }
}

/// The request methods told apart; anything else is `other`.
const METHODS: &[&str] = &["GET", "HEAD", "POST", "DELETE", "other"];
/// Status classes.
const CLASSES: &[&str] = &["1xx", "2xx", "3xx", "4xx", "5xx"];

/// The HTTP edge's handles; see [`Metrics::http`]. Each (route, method, status class) series is
/// registered on first use and kept, so recording never allocates or locks.
pub struct HttpMetrics {
    metrics: Metrics,
    routes: &'static [&'static str],
    slots: Box<[OnceLock<(Counter, Histogram)>]>,
    in_flight: Gauge,
    not_modified: Counter,
    rejected: [Counter; 3],
    auth_failures: [[Counter; 2]; 3],
}

impl std::fmt::Debug for HttpMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpMetrics").field("routes", &self.routes).finish()
    }
}

impl HttpMetrics {
    /// Whether anything is recorded.
    pub fn is_enabled(&self) -> bool {
        self.metrics.is_enabled()
    }

    /// Moves the in-flight gauge by `delta`: +1 when a request arrives, -1 when it is answered or
    /// dropped.
    pub fn in_flight_add(&self, delta: f64) {
        self.in_flight.increment(delta);
    }

    /// Counts a request or connection refused before any handler ran.
    pub fn rejected(&self, why: Rejection) {
        self.rejected[why as usize].increment(1);
    }

    /// Counts a refused authentication attempt: without credentials (`missing`) or with wrong ones.
    pub fn auth_failed(&self, api: AuthApi, missing: bool) {
        self.auth_failures[api as usize][usize::from(!missing)].increment(1);
    }

    /// Records an answered request. `route` is the index of the matched template in the `routes`
    /// given to [`Metrics::http`], `None` when no known route matched.
    pub fn record(&self, route: Option<usize>, method: &str, status: u16, took: Duration) {
        let route = route.filter(|&r| r < self.routes.len()).unwrap_or(self.routes.len());
        let method = match method {
            "GET" => 0,
            "HEAD" => 1,
            "POST" => 2,
            "DELETE" => 3,
            _ => 4,
        };
        let class = usize::from((status / 100).clamp(1, 5) - 1);
        let slot = (route * METHODS.len() + method) * CLASSES.len() + class;
        let Some(cell) = self.slots.get(slot) else { return };
        let (count, seconds) = cell.get_or_init(|| {
            let labels = [
                ("route", self.routes.get(route).copied().unwrap_or("unmatched")),
                ("method", METHODS[method]),
                ("status", CLASSES[class]),
            ];
            (
                self.metrics.counter(names::HTTP_REQUESTS, &labels),
                self.metrics.histogram(names::HTTP_REQUEST_DURATION, &labels),
            )
        });
        count.increment(1);
        seconds.record(took);
        if status == 304 {
            self.not_modified.increment(1);
        }
    }
}

/// A [`ConfigSource`] decorator that times loads and counts their errors, by backend name.
pub struct MeteredSource<S> {
    inner: S,
    seconds: Histogram,
    errors: [Counter; 5],
    enabled: bool,
}

impl<S> MeteredSource<S> {
    /// Wraps `inner`, recording under `backend` (`git`, `native`, ...).
    pub fn new(inner: S, backend: &'static str, metrics: &Metrics) -> Self {
        let error = |kind| metrics.counter(names::BACKEND_LOAD_ERRORS, &[("backend", backend), ("kind", kind)]);
        Self {
            inner,
            seconds: metrics.histogram(names::BACKEND_LOAD_DURATION, &[("backend", backend)]),
            errors: [
                error("invalid_input"),
                error("not_found"),
                error("invalid_document"),
                error("unavailable"),
                error("internal"),
            ],
            enabled: metrics.is_enabled(),
        }
    }
}

impl<S: ConfigSource> Decorator for MeteredSource<S> {
    fn inner(&self) -> &dyn ConfigSource {
        &self.inner
    }

    fn decorate_load<'a>(&'a self, query: &'a ConfigQuery) -> BoxFuture<'a, Result<Environment, CoreError>> {
        if !self.enabled {
            return self.inner.load(query);
        }
        Box::pin(async move {
            let started = Timer::start();
            let result = self.inner.load(query).await;
            self.seconds.record(started.elapsed());
            if let Err(err) = &result {
                let index = match err.kind() {
                    ErrorKind::InvalidInput => 0,
                    ErrorKind::NotFound => 1,
                    ErrorKind::InvalidDocument => 2,
                    ErrorKind::Unavailable => 3,
                    _ => 4,
                };
                self.errors[index].increment(1);
            }
            result
        })
    }
}
