//! The git backend against real repositories made in temp dirs with the `git` command line, over
//! `file://` and over the git protocol on loopback.

// Test helpers panic on failure: that is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod faults;
mod freshness;
mod http;
mod labels;
mod per_application;
mod support;
