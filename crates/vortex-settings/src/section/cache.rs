//! `cache`: the response cache's bounds and expiry.

use serde::{Deserialize, Serialize};

use crate::validate::Problems;

/// The response cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheSettings {
    /// Whether responses are cached. Default `true`. Env `VORTEX__CACHE__ENABLED`.
    pub enabled: bool,
    /// How long an entry lives, in seconds; must be > 0 (no infinite cache). Default `300`.
    /// Env `VORTEX__CACHE__TTL_SECONDS`.
    pub ttl_seconds: u64,
    /// Most entries kept; must be > 0. Default `10000`. Env `VORTEX__CACHE__MAX_CAPACITY`.
    pub max_capacity: u64,
    /// Most memory kept, in bytes, by an estimate of each entry's size (twice its text: the
    /// environment and its renderings); `null` for no byte bound. Default `268435456` (256 MiB):
    /// ten thousand typical entries of 10 KB fit, and one reader asking for many variants of a
    /// large application cannot push the cache past it. Env `VORTEX__CACHE__MAX_BYTES`.
    pub max_bytes: Option<u64>,
    /// Drop an entry not read for this many seconds; `null` to keep it until its TTL.
    /// Default `null`. Env `VORTEX__CACHE__TIME_TO_IDLE_SECONDS`.
    pub time_to_idle_seconds: Option<u64>,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            ttl_seconds: 300,
            max_capacity: 10_000,
            max_bytes: Some(256 * 1024 * 1024),
            time_to_idle_seconds: None,
        }
    }
}

impl CacheSettings {
    /// Adds a problem for every invalid `cache.*` setting.
    pub(crate) fn check(&self, problems: &mut Problems) {
        if self.ttl_seconds == 0 {
            problems.add(
                "cache.ttl_seconds",
                "must be greater than 0 (an infinite cache would never see changes)".to_owned(),
            );
        }
        if self.max_capacity == 0 {
            problems.add("cache.max_capacity", "must be greater than 0".to_owned());
        }
        if self.max_bytes == Some(0) {
            problems.add("cache.max_bytes", "must be greater than 0, or null for no byte bound".to_owned());
        }
        if self.time_to_idle_seconds == Some(0) {
            problems.add("cache.time_to_idle_seconds", "must be greater than 0, or null for none".to_owned());
        }
    }
}
