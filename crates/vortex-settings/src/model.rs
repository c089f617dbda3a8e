//! The settings tree: one struct per section, every field documented with its meaning, unit,
//! default and environment variable. `config/default.yaml` mirrors it key for key.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::Secret;

/// All settings of a Vortex server.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The HTTP listener.
    pub server: ServerSettings,
    /// The response cache.
    pub cache: CacheSettings,
    /// Where configuration comes from.
    pub backends: BackendsSettings,
    /// Log output.
    pub logging: LoggingSettings,
    /// Prometheus metrics.
    pub metrics: MetricsSettings,
    /// Authentication.
    pub security: SecuritySettings,
    /// `{cipher}` values and the `/encrypt` and `/decrypt` endpoints.
    pub encrypt: EncryptSettings,
    /// Properties served first in every response, winning over every file of every repository
    /// (Spring's `spring.cloud.config.server.overrides`), written as YAML: nested maps join their
    /// keys with `.`, lists give `key[0]`, ...; every value is served as a string. Default none.
    /// Env `VORTEX__OVERRIDES__<KEY>` (the key lower-cased, `__` for `.`).
    pub overrides: BTreeMap<String, crate::OverrideValue>,
}

/// The HTTP listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to bind. Default `0.0.0.0`. Env `VORTEX__SERVER__HOST`.
    pub host: String,
    /// TCP port, 1 to 65535. Default `8080`. Env `VORTEX__SERVER__PORT`.
    pub port: u16,
    /// Longest time a request may take before it is answered 408, in seconds. Default `30`.
    /// Env `VORTEX__SERVER__REQUEST_TIMEOUT_SECONDS`.
    pub request_timeout_seconds: u64,
    /// Largest request body accepted, in bytes; larger ones get 413. Default `1048576` (1 MiB).
    /// Env `VORTEX__SERVER__BODY_LIMIT_BYTES`.
    pub body_limit_bytes: usize,
    /// On SIGTERM or SIGINT, how long in-flight requests may take to finish, in seconds. Default `30`.
    /// Env `VORTEX__SERVER__SHUTDOWN_GRACE_SECONDS`.
    pub shutdown_grace_seconds: u64,
    /// A path prefix for every route of the server, as Spring's `spring.cloud.config.server.prefix`:
    /// with `/config`, `/orders/dev` is served at `/config/orders/dev` and health at
    /// `/config/health`. Starts with `/`, does not end with one. Default none.
    /// Env `VORTEX__SERVER__PREFIX`.
    pub prefix: Option<String>,
    /// Whether an environment with no property source at all is answered 200 with
    /// `"propertySources": []`, as Spring's default `spring.cloud.config.server.accept-empty=true`
    /// does; `false` answers 404 `not_found` instead (Environment JSON and the flat formats), so
    /// that a misspelt application name fails its client at start-up. Default `true`.
    /// Env `VORTEX__SERVER__ACCEPT_EMPTY`.
    pub accept_empty: bool,
    /// Longest request target (path and query) accepted, in bytes; longer ones get 414.
    /// Default `8192`. Env `VORTEX__SERVER__MAX_URI_BYTES`.
    pub max_uri_bytes: usize,
    /// Largest total size of a request's header names and values, in bytes; larger get 431.
    /// Default `16384`. Env `VORTEX__SERVER__MAX_HEADER_BYTES`.
    pub max_header_bytes: usize,
    /// Requests served at once; the next ones get 503 with `Retry-After` at once rather than
    /// queueing without bound. Default `1024`. Env `VORTEX__SERVER__MAX_CONCURRENT_REQUESTS`.
    pub max_concurrent_requests: usize,
    /// Open connections; connections over it are closed as they are accepted. Default `10000`.
    /// Env `VORTEX__SERVER__MAX_CONNECTIONS`.
    pub max_connections: usize,
    /// Longest time a client may take to send a request's headers, and longest an idle kept-alive
    /// connection stays open, in seconds: slow clients cannot hold connections. Default `10`.
    /// Env `VORTEX__SERVER__HEADER_READ_TIMEOUT_SECONDS`.
    pub header_read_timeout_seconds: u64,
    /// Longest time a client may take to send a request's body, in seconds; slower ones get 408.
    /// A body still arriving holds no request slot, so slow writers cannot starve readers.
    /// Default `10`. Env `VORTEX__SERVER__BODY_READ_TIMEOUT_SECONDS`.
    pub body_read_timeout_seconds: u64,
    /// Most work placeholder resolution may do for one response, in bytes written beyond four times
    /// the size of the text resolved; over it, the response is a 500 `invalid_config` naming the
    /// placeholder and its file. Bounds expansions such as `a=${b}${b}`, `b=${c}${c}`, ..., which
    /// double at every level. Default `16777216` (16 MiB). Env `VORTEX__SERVER__PLACEHOLDER_BUDGET_BYTES`.
    pub placeholder_budget_bytes: usize,
    /// TLS termination, for deployments without a proxy in front. Off unless both paths are set.
    pub tls: TlsSettings,
}

