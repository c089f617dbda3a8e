//! Metrics of Vortex Config: every name with its description and unit ([`names`]), and the handles
//! each subsystem records with ([`Metrics`]).
//!
//! Libraries record through the [`metrics`](https://docs.rs/metrics) facade's handle types only,
//! registered once when a subsystem starts: recording is an atomic operation, never a lookup, a
//! lock or an allocation. Labels are fixed sets (outcome, cause, backend, route template, method,
//! status class); nothing a client controls becomes a label.
//!
//! ```
//! use vortex_metrics::Metrics;
//!
//! // Without a recorder every handle is a no-op and nothing is timed.
//! let cache = Metrics::disabled().cache();
//! let started = cache.start();
//! assert!(started.is_none());
//! cache.hit(started);
//! ```
//!
//! | feature | adds | default |
//! |---|---|---|
//! | `prometheus` | [`Prometheus`]: a registry and the text exposition (`metrics-exporter-prometheus`) | no |

mod access;
mod backend;
mod bus;
mod cache;
mod git;
#[cfg(feature = "prometheus")]
mod hot;
mod http;
pub mod names;
#[cfg(feature = "prometheus")]
mod prometheus;
mod registry;
mod watch;

pub use access::{AccessMetrics, ClientRequests, Denial};
pub use backend::MeteredSource;
pub use bus::BusMetrics;
pub use cache::{CacheMetrics, EvictionCause};
pub use git::GitMetrics;
pub use http::{AuthApi, HttpMetrics, Rejection};
#[cfg(feature = "prometheus")]
pub use prometheus::Prometheus;
pub use registry::{Metrics, Timer};
pub use watch::WatchMetrics;
