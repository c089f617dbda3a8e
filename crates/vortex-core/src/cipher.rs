//! `{cipher}` values: Spring Cloud Config's symmetric encryption of property values.
//!
//! A value written as `{cipher}<hex>` in a configuration file is served decrypted, as Spring Cloud
//! Config Server does with `encrypt.key` set. The scheme is Spring Security's
//! `Encryptors.text(key, salt)`, so cipher texts made by a Spring server (`POST /encrypt`) or by
//! the Spring CLI decrypt here, and the other way round:
//!
//! - the AES-256 key is PBKDF2-HMAC-SHA1 of the key's UTF-8 bytes with the hex-decoded salt
//!   (`deadbeef` unless configured), 1024 iterations;
//! - a value is encrypted with AES-256-CBC and PKCS#7 padding under a random 16-byte IV;
//! - the cipher text is the hex encoding of the IV followed by the encrypted bytes.
//!
//! [`decrypt_environment`] applies Spring's rules to a loaded [`Environment`]: a decrypted property
//! moves to the end of its property source, and one that cannot be decrypted becomes
//! `invalid.<key>: <n/a>` (or keeps its cipher text, see [`InvalidCipher`]).
//! [`Processed`](crate::process::Processed) does it for every environment a
//! [`ConfigSource`](crate::ConfigSource) loads.
//!
//! ```
//! use vortex_core::cipher::{DEFAULT_SALT, TextEncryptor};
//!
//! # fn main() -> Result<(), vortex_core::cipher::CipherError> {
//! let encryptor = TextEncryptor::new("foo", DEFAULT_SALT)?;
//! // A cipher text from the Spring Cloud Config documentation, made with the key `foo`.
//! assert_eq!(encryptor.decrypt("682bc583f4641835fa2db009355293665d2647dade3375c0ee201de2a49f7bda")?, "mysecret");
//! let hex = encryptor.encrypt("s3cret")?;
//! assert_eq!(encryptor.decrypt(&hex)?, "s3cret");
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::sync::Arc;

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use indexmap::IndexMap;

use crate::{Environment, Property, Value};

/// What marks an encrypted value: `{cipher}` followed by the cipher text.
pub const CIPHER_PREFIX: &str = "{cipher}";

/// Spring's default salt (`encrypt.salt`), hex.
pub const DEFAULT_SALT: &str = "deadbeef";

/// The value Spring serves for a property that could not be decrypted, under `invalid.<key>`.
pub const INVALID_VALUE: &str = "<n/a>";

/// PBKDF2 iterations of Spring Security's `AesBytesEncryptor`.
const ITERATIONS: u32 = 1024;
const IV_LEN: usize = 16;
const BLOCK: usize = 16;

type Encryptor = cbc::Encryptor<aes::Aes256>;
type Decryptor = cbc::Decryptor<aes::Aes256>;

/// Why a key could not be made, or a text not encrypted or decrypted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CipherError {
    /// The key is empty.
    #[error("the key is empty")]
    EmptyKey,
    /// The salt is not an even number of hexadecimal digits.
    #[error("the salt must be hexadecimal digits, an even number of them")]
    Salt,
    /// The text is not a cipher text of this key: not hex, the wrong length, bad padding, or not
    /// UTF-8 once decrypted.
    #[error("text not encrypted with this key")]
    NotDecryptable,
    /// The operating system gave no random bytes for the IV.
    #[error("no random bytes for the IV: {0}")]
    Random(String),
}

/// Encrypts and decrypts text with one symmetric key, as Spring's `Encryptors.text(key, salt)`.
///
/// The AES key is derived once, when it is made; encrypting or decrypting a value costs one AES
/// pass over it. `Debug` never shows the key.
#[derive(Clone)]
pub struct TextEncryptor {
    key: [u8; 32],
}

impl fmt::Debug for TextEncryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TextEncryptor(<redacted>)")
    }
}

