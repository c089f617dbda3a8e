//! The cache's handles.

use metrics::{Counter, Gauge, Histogram};

use crate::names;
use crate::registry::{Metrics, Timer};

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

impl Metrics {
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
}
