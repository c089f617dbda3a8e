//! The Vortex Config server: Spring Cloud Config's HTTP read API over a configuration backend.
//!
//! It owns the HTTP edge: the route table and the router derived from it, the one table of error
//! responses, authentication, health, request limits and graceful shutdown. Domain rules live in
//! `vortex-core`; settings in `vortex-settings`; the command line and logging set-up in the
//! `vortex-server` binary.
//!
//! # Quick start
//!
//! Serve a directory of configuration files the way Spring's native backend reads them
//! (`cargo run -p vortex-server --example embed` runs the same next to routes of its own):
//!
//! ```no_run
//! use std::sync::Arc;
//! use vortex_core::native::{NativeOptions, NativeSource};
//! use vortex_server::{App, AppState, EdgeOptions, NativeBackend, ServeOptions};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let source = NativeSource::new(NativeOptions {
//!     search_locations: vec!["config-repo".to_owned()],
//!     ..NativeOptions::default()
//! })?;
//! let state = AppState::builder(Arc::new(NativeBackend::new(source)), "native").build();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8888").await?;
//! let app = App::new(state, EdgeOptions::default());
//! vortex_server::serve(listener, app, vortex_server::shutdown_signal(), ServeOptions::default()).await?;
//! # Ok(())
//! # }
//! ```
//!
//! [`AppState::builder`] stacks its layers in one fixed order whatever order they are configured
//! in; [`app_from_settings`] builds everything from validated settings.
//!
//! # Features
//!
//! | feature | adds | default |
//! |---|---|---|
//! | `git` | the git backend (`vortex-git`, gitoxide) | yes |
//! | `cache` | the response cache (`vortex-cache`, moka) and its admin routes | yes |
//! | `metrics` | Prometheus metrics at `/metrics` and `/actuator/prometheus` (`vortex-metrics/prometheus`) | yes |
//! | `tls` | TLS termination with rustls (`server.tls`) | yes |

mod access;
mod admin;
mod audit;
mod auth;
mod backend;
mod bus;
mod cache;
mod edge;
mod encrypt;
mod error;
#[cfg(feature = "git")]
mod git;
mod heavy;
mod listen;
mod metrics;
mod monitor;
mod request;
mod route;
mod router;
mod routes;
mod shutdown;
mod state;
mod stream;
#[cfg(feature = "tls")]
mod tls;
mod watch;
mod wiring;

use axum::Router;
use vortex_core::CoreError;
use vortex_settings::Settings;

pub use access::{ClientsError, hash_secret};
pub use backend::NativeBackend;
pub use edge::{App, EdgeFuture};
pub use error::{ApiError, ErrorCode};
pub use listen::{ServeOptions, serve};
pub use routes::V2_MEDIA_TYPE;
pub use shutdown::shutdown_signal;
pub use state::{AppState, Builder, EdgeOptions};

/// The routes of the config server for `state`, under its prefix when it has one, without the
/// edge: for embedding in an axum application that brings its own timeouts and limits (merge it,
/// or nest it under a path of your own; axum's default body limit of 2 MiB applies). [`App`] is
/// the complete application.
///
/// ```
/// # use std::sync::Arc;
/// # use axum::{Router, routing::get};
/// # use vortex_core::native::{NativeOptions, NativeSource};
/// # use vortex_server::{AppState, NativeBackend};
/// # fn demo(source: NativeSource) {
/// let state = AppState::new(Arc::new(NativeBackend::new(source)), "native");
/// let host: Router = Router::new()
///     .route("/hello", get(|| async { "hello" }))
///     .nest("/config", vortex_server::router(state)); // GET /config/orders/dev
/// # }
/// ```
pub fn router(state: AppState) -> Router {
    let prefix = state.inner.prefix.clone();
    let routes = router::root(state);
    match prefix {
        Some(prefix) => Router::new().nest(&prefix, routes),
        None => routes,
    }
}

/// The complete HTTP application for `state` with the default limits of the `server` settings:
/// [`App::new`] with [`EdgeOptions::default`].
pub fn app(state: AppState) -> App {
    App::new(state, EdgeOptions::default())
}

/// Builds the config server's routes from validated settings in one call (backend, cache,
/// metrics, authentication, `server.prefix`), for an axum application that mounts them next to
/// its own: `host.merge(router_from_settings(&settings).await?)`. Starts the git backend's
/// background fetching when git is enabled, so call it within a tokio runtime.
///
/// # Errors
/// When the enabled backend cannot be built, or is not compiled into this binary.
pub async fn router_from_settings(settings: &Settings) -> Result<Router, CoreError> {
    Ok(router(AppState::from_settings(settings).await?))
}

/// The complete HTTP application from validated settings: the state of
/// [`AppState::from_settings`] behind the edge with the limits of the `server` settings.
///
/// # Errors
/// When the enabled backend cannot be built, or is not compiled into this binary.
pub async fn app_from_settings(settings: &Settings) -> Result<App, CoreError> {
    Ok(App::new(AppState::from_settings(settings).await?, EdgeOptions::from_settings(&settings.server)))
}

/// Entry points for the fuzz targets in `fuzz/` (`cargo xtask fuzz`): the parsers of untrusted
/// input that are internal to the server. Not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    use axum::http::{HeaderMap, HeaderName, HeaderValue};

    /// Parses a request target as the read API does (`ReadRequest::parse`, the code
    /// that serves); returns the query and the resource path an accepted request would look up.
    pub fn decode_target(target: &str) -> Vec<(vortex_core::ConfigQuery, Option<String>)> {
        let Ok(uri) = target.parse::<axum::http::Uri>() else { return Vec::new() };
        let Ok(request) = crate::request::ReadRequest::from_uri(&uri) else { return Vec::new() };
        let path = match &request.target {
            crate::request::Target::Resource(path) => vortex_core::resource::check_path(path).ok().map(str::to_owned),
            _ => None,
        };
        vec![(request.query, path)]
    }

    /// Parses a webhook: `headers` as `name: value` lines, then `body`. Returns the application
    /// names the push concerns, or `None` when no git host's format matched or the body was refused.
    pub fn webhook(headers: &str, body: &[u8]) -> Option<Vec<String>> {
        let mut map = HeaderMap::new();
        for line in headers.lines() {
            let Some((name, value)) = line.split_once(':') else { continue };
            if let (Ok(name), Ok(value)) = (HeaderName::try_from(name.trim()), HeaderValue::try_from(value.trim())) {
                map.append(name, value);
            }
        }
        let paths = crate::monitor::changed_paths(&map, body).ok()??;
        Some(crate::monitor::service_names(&paths))
    }

    /// Verifies a webhook signature with `secret`; `true` when accepted.
    pub fn verify_webhook(secret: &str, header: &str, value: &[u8], body: &[u8]) -> bool {
        let mut map = HeaderMap::new();
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(header), HeaderValue::from_bytes(value)) {
            map.insert(name, value);
        }
        crate::auth::WebhookSecret::new(secret).verify(&map, body).is_ok()
    }
}
