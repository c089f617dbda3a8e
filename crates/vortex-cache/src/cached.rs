//! [`CachedSource`]: the decorator, its miss path and its invalidation.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use moka::future::Cache;
use moka::notification::RemovalCause;
use moka::ops::compute::Op;
use vortex_core::snapshot::Snapshot;
use vortex_core::{
    BoxFuture, ChangeListener, ConfigQuery, ConfigSource, CoreError, Decorator, Environment, SourceChange,
};

use crate::key::QueryKey;
use crate::{CacheKey, CacheOptions, CacheStats, Clock, Evictions, KeyPattern};

use vortex_metrics::{CacheMetrics, EvictionCause};

/// How often a request reloads when each of its loads was invalidated while it ran, before it
/// answers from a load that bypasses the cache.
const MAX_STALE_RETRIES: usize = 3;

/// A [`ConfigSource`] decorator that keeps loaded environments as [`Snapshot`]s in a bounded,
/// expiring moka cache.
///
/// - [`get`](Self::get) answers from the cache; concurrent misses of one key share a single load,
///   and failed loads are not kept.
/// - Entries expire `ttl` after their load, measured with the [`Clock`] of the options.
/// - [`invalidate`](Self::invalidate), [`invalidate_pattern`](Self::invalidate_pattern),
///   [`invalidate_applications`](Self::invalidate_applications) and
///   [`invalidate_labels`](Self::invalidate_labels) remove entries; the source's own change
///   notifications (a git fetch that moved a label) invalidate the labels they name.
/// - Once an invalidation has returned, nothing loaded before it is served: loads still running
///   are marked, and their results are never answered from the cache (see the crate docs).
///
/// Cloning is cheap and shares the cache.
pub struct CachedSource<S> {
    inner: Arc<Inner<S>>,
}

impl<S> Clone for CachedSource<S> {
    fn clone(&self) -> Self {
        Self { inner: Arc::clone(&self.inner) }
    }
}

struct Inner<S> {
    source: S,
    cache: Cache<CacheKey, Arc<Entry>>,
    ttl: Duration,
    clock: Clock,
    /// The loads running now, by key. Invalidations mark them; see [`Flight`].
    flights: Mutex<HashMap<CacheKey, Arc<Flight>>>,
    /// Entries marked by a change notification, to be removed by the next miss or statistics call.
    pending: Mutex<Vec<Doomed>>,
    has_pending: AtomicBool,
    counters: Arc<Counters>,
    metrics: CacheMetrics,
}

/// A marked entry waiting for its removal.
type Doomed = (Arc<CacheKey>, Arc<Entry>);

/// A cached environment and what decides whether it may still be served.
struct Entry {
    snapshot: Arc<Snapshot>,
    loaded_at: Instant,
    /// Shared with the load's [`Flight`]: set when an invalidation overlapped the load.
    invalidated: Arc<AtomicBool>,
    /// Set when the cache's own clock found the entry expired, so the removal counts as expiry.
    expired: AtomicBool,
}

impl Entry {
    /// Whether the entry may be served: not invalidated, and within its time to live.
    fn is_fresh(&self, now: Instant, ttl: Duration) -> bool {
        !self.invalidated.load(Ordering::Acquire) && self.is_within_ttl(now, ttl)
    }

    fn is_within_ttl(&self, now: Instant, ttl: Duration) -> bool {
        now.saturating_duration_since(self.loaded_at) < ttl
    }
}

/// The loads of one key that run now. Every caller on the miss path registers before it asks the
/// cache, and leaves after the cache has inserted (or refused) the result.
struct Flight {
    invalidated: Arc<AtomicBool>,
    callers: AtomicU64,
}

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    loads: AtomicU64,
    load_errors: AtomicU64,
    stale_loads: AtomicU64,
    expired: AtomicU64,
    size: AtomicU64,
    explicit: AtomicU64,
    replaced: AtomicU64,
}

