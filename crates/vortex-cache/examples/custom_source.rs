//! A configuration source of your own behind Vortex's response cache: misses load once, hits are
//! served pre-rendered, invalidation by glob makes the next request load again.
//!
//! `cargo run -p vortex-cache --example custom_source`

// Printing is what an example is for.
#![allow(clippy::print_stdout)]

use std::sync::atomic::{AtomicUsize, Ordering};

use indexmap::IndexMap;
use vortex_cache::{CacheOptions, CachedSource, KeyPattern};
use vortex_core::snapshot::Representation;
use vortex_core::{
    BoxFuture, ConfigQuery, ConfigSource, CoreError, Environment, HealthStatus, Property, PropertySource, Resource,
    SourceHealth, Value,
};

/// A source that makes its answers up, and counts how often it is asked.
#[derive(Default)]
struct Generated {
    loads: AtomicUsize,
}

impl ConfigSource for Generated {
    fn load<'a>(&'a self, query: &'a ConfigQuery) -> BoxFuture<'a, Result<Environment, CoreError>> {
        let load = self.loads.fetch_add(1, Ordering::Relaxed) + 1;
        let mut properties = IndexMap::new();
        properties.insert("greeting".to_owned(), Property::new(format!("hello, {}", query.application)));
        properties.insert("load".to_owned(), Property::new(Value::Int(i64::try_from(load).unwrap_or(i64::MAX))));
        let env = Environment {
            name: query.application.clone(),
            profiles: vec![query.profiles_joined()],
            label: query.label.clone(),
            version: None,
            state: None,
            property_sources: vec![PropertySource::new("generated:example", properties)],
        };
        Box::pin(std::future::ready(Ok(env)))
    }

    fn resource<'a>(&'a self, _: &'a ConfigQuery, path: &'a str) -> BoxFuture<'a, Result<Resource, CoreError>> {
        Box::pin(std::future::ready(Err(CoreError::NoSuchResource { path: path.to_owned() })))
    }

    fn health(&self) -> SourceHealth {
        SourceHealth { status: HealthStatus::Up, ready: true, details: serde_json::Value::Null }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), CoreError> {
    let cache = CachedSource::new(Generated::default(), CacheOptions::default());
    let json = Representation::Environment { origins: false, label_in_request: false };
    let query = ConfigQuery::parse("orders", "prod", None)?;
    for _ in 0..3 {
        let snapshot = cache.get(&query).await?;
        let rendering = snapshot.render(json)?;
        println!("{} ETag {}", String::from_utf8_lossy(rendering.body()), String::from_utf8_lossy(rendering.etag()));
    }
    println!("loads after three requests: {}", cache.source().loads.load(Ordering::Relaxed));

    let pattern =
        KeyPattern::new("orders:*").map_err(|e| CoreError::InvalidInput { what: "pattern", reason: e.to_string() })?;
    println!("invalidated: {}", cache.invalidate_pattern(&pattern).await);
    cache.get(&query).await?;
    println!("loads after invalidation and one more request: {}", cache.source().loads.load(Ordering::Relaxed));
    let stats = cache.stats().await;
    println!("hits {}, misses {}", stats.hits, stats.misses);
    Ok(())
}