impl TextEncryptor {
    /// Derives the AES key from `key` and the hex `salt` ([`DEFAULT_SALT`] is Spring's default).
    ///
    /// # Errors
    /// [`CipherError::EmptyKey`] or [`CipherError::Salt`].
    pub fn new(key: &str, salt: &str) -> Result<Self, CipherError> {
        if key.is_empty() {
            return Err(CipherError::EmptyKey);
        }
        let salt = hex::decode(salt).map_err(|_| CipherError::Salt)?;
        let mut derived = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<sha1::Sha1>(key.as_bytes(), &salt, ITERATIONS, &mut derived);
        Ok(Self { key: derived })
    }

    /// Encrypts `plain` under a fresh random IV; returns the hex cipher text (without `{cipher}`).
    ///
    /// # Errors
    /// [`CipherError::Random`] when the operating system has no random bytes.
    pub fn encrypt(&self, plain: &str) -> Result<String, CipherError> {
        let mut iv = [0u8; IV_LEN];
        getrandom::fill(&mut iv).map_err(|err| CipherError::Random(err.to_string()))?;
        Ok(self.encrypt_with_iv(plain, iv))
    }

    /// Encrypts `plain` under `iv`. Reusing an IV leaks which values are equal: use
    /// [`encrypt`](Self::encrypt) unless the output must be reproducible (tests).
    pub fn encrypt_with_iv(&self, plain: &str, iv: [u8; IV_LEN]) -> String {
        let encrypted = Encryptor::new(&self.key.into(), &iv.into()).encrypt_padded_vec::<Pkcs7>(plain.as_bytes());
        let mut bytes = Vec::with_capacity(IV_LEN + encrypted.len());
        bytes.extend_from_slice(&iv);
        bytes.extend_from_slice(&encrypted);
        hex::encode(bytes)
    }

    /// Decrypts a hex cipher text (without `{cipher}`; upper- or lower-case digits).
    ///
    /// # Errors
    /// [`CipherError::NotDecryptable`] when `hex` is not a cipher text of this key.
    pub fn decrypt(&self, hex: &str) -> Result<String, CipherError> {
        let bytes = hex::decode(hex.trim()).map_err(|_| CipherError::NotDecryptable)?;
        if bytes.len() < IV_LEN + BLOCK || bytes.len() % BLOCK != 0 {
            return Err(CipherError::NotDecryptable);
        }
        let (iv, encrypted) = bytes.split_at(IV_LEN);
        let iv: [u8; IV_LEN] = iv.try_into().map_err(|_| CipherError::NotDecryptable)?;
        let plain = Decryptor::new(&self.key.into(), &iv.into())
            .decrypt_padded_vec::<Pkcs7>(encrypted)
            .map_err(|_| CipherError::NotDecryptable)?;
        String::from_utf8(plain).map_err(|_| CipherError::NotDecryptable)
    }
}

/// Splits the leading `{name:value}` groups off an encrypted or to-be-encrypted text, as Spring's
/// `EnvironmentPrefixHelper` does: `{key:orders}{secret:x}abc` gives `("{key:orders}{secret:x}",
/// "abc")`. `{plain}` ends the groups and is dropped from both parts: what follows is the text,
/// even if it starts with `{`. A text without groups gives `("", text)`.
pub fn split_prefixes(text: &str) -> (&str, &str) {
    let mut end = 0;
    while let Some(group) = text[end..].strip_prefix('{') {
        let Some(close) = group.find('}') else { break };
        let inner = &group[..close];
        if inner == "plain" {
            return (&text[..end], &group[close + 1..]);
        }
        if !inner.contains(':') {
            break;
        }
        end += close + 2;
    }
    (&text[..end], &text[end..])
}

/// What becomes of a `{cipher}` property that cannot be decrypted (Spring's
/// `spring.cloud.config.server.encrypt.prefix-invalid-properties`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InvalidCipher {
    /// It is served as `invalid.<key>: <n/a>`, so a client neither starts with the cipher text as
    /// its value nor silently without the key (Spring's default).
    #[default]
    Prefix,
    /// It keeps its key, with the cipher text (without `{cipher}`) as its value.
    Keep,
}

