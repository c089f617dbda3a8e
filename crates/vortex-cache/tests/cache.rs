//! Behaviour of `CachedSource` against a source that counts its loads and can hold them.

// Test helpers panic on failure: that is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indexmap::IndexMap;
use tokio::sync::Semaphore;
use vortex_cache::{CacheOptions, CachedSource, Clock, KeyPattern};
use vortex_core::snapshot::Representation;
use vortex_core::{
    BoxFuture, ChangeListener, ConfigQuery, ConfigSource, CoreError, Environment, ErrorKind, HealthStatus, Property,
    PropertySource, Resource, SourceChange, SourceHealth,
};

/// A source whose environments carry `generation`, the number of the content's version.
#[derive(Default)]
struct TestSource {
    loads: AtomicU64,
    generation: AtomicU64,
    fail: AtomicBool,
    /// When set, every load waits for a permit after it has read the generation.
    gate: Mutex<Option<Arc<Semaphore>>>,
    listeners: Mutex<Vec<ChangeListener>>,
}

impl TestSource {
    fn loads(&self) -> u64 {
        self.loads.load(Ordering::SeqCst)
    }

    fn hold_loads(&self) -> Arc<Semaphore> {
        let gate = Arc::new(Semaphore::new(0));
        *self.gate.lock().unwrap() = Some(Arc::clone(&gate));
        gate
    }

    fn change(&self, labels: &[&str]) {
        let change = SourceChange::of_labels(labels.iter().map(|l| (*l).to_owned()).collect());
        for listener in self.listeners.lock().unwrap().iter() {
            listener(&change);
        }
    }
}

impl ConfigSource for TestSource {
    fn load<'a>(&'a self, query: &'a ConfigQuery) -> BoxFuture<'a, Result<Environment, CoreError>> {
        Box::pin(async move {
            self.loads.fetch_add(1, Ordering::SeqCst);
            // The content is read first, then the load is held: like a git load that resolved its
            // commit and is still reading blobs.
            let generation = self.generation.load(Ordering::SeqCst);
            let gate = self.gate.lock().unwrap().clone();
            if let Some(gate) = gate {
                gate.acquire().await.unwrap().forget();
            }
            if self.fail.load(Ordering::SeqCst) {
                return Err(CoreError::Backend {
                    kind: ErrorKind::Unavailable,
                    message: "down".to_owned(),
                    source: None,
                });
            }
            let mut source = IndexMap::new();
            source.insert("generation".to_owned(), Property::new(generation.to_string()));
            source.insert("padding".to_owned(), Property::new("x".repeat(1000)));
            Ok(Environment {
                name: query.application.clone(),
                profiles: vec![query.profiles_joined()],
                label: query.label.clone(),
                version: None,
                state: None,
                property_sources: vec![PropertySource::new("test", source)],
            })
        })
    }

    fn resource<'a>(&'a self, _: &'a ConfigQuery, path: &'a str) -> BoxFuture<'a, Result<Resource, CoreError>> {
        Box::pin(async move { Err(CoreError::NoSuchResource { path: path.to_owned() }) })
    }

    fn health(&self) -> SourceHealth {
        SourceHealth { status: HealthStatus::Up, ready: true, details: serde_json::Value::Null }
    }

    fn default_label(&self) -> Option<&str> {
        Some("main")
    }

    fn subscribe(&self, listener: ChangeListener) {
        self.listeners.lock().unwrap().push(listener);
    }
}

fn cache(options: CacheOptions) -> (Arc<TestSource>, CachedSource<Arc<TestSource>>) {
    let source = Arc::new(TestSource::default());
    (Arc::clone(&source), CachedSource::new(source, options))
}

fn query(app: &str, profiles: &str, label: Option<&str>) -> ConfigQuery {
    ConfigQuery::parse(app, profiles, label).unwrap()
}

async fn generation(cache: &CachedSource<Arc<TestSource>>, q: &ConfigQuery) -> String {
    let snapshot = cache.get(q).await.unwrap();
    snapshot.environment().get("generation").unwrap().to_string()
}

#[tokio::test]
async fn a_miss_loads_once_then_hits() {
    let (source, cache) = cache(CacheOptions::default());
    let q = query("orders", "dev", None);
    let first = cache.get(&q).await.unwrap();
    let second = cache.get(&q).await.unwrap();
    assert!(Arc::ptr_eq(&first, &second), "a hit returns the same snapshot");
    assert_eq!(source.loads(), 1);
    let stats = cache.stats().await;
    assert_eq!((stats.hits, stats.misses, stats.loads, stats.entries), (1, 1, 1, 1));
    assert!((stats.hit_ratio() - 0.5).abs() < f64::EPSILON);
}

