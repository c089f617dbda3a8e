//! The whole request path in-process through the `Router`, for a cache hit, with metrics off and
//! on: what recording costs on the hottest path.
//!
//! `cargo bench -p vortex-server --bench request`

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::BodyExt;
use tower::ServiceExt;
use vortex_cache::CacheOptions;
use vortex_core::native::{NativeOptions, NativeSource};
use vortex_server::{App, AppState, NativeBackend};

fn app(metrics: bool) -> App {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/sample-repo");
    let options = NativeOptions { search_locations: vec![repo.display().to_string()], ..NativeOptions::default() };
    let mut state = AppState::new(Arc::new(NativeBackend::new(NativeSource::new(options).unwrap())), "native");
    if metrics {
        state = state.with_metrics(vortex_metrics::Prometheus::new().unwrap());
    }
    vortex_server::app(state.with_cache(CacheOptions::default()))
}

async fn hit(app: &App, uri: &str, if_none_match: Option<&str>) -> usize {
    let mut request = Request::get(uri);
    if let Some(tag) = if_none_match {
        request = request.header("if-none-match", tag);
    }
    let response = app.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    assert!(response.status() == StatusCode::OK || response.status() == StatusCode::NOT_MODIFIED);
    response.into_body().collect().await.unwrap().to_bytes().len()
}

fn request_path(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut group = c.benchmark_group("request");
    for (name, metrics) in [("metrics_off", false), ("metrics_on", true)] {
        // Built inside the runtime, so the exporter's upkeep runs as in the server: without it,
        // histogram samples pile up unfolded and the figures measure a growing buffer.
        let app = rt.block_on(async { app(metrics) });
        rt.block_on(hit(&app, "/orders/dev", None));
        group.bench_function(format!("cache_hit_json/{name}"), |b| {
            b.iter(|| rt.block_on(hit(black_box(&app), "/orders/dev", None)));
        });
        let tag = rt.block_on(async {
            let response = app.clone().oneshot(Request::get("/orders/dev").body(Body::empty()).unwrap()).await.unwrap();
            response.headers()["etag"].to_str().unwrap().to_owned()
        });
        group.bench_function(format!("not_modified/{name}"), |b| {
            b.iter(|| rt.block_on(hit(black_box(&app), "/orders/dev", Some(&tag))));
        });
    }
    group.finish();
}

criterion_group!(benches, request_path);
criterion_main!(benches);
