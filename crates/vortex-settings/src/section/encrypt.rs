//! `encrypt`: `{cipher}` values and the encryption endpoints.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::Secret;
use crate::validate::Problems;

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

impl EncryptSettings {
    /// Adds a problem for every invalid `encrypt.*` setting.
    pub(crate) fn check(&self, problems: &mut Problems) {
        let encrypt = self;
        if let Some(key) = &encrypt.key {
            if key.expose().is_empty() {
                problems.add("encrypt.key", "must not be empty".to_owned());
            } else if key.expose().contains("-----BEGIN") {
                problems.add("encrypt.key", "is a PEM key; only symmetric keys are supported".to_owned());
            }
        }
        let salt = &encrypt.salt;
        if salt.len() % 2 != 0 || !salt.bytes().all(|b| b.is_ascii_hexdigit()) {
            problems.add("encrypt.salt", format!("{salt:?} is not hexadecimal (an even number of 0-9, a-f)"));
        }
    }
}
