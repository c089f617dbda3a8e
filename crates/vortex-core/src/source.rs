//! The [`ConfigSource`] trait every backend implements.

use std::future::Future;
use std::pin::Pin;

use crate::{ConfigQuery, CoreError, Environment};

/// A boxed, sendable future, so that [`ConfigSource`] stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A plain-text or binary file served by the resource endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// The file's bytes, unmodified.
    pub bytes: Vec<u8>,
    /// The version of the repository the file was read from, when the backend has one.
    pub version: Option<String>,
}

/// How well a backend is doing, as reported by the health endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HealthStatus {
    /// Serving fresh configuration.
    Up,
    /// Serving, but something is wrong (for example, fetches fail and content may be stale).
    Degraded,
    /// Not able to serve.
    Down,
}

/// A backend's health: its status, whether it is ready to serve, and backend-specific details.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SourceHealth {
    /// The overall status.
    pub status: HealthStatus,
    /// Whether the backend has loaded what it needs to answer requests.
    pub ready: bool,
    /// Backend-specific details (locations, commits, last fetch, errors).
    pub details: serde_json::Value,
}

/// A backend that answers configuration queries.
///
/// Implementations must be cheap to call concurrently: the server calls them from many tasks, and a
/// cache may sit in front of them. Neither method may block the calling thread for long; blocking
/// work belongs on a blocking thread pool.
pub trait ConfigSource: Send + Sync + 'static {
    /// Loads the environment for `query`, property sources highest precedence first.
    fn load<'a>(&'a self, query: &'a ConfigQuery) -> BoxFuture<'a, Result<Environment, CoreError>>;

    /// Finds the plain-text resource `path` for `query` (contract §1.3) and returns its bytes.
    fn resource<'a>(&'a self, query: &'a ConfigQuery, path: &'a str) -> BoxFuture<'a, Result<Resource, CoreError>>;

    /// Reports the backend's health. Must be cheap: no I/O beyond reading in-memory state or
    /// checking that a directory exists.
    fn health(&self) -> SourceHealth;
}
