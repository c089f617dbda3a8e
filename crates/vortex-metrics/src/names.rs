//! Every metric, one row each in one table: name, kind, unit, whether it is recorded on every
//! request (hot), and its description. The name constants, the descriptions given to the recorder,
//! the hot set and the documentation checks are all derived from it.
//!
//! Names follow `vortex_<subsystem>_<name>_<unit>`; counters end in `_total`, durations in `_seconds`.

use metrics::{Recorder, Unit};

/// What kind of metric a name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A monotonic count.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// A distribution of observations.
    Histogram,
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    /// The exposed name.
    pub name: &'static str,
    /// Counter, gauge or histogram.
    pub kind: Kind,
    /// The unit, when it has one.
    pub unit: Option<Unit>,
    /// Recorded on every request: a plain atomic of this crate with the `prometheus` feature.
    pub hot: bool,
    /// The description (`# HELP`).
    pub help: &'static str,
}

/// Declares the table: a constant per metric (its name, documented by its description) and
/// [`ALL`], from one row each.
macro_rules! table {
    ($($(#[doc = $doc:literal])* $constant:ident = $name:literal, $kind:ident, $unit:expr, $hot:literal, $help:literal;)*) => {
        $(
            $(#[doc = $doc])*
            pub const $constant: &str = $name;
        )*

        /// Every metric, in one table.
        pub const ALL: &[Row] = &[$(Row { name: $name, kind: Kind::$kind, unit: $unit, hot: $hot, help: $help }),*];
    };
}

table! {
    /// Cache lookups, by `outcome` (`hit`, `miss`).
    CACHE_LOOKUPS = "vortex_cache_lookups_total", Counter, None, true,
        "Cache lookups, by outcome (hit, miss).";
    /// Time to answer a cache lookup, by `outcome`; a miss includes the load it waited for.
    CACHE_LOOKUP_DURATION = "vortex_cache_lookup_duration_seconds", Histogram, Some(Unit::Seconds), true,
        "Time to answer a cache lookup, by outcome; a miss includes its load.";
    /// Hits over lookups since start, between 0 and 1.
    CACHE_HIT_RATIO = "vortex_cache_hit_ratio", Gauge, None, false,
        "Cache hits over lookups since start (0 to 1).";
    /// Entries removed from the cache, by `cause` (`expired`, `size`, `explicit`, `replaced`).
    CACHE_EVICTIONS = "vortex_cache_evictions_total", Counter, None, false,
        "Entries removed from the cache, by cause (expired, size, explicit, replaced).";
    /// Entries held.
    CACHE_ENTRIES = "vortex_cache_entries", Gauge, None, false,
        "Entries held by the cache.";
    /// Total weight of the entries (equal to the entry count without a byte bound).
    CACHE_WEIGHTED_SIZE = "vortex_cache_weighted_size", Gauge, None, false,
        "Total weight of the cache entries.";
    /// Loads whose result was dropped because an invalidation overlapped them.
    CACHE_STALE_LOADS = "vortex_cache_stale_loads_total", Counter, None, false,
        "Loads dropped because an invalidation overlapped them.";
    /// Time to load an environment from the backend, by `backend` (`git`, `native`).
    BACKEND_LOAD_DURATION = "vortex_backend_load_duration_seconds", Histogram, Some(Unit::Seconds), true,
        "Time to load an environment from the backend, by backend.";
    /// Failed backend loads, by `backend` and error `kind`.
    BACKEND_LOAD_ERRORS = "vortex_backend_load_errors_total", Counter, None, false,
        "Failed backend loads, by backend and error kind.";
    /// Git fetches, by `repository` and `result` (`ok`, `error`).
    GIT_FETCHES = "vortex_git_fetches_total", Counter, None, false,
        "Git fetches, by result (ok, error).";
    /// Time a git fetch took, failed ones included, by `repository`.
    GIT_FETCH_DURATION = "vortex_git_fetch_duration_seconds", Histogram, Some(Unit::Seconds), false,
        "Time a git fetch took, failed ones included.";
    /// When the last successful git fetch ended, in seconds since the Unix epoch, by `repository`.
    GIT_LAST_SUCCESS = "vortex_git_last_fetch_success_timestamp_seconds", Gauge, Some(Unit::Seconds), false,
        "When the last successful git fetch ended, in seconds since the Unix epoch.";
    /// Branches and tags that a fetch moved to another commit, created or deleted, by `repository`.
    GIT_LABELS_MOVED = "vortex_git_labels_moved_total", Counter, None, false,
        "Branches and tags a fetch moved, created or deleted.";
    /// Bus messages published, by `type` (`refresh`, `change`, `confirm`, `presence`) and `result` (`ok`, `error`).
    BUS_PUBLISHED = "vortex_bus_messages_published_total", Counter, None, false,
        "Bus messages published, by type and result (ok, error).";
    /// Bus messages read, by `type` (`unknown` when unreadable) and `outcome` (`acted`, `own`,
    /// `not_for_us`, `foreign`, `malformed`, `oversized`).
    BUS_CONSUMED = "vortex_bus_messages_consumed_total", Counter, None, false,
        "Bus messages read, by type and outcome (acted, own, not_for_us, foreign, malformed, oversized).";
    /// From a change being seen by the replica that tells the others to every peer having fetched
    /// it (or the peer timeout).
    BUS_PROPAGATION_DURATION = "vortex_bus_propagation_duration_seconds", Histogram, Some(Unit::Seconds), false,
        "From a change being seen to every peer having fetched it (or the peer timeout).";
    /// Peers waited for by propagations, by `result` (`confirmed`, `failed`, `missing`).
    BUS_PROPAGATION_PEERS = "vortex_bus_propagation_peers_total", Counter, None, false,
        "Peers waited for by change propagations, by result (confirmed, failed, missing).";
    /// Acknowledgements of this replica's refresh events by Spring services.
    BUS_ACKS = "vortex_bus_acks_total", Counter, None, false,
        "Acknowledgements of this replica's refresh events by Spring services.";
    /// Acknowledgements of the latest refresh event acknowledged so far.
    BUS_LAST_REFRESH_ACKS = "vortex_bus_last_refresh_acks", Gauge, None, false,
        "Acknowledgements so far of the refresh event acknowledged last.";
    /// 1 while connected to the message broker, else 0.
    BUS_CONNECTED = "vortex_bus_connected", Gauge, None, false,
        "1 while connected to the message broker, else 0.";
    /// Peers heard from recently.
    BUS_PEERS = "vortex_bus_peers", Gauge, None, false,
        "Other replicas heard from recently on the bus.";
    /// Requests held for a change now, by `kind` (`long_poll`, `stream`).
    WATCH_WATCHERS = "vortex_watch_watchers", Gauge, None, false,
        "Requests held now, waiting for a change, by kind (long_poll, stream).";
    /// Held requests woken by a change to recompute their answer.
    WATCH_WAKEUPS = "vortex_watch_wakeups_total", Counter, None, false,
        "Held requests woken by a change to recompute their answer.";
    /// Held requests answered 200 because their representation changed.
    WATCH_DELIVERED = "vortex_watch_changes_delivered_total", Counter, None, false,
        "Held requests answered with a changed representation.";
    /// Held requests answered 304 when their wait ended (or the server stopped).
    WATCH_TIMEOUTS = "vortex_watch_timeouts_total", Counter, None, false,
        "Held requests answered 304 at the end of their wait.";
    /// Watches refused over `watch.max_watchers`.
    WATCH_REFUSED = "vortex_watch_refused_total", Counter, None, false,
        "Watches refused over watch.max_watchers (503).";
    /// From a change waking a held request to its answer with the new representation.
    WATCH_DELIVERY = "vortex_watch_delivery_seconds", Histogram, Some(Unit::Seconds), false,
        "From a change waking a held request to its answer with the new representation.";
    /// HTTP requests answered, by `route` template, `method` and `status` class (`2xx` ...).
    HTTP_REQUESTS = "vortex_http_requests_total", Counter, None, true,
        "HTTP requests answered, by route template, method and status class.";
    /// Time to answer an HTTP request, by `route`, `method` and `status` class.
    HTTP_REQUEST_DURATION = "vortex_http_request_duration_seconds", Histogram, Some(Unit::Seconds), true,
        "Time to answer an HTTP request, by route template, method and status class.";
    /// Requests answered `304 Not Modified`.
    HTTP_NOT_MODIFIED = "vortex_http_not_modified_total", Counter, None, true,
        "HTTP requests answered 304 Not Modified.";
    /// Requests being answered now.
    HTTP_IN_FLIGHT = "vortex_http_requests_in_flight", Gauge, None, true,
        "HTTP requests being answered now.";
    /// Requests refused before any handler ran, by `reason` (`overloaded`, `uri_too_long`), and
    /// connections closed at accept (`connections`). Heads over `server.max_header_bytes` are
    /// refused by hyper (431) before they are requests, and are not counted.
    HTTP_REJECTED = "vortex_http_rejected_total", Counter, None, false,
        "Requests refused before a handler ran, and connections closed at accept, by reason.";
    /// Refused authentication attempts, by `api` (`read`, `admin`, `webhook`) and `credentials`
    /// (`missing`, `wrong`).
    AUTH_FAILURES = "vortex_auth_failures_total", Counter, None, false,
        "Refused authentication attempts, by api and credentials (missing, wrong).";
    /// Requests the access policy decided, by `client` (its configured name, or `anonymous`).
    ACCESS_REQUESTS = "vortex_access_requests_total", Counter, None, false,
        "Requests the access policy decided, by client (configured name, or anonymous).";
    /// Requests the access policy refused, by `reason` (`missing_credentials`,
    /// `wrong_credentials`, `out_of_scope`, `admin_disabled`).
    ACCESS_DENIED = "vortex_access_denied_total", Counter, None, false,
        "Requests the access policy refused, by reason.";
    /// Always 1; the labels say the `version` and the compiled-in `features`.
    BUILD_INFO = "vortex_build_info", Gauge, None, false,
        "Always 1; the labels give the version and the compiled-in features.";
}

/// The `repository` label of the git backend's default repository (`backends.git.uri`); pattern
/// repositories are labelled with their names.
pub const DEFAULT_REPOSITORY: &str = "default";

/// Buckets of the hot histograms (request, cache lookup and backend load durations), in seconds:
/// 5 µs to 10 s.
pub const FAST_BUCKETS: &[f64] = &[
    0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Buckets of [`GIT_FETCH_DURATION`], in seconds: 10 ms to 2 min.
pub const GIT_BUCKETS: &[f64] = &[0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];

/// Buckets of [`BUS_PROPAGATION_DURATION`], in seconds: 5 ms to 60 s.
pub const BUS_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// Buckets of [`WATCH_DELIVERY`], in seconds: 1 ms to 10 s.
pub const WATCH_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// The row of the metric `name`.
pub fn row(name: &str) -> Option<&'static Row> {
    ALL.iter().find(|row| row.name == name)
}

/// Whether `name` is recorded on every request (see [`Row::hot`]).
pub fn is_hot(name: &str) -> bool {
    row(name).is_some_and(|row| row.hot)
}

/// Gives every metric its description and unit on `recorder`.
pub(crate) fn describe(recorder: &dyn Recorder) {
    for row in ALL {
        let key = metrics::KeyName::from_const_str(row.name);
        let help = metrics::SharedString::const_str(row.help);
        match row.kind {
            Kind::Counter => recorder.describe_counter(key, row.unit, help),
            Kind::Gauge => recorder.describe_gauge(key, row.unit, help),
            Kind::Histogram => recorder.describe_histogram(key, row.unit, help),
        }
    }
}

/// Every metric name, for documentation checks.
pub fn all() -> impl Iterator<Item = &'static str> {
    ALL.iter().map(|row| row.name)
}
