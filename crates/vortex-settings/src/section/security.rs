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
    }
}
