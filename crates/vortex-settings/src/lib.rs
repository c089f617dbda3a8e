//! Settings of Vortex Config: the documented settings tree, layered loading and validation.
//!
//! Settings come from three layers, later ones winning: built-in defaults, a YAML file, and
//! `VORTEX__<SECTION>__<KEY>` environment variables. [`load`] takes the environment as a parameter,
//! so tests never touch the process environment. [`Settings::validate`] reports every problem at
//! once, each naming its dotted key and where its value came from.
//!
//! This crate must never start servers, open repositories or install telemetry: each subsystem is
//! built from its own section by the server.
//!
//! # Quick start
//!
//! Load with an injected environment and read what validation says (the runnable version:
//! `cargo run -p vortex-settings --example validate`):
//!
//! ```
//! use std::collections::HashMap;
//!
//! let env: HashMap<String, String> = [
//!     ("VORTEX__SERVER__PORT", "0"),
//!     ("VORTEX__BACKENDS__NATIVE__SEARCH_LOCATIONS", "/does/not/exist"),
//! ]
//! .into_iter()
//! .map(|(k, v)| (k.to_owned(), v.to_owned()))
//! .collect();
//! let err = vortex_settings::load(None, &env).unwrap_err();
//! let lines = err.lines();
//! assert_eq!(
//!     lines[0],
//!     "server.port: must be between 1 and 65535 (got 0) (from environment variable VORTEX__SERVER__PORT)"
//! );
//! assert!(lines[1].starts_with("backends.native.search_locations: \"/does/not/exist\" is not a directory"));
//! ```
//!
//! # Features
//!
//! | feature | adds | default |
//! |---|---|---|
//! | (none) | this crate has no cargo features | |

mod error;
mod load;
mod overrides;
mod secret;
mod section;
mod settings;
mod shape;
mod validate;

pub use error::{Problem, SettingsError, ValueOrigin};
pub use load::{ENV_PREFIX, Loaded, load, load_clients};
pub use overrides::{OverrideValue, flatten_overrides};
pub use secret::Secret;
pub use section::{
    AmqpSettings, AuditSettings, BackendsSettings, BasicAuthSettings, BusSettings, CacheSettings, ClientSettings,
    ClientsFile, EncryptSettings, GitRepoSettings, GitSettings, LogFormat, LoggingSettings, MetricsSettings,
    NativeSettings, Role, SecuritySettings, ServerSettings, ShutdownSettings, TlsSettings, WatchSettings,
};
pub use settings::Settings;
