//! `backends`: where configuration comes from, git or native.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::Secret;
use crate::validate::Problems;

const GIT_SCHEMES: [&str; 6] = ["file://", "git://", "http://", "https://", "ssh://", "git+ssh://"];

/// Where configuration comes from. Exactly one backend must be enabled.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackendsSettings {
    /// A git repository, served from a local clone.
    pub git: GitSettings,
    /// Local directories.
    pub native: NativeSettings,
}

/// The git backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GitSettings {
    /// Whether this backend serves requests. Default `false`. Env `VORTEX__BACKENDS__GIT__ENABLED`.
    pub enabled: bool,
    /// Remote to clone: `file:///abs/path`, a plain path, `git://`, `http(s)://` or `ssh://`.
    /// `{application}` in the path makes a repository per application, cloned when the
    /// application is first asked for. Required when enabled. Env `VORTEX__BACKENDS__GIT__URI`.
    pub uri: Option<String>,
    /// Label served when a request names none. Default `main`. Env `VORTEX__BACKENDS__GIT__DEFAULT_LABEL`.
    pub default_label: String,
    /// Fall back to `master` when the default label `main` does not exist. Default `true`.
    /// Env `VORTEX__BACKENDS__GIT__TRY_MASTER_BRANCH`.
    pub try_master_branch: bool,
    /// Directories searched after the repository root; `{application}`, `{profile}`, `{label}` and
    /// wildcards allowed. Default empty. Env `VORTEX__BACKENDS__GIT__SEARCH_PATHS` (comma-separated).
    pub search_paths: Vec<String>,
    /// Directory that holds the local clone; persistent, not the system temp directory.
    /// Default `data/git`. Env `VORTEX__BACKENDS__GIT__BASEDIR`.
    pub basedir: PathBuf,
    /// Seconds between background fetches; must be > 0. Default `30`.
    /// Env `VORTEX__BACKENDS__GIT__REFRESH_INTERVAL_SECONDS`.
    pub refresh_interval_seconds: u64,
    /// Clone at start-up rather than on the first request. Default `true`.
    /// Env `VORTEX__BACKENDS__GIT__CLONE_ON_START`.
    pub clone_on_start: bool,
    /// Longest a clone or fetch may take, in seconds; must be > 0. Default `5`.
    /// Env `VORTEX__BACKENDS__GIT__TIMEOUT_SECONDS`.
    pub timeout_seconds: u64,
    /// Stop serving branches deleted on the remote. Default `false`.
    /// Env `VORTEX__BACKENDS__GIT__DELETE_UNTRACKED_BRANCHES`.
    pub delete_untracked_branches: bool,
    /// With several labels in a request (`/app/dev/a,b`), skip one that does not exist instead of
    /// answering 404 (Spring's `continue-on-multiple-label-failure`); a request with one label, or
    /// whose every label is missing, still answers 404. Default `false`.
    /// Env `VORTEX__BACKENDS__GIT__CONTINUE_ON_MULTIPLE_LABEL_FAILURE`.
    pub continue_on_multiple_label_failure: bool,
    /// User name for HTTP(S) remotes. Default none. Env `VORTEX__BACKENDS__GIT__USERNAME`.
    pub username: Option<String>,
    /// Password or token for HTTP(S) remotes; never logged, and never sent over plain `http://`.
    /// Default none. Env `VORTEX__BACKENDS__GIT__PASSWORD`.
    pub password: Option<Secret>,
    /// Private key file for `ssh://` remotes (`ssh -i`). Default none: ssh's own configuration applies.
    /// Env `VORTEX__BACKENDS__GIT__PRIVATE_KEY_PATH`.
    pub private_key_path: Option<PathBuf>,
    /// More repositories, each serving the applications its patterns match, as Spring's
    /// `spring.cloud.config.server.git.repos.<name>`; requests that no pattern matches are served
    /// from `uri`. Tried in name order; each has its own local clone under `basedir`. Default
    /// none. Env `VORTEX__BACKENDS__GIT__REPOS__<NAME>__<KEY>` (names are lowercased).
    pub repos: BTreeMap<String, GitRepoSettings>,
    /// With `{application}` in a `uri` (a repository per application, as in Spring), the most
    /// application repositories kept open; requests for more applications get 503, so that made-up
    /// names cannot make the server clone without bound. Must be > 0. Default `100`.
    /// Env `VORTEX__BACKENDS__GIT__MAX_REPOSITORIES`.
    pub max_repositories: usize,
}

