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
//! # Quick start
//!
//! Mirror a repository and answer a query at a label (the runnable version, which makes a
//! repository to serve: `cargo run -p vortex-git --example serve_label`):
//!
//! ```no_run
//! use std::time::Duration;
//! use vortex_core::{ConfigQuery, ConfigSource};
//! use vortex_git::{GitOptions, GitSource};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let source = GitSource::start(GitOptions {
//!     uri: "https://github.com/example/config-repo".to_owned(),
//!     basedir: "/var/lib/vortex/git".into(),
//!     default_label: "main".to_owned(),
//!     try_master_branch: true,
//!     search_paths: vec!["{application}".to_owned()],
//!     refresh_interval: Duration::from_secs(30),
//!     timeout: Duration::from_secs(10),
//!     delete_untracked_branches: false,
//!     continue_on_multiple_label_failure: false,
//!     clone_on_start: true,
//!     credentials: None,
//!     ssh_command: None,
//!     metrics: vortex_metrics::GitMetrics::default(),
//! })
//! .await?;
//! let env = source.load(&ConfigQuery::parse("orders", "prod", Some("v1.2.0"))?).await?;
//! println!("commit {:?}: {} property sources", env.version, env.property_sources.len());
//! # Ok(())
//! # }
//! ```
//!
//! # Several repositories
//!
//! - [`PatternRepos`] puts several repositories behind one source, each serving the applications
//!   its `application/profile` patterns match (Spring's `git.repos`), the rest going to a default.
//! - [`ApplicationRepos`] serves each application from a repository of its own, from a URI with
//!   `{application}` in it, cloned when the application is first asked for.
//!
//! Both are [`ConfigSource`](vortex_core::ConfigSource)s over [`GitSource`]s, and nest:
//! a pattern repository may be an [`ApplicationRepos`].
//!
//! # Features
//!
//! | feature | adds | default |
//! |---|---|---|
//! | (none) | this crate has no cargo features (gitoxide's features are fixed by the workspace) | |

mod error;
mod mirror;
mod per_application;
mod repos;
mod source;
mod tree;

pub use error::GitError;
pub use per_application::{APPLICATION_PLACEHOLDER, ApplicationRepos};
pub use repos::{PatternRepo, PatternRepos};
pub use source::{Credentials, FetchOutcome, GitOptions, GitSource};
