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
//! It has no cargo features.

mod error;
mod load;
mod model;
mod secret;
mod validate;

pub use error::{Problem, SettingsError, ValueOrigin};
pub use load::{ENV_PREFIX, Loaded, load};
pub use model::{
    BackendsSettings, BasicAuthSettings, CacheSettings, GitSettings, LogFormat, LoggingSettings, MetricsSettings,
    NativeSettings, SecuritySettings, ServerSettings, Settings,
};
pub use secret::Secret;
