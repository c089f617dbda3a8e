//! Every metric name, with its kind, unit and description, in one place.
//!
//! Names follow `vortex_<subsystem>_<name>_<unit>`; counters end in `_total`, durations in `_seconds`.

use metrics::{Recorder, Unit};

/// Cache lookups, by `outcome` (`hit`, `miss`).
pub const CACHE_LOOKUPS: &str = "vortex_cache_lookups_total";
/// Time to answer a cache lookup, by `outcome`; a miss includes the load it waited for.
pub const CACHE_LOOKUP_DURATION: &str = "vortex_cache_lookup_duration_seconds";
/// Hits over lookups since start, between 0 and 1.
pub const CACHE_HIT_RATIO: &str = "vortex_cache_hit_ratio";
/// Entries removed from the cache, by `cause` (`expired`, `size`, `explicit`, `replaced`).
pub const CACHE_EVICTIONS: &str = "vortex_cache_evictions_total";
/// Entries held.
pub const CACHE_ENTRIES: &str = "vortex_cache_entries";
/// Total weight of the entries (equal to the entry count without a byte bound).
pub const CACHE_WEIGHTED_SIZE: &str = "vortex_cache_weighted_size";
/// Loads whose result was dropped because an invalidation overlapped them.
pub const CACHE_STALE_LOADS: &str = "vortex_cache_stale_loads_total";
/// Time to load an environment from the backend, by `backend` (`git`, `native`).
pub const BACKEND_LOAD_DURATION: &str = "vortex_backend_load_duration_seconds";
/// Failed backend loads, by `backend` and error `kind`.
pub const BACKEND_LOAD_ERRORS: &str = "vortex_backend_load_errors_total";
/// Git fetches, by `repository` and `result` (`ok`, `error`).
pub const GIT_FETCHES: &str = "vortex_git_fetches_total";
/// Time a git fetch took, failed ones included, by `repository`.
pub const GIT_FETCH_DURATION: &str = "vortex_git_fetch_duration_seconds";
/// When the last successful git fetch ended, in seconds since the Unix epoch, by `repository`.
pub const GIT_LAST_SUCCESS: &str = "vortex_git_last_fetch_success_timestamp_seconds";
/// Branches and tags that a fetch moved to another commit, created or deleted, by `repository`.
pub const GIT_LABELS_MOVED: &str = "vortex_git_labels_moved_total";
/// The `repository` label of the git backend's default repository (`backends.git.uri`); pattern
/// repositories are labelled with their names.
pub const DEFAULT_REPOSITORY: &str = "default";
/// HTTP requests answered, by `route` template, `method` and `status` class (`2xx` ...).
pub const HTTP_REQUESTS: &str = "vortex_http_requests_total";
/// Time to answer an HTTP request, by `route`, `method` and `status` class.
pub const HTTP_REQUEST_DURATION: &str = "vortex_http_request_duration_seconds";
/// Requests answered `304 Not Modified`.
pub const HTTP_NOT_MODIFIED: &str = "vortex_http_not_modified_total";
/// Requests being answered now.
pub const HTTP_IN_FLIGHT: &str = "vortex_http_requests_in_flight";
/// Requests refused before any handler ran, by `reason` (`overloaded`, `uri_too_long`), and
/// connections closed at accept (`connections`). Heads over `server.max_header_bytes` are refused
/// by hyper (431) before they are requests, and are not counted.
pub const HTTP_REJECTED: &str = "vortex_http_rejected_total";
/// Refused authentication attempts, by `api` (`read`, `admin`, `webhook`) and `credentials`
/// (`missing`, `wrong`).
pub const AUTH_FAILURES: &str = "vortex_auth_failures_total";
/// Always 1; the labels say the `version` and the compiled-in `features`.
pub const BUILD_INFO: &str = "vortex_build_info";

