//! The sections of the settings tree, each with its structs, defaults and checks.

mod backends;
mod bus;
mod cache;
mod encrypt;
mod logging;
mod metrics;
mod security;
mod server;
mod watch;

pub use backends::{BackendsSettings, GitRepoSettings, GitSettings, NativeSettings};
pub use bus::{AmqpSettings, BusSettings};
pub use cache::CacheSettings;
pub use encrypt::EncryptSettings;
pub use logging::{LogFormat, LoggingSettings};
pub use metrics::MetricsSettings;
pub(crate) use security::check_clients;
pub use security::{AuditSettings, BasicAuthSettings, ClientSettings, ClientsFile, Role, SecuritySettings};
pub use server::{ServerSettings, ShutdownSettings, TlsSettings};
pub use watch::WatchSettings;
