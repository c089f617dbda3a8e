//! `bus`: Spring Cloud Bus on RabbitMQ, shared with the Spring services and the other replicas.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::Secret;
use crate::validate::Problems;

/// Spring Cloud Bus over AMQP (RabbitMQ): replicas tell each other about changes, and Spring
/// services with `spring-cloud-starter-bus-amqp` are told to refresh once every replica serves
/// the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BusSettings {
    /// Whether this replica joins the bus. Default `false`. Env `VORTEX__BUS__ENABLED`.
    pub enabled: bool,
    /// The broker.
    pub amqp: AmqpSettings,
    /// The exchange shared with the Spring services (Spring's `spring.cloud.bus.destination`).
    /// Default `springCloudBus`. Env `VORTEX__BUS__DESTINATION`.
    pub destination: String,
    /// This replica's bus id, the `originService` of what it sends; unique per replica and never
    /// a pattern (no `*`, `?`, `{`, `}`). Default `vortex:<host name>:<server.port>:<random>`.
    /// Env `VORTEX__BUS__ID`.
    pub id: Option<String>,
    /// How long a replica that saw a change waits for its peers to fetch it before telling the
    /// Spring services anyway, in milliseconds (1 to 60000). Default `2000`.
    /// Env `VORTEX__BUS__PEER_TIMEOUT_MS`.
    pub peer_timeout_ms: u64,
    /// How often a replica tells its peers it is alive, in seconds (1 to 3600); a peer unheard of
    /// for three times this is no longer waited for. Default `30`. Env `VORTEX__BUS__HEARTBEAT_SECONDS`.
    pub heartbeat_seconds: u64,
}

impl Default for BusSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            amqp: AmqpSettings::default(),
            destination: "springCloudBus".to_owned(),
            id: None,
            peer_timeout_ms: 2000,
            heartbeat_seconds: 30,
        }
    }
}

/// The AMQP broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AmqpSettings {
    /// `amqp://user:password@host:port/vhost` (the virtual host `/` is written `%2f`; user and
    /// password default to `guest`, the port to 5672). Shown with its password redacted.
    /// Default `amqp://guest:guest@localhost:5672/%2f`. Env `VORTEX__BUS__AMQP__URI`.
    pub uri: String,
    /// The broker password, instead of the URI's; never logged. Default none.
    /// Env `VORTEX__BUS__AMQP__PASSWORD`.
    pub password: Option<Secret>,
    /// File holding the broker password, instead of `password`. Default none.
    /// Env `VORTEX__BUS__AMQP__PASSWORD_FILE`.
    pub password_file: Option<PathBuf>,
    /// How long one connection attempt may take, in milliseconds (100 to 60000); the replica
    /// retries with backoff up to 5 s between attempts. Default `5000`.
    /// Env `VORTEX__BUS__AMQP__CONNECT_TIMEOUT_MS`.
    pub connect_timeout_ms: u64,
}

impl Default for AmqpSettings {
    fn default() -> Self {
        Self {
            uri: "amqp://guest:guest@localhost:5672/%2f".to_owned(),
            password: None,
            password_file: None,
            connect_timeout_ms: 5000,
        }
    }
}

impl BusSettings {
    /// Adds a problem for every invalid `bus.*` setting (checked whether or not the bus is on, so
    /// that turning it on later does not reveal old mistakes).
    pub(crate) fn check(&self, problems: &mut Problems) {
        let uri = &self.amqp.uri;
        if uri.starts_with("amqps://") {
            problems.add("bus.amqp.uri", "amqps:// is not supported: use amqp:// on a private network".to_owned());
        } else if !uri.starts_with("amqp://") || uri.len() <= "amqp://".len() {
            problems.add("bus.amqp.uri", "must be amqp://user:password@host:port/vhost".to_owned());
        }
        if !(100..=60_000).contains(&self.amqp.connect_timeout_ms) {
            problems.add("bus.amqp.connect_timeout_ms", "must be between 100 and 60000".to_owned());
        }
        let destination = &self.destination;
        if destination.is_empty()
            || destination.len() > 255
            || destination.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            problems.add("bus.destination", "must be 1 to 255 characters without spaces".to_owned());
        }
        if let Some(id) = &self.id {
            if id.is_empty() || id.len() > 255 {
                problems.add("bus.id", "must be 1 to 255 characters".to_owned());
            } else if id.chars().any(|c| matches!(c, '*' | '?' | '{' | '}') || c.is_whitespace() || c.is_control()) {
                problems.add(
                    "bus.id",
                    "must not be a pattern: no `*`, `?`, `{`, `}` or spaces (Spring services match ids as patterns)"
                        .to_owned(),
                );
            }
        }
        if !(1..=60_000).contains(&self.peer_timeout_ms) {
            problems.add("bus.peer_timeout_ms", "must be between 1 and 60000".to_owned());
        }
        if !(1..=3600).contains(&self.heartbeat_seconds) {
            problems.add("bus.heartbeat_seconds", "must be between 1 and 3600".to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::Settings;

    fn problems(settings: &Settings) -> Vec<String> {
        settings.check().into_iter().map(|(key, message)| format!("{key}: {message}")).collect()
    }

    #[test]
    fn every_bus_problem_is_named() {
        let mut settings = Settings::default();
        settings.bus.enabled = true;
        settings.bus.amqp.uri = "amqps://u:secret@h".to_owned();
        settings.bus.amqp.connect_timeout_ms = 0;
        settings.bus.destination = "spring cloud bus".to_owned();
        settings.bus.id = Some("vortex:*".to_owned());
        settings.bus.peer_timeout_ms = 30_000;
        settings.bus.heartbeat_seconds = 0;
        let found = problems(&settings);
        for key in [
            "bus.amqp.uri:",
            "bus.amqp.connect_timeout_ms:",
            "bus.destination:",
            "bus.id: must not be a pattern",
            "bus.peer_timeout_ms: must be below server.request_timeout_seconds (30000 ms)",
            "bus.heartbeat_seconds:",
        ] {
            assert!(found.iter().any(|p| p.starts_with(key)), "{key} in {found:#?}");
        }
        assert!(found.iter().all(|p| !p.contains("secret")), "{found:#?}");
        assert!(problems(&Settings::default()).iter().all(|p| !p.starts_with("bus.")));
    }
}
