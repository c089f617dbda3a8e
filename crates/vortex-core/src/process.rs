//! Post-processing of loaded environments, in one step and one fixed order: the `overrides`
//! property source first, then `{cipher}` values decrypted (an override may itself be a `{cipher}`
//! value, as in Spring).
//!
//! Overrides and decryption change what a backend loaded; they are not sources of their own.
//! [`Processed`] runs both after every load of the source it decorates, so that a cache above it
//! keeps finished environments and does the work once per load rather than once per request.
//!
//! ```
//! use vortex_core::process::Processed;
//! use vortex_core::overrides::overrides_source;
//! # fn demo(backend: impl vortex_core::ConfigSource) {
//! let source = Processed::new(backend)
//!     .with_overrides(overrides_source([("logging.level.root".to_owned(), "WARN".to_owned())]));
//! # }
//! ```

use std::sync::Arc;

use crate::cipher::{InvalidCipher, TextEncryptor, decrypt_environment};
use crate::{BoxFuture, ConfigQuery, ConfigSource, CoreError, Decorator, Environment, PropertySource};

/// A [`ConfigSource`] decorator that finishes every environment its inner source loads: the
/// overrides put first, then `{cipher}` values decrypted. Resources pass through unchanged (their
/// placeholders resolve against the finished environment where the caller resolves them).
#[derive(Debug, Clone)]
pub struct Processed<S> {
    inner: S,
    overrides: Option<PropertySource>,
    decryption: Option<(Arc<TextEncryptor>, InvalidCipher)>,
}

impl<S: ConfigSource> Processed<S> {
    /// `inner`, with nothing to do yet.
    pub fn new(inner: S) -> Self {
        Self { inner, overrides: None, decryption: None }
    }

    /// Puts `overrides` (see [`overrides_source`](crate::overrides::overrides_source)) first in
    /// every environment; an empty source is left out.
    #[must_use]
    pub fn with_overrides(mut self, overrides: PropertySource) -> Self {
        self.overrides = (!overrides.source.is_empty()).then_some(overrides);
        self
    }

    /// Decrypts `{cipher}` values with `encryptor`, an invalid one as `invalid` says.
    #[must_use]
    pub fn with_decryption(mut self, encryptor: Arc<TextEncryptor>, invalid: InvalidCipher) -> Self {
        self.decryption = Some((encryptor, invalid));
        self
    }

    /// Whether the decorator changes anything: without overrides or a key, it need not be stacked.
    pub fn is_noop(&self) -> bool {
        self.overrides.is_none() && self.decryption.is_none()
    }

    /// Applies the overrides, then decryption, to `env` loaded for `query`.
    fn finish(&self, query: &ConfigQuery, env: &mut Environment) {
        if let Some(overrides) = &self.overrides {
            env.property_sources.insert(0, overrides.clone());
        }
        if let Some((encryptor, invalid)) = &self.decryption {
            for (source, key) in decrypt_environment(env, encryptor, *invalid) {
                tracing::warn!(application = %query.application, %source, %key, "cannot decrypt a {{cipher}} value");
            }
        }
    }
}

impl<S: ConfigSource> Decorator for Processed<S> {
    fn inner(&self) -> &dyn ConfigSource {
        &self.inner
    }

    fn decorate_load<'a>(&'a self, query: &'a ConfigQuery) -> BoxFuture<'a, Result<Environment, CoreError>> {
        Box::pin(async move {
            let mut env = self.inner.load(query).await?;
            self.finish(query, &mut env);
            Ok(env)
        })
    }
}