impl<S: ConfigSource> CachedSource<S> {
    /// Puts a cache in front of `source` and subscribes to its change notifications.
    pub fn new(source: S, options: CacheOptions) -> Self {
        let counters = Arc::new(Counters::default());
        let listener_counters = Arc::clone(&counters);
        let listener_metrics = options.metrics.clone();
        let mut builder = Cache::builder()
            .max_capacity(options.max_capacity)
            .time_to_live(options.ttl)
            .eviction_listener(move |_key, entry: Arc<Entry>, cause| {
                // An entry this cache expired or invalidated itself may reach moka's listener as
                // removed or replaced; count it by what really happened to it.
                let cause = match cause {
                    RemovalCause::Expired => EvictionCause::Expired,
                    RemovalCause::Size => EvictionCause::Size,
                    _ if entry.expired.load(Ordering::Relaxed) => EvictionCause::Expired,
                    _ if entry.invalidated.load(Ordering::Relaxed) => EvictionCause::Explicit,
                    RemovalCause::Replaced => EvictionCause::Replaced,
                    RemovalCause::Explicit => EvictionCause::Explicit,
                };
                let counter = match cause {
                    EvictionCause::Expired => &listener_counters.expired,
                    EvictionCause::Size => &listener_counters.size,
                    EvictionCause::Explicit => &listener_counters.explicit,
                    EvictionCause::Replaced => &listener_counters.replaced,
                };
                counter.fetch_add(1, Ordering::Relaxed);
                listener_metrics.evicted(cause);
            });
        if let Some(idle) = options.time_to_idle {
            builder = builder.time_to_idle(idle);
        }
        if let Some(max_bytes) = options.max_bytes {
            let units = options.max_capacity;
            builder = builder
                .weigher(move |_key, entry: &Arc<Entry>| weight(entry.snapshot.estimated_bytes(), units, max_bytes));
        }
        let inner = Arc::new(Inner {
            source,
            cache: builder.build(),
            ttl: options.ttl,
            clock: options.clock,
            flights: Mutex::new(HashMap::new()),
            pending: Mutex::new(Vec::new()),
            has_pending: AtomicBool::new(false),
            counters,
            metrics: options.metrics,
        });
        let weak: Weak<Inner<S>> = Arc::downgrade(&inner);
        let listener: ChangeListener = Arc::new(move |change| {
            if let Some(inner) = weak.upgrade() {
                inner.invalidate_change(change);
            }
        });
        inner.source.subscribe(listener);
        Self { inner }
    }

    /// Removes what `change` made stale, as when the source itself reports it: every entry of the
    /// applications concerned, or only their entries of the labels that moved. Returns how many went.
    pub fn invalidate_change(&self, change: &SourceChange) -> u64 {
        self.inner.invalidate_change(change)
    }

    /// The decorated source.
    pub fn source(&self) -> &S {
        &self.inner.source
    }

    /// The cache key of `query`.
    pub fn key(&self, query: &ConfigQuery) -> CacheKey {
        CacheKey::new(query, self.inner.source.default_label())
    }

    /// Reads a key's text form, filling in the source's default label when it names none.
    ///
    /// # Errors
    /// When the text is not a key; see [`CacheKey::parse`].
    pub fn parse_key(&self, text: &str) -> Result<CacheKey, crate::KeyError> {
        CacheKey::parse(text, self.inner.source.default_label())
    }

    /// Returns the snapshot for `query`: from the cache when a fresh entry exists, otherwise from
    /// one load shared by every concurrent caller of the same key.
    ///
    /// The snapshot's environment is the one loaded for the key, so its `label` is the label of
    /// the key (the default label when the query named none).
    ///
    /// # Errors
    /// The load's error, shared by every caller that waited for it (see [`CoreError::Shared`]).
    /// Errors are never cached.
    pub async fn get(&self, query: &ConfigQuery) -> Result<Arc<Snapshot>, CoreError> {
        let inner = &self.inner;
        let started = inner.metrics.start();
        let lookup = QueryKey::new(query, inner.source.default_label());
        let key = match inner.cache.get(&lookup).await {
            Some(entry) if entry.is_fresh(inner.clock.now(), inner.ttl) => {
                inner.counters.hits.fetch_add(1, Ordering::Relaxed);
                inner.metrics.hit(started);
                return Ok(Arc::clone(&entry.snapshot));
            }
            Some(entry) => {
                let key = self.key(query);
                inner.discard(&key, &entry).await;
                key
            }
            None => self.key(query),
        };
        inner.counters.misses.fetch_add(1, Ordering::Relaxed);
        let result = self.load(&key).await;
        inner.metrics.miss(started);
        result
    }