/// One pattern repository of the git backend (`backends.git.repos.<name>`). It shares the
/// default label, master fallback, basedir, refresh interval, timeout and branch deletion of
/// `backends.git`, and its credentials unless it names a user of its own.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GitRepoSettings {
    /// Patterns over `{application}/{profile}` where `*` matches any run of characters; a pattern
    /// without `/` matches every profile (`orders*` is `orders*/*`), and each profile of a request
    /// is tried on its own, last first. At least one. Env `..._PATTERN` (comma-separated).
    pub pattern: Vec<String>,
    /// The remote, in the forms `backends.git.uri` takes. Required. Env `..._URI`.
    pub uri: Option<String>,
    /// Directories searched after the repository root, as `backends.git.search_paths`; not
    /// inherited. Default empty. Env `..._SEARCH_PATHS` (comma-separated).
    pub search_paths: Vec<String>,
    /// User name for HTTP(S); unset, the repository uses `backends.git.username` and `password`.
    /// Env `..._USERNAME`.
    pub username: Option<String>,
    /// Password or token for HTTP(S), with `username`. Env `..._PASSWORD`.
    pub password: Option<Secret>,
    /// Private key file for `ssh://`; unset, `backends.git.private_key_path` applies.
    /// Env `..._PRIVATE_KEY_PATH`.
    pub private_key_path: Option<PathBuf>,
}

impl Default for GitSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            uri: None,
            default_label: "main".to_owned(),
            try_master_branch: true,
            search_paths: Vec::new(),
            basedir: PathBuf::from("data/git"),
            refresh_interval_seconds: 30,
            clone_on_start: true,
            timeout_seconds: 5,
            delete_untracked_branches: false,
            continue_on_multiple_label_failure: false,
            username: None,
            password: None,
            private_key_path: None,
            repos: BTreeMap::new(),
            max_repositories: 100,
        }
    }
}

/// The native (filesystem) backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NativeSettings {
    /// Whether this backend serves requests. Default `true`. Env `VORTEX__BACKENDS__NATIVE__ENABLED`.
    pub enabled: bool,
    /// Directories to search, later ones winning: plain paths or `file:` URIs, optionally prefixed
    /// `optional:`; `{application}`, `{profile}` and `{label}` are expanded per request.
    /// Default `[config/sample-repo]`. Env `VORTEX__BACKENDS__NATIVE__SEARCH_LOCATIONS` (comma-separated).
    pub search_locations: Vec<String>,
    /// Label used when a request names none. Default `master`.
    /// Env `VORTEX__BACKENDS__NATIVE__DEFAULT_LABEL`.
    pub default_label: String,
    /// Also search `<location>/<label>/`, which wins over the location itself. Default `true`.
    /// Env `VORTEX__BACKENDS__NATIVE__ADD_LABEL_LOCATIONS`.
    pub add_label_locations: bool,
    /// The `version` reported in every response. Default none (`null`).
    /// Env `VORTEX__BACKENDS__NATIVE__VERSION`.
    pub version: Option<String>,
    /// How often the search locations are checked for changed files, in seconds; a change empties
    /// the cache, so an edit is served within this time rather than `cache.ttl_seconds` (Spring's
    /// file monitor polls every 5 s). `0` turns the check off. Default `5`.
    /// Env `VORTEX__BACKENDS__NATIVE__WATCH_INTERVAL_SECONDS`.
    pub watch_interval_seconds: u64,
}

impl Default for NativeSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            search_locations: vec!["config/sample-repo".to_owned()],
            default_label: "master".to_owned(),
            add_label_locations: true,
            version: None,
            watch_interval_seconds: 5,
        }
    }
}