/// Decrypts every `{cipher}` string value of `env` in place, with Spring's rules: each decrypted
/// property moves to the end of its property source (in file order among themselves), keeping its
/// origin, and one that fails is handled as `invalid` says. Sources without a `{cipher}` value are
/// left untouched (still shared with the documents they came from).
///
/// Returns the keys that could not be decrypted, as `source name`, `key` pairs, for the log.
pub fn decrypt_environment(
    env: &mut Environment,
    encryptor: &TextEncryptor,
    invalid: InvalidCipher,
) -> Vec<(String, String)> {
    let mut failures = Vec::new();
    for source in &mut env.property_sources {
        if !source.source.values().any(is_encrypted) {
            continue;
        }
        let mut kept = IndexMap::with_capacity(source.source.len());
        let mut moved = Vec::new();
        for (key, property) in source.source.iter() {
            let Some(text) = property.value.as_str().and_then(|v| v.strip_prefix(CIPHER_PREFIX)) else {
                kept.insert(key.clone(), property.clone());
                continue;
            };
            let (_, cipher_text) = split_prefixes(text);
            let (key, value) = match encryptor.decrypt(cipher_text) {
                Ok(plain) => (key.clone(), plain),
                Err(_) => {
                    failures.push((source.name.clone(), key.clone()));
                    match invalid {
                        InvalidCipher::Prefix => (format!("invalid.{key}"), INVALID_VALUE.to_owned()),
                        InvalidCipher::Keep => (key.clone(), text.to_owned()),
                    }
                }
            };
            moved.push((key, Property { value: Value::String(value), origin: property.origin }));
        }
        for (key, property) in moved {
            // Spring removes the entry and puts it back: a key already present moves to the end.
            kept.shift_remove(&key);
            kept.insert(key, property);
        }
        source.source = Arc::new(kept);
    }
    failures
}

