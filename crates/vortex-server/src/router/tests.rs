//! The route table against the real router: every route and method is routed where the edge
//! classifies it, and refused with 405 exactly where the table says it is not taken.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::map_response;
use axum::response::Response;
use tower::ServiceExt;
use vortex_core::native::{NativeOptions, NativeSource};

use crate::route::Route;
use crate::{AppState, NativeBackend};

/// The real router of a server with every optional part on, each answer naming the template of the
/// route that answered (none for the fallback).
fn real_router(dir: &std::path::Path) -> axum::Router {
    let options = NativeOptions { search_locations: vec![dir.display().to_string()], ..NativeOptions::default() };
    let backend = Arc::new(NativeBackend::new(NativeSource::new(options).unwrap()));
    let builder = AppState::builder(backend, "native").admin_token("t0ken");
    #[cfg(feature = "metrics")]
    let builder = builder.metrics(vortex_metrics::Prometheus::new().unwrap());
    super::root_with(builder.build(), |route, handlers| {
        handlers.layer(map_response(move |mut response: Response| async move {
            response.headers_mut().insert("x-matched", HeaderValue::from_static(route.template()));
            response
        }))
    })
}

/// A path the template matches: each parameter filled in.
fn sample(template: &str) -> String {
    template.replace("{*path}", "p/q.txt").replace("{*key}", "k:v").replace('{', "x").replace('}', "")
}

const METHODS: [Method; 5] = [Method::GET, Method::HEAD, Method::POST, Method::DELETE, Method::PUT];

#[tokio::test]
async fn every_route_and_method_agree_with_the_real_router() {
    let dir = tempfile::tempdir().unwrap();
    let router = real_router(dir.path());
    let mut paths: Vec<String> = Route::ALL.iter().map(|route| sample(route.template())).collect();
    paths.extend(
        [
            "/",
            "//",
            "/a/",
            "/a/b/",
            "/a/b/c/",
            "/a/b/c/d/",
            "/a/b/c/d/e",
            "/a//c",
            "//b",
            "/a/b//d",
            "/a/b/c//e",
            "/health/",
            "/health/x",
            "/actuator/x",
            "/metrics/x",
            "/cache/",
            "/cache//x",
            "/monitor/x",
            "/encrypt/",
            "/encrypt/status/x",
            "/encrypt//b",
            "/encrypt/a/",
            "/encrypt/a/b/c",
            "/decrypt/a",
            "/decrypt/a/b/c",
            "/key/a",
            "/key/a/b/c",
            "/a-b.yml",
            "/l/a-b.yml",
            "/%2F/x",
        ]
        .map(str::to_owned),
    );
    let mut mismatches = Vec::new();
    for path in &paths {
        let route = Route::classify(path);
        for method in &METHODS {
            let request = Request::builder().method(method).uri(path.as_str()).body(Body::empty()).unwrap();
            let response = router.clone().oneshot(request).await.unwrap();
            let matched = response.headers().get("x-matched").map_or("unmatched", |v| v.to_str().unwrap()).to_owned();
            let expected = route.map_or("unmatched", Route::template);
            let refused = response.status() == StatusCode::METHOD_NOT_ALLOWED;
            let taken = route.is_some_and(|route| route.allows(method));
            if matched != expected || (route.is_some() && refused == taken) {
                let status = response.status();
                mismatches.push(format!("{method} {path}: table {expected} taken={taken}, router {matched} {status}"));
            }
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

/// Each row of the table is routed to its template, classified as itself and labelled with its
/// template in the HTTP metrics: adding a row is all it takes to add a route.
#[tokio::test]
async fn each_row_is_routed_classified_and_labelled_alike() {
    let dir = tempfile::tempdir().unwrap();
    let router = real_router(dir.path());
    for route in Route::ALL {
        let path = sample(route.template());
        assert_eq!(Route::classify(&path), Some(route), "{path}");
        let method = [Method::GET, Method::POST, Method::DELETE].into_iter().find(|m| route.allows(m)).unwrap();
        let request = Request::builder().method(&method).uri(&path).body(Body::empty()).unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.headers()["x-matched"], route.template(), "{method} {path}");
        #[cfg(feature = "metrics")]
        assert_eq!(crate::metrics::TEMPLATES[route.index()], route.template());
    }
}
