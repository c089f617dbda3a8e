//! The domain of Vortex Config, with no I/O runtime, no HTTP and no settings loading.
//!
//! It owns what a configuration query means and what it answers:
//!
//! - [`ConfigQuery`], [`Environment`], [`PropertySource`] and [`Value`]: the request and the answer,
//!   in Spring Cloud Config's shape;
//! - [`ConfigSource`]: the object-safe async trait every backend implements;
//! - [`document`]: YAML and `.properties` files parsed into ordered flat maps;
//! - [`config_data`]: which files make up an environment and in which order;
//! - [`render`]: the flat `.properties`, `.yml` and `.json` outputs;
//! - [`placeholder`]: `${key:default}` resolution against an environment;
//! - [`native`]: the filesystem backend;
//! - [`resource`]: the path rules and file-name candidates of plain-text resources;
//! - [`snapshot`]: an environment with its renderings and entity tags, made once each;
//! - [`CoreError`] and [`ErrorKind`]: failures classified without reference to any transport.
//!
//! This crate must never depend on an async runtime, an HTTP stack or the settings crate: the
//! server maps its errors to HTTP, and backends build on it.
//!
//! It has no cargo features.

pub mod config_data;
pub mod document;
mod environment;
mod error;
pub mod native;
pub mod placeholder;
pub mod profiles;
mod query;
pub mod render;
pub mod resource;
pub mod snapshot;
mod source;
mod value;

pub use environment::{Environment, EnvironmentJson, Origin, Property, PropertySource};
pub use error::{CoreError, ErrorKind};
pub use query::{ConfigQuery, DEFAULT_APPLICATION, DEFAULT_PROFILE, percent_decode};
pub use source::{BoxFuture, ChangeListener, ConfigSource, HealthStatus, Resource, SourceChange, SourceHealth};
pub use value::{Value, java_double};
