//! Integration tests of the server: in-process through the router, over real HTTP on loopback,
//! through the binary, and with a published third-party Spring Cloud Config client.

// Test helpers panic on failure: that is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod binary;
#[cfg(all(feature = "bus", feature = "git", feature = "cache", feature = "metrics"))]
mod bus;
#[cfg(feature = "cache")]
mod cache;
mod client;
#[cfg(all(feature = "metrics", feature = "cache"))]
mod composition;
#[cfg(all(feature = "git", feature = "cache"))]
mod deploy;
mod edge;
mod encryption;
mod environment;
mod flat;
mod lifecycle;
#[cfg(all(feature = "metrics", feature = "cache"))]
mod metrics;
mod overrides;
mod prefix;
#[cfg(feature = "git")]
mod repos;
mod resources;
#[cfg(all(feature = "metrics", feature = "cache"))]
mod security;
mod support;
#[cfg(all(feature = "git", feature = "cache", feature = "metrics"))]
mod watch;
mod wire;
