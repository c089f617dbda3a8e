//! The response cache of Vortex Config: [`CachedSource`], a [`ConfigSource`] decorator over
//! [moka](https://docs.rs/moka)'s async cache.
//!
//! It keeps [`Snapshot`](vortex_core::snapshot::Snapshot)s: the loaded environment with each wire
//! rendering made once, so a hit costs a lookup and a reference-count increment.
//!
//! - **Keys** ([`CacheKey`]): application, profiles in order, label with the default filled in;
//!   text form `orders:prod:main`, matched by [`KeyPattern`] globs.
//! - **Bounds** ([`CacheOptions`]): a time to live (there is no infinite cache), an optional time
//!   to idle, a maximum entry count and an optional byte bound.
//! - **Coalesced misses**: concurrent misses of one key share one load; errors are not cached.
//! - **Invalidation**: by key, by glob, by application (webhooks), by label (a git fetch that
//!   moved a label, through [`ConfigSource::subscribe`]), or everything.
//!
//! # No stale write-back
//!
//! A load that started before an invalidation may finish after it, holding what it read before.
//! Every caller on the miss path registers its key in a table of running loads before it asks the
//! cache, and leaves the table only after the cache has stored the result. An invalidation first
//! marks the matching running loads, then walks the cache and marks the matching entries (and
//! removes them). The mark of a load is shared with the entry it produces, and a marked entry is
//! never served: the request that finds one loads again. Either the load was still registered when
//! the invalidation ran (it is marked), or it had left, and then its entry was already in the
//! cache (the walk marks it). Once an invalidation returns, nothing loaded before it is answered.
//!
//! ```
//! # use std::time::Duration;
//! # async fn demo(source: impl vortex_core::ConfigSource) -> Result<(), vortex_core::CoreError> {
//! use vortex_cache::{CacheOptions, CachedSource, KeyPattern};
//! use vortex_core::ConfigQuery;
//! use vortex_core::snapshot::Representation;
//!
//! let cache = CachedSource::new(source, CacheOptions { ttl: Duration::from_secs(60), ..CacheOptions::default() });
//! let query = ConfigQuery::parse("orders", "prod", None)?;
//! let snapshot = cache.get(&query).await?; // a load
//! let snapshot = cache.get(&query).await?; // a hit
//! let json = snapshot.render(Representation::Environment { origins: false, label_in_request: false })?;
//! println!("{} bytes, ETag {:?}", json.body().len(), json.etag());
//! let removed = cache.invalidate_pattern(&KeyPattern::new("orders:*").map_err(|e| {
//!     vortex_core::CoreError::InvalidInput { what: "pattern", reason: e.to_string() }
//! })?).await;
//! # let _ = removed; Ok(()) }
//! ```
//!
//! A runnable example that wraps a source of its own: `cargo run -p vortex-cache --example
//! custom_source`.
//!
//! # Features
//!
//! | feature | adds | default |
//! |---|---|---|
//! | (none) | this crate has no cargo features | |

mod cached;
mod key;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub use cached::CachedSource;
pub use key::{CacheKey, KeyError, KeyPattern};
#[doc(no_inline)]
pub use vortex_core::ConfigSource;

/// The bounds of a [`CachedSource`].
#[derive(Debug, Clone)]
pub struct CacheOptions {
    /// How long an entry is served after its load. Must be above zero.
    pub ttl: Duration,
    /// Drop an entry that was not read for this long.
    pub time_to_idle: Option<Duration>,
    /// The most entries kept.
    pub max_capacity: u64,
    /// The most bytes kept, by [`Snapshot::estimated_bytes`](vortex_core::snapshot::Snapshot::estimated_bytes).
    /// An entry then weighs one unit of `max_capacity`, or more when it is larger than
    /// `max_bytes / max_capacity`, which keeps both bounds.
    pub max_bytes: Option<u64>,
    /// The clock the time to live is measured with.
    pub clock: Clock,
    /// Where lookups, evictions and sizes are recorded; nowhere by default.
    pub metrics: vortex_metrics::CacheMetrics,
}

impl Default for CacheOptions {
    /// Five minutes, 10,000 entries, no byte bound, no time to idle, the system clock.
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(300),
            time_to_idle: None,
            max_capacity: 10_000,
            max_bytes: None,
            clock: Clock::system(),
            metrics: vortex_metrics::CacheMetrics::default(),
        }
    }
}

/// The time source of the time-to-live check: the system's monotonic clock, optionally moved
/// forward by hand so tests can expire entries without sleeping.
///
/// moka keeps its own clock for reclaiming memory; an entry the cache's clock finds expired is
/// never served and is removed on the spot, and counted as expired.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    skew: Option<Arc<AtomicU64>>,
}

impl Clock {
    /// The system's monotonic clock.
    pub fn system() -> Self {
        Self { skew: None }
    }

    /// The system clock plus an offset that [`advance`](Self::advance) moves forward.
    pub fn adjustable() -> Self {
        Self { skew: Some(Arc::new(AtomicU64::new(0))) }
    }

    /// Moves an [adjustable](Self::adjustable) clock forward by `by`; the system clock ignores it.
    pub fn advance(&self, by: Duration) {
        if let Some(skew) = &self.skew {
            skew.fetch_add(u64::try_from(by.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
        }
    }

    /// The current time.
    pub fn now(&self) -> Instant {
        let now = Instant::now();
        match &self.skew {
            None => now,
            Some(skew) => now + Duration::from_nanos(skew.load(Ordering::Relaxed)),
        }
    }
}

/// What [`CachedSource::stats`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// Entries held now (including invalidated ones whose memory is not reclaimed yet).
    pub entries: u64,
    /// The total weight of the entries: equal to `entries` without a byte bound.
    pub weighted_size: u64,
    /// Requests answered from a fresh entry.
    pub hits: u64,
    /// Requests that found no fresh entry.
    pub misses: u64,
    /// Loads from the source (coalesced misses share one).
    pub loads: u64,
    /// Loads that failed.
    pub load_errors: u64,
    /// Loads whose result was dropped because an invalidation overlapped them.
    pub stale_loads: u64,
    /// Entries removed, by cause.
    pub evictions: Evictions,
}

impl CacheStats {
    /// Hits over lookups, between 0 and 1; 0 before the first lookup.
    pub fn hit_ratio(&self) -> f64 {
        let lookups = self.hits + self.misses;
        if lookups == 0 { 0.0 } else { self.hits as f64 / lookups as f64 }
    }
}

/// Entries removed from the cache, by cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Evictions {
    /// Their time to live or to idle ran out.
    pub expired: u64,
    /// They made room under the entry or byte bound.
    pub size: u64,
    /// An invalidation removed them.
    pub explicit: u64,
    /// A newer entry for the same key replaced them.
    pub replaced: u64,
}