#[tokio::test]
async fn missing_and_explicit_default_label_share_an_entry_but_not_profile_orders() {
    let (source, cache) = cache(CacheOptions::default());
    cache.get(&query("orders", "dev,db", None)).await.unwrap();
    let explicit = cache.get(&query("orders", "dev,db", Some("main"))).await.unwrap();
    assert_eq!(source.loads(), 1);
    assert_eq!(explicit.environment().label.as_deref(), Some("main"), "loaded for the key's label");
    cache.get(&query("orders", "db,dev", None)).await.unwrap();
    assert_eq!(source.loads(), 2);
    let mut keys: Vec<String> = cache.keys().iter().map(ToString::to_string).collect();
    keys.sort();
    assert_eq!(keys, ["orders:db,dev:main", "orders:dev,db:main"]);
    // Through the ConfigSource interface the label is the query's again.
    assert_eq!(cache.load(&query("orders", "dev,db", None)).await.unwrap().label, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_misses_share_one_load() {
    let (source, cache) = cache(CacheOptions::default());
    let gate = source.hold_loads();
    let q = query("orders", "dev", None);
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let (cache, q) = (cache.clone(), q.clone());
            tokio::spawn(async move { cache.get(&q).await.map(|s| Arc::as_ptr(&s) as usize) })
        })
        .collect();
    // Let every task reach the cache while the one load is held.
    while source.loads() == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    gate.add_permits(1000);
    let mut snapshots = std::collections::HashSet::new();
    for task in tasks {
        snapshots.insert(task.await.unwrap().unwrap());
    }
    assert_eq!(source.loads(), 1, "64 concurrent misses, one load");
    assert_eq!(snapshots.len(), 1, "every caller got the same snapshot");
    assert_eq!(cache.stats().await.misses, 64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn errors_are_shared_by_waiters_and_never_cached() {
    let (source, cache) = cache(CacheOptions::default());
    source.fail.store(true, Ordering::SeqCst);
    let gate = source.hold_loads();
    let q = query("orders", "dev", None);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (cache, q) = (cache.clone(), q.clone());
            tokio::spawn(async move { cache.get(&q).await.map(|_| ()) })
        })
        .collect();
    while source.loads() == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    gate.add_permits(1000);
    for task in tasks {
        let err = task.await.unwrap().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert_eq!(err.to_string(), "down");
    }
    assert_eq!(source.loads(), 1);
    source.fail.store(false, Ordering::SeqCst);
    assert_eq!(generation(&cache, &q).await, "0");
    assert_eq!(source.loads(), 2, "the error was not cached");
    let stats = cache.stats().await;
    assert_eq!(stats.load_errors, 1);
}

#[tokio::test]
async fn entries_expire_after_the_ttl_by_the_cache_clock() {
    let clock = Clock::adjustable();
    let options = CacheOptions { ttl: Duration::from_secs(60), clock: clock.clone(), ..CacheOptions::default() };
    let (source, cache) = cache(options);
    let q = query("orders", "dev", None);
    cache.get(&q).await.unwrap();
    clock.advance(Duration::from_secs(59));
    cache.get(&q).await.unwrap();
    assert_eq!(source.loads(), 1, "still fresh one second before the ttl");
    source.generation.store(1, Ordering::SeqCst);
    clock.advance(Duration::from_secs(1));
    assert_eq!(generation(&cache, &q).await, "1", "expired at the ttl and loaded again");
    assert_eq!(source.loads(), 2);
    let stats = cache.stats().await;
    assert_eq!(stats.evictions.expired, 1);
    assert_eq!(stats.evictions.explicit, 0);
    assert_eq!(cache.keys().len(), 1);
}

#[tokio::test]
async fn time_to_idle_drops_entries_nobody_reads() {
    let options = CacheOptions { time_to_idle: Some(Duration::from_millis(200)), ..CacheOptions::default() };
    let (source, cache) = cache(options);
    let q = query("orders", "dev", None);
    cache.get(&q).await.unwrap();
    // moka's own clock drives idleness: this is the one test that sleeps.
    tokio::time::sleep(Duration::from_millis(400)).await;
    cache.get(&q).await.unwrap();
    assert_eq!(source.loads(), 2);
}

#[tokio::test]
async fn the_entry_bound_holds() {
    let options = CacheOptions { max_capacity: 10, ..CacheOptions::default() };
    let (_, cache) = cache(options);
    for i in 0..200 {
        cache.get(&query(&format!("app{i}"), "dev", None)).await.unwrap();
    }
    let stats = cache.stats().await;
    assert!(stats.entries <= 10, "{stats:?}");
    assert!(stats.evictions.size >= 190, "{stats:?}");
}

