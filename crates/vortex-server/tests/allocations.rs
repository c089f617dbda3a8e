//! Allocations per request on the hot path, counted per thread by `allocation-counter`'s global
//! allocator (its own test binary, so no other test shares the allocator). A count, not a timing:
//! it cannot flake, and it fails when a change adds heap work to a cached answer.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "../benches/common/mod.rs"]
mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::cached_sample_app;
use http_body_util::BodyExt;
use tower::ServiceExt;
use vortex_server::App;

/// Allocations made while answering one request (built before counting starts) and reading its
/// body.
fn allocations(runtime: &tokio::runtime::Runtime, app: &App, uri: &str, etag: Option<&str>) -> u64 {
    let mut request = Request::get(uri);
    if let Some(etag) = etag {
        request = request.header("if-none-match", etag);
    }
    let request = request.body(Body::empty()).unwrap();
    let service = app.clone();
    let mut status = StatusCode::INTERNAL_SERVER_ERROR;
    let info = allocation_counter::measure(|| {
        runtime.block_on(async {
            let response = service.oneshot(request).await.unwrap();
            status = response.status();
            let _ = response.into_body().collect().await.unwrap();
        });
    });
    let expected = if etag.is_some() { StatusCode::NOT_MODIFIED } else { StatusCode::OK };
    assert_eq!(status, expected, "{uri}");
    info.count_total
}

fn etag(runtime: &tokio::runtime::Runtime, app: &App, uri: &str) -> String {
    runtime.block_on(async {
        let response = app.clone().oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
        response.headers()["etag"].to_str().unwrap().to_owned()
    })
}

#[test]
fn cached_answers_allocate_within_budget() {
    // The budget: what a cached answer allocates today (see docs/benchmarks.md, "Allocations").
    // Lower it when a change removes allocations; a change that needs more must say why.
    const BUDGET: u64 = 10;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut report = Vec::new();
    for metrics in [false, true] {
        let app = runtime.block_on(async { cached_sample_app(metrics) });
        for uri in ["/orders/dev", "/orders-dev.yml", "/main/orders-dev.properties", "/orders/dev/main"] {
            let tag = etag(&runtime, &app, uri);
            // Warm: the entry and its rendering exist; thread-locals and metric series are set up.
            allocations(&runtime, &app, uri, None);
            allocations(&runtime, &app, uri, Some(&tag));
            let hit = (0..5).map(|_| allocations(&runtime, &app, uri, None)).min().unwrap();
            let revalidated = (0..5).map(|_| allocations(&runtime, &app, uri, Some(&tag))).min().unwrap();
            report.push(format!("{uri} metrics={metrics}: 200 {hit}, 304 {revalidated}"));
            assert!(hit <= BUDGET && revalidated <= BUDGET, "over the budget of {BUDGET}:\n{}", report.join("\n"));
        }
    }
    eprintln!("{}", report.join("\n"));
}

#[test]
fn a_cached_entry_holds_little_more_than_its_body() {
    // What new cache entries keep allocated after their misses have been answered, per entry: the
    // body, its entity tag, the environment (whose parsed files are shared with other entries) and
    // the cache's own bookkeeping, amortised over many entries as the cache's tables grow. The
    // files are parsed by an earlier request, so they are not counted.
    const ENTRIES: i64 = 500;
    const OVERHEAD_BUDGET: i64 = 1_536;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let app = runtime.block_on(async { cached_sample_app(false) });
    etag(&runtime, &app, "/orders/warm");
    let mut body = 0;
    let info = allocation_counter::measure(|| {
        runtime.block_on(async {
            for i in 0..ENTRIES {
                let request = Request::get(format!("/orders/entry{i}")).body(Body::empty()).unwrap();
                let response = app.clone().oneshot(request).await.unwrap();
                assert_eq!(response.status(), StatusCode::OK);
                body = i64::try_from(response.into_body().collect().await.unwrap().to_bytes().len()).unwrap();
            }
        });
    });
    let per_entry = info.bytes_current / ENTRIES;
    eprintln!("body {body} B, retained per entry {per_entry} B");
    assert!(
        per_entry <= body + OVERHEAD_BUDGET,
        "a {body} B entry keeps {per_entry} B allocated (budget: body + {OVERHEAD_BUDGET} B)"
    );
}
