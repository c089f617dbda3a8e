//! The response cache behind one type, whether or not this build has it (feature `cache`): with
//! the feature off every method is a no-op that says so, so no other module needs a `cfg`.

use std::sync::Arc;

use serde_json::{Value, json};
use vortex_core::snapshot::Snapshot;
use vortex_core::{ConfigQuery, ConfigSource, CoreError};

use crate::error::ApiError;

/// The cache options a builder was given: none, or (feature `cache`) the moka cache's.
#[derive(Clone, Default)]
pub(crate) struct CacheConfig {
    #[cfg(feature = "cache")]
    pub(crate) options: Option<vortex_cache::CacheOptions>,
}

impl CacheConfig {
    /// The cache `cache.enabled` asks for, when this build has one.
    pub(crate) fn from_settings(settings: &vortex_settings::CacheSettings) -> Self {
        #[cfg(feature = "cache")]
        if settings.enabled {
            return Self {
                options: Some(vortex_cache::CacheOptions {
                    ttl: std::time::Duration::from_secs(settings.ttl_seconds),
                    time_to_idle: settings.time_to_idle_seconds.map(std::time::Duration::from_secs),
                    max_capacity: settings.max_capacity,
                    max_bytes: settings.max_bytes,
                    clock: vortex_cache::Clock::system(),
                    metrics: vortex_metrics::CacheMetrics::default(),
                }),
            };
        }
        let _ = settings;
        Self::default()
    }
}

/// The response cache of a server, or nothing.
#[derive(Clone, Default)]
pub(crate) struct Cache {
    #[cfg(feature = "cache")]
    pub(crate) inner: Option<vortex_cache::CachedSource<Arc<dyn ConfigSource>>>,
}

impl Cache {
    /// A cache in front of `source` when `config` asks for one, its metrics in `metrics`.
    pub(crate) fn new(config: CacheConfig, source: &Arc<dyn ConfigSource>, metrics: &vortex_metrics::Metrics) -> Self {
        #[cfg(feature = "cache")]
        {
            let inner = config.options.map(|options| {
                let options = vortex_cache::CacheOptions { metrics: metrics.cache(), ..options };
                vortex_cache::CachedSource::new(Arc::clone(source), options)
            });
            Self { inner }
        }
        #[cfg(not(feature = "cache"))]
        {
            let _ = (config, source, metrics);
            Self {}
        }
    }

    /// The snapshot for `query` from the cache; `None` without a cache.
    pub(crate) async fn get(&self, query: &ConfigQuery) -> Option<Result<Arc<Snapshot>, CoreError>> {
        #[cfg(feature = "cache")]
        if let Some(cache) = &self.inner {
            return Some(cache.get(query).await);
        }
        let _ = query;
        None
    }

    /// `GET /cache`: the statistics, and the keys with `keys`.
    pub(crate) async fn stats(&self, keys: bool) -> Value {
        #[cfg(feature = "cache")]
        if let Some(cache) = &self.inner {
            let stats = cache.stats().await;
            let mut body = json!({
                "enabled": true,
                "entries": stats.entries,
                "weightedSize": stats.weighted_size,
                "hits": stats.hits,
                "misses": stats.misses,
                "hitRatio": stats.hit_ratio(),
                "loads": stats.loads,
                "loadErrors": stats.load_errors,
                "staleLoads": stats.stale_loads,
                "evictions": {
                    "expired": stats.evictions.expired,
                    "size": stats.evictions.size,
                    "explicit": stats.evictions.explicit,
                    "replaced": stats.evictions.replaced,
                },
            });
            if keys {
                let mut keys: Vec<String> = cache.keys().iter().map(ToString::to_string).collect();
                keys.sort_unstable();
                body["keys"] = json!(keys);
            }
            return body;
        }
        let _ = keys;
        json!({ "enabled": false })
    }

    /// Brings the cache's size metrics up to date (before an exposition).
    pub(crate) async fn update_sizes(&self) {
        #[cfg(feature = "cache")]
        if let Some(cache) = &self.inner {
            cache.stats().await;
        }
    }

    /// `DELETE /cache?pattern=`: removes the matching entries.
    pub(crate) async fn invalidate_pattern(&self, pattern: &str) -> Result<Value, ApiError> {
        #[cfg(feature = "cache")]
        if let Some(cache) = &self.inner {
            let glob = vortex_cache::KeyPattern::new(pattern).map_err(invalid)?;
            let removed = cache.invalidate_pattern(&glob).await;
            tracing::info!(%pattern, removed, "admin API: cache entries invalidated by pattern");
            return Ok(json!({ "pattern": pattern, "removed": removed }));
        }
        Ok(json!({ "pattern": pattern, "removed": 0, "enabled": false }))
    }

    /// `DELETE /cache/{key}`: removes one entry.
    pub(crate) async fn invalidate_key(&self, key: &str) -> Result<Value, ApiError> {
        #[cfg(feature = "cache")]
        if let Some(cache) = &self.inner {
            let parsed = cache.parse_key(key).map_err(invalid)?;
            let removed = u64::from(cache.invalidate(&parsed).await);
            tracing::info!(key = %parsed, removed, "admin API: cache entry invalidated");
            return Ok(json!({ "key": parsed.to_string(), "removed": removed }));
        }
        Ok(json!({ "key": key, "removed": 0, "enabled": false }))
    }

    /// Removes every entry of the applications `names` (`*` for all); how many went.
    /// Removes what `change` made stale (see [`vortex_cache::CachedSource::invalidate_change`]).
    pub(crate) fn invalidate_change(&self, change: &vortex_core::SourceChange) -> u64 {
        #[cfg(feature = "cache")]
        if let Some(cache) = &self.inner {
            return cache.invalidate_change(change);
        }
        let _ = change;
        0
    }

    pub(crate) async fn invalidate_applications(&self, names: &[String]) -> u64 {
        #[cfg(feature = "cache")]
        if let Some(cache) = &self.inner {
            return cache.invalidate_applications(names).await;
        }
        let _ = names;
        0
    }
}

#[cfg(feature = "cache")]
fn invalid(err: impl std::fmt::Display) -> ApiError {
    ApiError::new(crate::error::ErrorCode::InvalidRequest, err.to_string())
}