/// The metrics recorded on every request. With the `prometheus` feature they are plain atomics
/// (histograms with fixed buckets), cheap enough for the hot path.
pub const HOT: &[&str] = &[
    HTTP_REQUESTS,
    HTTP_REQUEST_DURATION,
    HTTP_NOT_MODIFIED,
    HTTP_IN_FLIGHT,
    CACHE_LOOKUPS,
    CACHE_LOOKUP_DURATION,
    BACKEND_LOAD_DURATION,
];
/// Buckets of the hot histograms (request, cache lookup and backend load durations), in seconds:
/// 5 µs to 10 s.
pub const FAST_BUCKETS: &[f64] = &[
    0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Buckets of [`GIT_FETCH_DURATION`], in seconds: 10 ms to 2 min.
pub const GIT_BUCKETS: &[f64] = &[0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];

/// What kind of metric a name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// Every metric: name, kind, unit, description.
const ALL: &[(&str, Kind, Option<Unit>, &str)] = &[
    (CACHE_LOOKUPS, Kind::Counter, None, "Cache lookups, by outcome (hit, miss)."),
    (
        CACHE_LOOKUP_DURATION,
        Kind::Histogram,
        Some(Unit::Seconds),
        "Time to answer a cache lookup, by outcome; a miss includes its load.",
    ),
    (CACHE_HIT_RATIO, Kind::Gauge, None, "Cache hits over lookups since start (0 to 1)."),
    (
        CACHE_EVICTIONS,
        Kind::Counter,
        None,
        "Entries removed from the cache, by cause (expired, size, explicit, replaced).",
    ),
    (CACHE_ENTRIES, Kind::Gauge, None, "Entries held by the cache."),
    (CACHE_WEIGHTED_SIZE, Kind::Gauge, None, "Total weight of the cache entries."),
    (CACHE_STALE_LOADS, Kind::Counter, None, "Loads dropped because an invalidation overlapped them."),
    (
        BACKEND_LOAD_DURATION,
        Kind::Histogram,
        Some(Unit::Seconds),
        "Time to load an environment from the backend, by backend.",
    ),
    (BACKEND_LOAD_ERRORS, Kind::Counter, None, "Failed backend loads, by backend and error kind."),
    (GIT_FETCHES, Kind::Counter, None, "Git fetches, by result (ok, error)."),
    (GIT_FETCH_DURATION, Kind::Histogram, Some(Unit::Seconds), "Time a git fetch took, failed ones included."),
    (
        GIT_LAST_SUCCESS,
        Kind::Gauge,
        Some(Unit::Seconds),
        "When the last successful git fetch ended, in seconds since the Unix epoch.",
    ),
    (GIT_LABELS_MOVED, Kind::Counter, None, "Branches and tags a fetch moved, created or deleted."),
    (HTTP_REQUESTS, Kind::Counter, None, "HTTP requests answered, by route template, method and status class."),
    (
        HTTP_REQUEST_DURATION,
        Kind::Histogram,
        Some(Unit::Seconds),
        "Time to answer an HTTP request, by route template, method and status class.",
    ),
    (HTTP_NOT_MODIFIED, Kind::Counter, None, "HTTP requests answered 304 Not Modified."),
    (HTTP_IN_FLIGHT, Kind::Gauge, None, "HTTP requests being answered now."),
    (
        HTTP_REJECTED,
        Kind::Counter,
        None,
        "Requests refused before a handler ran, and connections closed at accept, by reason.",
    ),
    (AUTH_FAILURES, Kind::Counter, None, "Refused authentication attempts, by api and credentials (missing, wrong)."),
    (BUILD_INFO, Kind::Gauge, None, "Always 1; the labels give the version and the compiled-in features."),
];

/// Gives every metric its description and unit on `recorder`.
pub(crate) fn describe(recorder: &dyn Recorder) {
    for (name, kind, unit, help) in ALL {
        let key = metrics::KeyName::from_const_str(name);
        let help = metrics::SharedString::const_str(help);
        match kind {
            Kind::Counter => recorder.describe_counter(key, *unit, help),
            Kind::Gauge => recorder.describe_gauge(key, *unit, help),
            Kind::Histogram => recorder.describe_histogram(key, *unit, help),
        }
    }
}

/// The kind of the metric `name`.
#[cfg(feature = "prometheus")]
pub(crate) fn kind(name: &str) -> Option<Kind> {
    ALL.iter().find(|(n, ..)| *n == name).map(|(_, kind, ..)| *kind)
}

/// The description of the metric `name`.
#[cfg(feature = "prometheus")]
pub(crate) fn help(name: &str) -> Option<&'static str> {
    ALL.iter().find(|(n, ..)| *n == name).map(|(.., help)| *help)
}

/// Every metric name, for documentation checks.
pub fn all() -> impl Iterator<Item = &'static str> {
    ALL.iter().map(|(name, ..)| *name)
}
