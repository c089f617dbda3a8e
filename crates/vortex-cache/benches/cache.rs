//! The cache's own costs: a hit, a miss with a load, an insert, building a key, and invalidation by
//! key and by pattern at 1k, 10k and 100k entries. The source is in memory and hands out one shared
//! set of properties, so the figures are the cache's alone.
//!
//! `cargo bench -p vortex-cache --bench cache`

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use indexmap::IndexMap;
use vortex_cache::{CacheOptions, CachedSource, KeyPattern};
use vortex_core::snapshot::Representation;
use vortex_core::{
    BoxFuture, ConfigQuery, ConfigSource, CoreError, Environment, HealthStatus, Property, PropertySource, Resource,
    SourceHealth,
};

/// Environments of about 4 KB: 100 properties of some 40 bytes each, parsed once and shared by
/// every environment, as a backend's document cache shares them.
struct MemorySource {
    source: PropertySource,
}

impl MemorySource {
    fn new() -> Self {
        let mut source = IndexMap::new();
        for i in 0..100 {
            source.insert(format!("service.setting{i}.name"), Property::new(format!("value-{i}-abcdefghij")));
        }
        Self { source: PropertySource::new("memory:application.yml", source) }
    }
}

impl ConfigSource for MemorySource {
    fn load<'a>(&'a self, query: &'a ConfigQuery) -> BoxFuture<'a, Result<Environment, CoreError>> {
        let env = Environment {
            name: query.application.clone(),
            profiles: vec![query.profiles_joined()],
            label: query.label.clone(),
            version: Some("0123456789abcdef0123456789abcdef01234567".to_owned()),
            state: None,
            property_sources: vec![self.source.clone()],
        };
        Box::pin(std::future::ready(Ok(env)))
    }

    fn resource<'a>(&'a self, _: &'a ConfigQuery, path: &'a str) -> BoxFuture<'a, Result<Resource, CoreError>> {
        Box::pin(std::future::ready(Err(CoreError::NoSuchResource { path: path.to_owned() })))
    }

    fn health(&self) -> SourceHealth {
        SourceHealth { status: HealthStatus::Up, ready: true, details: serde_json::Value::Null }
    }

    fn default_label(&self) -> Option<&str> {
        Some("main")
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn cache(capacity: u64) -> CachedSource<MemorySource> {
    CachedSource::new(MemorySource::new(), CacheOptions { max_capacity: capacity, ..CacheOptions::default() })
}

fn hit_and_miss(c: &mut Criterion) {
    let rt = runtime();
    let cache = cache(10_000);
    let query = ConfigQuery::parse("orders", "prod", None).unwrap();
    let json = Representation::Environment { origins: false, label_in_request: false };
    rt.block_on(cache.get(&query)).unwrap().render(json).unwrap();
    let mut group = c.benchmark_group("cache");
    group.bench_function("hit", |b| {
        b.iter(|| {
            let snapshot = rt.block_on(cache.get(black_box(&query))).unwrap();
            black_box(snapshot.render(json).unwrap().body().clone())
        });
    });
    group.bench_function("miss_with_load_and_render", |b| {
        let key = cache.key(&query);
        b.iter(|| {
            rt.block_on(cache.invalidate(&key));
            let snapshot = rt.block_on(cache.get(black_box(&query))).unwrap();
            black_box(snapshot.render(json).unwrap().body().clone())
        });
    });
    // An insert: a miss for a new key whose load is a clone of shared data, so what is timed is
    // the key, the lookup, the load's bookkeeping and the insert. Keys are made beforehand, and
    // the cache is emptied between batches, outside the timing.
    group.bench_function("insert", |b| {
        b.iter_custom(|iters| {
            let queries: Vec<ConfigQuery> =
                (0..iters).map(|i| ConfigQuery::parse(&format!("new{i}"), "prod", None).unwrap()).collect();
            let started = Instant::now();
            rt.block_on(async {
                for query in &queries {
                    black_box(cache.get(query).await.unwrap());
                }
            });
            let elapsed = started.elapsed();
            cache.invalidate_all();
            elapsed
        });
    });
    group.bench_function("key", |b| b.iter(|| black_box(cache.key(black_box(&query)))));
    group.finish();
}

fn invalidation(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("cache_invalidation");
    group.measurement_time(Duration::from_secs(3));
    for size in [1_000u64, 10_000, 100_000] {
        let cache = cache(size * 2);
        let queries: Vec<ConfigQuery> =
            (0..size).map(|i| ConfigQuery::parse(&format!("app{i}"), "prod", None).unwrap()).collect();
        rt.block_on(async {
            for q in &queries {
                cache.get(q).await.unwrap();
            }
        });
        // Each timed invalidation removes a present entry: it is put back, untimed, before each.
        group.bench_with_input(BenchmarkId::new("by_key", size), &size, |b, _| {
            let key = cache.key(&queries[0]);
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    rt.block_on(cache.get(&queries[0])).unwrap();
                    let started = Instant::now();
                    black_box(rt.block_on(cache.invalidate(black_box(&key))));
                    total += started.elapsed();
                }
                total
            });
        });
        // One application out of `size`: the cost is the walk over every key.
        let pattern = KeyPattern::new("app7:*").unwrap();
        group.bench_with_input(BenchmarkId::new("by_pattern", size), &size, |b, _| {
            b.iter(|| black_box(rt.block_on(cache.invalidate_pattern(black_box(&pattern)))));
        });
        // The same walk as the `/monitor` webhook makes it: by application name, no glob.
        let names = vec!["app7".to_owned()];
        group.bench_with_input(BenchmarkId::new("by_application", size), &size, |b, _| {
            b.iter(|| black_box(rt.block_on(cache.invalidate_applications(black_box(&names)))));
        });
    }
    group.finish();
}

criterion_group!(benches, hit_and_miss, invalidation);
criterion_main!(benches);