impl BackendsSettings {
    /// Adds a problem for every invalid `backends.*` setting.
    pub(crate) fn check(&self, problems: &mut Problems) {
        let git = &self.git;
        let native = &self.native;
        match (git.enabled, native.enabled) {
            (false, false) => {
                problems.add("backends", "no backend is enabled: enable backends.git or backends.native".to_owned())
            }
            (true, true) => problems.add("backends", "enable only one of backends.git and backends.native".to_owned()),
            _ => {}
        }
        if git.enabled {
            match git.uri.as_deref().map(str::trim) {
                None | Some("") => {
                    problems.add("backends.git.uri", "is required when backends.git.enabled is true".to_owned())
                }
                Some(uri) => {
                    if let Some(reason) = git_uri_problem(uri) {
                        problems.add("backends.git.uri", format!("{uri:?} {reason}"));
                    }
                }
            }
        }
        if git.default_label.trim().is_empty() {
            problems.add("backends.git.default_label", "must not be empty".to_owned());
        }
        if git.refresh_interval_seconds == 0 {
            problems.add("backends.git.refresh_interval_seconds", "must be greater than 0".to_owned());
        }
        if git.max_repositories == 0 {
            problems.add("backends.git.max_repositories", "must be greater than 0".to_owned());
        }
        if git.timeout_seconds == 0 {
            problems.add("backends.git.timeout_seconds", "must be greater than 0".to_owned());
        }
        if git.basedir.as_os_str().is_empty() {
            problems.add("backends.git.basedir", "must not be empty".to_owned());
        }
        if let Some(key) = git.private_key_path.as_ref().filter(|_| git.enabled) {
            if !key.is_file() {
                problems.add("backends.git.private_key_path", format!("{} is not a file", key.display()));
            }
        }
        if git.password.is_some() && git.username.is_none() {
            problems.add("backends.git.username", "is required when backends.git.password is set".to_owned());
        }
        for (name, repo) in &git.repos {
            let key = |setting: &str| format!("backends.git.repos.{name}.{setting}");
            if name == "default" {
                problems.add(
                    &format!("backends.git.repos.{name}"),
                    "the name default is the repository of backends.git.uri".to_owned(),
                );
            } else if !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
                problems.add(
                    &format!("backends.git.repos.{name}"),
                    "names hold only letters, digits, '-', '_' and '.'".to_owned(),
                );
            }
            match repo.uri.as_deref().map(str::trim) {
                None | Some("") => problems.add(&key("uri"), "is required for every repository".to_owned()),
                Some(uri) => {
                    if let Some(reason) = git_uri_problem(uri) {
                        problems.add(&key("uri"), format!("{uri:?} {reason}"));
                    }
                }
            }
            if repo.pattern.is_empty() {
                problems
                    .add(&key("pattern"), "needs at least one pattern (application/profile, * as wildcard)".to_owned());
            }
            for pattern in &repo.pattern {
                if pattern.trim().is_empty()
                    || pattern.contains(char::is_whitespace)
                    || pattern.matches('/').count() > 1
                {
                    problems.add(&key("pattern"), format!("{pattern:?} is not application or application/profile"));
                }
            }
            if let Some(path) = repo.private_key_path.as_ref().filter(|_| git.enabled) {
                if !path.is_file() {
                    problems.add(&key("private_key_path"), format!("{} is not a file", path.display()));
                }
            }
            if repo.password.is_some() && repo.username.is_none() {
                problems.add(&key("username"), format!("is required when backends.git.repos.{name}.password is set"));
            }
        }

        if native.enabled && native.search_locations.is_empty() {
            problems.add("backends.native.search_locations", "needs at least one directory".to_owned());
        }
        for location in &native.search_locations {
            if let Some(reason) = native_location_problem(location, native.enabled) {
                problems.add("backends.native.search_locations", format!("{location:?} {reason}"));
            }
        }
        if native.default_label.trim().is_empty() {
            problems.add("backends.native.default_label", "must not be empty".to_owned());
        }
    }
}

fn git_uri_problem(uri: &str) -> Option<&'static str> {
    if uri.contains(char::is_whitespace) {
        return Some("must not contain whitespace");
    }
    if let Some((scheme, _)) = uri.split_once("://") {
        let with_sep = format!("{scheme}://");
        if !GIT_SCHEMES.contains(&with_sep.as_str()) {
            return Some("has an unsupported scheme (use file, git, http, https or ssh)");
        }
        let rest = &uri[with_sep.len()..];
        if rest.is_empty() || (scheme != "file" && rest.starts_with('/')) {
            return Some("has no host");
        }
        if rest.split('/').next().is_some_and(|h| h.contains('{')) {
            return Some("must not use placeholders in the host");
        }
    }
    if uri.replace("{application}", "").contains('{') {
        return Some("may hold only the placeholder {application}");
    }
    None
}

fn native_location_problem(location: &str, enabled: bool) -> Option<&'static str> {
    let optional = location.starts_with("optional:");
    let bare = location.strip_prefix("optional:").unwrap_or(location);
    if bare.starts_with("classpath:") {
        return Some("uses classpath:, which a native binary does not have; use a directory");
    }
    if bare.contains("://") && !bare.starts_with("file:") {
        return Some("is not a directory or file: URI");
    }
    let path = bare.strip_prefix("file:").unwrap_or(bare);
    let path = path.strip_prefix("//").unwrap_or(path);
    if path.is_empty() {
        return Some("is empty");
    }
    // A location with placeholders is checked per request; otherwise it must exist unless optional.
    if enabled && !optional && !path.contains('{') && !std::path::Path::new(path).is_dir() {
        return Some("is not a directory (prefix it with optional: if it may be missing)");
    }
    None
}