#[tokio::test]
async fn the_byte_bound_holds() {
    // Each entry is estimated at a few kilobytes: a 20 kB bound keeps only a handful of 1,000.
    let options = CacheOptions { max_capacity: 1000, max_bytes: Some(20_000), ..CacheOptions::default() };
    let (_, cache) = cache(options);
    let one = cache.get(&query("probe", "dev", None)).await.unwrap().estimated_bytes();
    for i in 0..200 {
        cache.get(&query(&format!("app{i}"), "dev", None)).await.unwrap();
    }
    let stats = cache.stats().await;
    assert!(stats.entries * one <= 20_000 + one, "{stats:?}, {one} bytes each");
    assert!(stats.entries >= 1, "{stats:?}");
    assert!(stats.evictions.size > 150, "{stats:?}");
}

#[tokio::test]
async fn invalidation_by_key_pattern_application_and_everything() {
    let (source, cache) = cache(CacheOptions::default());
    for (app, profiles) in [("orders", "dev"), ("orders", "prod"), ("payments", "prod"), ("shared,orders", "dev")] {
        cache.get(&query(app, profiles, None)).await.unwrap();
    }
    let key = cache.parse_key("orders:dev").unwrap();
    assert!(cache.invalidate(&key).await);
    assert!(!cache.invalidate(&key).await, "already gone");
    assert_eq!(cache.invalidate_pattern(&KeyPattern::new("*:prod:*").unwrap()).await, 2);
    assert_eq!(cache.keys().len(), 1);
    assert_eq!(cache.invalidate_applications(&["orders".to_owned()]).await, 1, "shared,orders names orders");
    cache.get(&query("orders", "dev", None)).await.unwrap();
    cache.get(&query("payments", "dev", None)).await.unwrap();
    assert_eq!(cache.invalidate_applications(&["*".to_owned()]).await, 2);
    assert!(cache.keys().is_empty());
    let loads = source.loads();
    cache.get(&query("orders", "dev", None)).await.unwrap();
    assert_eq!(source.loads(), loads + 1, "an invalidated key loads again");
    assert_eq!(cache.invalidate_all(), 1);
    let stats = cache.stats().await;
    assert_eq!(stats.evictions.explicit, 7, "{stats:?}");
    assert_eq!(stats.evictions.replaced, 0, "{stats:?}");
}

#[tokio::test]
async fn a_source_change_invalidates_the_moved_labels_only() {
    let (source, cache) = cache(CacheOptions::default());
    cache.get(&query("orders", "dev", None)).await.unwrap();
    cache.get(&query("orders", "dev", Some("v1"))).await.unwrap();
    cache.get(&query("orders", "dev", Some("v1,main"))).await.unwrap();
    source.generation.store(1, Ordering::SeqCst);
    source.change(&["main"]);
    let mut keys: Vec<String> = cache.keys().iter().map(ToString::to_string).collect();
    keys.sort();
    assert_eq!(keys, ["orders:dev:v1"]);
    assert_eq!(generation(&cache, &query("orders", "dev", Some("main"))).await, "1");
    assert_eq!(generation(&cache, &query("orders", "dev", Some("v1"))).await, "0");
}

/// The invariant: a load that read old content and finishes after an invalidation returned must
/// not be answered, now or later.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_load_overlapping_an_invalidation_is_never_served() {
    for invalidate in ["key", "pattern", "change"] {
        let (source, cache) = cache(CacheOptions::default());
        let q = query("orders", "dev", None);
        let gate = source.hold_loads();
        let reader = {
            let (cache, q) = (cache.clone(), q.clone());
            tokio::spawn(async move { generation(&cache, &q).await })
        };
        while source.loads() == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // The load has read generation 0 and is held. The content changes and is invalidated.
        source.generation.store(1, Ordering::SeqCst);
        match invalidate {
            "key" => {
                cache.invalidate(&cache.key(&q)).await;
            }
            "pattern" => {
                cache.invalidate_pattern(&KeyPattern::new("orders:*").unwrap()).await;
            }
            _ => source.change(&["main"]),
        }
        gate.add_permits(1000);
        assert_eq!(reader.await.unwrap(), "1", "{invalidate}: the request reloads instead of answering old content");
        assert_eq!(generation(&cache, &q).await, "1", "{invalidate}: the cache holds no old content");
        assert_eq!(cache.stats().await.stale_loads, 1, "{invalidate}");
    }
}

#[tokio::test]
async fn snapshots_render_once_per_representation() {
    let (_, cache) = cache(CacheOptions::default());
    let q = query("orders", "dev", None);
    let repr = Representation::Environment { origins: false, label_in_request: false };
    let first = cache.get(&q).await.unwrap();
    let a = first.render(repr).unwrap().body().clone();
    let b = cache.get(&q).await.unwrap().render(repr).unwrap().body().clone();
    assert_eq!(a.as_ptr(), b.as_ptr(), "a hit reuses the rendered bytes");
}
