//! `server`: the HTTP listener, its limits and TLS.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::validate::Problems;

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
    /// How the server stops on SIGTERM or SIGINT.
    pub shutdown: ShutdownSettings,
}

/// How the server stops: first it drains (readiness answers 503, every response closes its
/// connection, new connections are still served), then it stops accepting, serves what the kernel
/// had queued and lets in-flight requests finish within `shutdown_grace_seconds`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShutdownSettings {
    /// Seconds the server keeps accepting and serving after the signal, with readiness at 503, so
    /// that load balancers take it out of rotation before it stops listening; `0` stops accepting
    /// at once. Keep it above the probe period times the failure threshold. Default `5`.
    /// Env `VORTEX__SERVER__SHUTDOWN__DRAIN_SECONDS`.
    pub drain_seconds: u64,
}

impl Default for ShutdownSettings {
    fn default() -> Self {
        Self { drain_seconds: 5 }
    }
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
    /// PEM file with the certificate authorities of client certificates: with it the server asks
    /// for a client certificate, refuses at the handshake one no authority here signed, and a
    /// client of `security.clients` may be identified by its certificate (`certificate_subject`).
    /// A connection without a certificate is still served (and authenticated otherwise).
    /// Default none. Env `VORTEX__SERVER__TLS__CLIENT_CA`.
    pub client_ca: Option<PathBuf>,
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
            shutdown: ShutdownSettings::default(),
        }
    }
}

impl ServerSettings {
    /// Adds a problem for every invalid `server.*` setting.
    pub(crate) fn check(&self, problems: &mut Problems) {
        let server = self;
        if server.host.trim().is_empty() || server.host.contains(char::is_whitespace) {
            problems.add("server.host", format!("{:?} is not a host name or IP address", server.host));
        }
        if server.port == 0 {
            problems.add("server.port", "must be between 1 and 65535 (got 0)".to_owned());
        }
        if server.request_timeout_seconds == 0 {
            problems.add("server.request_timeout_seconds", "must be greater than 0".to_owned());
        }
        if let Some(prefix) = &server.prefix {
            if let Err(reason) = check_prefix(prefix) {
                problems.add("server.prefix", format!("{prefix:?} {reason}"));
            }
        }
        for (key, value) in [
            ("server.body_limit_bytes", server.body_limit_bytes),
            ("server.max_uri_bytes", server.max_uri_bytes),
            ("server.max_header_bytes", server.max_header_bytes),
            ("server.max_concurrent_requests", server.max_concurrent_requests),
            ("server.max_connections", server.max_connections),
        ] {
            if value == 0 {
                problems.add(key, "must be greater than 0".to_owned());
            }
        }
        if server.header_read_timeout_seconds == 0 {
            problems.add("server.header_read_timeout_seconds", "must be greater than 0".to_owned());
        }
        if server.body_read_timeout_seconds == 0 {
            problems.add("server.body_read_timeout_seconds", "must be greater than 0".to_owned());
        }
        let tls = &server.tls;
        match (&tls.cert_path, &tls.key_path) {
            (Some(cert), Some(key)) => {
                for (name, path) in [("server.tls.cert_path", cert), ("server.tls.key_path", key)] {
                    if !path.is_file() {
                        problems.add(name, format!("{} is not a file", path.display()));
                    }
                }
            }
            (None, None) => {}
            _ => problems.add("server.tls", "set both cert_path and key_path, or neither".to_owned()),
        }
        if let Some(ca) = &tls.client_ca {
            if tls.cert_path.is_none() {
                problems.add("server.tls.client_ca", "needs TLS on: set cert_path and key_path".to_owned());
            } else if !ca.is_file() {
                problems.add("server.tls.client_ca", format!("{} is not a file", ca.display()));
            }
        }
    }
}

/// A route prefix: `/` and path segments of unreserved characters, not ending with `/`.
fn check_prefix(prefix: &str) -> Result<(), &'static str> {
    if !prefix.starts_with('/') {
        return Err("must start with '/'");
    }
    if prefix.len() == 1 || prefix.ends_with('/') {
        return Err("must not end with '/' (leave it unset to serve at the root)");
    }
    if prefix.contains("//") || prefix.split('/').any(|segment| segment == "." || segment == "..") {
        return Err("must not have empty, '.' or '..' segments");
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.' | '~');
    if !prefix.chars().all(allowed) {
        return Err("may only hold letters, digits, '/', '-', '_', '.' and '~'");
    }
    Ok(())
}
