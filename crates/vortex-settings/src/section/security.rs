//! `security`: authentication of the read API, the admin API and webhooks.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::Secret;
use crate::validate::Problems;

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
    /// It stands for a client that may read everything (and use `/encrypt`).
    pub basic_auth: BasicAuthSettings,
    /// Named clients, each with its credentials, its scope and its roles. With none (and no
    /// `basic_auth`), reads are open to everyone. Default none.
    pub clients: Vec<ClientSettings>,
    /// A YAML file holding `clients:` (a list like [`clients`](Self::clients)), re-read when it
    /// changes and on SIGHUP; its clients come after those of `clients`. Default none.
    pub clients_file: Option<PathBuf>,
    /// Whether `/metrics` (and `/actuator/prometheus`) need a client with the `admin` or `health`
    /// role. Default false.
    pub protect_metrics: bool,
    /// The audit log: one JSON line per request the access policy decided.
    pub audit: AuditSettings,
}

/// The audit log (`security.audit`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditSettings {
    /// Whether to write it. Default false. Env `VORTEX__SECURITY__AUDIT__ENABLED`.
    pub enabled: bool,
    /// The file it is appended to; standard output without one. Default none.
    /// Env `VORTEX__SECURITY__AUDIT__PATH`.
    pub path: Option<PathBuf>,
}

/// One client of the read API (`security.clients[]`): how it proves who it is, what it may read
/// and what else it may do.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClientSettings {
    /// The client's name, in audit lines and metrics; unique.
    pub name: String,
    /// The user name of HTTP basic authentication.
    pub username: Option<String>,
    /// The argon2id hash of the password (PHC string, from `vortex-server hash-password`).
    pub password_hash: Option<Secret>,
    /// A file holding the password's hash, instead of `password_hash`.
    pub password_file: Option<PathBuf>,
    /// The argon2id hash of a bearer token.
    pub token_hash: Option<Secret>,
    /// A file holding the token's hash, instead of `token_hash`.
    pub token_file: Option<PathBuf>,
    /// The name a client certificate must be valid for (a DNS name or an IP address among its
    /// subject alternative names), with `server.tls.client_ca`: such a client presents its
    /// certificate instead of a password.
    pub certificate_subject: Option<String>,
    /// Refused: a password is never stored as written. Here only to say so.
    pub password: Option<Secret>,
    /// Refused: a token is never stored as written. Here only to say so.
    pub token: Option<Secret>,
    /// Globs (`*`, `?`) of the applications it may read; every application of a request must
    /// match. Default none: nothing.
    pub applications: Vec<String>,
    /// Globs of the profiles it may read; every profile of a request must match. Default `*`.
    pub profiles: Vec<String>,
    /// Globs of the labels it may read; every label of a request must match (a request without one
    /// is checked with the backend's default label). Default `*`.
    pub labels: Vec<String>,
    /// What it may do: `read` (the read API, held reads and streams), `encrypt` (`/encrypt`,
    /// `/key`), `decrypt` (`/decrypt`), `admin` (the admin API, `/monitor`, `busrefresh`, health
    /// details), `health` (health details and protected metrics). Default `[read]`.
    pub roles: Vec<Role>,
}

impl std::fmt::Debug for ClientSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSettings")
            .field("name", &self.name)
            .field("username", &self.username)
            .field("password_hash", &self.password_hash)
            .field("password_file", &self.password_file)
            .field("token_hash", &self.token_hash)
            .field("token_file", &self.token_file)
            .field("certificate_subject", &self.certificate_subject)
            .field("applications", &self.applications)
            .field("profiles", &self.profiles)
            .field("labels", &self.labels)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

/// What a client may do besides being identified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The read API in its scope: environments, flat formats, resources, held reads, streams.
    Read,
    /// `/encrypt` (in its scope for `/encrypt/{name}/{profiles}`), `/encrypt/status`, `/key`.
    Encrypt,
    /// `/decrypt` (in its scope for `/decrypt/{name}/{profiles}`).
    Decrypt,
    /// The admin API, `/monitor` without a webhook secret, `busrefresh`, health details, metrics.
    Admin,
    /// Health details and protected metrics, for monitoring.
    Health,
}

/// The file of `security.clients_file`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClientsFile {
    /// The clients, as in `security.clients`.
    pub clients: Vec<ClientSettings>,
}

impl ClientSettings {
    /// The scope globs with their defaults filled in: profiles and labels `*`, roles `read`.
    #[must_use]
    pub fn with_defaults(mut self) -> Self {
        for list in [&mut self.profiles, &mut self.labels] {
            if list.is_empty() {
                list.push("*".to_owned());
            }
        }
        if self.roles.is_empty() {
            self.roles.push(Role::Read);
        }
        self
    }

