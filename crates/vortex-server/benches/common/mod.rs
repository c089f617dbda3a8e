//! The application the hot-path measurements share: the bundled sample repository on the native
//! backend, with the cache on, and metrics on or off. Included by `benches/request.rs` and
//! `tests/allocations.rs`.

use std::path::Path;
use std::sync::Arc;

use vortex_cache::CacheOptions;
use vortex_core::native::{NativeOptions, NativeSource};
use vortex_server::{App, AppState, NativeBackend};

/// The sample repository behind the cache, with Prometheus metrics when `metrics`. Build it inside
/// a tokio runtime, so the exporter's upkeep runs as in the server.
pub(crate) fn cached_sample_app(metrics: bool) -> App {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/sample-repo");
    let options = NativeOptions { search_locations: vec![repo.display().to_string()], ..NativeOptions::default() };
    let backend = Arc::new(NativeBackend::new(NativeSource::new(options).unwrap()));
    let mut builder = AppState::builder(backend, "native").cache(CacheOptions::default());
    if metrics {
        builder = builder.metrics(vortex_metrics::Prometheus::new().unwrap());
    }
    vortex_server::app(builder.build())
}
