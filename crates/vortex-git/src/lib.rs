//! The git backend of Vortex Config: serves any branch, tag or commit of a remote repository from a
//! local mirror, reading files straight from the object database, and keeps the mirror fresh in the
//! background.
//!
//! It owns cloning and fetching (gitoxide), label resolution (branches, tags, commit ids, the
//! `main`→`master` fallback), search paths, and git health. Precedence of property sources comes
//! from `vortex-core`, shared with every backend.
//!
//! This crate must never fetch on the request path except for one rate-limited fetch for an unknown
//! label, never hold a lock while git works, and never log credentials.
//!
//! It has no cargo features.

mod error;
mod mirror;
mod source;
mod tree;

pub use error::GitError;
pub use source::{Credentials, FetchOutcome, GitOptions, GitSource};
