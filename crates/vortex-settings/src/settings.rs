//! The settings tree: one section per module of [`crate::section`], every field documented with its
//! meaning, unit, default and environment variable. `config/default.yaml` mirrors it key for key.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::section::{
    BackendsSettings, BusSettings, CacheSettings, EncryptSettings, LoggingSettings, MetricsSettings, SecuritySettings,
    ServerSettings, WatchSettings,
};

/// All settings of a Vortex server.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The HTTP listener.
    pub server: ServerSettings,
    /// The response cache.
    pub cache: CacheSettings,
    /// Where configuration comes from.
    pub backends: BackendsSettings,
    /// Log output.
    pub logging: LoggingSettings,
    /// Prometheus metrics.
    pub metrics: MetricsSettings,
    /// Authentication.
    pub security: SecuritySettings,
    /// `{cipher}` values and the `/encrypt` and `/decrypt` endpoints.
    pub encrypt: EncryptSettings,
    /// Spring Cloud Bus on RabbitMQ: change propagation to the other replicas and the Spring services.
    pub bus: BusSettings,
    /// Long-polls: reads that wait for a change.
    pub watch: WatchSettings,
    /// Properties served first in every response, winning over every file of every repository
    /// (Spring's `spring.cloud.config.server.overrides`), written as YAML: nested maps join their
    /// keys with `.`, lists give `key[0]`, ...; every value is served as a string. Default none.
    /// Env `VORTEX__OVERRIDES__<KEY>` (the key lower-cased, `__` for `.`).
    pub overrides: BTreeMap<String, crate::OverrideValue>,
}