/// TLS termination with rustls (feature `tls` of `vortex-server`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsSettings {
    /// PEM file with the certificate chain, leaf first. Default none.
    /// Env `VORTEX__SERVER__TLS__CERT_PATH`.
    pub cert_path: Option<PathBuf>,
    /// PEM file with the private key (PKCS#8, PKCS#1 or SEC1). Default none.
    /// Env `VORTEX__SERVER__TLS__KEY_PATH`.
    pub key_path: Option<PathBuf>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            host: "0.0.0.0".to_owned(),
            port: 8080,
            request_timeout_seconds: 30,
            body_limit_bytes: 1024 * 1024,
            shutdown_grace_seconds: 30,
            prefix: None,
            accept_empty: true,
            max_uri_bytes: 8 * 1024,
            max_header_bytes: 16 * 1024,
            max_concurrent_requests: 1024,
            max_connections: 10_000,
            header_read_timeout_seconds: 10,
            body_read_timeout_seconds: 10,
            placeholder_budget_bytes: 16 * 1024 * 1024,
            tls: TlsSettings::default(),
        }
    }
}

/// The response cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheSettings {
    /// Whether responses are cached. Default `true`. Env `VORTEX__CACHE__ENABLED`.
    pub enabled: bool,
    /// How long an entry lives, in seconds; must be > 0 (no infinite cache). Default `300`.
    /// Env `VORTEX__CACHE__TTL_SECONDS`.
    pub ttl_seconds: u64,
    /// Most entries kept; must be > 0. Default `10000`. Env `VORTEX__CACHE__MAX_CAPACITY`.
    pub max_capacity: u64,
    /// Most memory kept, in bytes, by an estimate of each entry's size (twice its text: the
    /// environment and its renderings); `null` for no byte bound. Default `268435456` (256 MiB):
    /// ten thousand typical entries of 10 KB fit, and one reader asking for many variants of a
    /// large application cannot push the cache past it. Env `VORTEX__CACHE__MAX_BYTES`.
    pub max_bytes: Option<u64>,
    /// Drop an entry not read for this many seconds; `null` to keep it until its TTL.
    /// Default `null`. Env `VORTEX__CACHE__TIME_TO_IDLE_SECONDS`.
    pub time_to_idle_seconds: Option<u64>,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            ttl_seconds: 300,
            max_capacity: 10_000,
            max_bytes: Some(256 * 1024 * 1024),
            time_to_idle_seconds: None,
        }
    }
}

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

/// Log output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoggingSettings {
    /// Least severe level written: `trace`, `debug`, `info`, `warn` or `error`. Default `info`.
    /// Env `VORTEX__LOGGING__LEVEL`.
    pub level: String,
    /// `json` (one object per line) or `pretty` (for people). Default `json`. Env `VORTEX__LOGGING__FORMAT`.
    pub format: LogFormat,
}

impl Default for LoggingSettings {
    fn default() -> Self {
        Self { level: "info".to_owned(), format: LogFormat::Json }
    }
}

/// The log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    Pretty,
}