    /// The miss path of [`get`](Self::get).
    async fn load(&self, key: &CacheKey) -> Result<Arc<Snapshot>, CoreError> {
        let (inner, key) = (&self.inner, key.clone());
        inner.remove_pending().await;
        for _ in 0..MAX_STALE_RETRIES {
            let flight = inner.board(&key);
            let load_query = key.query();
            let invalidated = Arc::clone(&flight.invalidated);
            let loaded = inner
                .cache
                .try_get_with_by_ref(&key, async {
                    inner.counters.loads.fetch_add(1, Ordering::Relaxed);
                    let env = inner.source.load(&load_query).await.inspect_err(|_| {
                        inner.counters.load_errors.fetch_add(1, Ordering::Relaxed);
                    })?;
                    Ok::<_, CoreError>(Arc::new(Entry {
                        snapshot: Arc::new(Snapshot::new(env)),
                        loaded_at: inner.clock.now(),
                        invalidated,
                        expired: AtomicBool::new(false),
                    }))
                })
                .await;
            // Leave only after the cache inserted the result: from here on an invalidation finds
            // the entry in the cache instead of the flight.
            inner.leave(&key, &flight);
            let entry = loaded.map_err(CoreError::Shared)?;
            if entry.is_fresh(inner.clock.now(), inner.ttl) {
                return Ok(Arc::clone(&entry.snapshot));
            }
            // An invalidation overlapped the load: what it read may predate the invalidation.
            inner.counters.stale_loads.fetch_add(1, Ordering::Relaxed);
            inner.metrics.stale_load();
            inner.discard(&key, &entry).await;
        }
        // Invalidations keep overlapping every load: answer from a load of our own, uncached.
        let env = inner.source.load(&key.query()).await?;
        Ok(Arc::new(Snapshot::new(env)))
    }

    /// Removes the entry of `key`. Returns whether there was one.
    pub async fn invalidate(&self, key: &CacheKey) -> bool {
        let inner = &self.inner;
        inner.mark_flights(|k| k == key);
        let removed = inner.cache.remove(key).await;
        removed.is_some_and(|entry| {
            let fresh = entry.is_fresh(inner.clock.now(), inner.ttl);
            entry.invalidated.store(true, Ordering::Release);
            fresh
        })
    }

    /// Removes every entry whose key's text form matches `pattern`. Returns how many went.
    pub async fn invalidate_pattern(&self, pattern: &KeyPattern) -> u64 {
        if pattern.is_everything() {
            return self.invalidate_all();
        }
        let pattern = pattern.clone();
        let mut text = String::new();
        self.inner
            .invalidate_where(move |key| {
                text.clear();
                // Writing into a String cannot fail.
                let _ = std::fmt::Write::write_fmt(&mut text, format_args!("{key}"));
                pattern.matches_text(&text)
            })
            .await
    }

    /// Removes every entry. Returns how many went.
    pub fn invalidate_all(&self) -> u64 {
        let count = self.inner.mark_where(|_| true).len();
        // moka drops everything inserted before this call at once, without visiting entries.
        self.inner.cache.invalidate_all();
        lock(&self.inner.pending).clear();
        u64::try_from(count).unwrap_or(u64::MAX)
    }

    /// Removes the entries of the named applications, as the `/monitor` webhook does; `*` (or
    /// `application`, the file every application reads) removes everything. Returns how many went.
    pub async fn invalidate_applications(&self, names: &[String]) -> u64 {
        if names.iter().any(|n| n == "*" || n == vortex_core::DEFAULT_APPLICATION) {
            return self.invalidate_all();
        }
        let names = names.to_vec();
        self.inner.invalidate_where(move |key| names.iter().any(|n| key.names_application(n))).await
    }

