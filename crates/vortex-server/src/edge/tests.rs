use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use tower::ServiceExt;

use super::*;

/// The same table as the real router, each route answering with its own template.
fn echo_router() -> Router {
    let mut router = Router::new();
    for &route in ROUTES {
        let echo = move || async move { route };
        router = router.route(route, get(echo).post(echo).delete(echo));
    }
    router.fallback(|| async { "unmatched" })
}

#[tokio::test]
async fn route_templates_agree_with_axum() {
    let router = echo_router();
    let paths = [
        "/",
        "//",
        "/a",
        "/a/",
        "/a/b",
        "/a/b/",
        "/a/b/c",
        "/a/b/c/",
        "/a/b/c/d",
        "/a/b/c/d/",
        "/a/b/c/d/e",
        "/a//c",
        "//b",
        "/a/b//d",
        "/a/b/c//e",
        "/health",
        "/health/",
        "/health/x",
        "/actuator/health",
        "/actuator/prometheus",
        "/actuator/x",
        "/metrics",
        "/metrics/x",
        "/cache",
        "/cache/",
        "/cache/x",
        "/cache/x/y/z",
        "/cache//x",
        "/monitor",
        "/monitor/x",
        "/encrypt",
        "/encrypt/",
        "/encrypt/status",
        "/encrypt/status/x",
        "/encrypt/a",
        "/encrypt/a/b",
        "/encrypt//b",
        "/encrypt/a/",
        "/encrypt/a/b/c",
        "/decrypt",
        "/decrypt/a",
        "/decrypt/a/b",
        "/decrypt/a/b/c",
        "/key",
        "/key/a",
        "/key/a/b",
        "/key/a/b/c",
        "/a-b.yml",
        "/l/a-b.yml",
        "/%2F/x",
    ];
    let mut mismatches = Vec::new();
    for path in paths {
        let response = router.clone().oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
        let body = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
        let axum_says = String::from_utf8(body.to_vec()).unwrap();
        let ours = route_template(path).map_or("unmatched", |i| ROUTES[i]);
        if ours != axum_says {
            mismatches.push(format!("{path}: ours {ours}, axum {axum_says}"));
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}
