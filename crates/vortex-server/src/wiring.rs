//! Settings to parts: the backend the settings enable (with the git wiring), and the state built
//! from every section. The only module that reads [`Settings`] besides the edge's limits.

use std::sync::Arc;
use std::time::Duration;

use vortex_core::cipher::{InvalidCipher, TextEncryptor};
use vortex_core::native::{NativeOptions, NativeSource};
use vortex_core::{ConfigSource, CoreError};
use vortex_settings::Settings;

use crate::bus::BusConfig;
use crate::cache::CacheConfig;
#[cfg(feature = "git")]
use crate::git;
use crate::metrics::Exporter;
use crate::{AppState, NativeBackend};

impl AppState {
    /// Builds the state from validated settings: the enabled backend, its layers, authentication,
    /// `server.prefix`. Starts the git backend's background fetching when git is enabled, so call
    /// it within a tokio runtime. The edge's limits are [`EdgeOptions::from_settings`](crate::EdgeOptions::from_settings).
    ///
    /// # Errors
    /// When the enabled backend cannot be built, or is not compiled into this binary.
    pub async fn from_settings(settings: &Settings) -> Result<Self, CoreError> {
        let exporter = Exporter::from_settings(&settings.metrics)?;
        let (backend, name) = backend(settings, exporter.metrics()).await?;
        let mut builder = exporter.install(AppState::builder(backend, name));
        let server = &settings.server;
        builder = builder.placeholder_budget(server.placeholder_budget_bytes).accept_empty(server.accept_empty);
        if let Some(prefix) = &server.prefix {
            builder = builder.prefix(prefix);
        }
        let security = &settings.security;
        if let Some(username) = &security.basic_auth.username {
            builder = builder.basic_auth(username, security.basic_auth.password.as_ref().map(|p| p.expose()));
        }
        if let Some(token) = &security.admin_token {
            builder = builder.admin_token(token.expose());
        }
        builder = builder
            .clients(security.clients.clone(), security.clients_file.clone())
            .map_err(|err| CoreError::InvalidInput { what: "security.clients", reason: err.to_string() })?
            .protect_metrics(security.protect_metrics);
        if security.audit.enabled {
            builder = builder.audit(security.audit.path.as_deref()).map_err(|err| CoreError::InvalidInput {
                what: "security.audit.path",
                reason: format!("cannot open it for appending: {err}"),
            })?;
        }
        let backends = &settings.backends;
        let default_label = if backends.native.enabled {
            backends.native.default_label.as_str()
        } else {
            backends.git.default_label.as_str()
        };
        builder = builder.default_label(Some(default_label));
        if let Some(secret) = &security.webhook_secret {
            builder = builder.webhook_secret(secret.expose());
        }
        builder = builder.overrides(vortex_settings::flatten_overrides(&settings.overrides));
        let encrypt = &settings.encrypt;
        if let Some(key) = &encrypt.key {
            let encryptor = TextEncryptor::new(key.expose(), &encrypt.salt)
                .map_err(|err| CoreError::InvalidInput { what: "encrypt.key", reason: err.to_string() })?;
            let invalid = if encrypt.prefix_invalid_properties { InvalidCipher::Prefix } else { InvalidCipher::Keep };
            builder = builder.encryption(encryptor, encrypt.decrypt_on_server.then_some(invalid));
        }
        let bus = BusConfig::from_settings(&settings.bus, server.port)?;
        let watch = crate::watch::WatchConfig::from_settings(&settings.watch);
        Ok(builder
            .cache_config(CacheConfig::from_settings(&settings.cache))
            .bus_config(bus)
            .watch_config(watch)
            .build())
    }
}

/// The backend the settings enable, and its name.
async fn backend(
    settings: &Settings,
    metrics: &vortex_metrics::Metrics,
) -> Result<(Arc<dyn ConfigSource>, &'static str), CoreError> {
    let backends = &settings.backends;
    if !backends.native.enabled {
        return Ok((git::backend(&backends.git, metrics).await?, "git"));
    }
    let native = &backends.native;
    let source = NativeSource::new(NativeOptions {
        search_locations: native.search_locations.clone(),
        default_label: native.default_label.clone(),
        add_label_locations: native.add_label_locations,
        version: native.version.clone(),
    })?;
    let mut backend = NativeBackend::new(source);
    // Only a cache can hold what the files said before: without one, nothing to tell.
    if cfg!(feature = "cache") && settings.cache.enabled && native.watch_interval_seconds > 0 {
        backend = backend.watching(Duration::from_secs(native.watch_interval_seconds));
    }
    Ok((Arc::new(backend), "native"))
}

/// Without the feature there is no git backend: settings that enable it say how to get one.
#[cfg(not(feature = "git"))]
mod git {
    use std::sync::Arc;

    use vortex_core::{ConfigSource, CoreError};

    pub(crate) async fn backend(
        _: &vortex_settings::GitSettings,
        _: &vortex_metrics::Metrics,
    ) -> Result<Arc<dyn ConfigSource>, CoreError> {
        Err(CoreError::Backend {
            kind: vortex_core::ErrorKind::Internal,
            message: "backends.git: this build has no git backend (feature `git`); enable backends.native".to_owned(),
            source: None,
        })
    }
}