/// Prometheus metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSettings {
    /// Whether `/metrics` is served. Default `true`. Env `VORTEX__METRICS__ENABLED`.
    pub enabled: bool,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self { enabled: true }
    }
}

/// Authentication. Every secret is accepted inline, from its environment variable, or from a file
/// (`*_file`, read once at start-up, one trailing newline removed), for secret stores that mount
/// files.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecuritySettings {
    /// Bearer token for the admin API; without one the admin API is off. Default none.
    /// Env `VORTEX__SECURITY__ADMIN_TOKEN`.
    pub admin_token: Option<Secret>,
    /// File holding the admin token, instead of `admin_token`. Default none.
    /// Env `VORTEX__SECURITY__ADMIN_TOKEN_FILE`.
    pub admin_token_file: Option<PathBuf>,
    /// Shared secret of the git host's webhooks: with it, `POST /monitor` only accepts payloads
    /// signed with it (GitHub `X-Hub-Signature-256`, Gitea/Gogs `X-Gitea-Signature` /
    /// `X-Gogs-Signature`, HMAC-SHA256) or carrying it (GitLab `X-Gitlab-Token`), and answers 401 to
    /// others. Default none. Env `VORTEX__SECURITY__WEBHOOK_SECRET`.
    pub webhook_secret: Option<Secret>,
    /// File holding the webhook secret, instead of `webhook_secret`. Default none.
    /// Env `VORTEX__SECURITY__WEBHOOK_SECRET_FILE`.
    pub webhook_secret_file: Option<PathBuf>,
    /// HTTP basic authentication for the read API; off unless a user name and a password are set.
    pub basic_auth: BasicAuthSettings,
}

/// HTTP basic authentication for the read API.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BasicAuthSettings {
    /// User name. Default none. Env `VORTEX__SECURITY__BASIC_AUTH__USERNAME`.
    pub username: Option<String>,
    /// Password; never logged. Default none. Env `VORTEX__SECURITY__BASIC_AUTH__PASSWORD`.
    pub password: Option<Secret>,
    /// File holding the password, instead of `password`. Default none.
    /// Env `VORTEX__SECURITY__BASIC_AUTH__PASSWORD_FILE`.
    pub password_file: Option<PathBuf>,
}

/// `{cipher}` values, as Spring's `encrypt.*`: with a key, values written `{cipher}<hex>` are served
/// decrypted, and `POST /encrypt` makes such values. Spring Security's symmetric scheme
/// (`Encryptors.text`), so cipher texts of a Spring server with the same key and salt work here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EncryptSettings {
    /// The symmetric key (Spring's `encrypt.key`); without one, `{cipher}` values are served as
    /// written and `/encrypt` answers 404. Never logged. Default none. Env `VORTEX__ENCRYPT__KEY`.
    pub key: Option<Secret>,
    /// File holding the key, instead of `key`. Default none. Env `VORTEX__ENCRYPT__KEY_FILE`.
    pub key_file: Option<PathBuf>,
    /// Salt of the key derivation, hexadecimal (Spring's `encrypt.salt`). Default `deadbeef`.
    /// Env `VORTEX__ENCRYPT__SALT`.
    pub salt: String,
    /// Whether the server decrypts `{cipher}` values before serving them; `false` serves them as
    /// written, for clients that decrypt themselves (Spring's
    /// `spring.cloud.config.server.encrypt.enabled`). Default `true`.
    /// Env `VORTEX__ENCRYPT__DECRYPT_ON_SERVER`.
    pub decrypt_on_server: bool,
    /// A value that cannot be decrypted is served as `invalid.<key>: <n/a>` when `true`, or under its
    /// own key with the cipher text when `false` (Spring's
    /// `spring.cloud.config.server.encrypt.prefix-invalid-properties`). Default `true`.
    /// Env `VORTEX__ENCRYPT__PREFIX_INVALID_PROPERTIES`.
    pub prefix_invalid_properties: bool,
}

impl Default for EncryptSettings {
    fn default() -> Self {
        Self {
            key: None,
            key_file: None,
            salt: "deadbeef".to_owned(),
            decrypt_on_server: true,
            prefix_invalid_properties: true,
        }
    }
}
