//! A string that never shows up in logs or printed settings.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A secret setting (password, token). `Debug` and `Serialize` print `<redacted>`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// Returns the secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("<redacted>")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

impl crate::Settings {
    /// Reads every secret given as a file (`*_file`) into its setting, as [`crate::load`] does
    /// before validating: for settings built in code. One trailing newline is removed.
    ///
    /// # Errors
    /// [`crate::SettingsError::Invalid`] naming each file that cannot be read, is empty, or is set
    /// together with its inline secret.
    pub fn read_secret_files(&mut self) -> Result<(), crate::SettingsError> {
        let problems: Vec<_> = read_secret_files(self)
            .into_iter()
            .map(|(key, message)| crate::Problem { key, message, origin: crate::ValueOrigin::Default })
            .collect();
        if problems.is_empty() { Ok(()) } else { Err(crate::SettingsError::Invalid(problems)) }
    }
}

/// Reads each `*_file` secret into its setting; returns `(dotted key, message)` per problem.
pub(crate) fn read_secret_files(settings: &mut crate::Settings) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let (security, encrypt, amqp) = (&mut settings.security, &mut settings.encrypt, &mut settings.bus.amqp);
    let pairs: [(&str, &Option<std::path::PathBuf>, &mut Option<Secret>); 5] = [
        ("security.admin_token", &security.admin_token_file, &mut security.admin_token),
        ("security.webhook_secret", &security.webhook_secret_file, &mut security.webhook_secret),
        ("security.basic_auth.password", &security.basic_auth.password_file, &mut security.basic_auth.password),
        ("encrypt.key", &encrypt.key_file, &mut encrypt.key),
        ("bus.amqp.password", &amqp.password_file, &mut amqp.password),
    ];
    for (key, file, secret) in pairs {
        let Some(path) = file else { continue };
        let file_key = format!("{key}_file");
        if secret.is_some() {
            problems.push((file_key, format!("set {key} or {key}_file, not both")));
            continue;
        }
        match read_secret(path) {
            Ok(value) => *secret = Some(value),
            Err(message) => problems.push((file_key, message)),
        }
    }
    for (i, client) in settings.security.clients.iter_mut().enumerate() {
        problems.extend(client.read_files(&format!("security.clients[{i}]")));
    }
    problems
}

/// The secret a file holds, one trailing newline removed; the message says why it cannot be had
/// (missing, no permission, not UTF-8, empty), never what the file holds.
pub(crate) fn read_secret(path: &std::path::Path) -> Result<Secret, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let value = text.strip_suffix('\n').map_or(text.as_str(), |t| t.strip_suffix('\r').unwrap_or(t));
            if value.is_empty() { Err(format!("{} is empty", path.display())) } else { Ok(Secret::new(value)) }
        }
        Err(err) => Err(format!("cannot read {}: {err}", path.display())),
    }
}