    /// Reads `password_file` and `token_file` into their hashes; `(key, message)` per problem,
    /// `key` under `prefix` (`security.clients[0]`).
    pub fn read_files(&mut self, prefix: &str) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let pairs = [
            ("password", &self.password_file, &mut self.password_hash),
            ("token", &self.token_file, &mut self.token_hash),
        ];
        for (what, file, hash) in pairs {
            let Some(path) = file else { continue };
            let key = format!("{prefix}.{what}_file");
            if hash.is_some() {
                problems.push((key, format!("set {what}_hash or {what}_file, not both")));
                continue;
            }
            match crate::secret::read_secret(path) {
                Ok(value) => *hash = Some(value),
                Err(message) => problems.push((key, message)),
            }
        }
        problems
    }

    /// Adds a problem for everything wrong with this client, at `prefix` (`security.clients[0]`).
    pub(crate) fn check(&self, prefix: &str, problems: &mut Problems) {
        if self.name.trim().is_empty() {
            problems
                .add(&format!("{prefix}.name"), "is required: the client's name in audit lines and metrics".to_owned());
        } else if !self.name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.@:".contains(c)) {
            problems.add(&format!("{prefix}.name"), "may hold only letters, digits and -_.@:".to_owned());
        }
        for (what, given) in [("password", self.password.is_some()), ("token", self.token.is_some())] {
            if given {
                problems.add(
                    &format!("{prefix}.{what}"),
                    format!(
                        "a {what} is never stored as written: store its hash in {what}_hash \
                         (`echo -n '<{what}>' | vortex-server hash-password`)"
                    ),
                );
            }
        }
        let basic = self.username.is_some() || self.password_hash.is_some() || self.password_file.is_some();
        let bearer = self.token_hash.is_some() || self.token_file.is_some();
        let certificate = self.certificate_subject.is_some();
        match (basic, bearer) {
            _ if usize::from(basic) + usize::from(bearer) + usize::from(certificate) > 1 => problems
                .add(prefix, "give one of: username and password_hash, token_hash, certificate_subject".to_owned()),
            (false, false) if certificate => {
                let empty = self.certificate_subject.as_deref().is_some_and(|s| s.trim().is_empty());
                if empty {
                    problems.add(&format!("{prefix}.certificate_subject"), "is empty".to_owned());
                }
            }
            (false, false) if self.password.is_none() && self.token.is_none() => problems.add(
                prefix,
                "has no credentials: give username and password_hash (or password_file), token_hash (or \
                 token_file), or certificate_subject"
                    .to_owned(),
            ),
            (true, false) if self.username.as_deref().is_none_or(str::is_empty) => {
                problems.add(&format!("{prefix}.username"), "is required with password_hash".to_owned());
            }
            (true, false) if self.password_hash.is_none() && self.password_file.is_none() => {
                problems.add(&format!("{prefix}.password_hash"), "is required with username".to_owned());
            }
            _ => {}
        }
        for (what, hash) in [("password_hash", &self.password_hash), ("token_hash", &self.token_hash)] {
            if let Some(hash) = hash
                && !hash.expose().starts_with("$argon2id$")
            {
                problems.add(
                    &format!("{prefix}.{what}"),
                    "is not an argon2id hash (it starts with $argon2id$): make one with `vortex-server hash-password`"
                        .to_owned(),
                );
            }
        }
        let scoped =
            self.roles.is_empty() || self.roles.iter().any(|r| matches!(r, Role::Read | Role::Encrypt | Role::Decrypt));
        if scoped && self.applications.is_empty() {
            problems.add(
                &format!("{prefix}.applications"),
                "is required: the globs of the applications it may read (`[\"*\"]` for all)".to_owned(),
            );
        }
        for (what, globs) in
            [("applications", &self.applications), ("profiles", &self.profiles), ("labels", &self.labels)]
        {
            if globs.iter().any(|g| g.trim().is_empty()) {
                problems.add(&format!("{prefix}.{what}"), "holds an empty glob".to_owned());
            }
        }
    }
}

/// Checks a list of clients: each one, and names and user names given twice.
pub(crate) fn check_clients(clients: &[ClientSettings], prefix: &str, problems: &mut Problems) {
    let mut names = std::collections::HashSet::new();
    let mut users = std::collections::HashSet::new();
    for (i, client) in clients.iter().enumerate() {
        let at = format!("{prefix}[{i}]");
        client.check(&at, problems);
        if !client.name.is_empty() && !names.insert(client.name.as_str()) {
            problems.add(&format!("{at}.name"), format!("{:?} names another client too", client.name));
        }
        if let Some(user) = &client.username
            && !users.insert(user.as_str())
        {
            problems.add(&format!("{at}.username"), format!("{user:?} is another client's user name too"));
        }
    }
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

impl SecuritySettings {
    /// Adds a problem for every invalid `security.*` setting.
    pub(crate) fn check(&self, problems: &mut Problems) {
        if self.admin_token.as_ref().is_some_and(|t| t.expose().len() < 16) {
            problems.add("security.admin_token", "must be at least 16 characters long".to_owned());
        }
        if self.webhook_secret.as_ref().is_some_and(|t| t.expose().len() < 16) {
            problems.add("security.webhook_secret", "must be at least 16 characters long".to_owned());
        }
        let auth = &self.basic_auth;
        let has_password = auth.password.is_some() || auth.password_file.is_some();
        if auth.username.is_some() != has_password {
            problems
                .add("security.basic_auth", "set both username and password (or password_file), or neither".to_owned());
        }
        check_clients(&self.clients, "security.clients", problems);
    }
}
