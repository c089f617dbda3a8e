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
//! - [`overrides`]: properties that win over every repository (Spring's `overrides`);
//! - [`process`]: overrides and decryption applied to every loaded environment, in one step;
//! - [`resource`]: the path rules and file-name candidates of plain-text resources;
//! - [`cipher`]: `{cipher}` values, decrypted as Spring Cloud Config Server does;
//! - [`snapshot`]: an environment with its renderings and entity tags, made once each;
//! - [`CoreError`] and [`ErrorKind`]: failures classified without reference to any transport.
//!
//! This crate must never depend on an async runtime, an HTTP stack or the settings crate: the
//! server maps its errors to HTTP, and backends build on it.
//!
//! # Quick start
//!
//! Parse a directory as Spring's native backend does and render one application as `.properties`
//! (the runnable version: `cargo run -p vortex-core --example render_dir`):
//!
//! ```
//! use vortex_core::native::{NativeOptions, NativeSource};
//! use vortex_core::render::{FlatFormat, render};
//! use vortex_core::ConfigQuery;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("application.yml"), "server:\n  port: 8080\n")?;
//! std::fs::write(dir.path().join("orders-prod.properties"), "server.port=9000\nname=${spring.application.name:orders}\n")?;
//!
//! let source = NativeSource::new(NativeOptions {
//!     search_locations: vec![dir.path().display().to_string()],
//!     ..NativeOptions::default()
//! })?;
//! let env = source.load_blocking(&ConfigQuery::parse("orders", "prod", None)?)?;
//! assert_eq!(env.get("server.port").map(ToString::to_string).as_deref(), Some("9000"));
//! assert_eq!(render(&env, FlatFormat::Properties, true)?, "server.port: 9000\nname: orders");
//! # Ok(())
//! # }
//! ```
//!
//! # Features
//!
//! | feature | adds | default |
//! |---|---|---|
//! | (none) | this crate has no cargo features: everything above is always there | |

pub mod cipher;
pub mod config_data;
pub mod document;
mod environment;
mod error;
pub mod native;
pub mod overrides;
pub mod placeholder;
pub mod process;
pub mod profiles;
mod query;
pub mod render;
pub mod resource;
pub mod snapshot;
mod source;
mod value;

pub use environment::{Environment, EnvironmentJson, Origin, Property, PropertySource};
pub use error::{CoreError, ErrorKind, error_chain, redact_credentials};
pub use query::{ConfigQuery, DEFAULT_APPLICATION, DEFAULT_PROFILE};
pub use source::{
    BoxFuture, ChangeListener, ConfigSource, Decorator, HealthStatus, Listeners, Resource, SourceChange, SourceHealth,
};
pub use value::{Value, java_double};
