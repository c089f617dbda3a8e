//! `watch`: clients that wait for a change (`?wait=` long-polls).

use serde::{Deserialize, Serialize};

use crate::validate::Problems;

/// Long-polls: a read with `?wait=<seconds>` and `If-None-Match` is held until its representation
/// changes or the wait ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WatchSettings {
    /// Whether `?wait=` holds requests; `false` answers them at once. Default `true`.
    /// Env `VORTEX__WATCH__ENABLED`.
    pub enabled: bool,
    /// The longest hold, in seconds (1 to 3600), below common 60 s proxy idle timeouts; a random
    /// jitter of up to a sixteenth of it is added. Default `55`. Env `VORTEX__WATCH__MAX_WAIT_SECONDS`.
    pub max_wait_seconds: u64,
    /// Requests held at once (1 to 1,000,000); past it a watch gets 503 with a `Retry-After` of 1 to
    /// 3 s. Default `10000`. Env `VORTEX__WATCH__MAX_WATCHERS`.
    pub max_watchers: usize,
}

impl Default for WatchSettings {
    fn default() -> Self {
        Self { enabled: true, max_wait_seconds: 55, max_watchers: 10_000 }
    }
}

impl WatchSettings {
    /// Adds a problem for every invalid `watch.*` setting.
    pub(crate) fn check(&self, problems: &mut Problems) {
        if !(1..=3600).contains(&self.max_wait_seconds) {
            problems.add("watch.max_wait_seconds", "must be between 1 and 3600".to_owned());
        }
        if !(1..=1_000_000).contains(&self.max_watchers) {
            problems.add("watch.max_watchers", "must be between 1 and 1000000".to_owned());
        }
    }
}