    /// Removes the entries that name one of `labels`. Returns how many went.
    pub async fn invalidate_labels(&self, labels: &[String]) -> u64 {
        let labels = labels.to_vec();
        self.inner.invalidate_where(move |key| key.names_any_label(&labels)).await
    }

    /// The keys of the fresh entries, in no particular order.
    pub fn keys(&self) -> Vec<CacheKey> {
        let now = self.inner.clock.now();
        self.inner
            .cache
            .iter()
            .filter(|(_, entry)| entry.is_fresh(now, self.inner.ttl))
            .map(|(key, _)| CacheKey::clone(&key))
            .collect()
    }

    /// Counts and sizes. Runs the cache's pending maintenance first, so that entry counts and
    /// evictions are up to date, and publishes the sizes and hit ratio to the metrics.
    pub async fn stats(&self) -> CacheStats {
        let inner = &self.inner;
        inner.remove_pending().await;
        inner.cache.run_pending_tasks().await;
        let c = &inner.counters;
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let stats = CacheStats {
            entries: inner.cache.entry_count(),
            weighted_size: inner.cache.weighted_size(),
            hits: read(&c.hits),
            misses: read(&c.misses),
            loads: read(&c.loads),
            load_errors: read(&c.load_errors),
            stale_loads: read(&c.stale_loads),
            evictions: Evictions {
                expired: read(&c.expired),
                size: read(&c.size),
                explicit: read(&c.explicit),
                replaced: read(&c.replaced),
            },
        };
        inner.metrics.sizes(stats.entries, stats.weighted_size, stats.hit_ratio());
        stats
    }
}

impl<S: ConfigSource> Inner<S> {
    /// Registers a caller on the miss path of `key`. A flight that an invalidation already marked
    /// is replaced, so that new loads are not born invalidated; its callers keep their handle.
    fn board(&self, key: &CacheKey) -> Arc<Flight> {
        let mut flights = lock(&self.flights);
        let flight = flights
            .entry(key.clone())
            .and_modify(|flight| {
                if flight.invalidated.load(Ordering::Acquire) {
                    *flight = Arc::new(Flight::default());
                }
            })
            .or_default();
        flight.callers.fetch_add(1, Ordering::Relaxed);
        Arc::clone(flight)
    }

    fn leave(&self, key: &CacheKey, flight: &Arc<Flight>) {
        let mut flights = lock(&self.flights);
        let last = flights.get(key).is_some_and(|current| {
            Arc::ptr_eq(current, flight) && current.callers.fetch_sub(1, Ordering::Relaxed) == 1
        });
        if last {
            flights.remove(key);
        }
    }

    fn mark_flights(&self, mut matches: impl FnMut(&CacheKey) -> bool) {
        let flights = lock(&self.flights);
        for (key, flight) in flights.iter() {
            if matches(key) {
                flight.invalidated.store(true, Ordering::Release);
            }
        }
    }

    /// Marks the matching loads that run now and the matching entries, which are never served
    /// again from this point. Returns the entries that were fresh, for their removal.
    fn mark_where(&self, mut matches: impl FnMut(&CacheKey) -> bool) -> Vec<Doomed> {
        // Loads first: a load that leaves after this has put its entry in the cache, where the
        // walk below finds it.
        self.mark_flights(&mut matches);
        let now = self.clock.now();
        let mut doomed = Vec::new();
        for (key, entry) in self.cache.iter() {
            if matches(&key) && !entry.invalidated.swap(true, Ordering::AcqRel) && entry.is_within_ttl(now, self.ttl) {
                doomed.push((key, entry));
            }
        }
        doomed
    }

    /// Marks, then removes, the matching entries. Returns how many fresh entries went.
    async fn invalidate_where(&self, matches: impl FnMut(&CacheKey) -> bool) -> u64 {
        let doomed = self.mark_where(matches);
        let count = u64::try_from(doomed.len()).unwrap_or(u64::MAX);
        for (key, entry) in doomed {
            self.discard(&key, &entry).await;
        }
        count
    }