fn is_encrypted(property: &Property) -> bool {
    property.value.as_str().is_some_and(|v| v.starts_with(CIPHER_PREFIX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PropertySource;

    /// Cipher texts made by Spring (Spring Security `Encryptors.text`), with the salt `deadbeef`.
    const SPRING: &[(&str, &str, &str)] = &[
        // From the Spring Cloud Config documentation.
        ("foo", "682bc583f4641835fa2db009355293665d2647dade3375c0ee201de2a49f7bda", "mysecret"),
        (
            "12345678901234567890",
            "23f97efeed4ab62294432e8ef6b2905e336c245ecb1d5122b2c288c4deeae1b737952312e97e2cf013dd31a28fc60704",
            "encrypt the world",
        ),
    ];

    #[test]
    fn decrypts_what_spring_encrypted() {
        for (key, hex, plain) in SPRING {
            let encryptor = TextEncryptor::new(key, DEFAULT_SALT).unwrap();
            assert_eq!(encryptor.decrypt(hex).as_deref(), Ok(*plain));
            assert_eq!(
                encryptor.decrypt(&hex.to_uppercase()).as_deref(),
                Ok(*plain),
                "Spring's Hex accepts both cases"
            );
        }
    }

    #[test]
    fn encrypts_as_spring_does() {
        // Spring's output for the IV at its front reproduces byte for byte.
        for (key, hex, plain) in SPRING {
            let encryptor = TextEncryptor::new(key, DEFAULT_SALT).unwrap();
            let iv = hex::decode(&hex[..32]).unwrap().try_into().unwrap();
            assert_eq!(encryptor.encrypt_with_iv(plain, iv), *hex);
        }
    }

    #[test]
    fn every_encryption_has_its_own_iv() {
        let encryptor = TextEncryptor::new("k", DEFAULT_SALT).unwrap();
        let (a, b) = (encryptor.encrypt("same").unwrap(), encryptor.encrypt("same").unwrap());
        assert_ne!(a, b);
        assert_eq!((encryptor.decrypt(&a).unwrap(), encryptor.decrypt(&b).unwrap()), ("same".into(), "same".into()));
    }

    #[test]
    fn what_is_not_a_cipher_text_of_this_key_is_refused() {
        let encryptor = TextEncryptor::new("foo", DEFAULT_SALT).unwrap();
        let other = TextEncryptor::new("bar", DEFAULT_SALT).unwrap();
        let salted = TextEncryptor::new("foo", "cafe").unwrap();
        let (_, spring, _) = SPRING[0];
        for text in ["", "zz", "abc", "00112233", &spring[..48], &format!("{spring}00")] {
            assert_eq!(encryptor.decrypt(text), Err(CipherError::NotDecryptable), "{text:?}");
        }
        // A wrong key almost always breaks the padding; when it does not, the result is refused as
        // long as it is not UTF-8, and otherwise differs. Either way the secret does not come out.
        assert_ne!(other.decrypt(spring).ok().as_deref(), Some("mysecret"));
        assert_ne!(salted.decrypt(spring).ok().as_deref(), Some("mysecret"));
    }

    #[test]
    fn keys_and_salts_are_checked() {
        assert_eq!(TextEncryptor::new("", DEFAULT_SALT).unwrap_err(), CipherError::EmptyKey);
        for salt in ["xyz0", "abc", "dead beef"] {
            assert_eq!(TextEncryptor::new("k", salt).unwrap_err(), CipherError::Salt, "{salt}");
        }
        assert!(TextEncryptor::new("k", "").is_ok(), "an empty salt is valid, as in Spring");
        assert_eq!(format!("{:?}", TextEncryptor::new("k", "").unwrap()), "TextEncryptor(<redacted>)");
    }

    #[test]
    fn prefixes_are_split_off() {
        assert_eq!(split_prefixes("abc"), ("", "abc"));
        assert_eq!(split_prefixes("{key:orders}{secret:x}abc"), ("{key:orders}{secret:x}", "abc"));
        assert_eq!(split_prefixes("{key:orders}{plain}{x:y}z"), ("{key:orders}", "{x:y}z"));
        assert_eq!(split_prefixes("{notagroup}abc"), ("", "{notagroup}abc"));
        assert_eq!(split_prefixes("{key:unclosed"), ("", "{key:unclosed"));
    }

    fn source(entries: &[(&str, &str)]) -> PropertySource {
        PropertySource::new(
            "file:app.yml",
            entries.iter().map(|(k, v)| ((*k).to_owned(), Property::new(Value::String((*v).to_owned())))).collect(),
        )
    }

    fn keys_and_values(source: &PropertySource) -> Vec<(String, String)> {
        source.source.iter().map(|(k, p)| (k.clone(), p.value.to_string())).collect()
    }

    #[test]
    fn decrypted_properties_move_to_the_end_and_failures_are_marked() {
        let encryptor = TextEncryptor::new("foo", DEFAULT_SALT).unwrap();
        let (_, hex, _) = SPRING[0];
        let cipher = format!("{{cipher}}{hex}");
        let keyed = format!("{{cipher}}{{key:orders}}{hex}");
        let entries = [("password", cipher.as_str()), ("plain", "x"), ("broken", "{cipher}00ff"), ("again", &keyed)];
        let untouched = source(&[("a", "1")]);
        let mut env = Environment {
            name: "app".into(),
            profiles: vec!["default".into()],
            label: None,
            version: None,
            state: None,
            property_sources: vec![source(&entries), untouched.clone()],
        };
        let failures = decrypt_environment(&mut env, &encryptor, InvalidCipher::Prefix);
        assert_eq!(failures, vec![("file:app.yml".to_owned(), "broken".to_owned())]);
        let expected = [("plain", "x"), ("password", "mysecret"), ("invalid.broken", "<n/a>"), ("again", "mysecret")];
        let expected: Vec<_> = expected.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        assert_eq!(keys_and_values(&env.property_sources[0]), expected);
        assert!(Arc::ptr_eq(&env.property_sources[1].source, &untouched.source), "no cipher, no copy");

        let mut env = Environment { property_sources: vec![source(&entries)], ..env };
        decrypt_environment(&mut env, &encryptor, InvalidCipher::Keep);
        assert_eq!(
            env.property_sources[0].source.get_index(2).map(|(k, p)| (k.as_str(), p.value.to_string())),
            Some(("broken", "00ff".to_owned()))
        );
    }
}
