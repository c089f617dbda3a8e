//! Validation of loaded settings: every problem at once, each naming its dotted key.

use crate::{Settings, SettingsError, ValueOrigin};

const LOG_LEVELS: [&str; 5] = ["trace", "debug", "info", "warn", "error"];
const GIT_SCHEMES: [&str; 6] = ["file://", "git://", "http://", "https://", "ssh://", "git+ssh://"];

impl Settings {
    /// Checks every setting and returns all problems, or `Ok` when there are none.
    ///
    /// Problems found this way report their origin as the built-in default; [`crate::load`] reports
    /// the real origin of each value.
    ///
    /// # Errors
    /// [`SettingsError::Invalid`] listing every problem.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let problems: Vec<_> = self
            .check()
            .into_iter()
            .map(|(key, message)| crate::Problem { key, message, origin: ValueOrigin::Default })
            .collect();
        if problems.is_empty() { Ok(()) } else { Err(SettingsError::Invalid(problems)) }
    }

    /// Returns `(dotted key, message)` for every invalid setting.
    pub(crate) fn check(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let mut problem = |key: &str, message: String| problems.push((key.to_owned(), message));

        let server = &self.server;
        if server.host.trim().is_empty() || server.host.contains(char::is_whitespace) {
            problem("server.host", format!("{:?} is not a host name or IP address", server.host));
        }
        if server.port == 0 {
            problem("server.port", "must be between 1 and 65535 (got 0)".to_owned());
        }
        if server.request_timeout_seconds == 0 {
            problem("server.request_timeout_seconds", "must be greater than 0".to_owned());
        }
        if let Some(prefix) = &server.prefix {
            if let Err(reason) = check_prefix(prefix) {
                problem("server.prefix", format!("{prefix:?} {reason}"));
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
                problem(key, "must be greater than 0".to_owned());
            }
        }
        if server.header_read_timeout_seconds == 0 {
            problem("server.header_read_timeout_seconds", "must be greater than 0".to_owned());
        }
        if server.body_read_timeout_seconds == 0 {
            problem("server.body_read_timeout_seconds", "must be greater than 0".to_owned());
        }
        let tls = &server.tls;
        match (&tls.cert_path, &tls.key_path) {
            (Some(cert), Some(key)) => {
                for (name, path) in [("server.tls.cert_path", cert), ("server.tls.key_path", key)] {
                    if !path.is_file() {
                        problem(name, format!("{} is not a file", path.display()));
                    }
                }
            }
            (None, None) => {}
            _ => problem("server.tls", "set both cert_path and key_path, or neither".to_owned()),
        }

        if self.cache.ttl_seconds == 0 {
            problem(
                "cache.ttl_seconds",
                "must be greater than 0 (an infinite cache would never see changes)".to_owned(),
            );
        }
        if self.cache.max_capacity == 0 {
            problem("cache.max_capacity", "must be greater than 0".to_owned());
        }
        if self.cache.max_bytes == Some(0) {
            problem("cache.max_bytes", "must be greater than 0, or null for no byte bound".to_owned());
        }
        if self.cache.time_to_idle_seconds == Some(0) {
            problem("cache.time_to_idle_seconds", "must be greater than 0, or null for none".to_owned());
        }

        let git = &self.backends.git;
        let native = &self.backends.native;
        match (git.enabled, native.enabled) {
            (false, false) => {
                problem("backends", "no backend is enabled: enable backends.git or backends.native".to_owned())
            }
            (true, true) => problem("backends", "enable only one of backends.git and backends.native".to_owned()),
            _ => {}
        }
        if git.enabled {
            match git.uri.as_deref().map(str::trim) {
                None | Some("") => {
                    problem("backends.git.uri", "is required when backends.git.enabled is true".to_owned())
                }
                Some(uri) => {
                    if let Some(reason) = git_uri_problem(uri) {
                        problem("backends.git.uri", format!("{uri:?} {reason}"));
                    }
                }
            }
        }
        if git.default_label.trim().is_empty() {
            problem("backends.git.default_label", "must not be empty".to_owned());
        }
        if git.refresh_interval_seconds == 0 {
            problem("backends.git.refresh_interval_seconds", "must be greater than 0".to_owned());
        }
        if git.max_repositories == 0 {
            problem("backends.git.max_repositories", "must be greater than 0".to_owned());
        }
        if git.timeout_seconds == 0 {
            problem("backends.git.timeout_seconds", "must be greater than 0".to_owned());
        }
        if git.basedir.as_os_str().is_empty() {
            problem("backends.git.basedir", "must not be empty".to_owned());
        }
        if let Some(key) = git.private_key_path.as_ref().filter(|_| git.enabled) {
            if !key.is_file() {
                problem("backends.git.private_key_path", format!("{} is not a file", key.display()));
            }
        }
        if git.password.is_some() && git.username.is_none() {
            problem("backends.git.username", "is required when backends.git.password is set".to_owned());
        }
        for (name, repo) in &git.repos {
            let key = |setting: &str| format!("backends.git.repos.{name}.{setting}");
            if name == "default" {
                problem(
                    &format!("backends.git.repos.{name}"),
                    "the name default is the repository of backends.git.uri".to_owned(),
                );
            } else if !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
                problem(
                    &format!("backends.git.repos.{name}"),
                    "names hold only letters, digits, '-', '_' and '.'".to_owned(),
                );
            }
            match repo.uri.as_deref().map(str::trim) {
                None | Some("") => problem(&key("uri"), "is required for every repository".to_owned()),
                Some(uri) => {
                    if let Some(reason) = git_uri_problem(uri) {
                        problem(&key("uri"), format!("{uri:?} {reason}"));
                    }
                }
            }
            if repo.pattern.is_empty() {
                problem(&key("pattern"), "needs at least one pattern (application/profile, * as wildcard)".to_owned());
            }
            for pattern in &repo.pattern {
                if pattern.trim().is_empty()
                    || pattern.contains(char::is_whitespace)
                    || pattern.matches('/').count() > 1
                {
                    problem(&key("pattern"), format!("{pattern:?} is not application or application/profile"));
                }
            }
            if let Some(path) = repo.private_key_path.as_ref().filter(|_| git.enabled) {
                if !path.is_file() {
                    problem(&key("private_key_path"), format!("{} is not a file", path.display()));
                }
            }
            if repo.password.is_some() && repo.username.is_none() {
                problem(&key("username"), format!("is required when backends.git.repos.{name}.password is set"));
            }
        }

        if native.enabled && native.search_locations.is_empty() {
            problem("backends.native.search_locations", "needs at least one directory".to_owned());
        }
        for location in &native.search_locations {
            if let Some(reason) = native_location_problem(location, native.enabled) {
                problem("backends.native.search_locations", format!("{location:?} {reason}"));
            }
        }
        if native.default_label.trim().is_empty() {
            problem("backends.native.default_label", "must not be empty".to_owned());
        }

        let encrypt = &self.encrypt;
        if let Some(key) = &encrypt.key {
            if key.expose().is_empty() {
                problem("encrypt.key", "must not be empty".to_owned());
            } else if key.expose().contains("-----BEGIN") {
                problem("encrypt.key", "is a PEM key; only symmetric keys are supported".to_owned());
            }
        }
        let salt = &encrypt.salt;
        if salt.len() % 2 != 0 || !salt.bytes().all(|b| b.is_ascii_hexdigit()) {
            problem("encrypt.salt", format!("{salt:?} is not hexadecimal (an even number of 0-9, a-f)"));
        }

        if !LOG_LEVELS.contains(&self.logging.level.to_ascii_lowercase().as_str()) {
            problem("logging.level", format!("{:?} is not one of {}", self.logging.level, LOG_LEVELS.join(", ")));
        }

        if self.security.admin_token.as_ref().is_some_and(|t| t.expose().len() < 16) {
            problem("security.admin_token", "must be at least 16 characters long".to_owned());
        }
        if self.security.webhook_secret.as_ref().is_some_and(|t| t.expose().len() < 16) {
            problem("security.webhook_secret", "must be at least 16 characters long".to_owned());
        }
        let auth = &self.security.basic_auth;
        let has_password = auth.password.is_some() || auth.password_file.is_some();
        if auth.username.is_some() != has_password {
            problem("security.basic_auth", "set both username and password (or password_file), or neither".to_owned());
        }
        problems
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