    /// Marks the matching entries now and leaves their removal to the next miss or statistics
    /// call: for change notifications, which cannot wait.
    fn invalidate_change(&self, change: &SourceChange) -> u64 {
        // A key of several applications is stale when one of them changed.
        let concerned = |key: &CacheKey| key.applications().any(|app| change.concerns_application(app));
        if change.everything {
            let removed = self.invalidate_now(concerned);
            tracing::info!(applications = ?change.applications, removed, "cache: the backend changed");
            removed
        } else {
            let removed = self.invalidate_now(|key| key.names_any_label(&change.labels) && concerned(key));
            let (labels, applications) = (&change.labels, &change.applications);
            tracing::info!(?labels, ?applications, removed, "cache: invalidated moved labels");
            removed
        }
    }

    fn invalidate_now(&self, matches: impl FnMut(&CacheKey) -> bool) -> u64 {
        let doomed = self.mark_where(matches);
        let count = u64::try_from(doomed.len()).unwrap_or(u64::MAX);
        if !doomed.is_empty() {
            lock(&self.pending).extend(doomed);
            self.has_pending.store(true, Ordering::Release);
        }
        count
    }

    /// Removes the entries that [`invalidate_now`](Self::invalidate_now) marked.
    async fn remove_pending(&self) {
        if !self.has_pending.swap(false, Ordering::AcqRel) {
            return;
        }
        let pending = std::mem::take(&mut *lock(&self.pending));
        for (key, entry) in pending {
            self.discard(&key, &entry).await;
        }
    }

    /// Removes `entry` from `key` unless it was already replaced by another.
    async fn discard(&self, key: &CacheKey, entry: &Arc<Entry>) {
        if !entry.invalidated.load(Ordering::Acquire) {
            entry.expired.store(true, Ordering::Relaxed);
        }
        self.cache
            .entry_by_ref(key)
            .and_compute_with(|current| {
                let same = current.is_some_and(|current| Arc::ptr_eq(current.value(), entry));
                std::future::ready(if same { Op::Remove } else { Op::Nop })
            })
            .await;
    }
}

impl Default for Flight {
    fn default() -> Self {
        Self { invalidated: Arc::new(AtomicBool::new(false)), callers: AtomicU64::new(0) }
    }
}

/// An entry's weight in the bound of `units` entries and `max_bytes` bytes: one unit at least,
/// more for an entry larger than its share of the bytes. The sum of weights staying within
/// `units` keeps both the entry count and the byte total within their bounds.
fn weight(bytes: u64, units: u64, max_bytes: u64) -> u32 {
    let scaled = u128::from(bytes) * u128::from(units);
    let units = scaled.div_ceil(u128::from(max_bytes.max(1))).max(1);
    u32::try_from(units).unwrap_or(u32::MAX)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded maps stay consistent even if a holder panicked: every update is one operation.
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl<S: ConfigSource> Decorator for CachedSource<S> {
    fn inner(&self) -> &dyn ConfigSource {
        &self.inner.source
    }

    fn decorate_load<'a>(&'a self, query: &'a ConfigQuery) -> BoxFuture<'a, Result<Environment, CoreError>> {
        Box::pin(async move {
            let snapshot = self.get(query).await?;
            let mut env = snapshot.environment().clone();
            env.label.clone_from(&query.label);
            Ok(env)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::weight;

    #[test]
    fn weights_keep_both_bounds() {
        // 10 units, 1000 bytes: an entry up to 100 bytes weighs one unit.
        assert_eq!(weight(0, 10, 1000), 1);
        assert_eq!(weight(100, 10, 1000), 1);
        assert_eq!(weight(101, 10, 1000), 2);
        assert_eq!(weight(1000, 10, 1000), 10);
        assert_eq!(weight(u64::MAX, u64::MAX, 1), u32::MAX);
        assert_eq!(weight(5, 10, 0), 50);
    }
}
