//! The edge in front of the router: read requests answered without the router must be answered
//! exactly as the router answers them; authentication, timeouts and error shapes apply to both.

use std::sync::Arc;
use std::time::Duration;

use vortex_server::{App, AppState, EdgeOptions, app};

use crate::support::{Delayed, Reply, Server, get_with, native_backend, raw_request, sample_repo};

/// Paths of every read shape, valid and not: environments, flat files with and without labels,
/// resources, the application `cache`, 404s, malformed encodings, traversal and bad profiles.
const PATHS: &[&str] = &[
    "/orders/dev",
    "/orders/dev,prod",
    "/orders/prod/main",
    "/orders/default/nope",
    "/orders-dev.yml",
    "/orders-dev.yaml?resolvePlaceholders=false",
    "/orders-dev.properties",
    "/orders-dev.json",
    "/main/payments-dev.properties",
    "/main/orders-prod.yml",
    "/orders/prod/main/nginx.conf",
    "/orders/prod/nginx.conf?useDefaultLabel",
    "/orders/prod/main/v2/nested.txt",
    "/orders/prod/main/missing.txt",
    "/cache/dev",
    "/cache/dev/x",
    "/orders",
    "/orders.yml",
    "/foo/dev.yml",
    "/orders/de%ZZv",
    "/orders/%2E%2E",
    "/..%2F..%2Fetc/dev",
    "/orders/dev%00",
    "/orders/-dev-",
    "/orders//main",
    "/orders/dev?resolvePlaceholders=maybe",
];

fn sample_state() -> AppState {
    AppState::new(Arc::new(native_backend(&sample_repo())), "native")
}

/// The same application with every request going through the router.
fn routed(state: AppState) -> App {
    app(state).merge(axum::Router::new())
}

fn same(direct: &Reply, routed: &Reply, what: &str) {
    assert_eq!(direct.status, routed.status, "{what}: {} vs {}", direct.body, routed.body);
    for header in ["content-type", "etag", "cache-control", "vary", "www-authenticate", "retry-after"] {
        assert_eq!(direct.headers.get(header), routed.headers.get(header), "{what}: {header}");
    }
    assert_eq!(direct.body, routed.body, "{what}");
}

#[tokio::test]
async fn reads_without_the_router_answer_as_the_router_does() {
    let (direct, routed) = (app(sample_state()), routed(sample_state()));
    let mut statuses = Vec::new();
    for path in PATHS {
        for headers in [&[][..], &[("Accept", vortex_server::V2_MEDIA_TYPE)][..]] {
            let a = get_with(&direct, path, headers).await;
            let b = get_with(&routed, path, headers).await;
            same(&a, &b, &format!("GET {path} {headers:?}"));
            statuses.push(a.status.as_u16());
        }
    }
    // The list covers answers and refusals alike.
    for status in [200, 400, 404] {
        assert!(statuses.contains(&status), "no {status} among {statuses:?}");
    }
}

#[tokio::test]
async fn basic_auth_guards_every_read_shape_in_both_paths() {
    let mut settings = vortex_settings::Settings::default();
    settings.backends.native.search_locations = vec![sample_repo().display().to_string()];
    settings.security.basic_auth.username = Some("reader".to_owned());
    settings.security.basic_auth.password = Some(vortex_settings::Secret::new("s3cret"));
    let state = AppState::from_settings(&settings).await.unwrap();
    let good = [("Authorization", "Basic cmVhZGVyOnMzY3JldA==")];
    for (name, app) in [("direct", app(state.clone())), ("routed", routed(state))] {
        for path in ["/orders/dev", "/orders-dev.yml", "/main/orders-dev.properties", "/orders/prod/main/nginx.conf"] {
            for wrong in [None, Some("Basic Og=="), Some("Basic cmVhZGVyOnM="), Some("Bearer s3cret")] {
                let headers: Vec<_> = wrong.map(|w| ("Authorization", w)).into_iter().collect();
                let reply = get_with(&app, path, &headers).await;
                assert_eq!(reply.status, 401, "{name} {path} with {wrong:?}");
                assert_eq!(reply.error_code(), "unauthorized");
                assert_eq!(reply.headers["www-authenticate"], "Basic realm=\"vortex\"");
            }
            assert_eq!(get_with(&app, path, &good).await.status, 200, "{name} {path}");
        }
        assert_eq!(get_with(&app, "/health", &[]).await.status, 200, "{name}: health stays open");
    }
}

#[tokio::test]
async fn without_basic_auth_an_empty_basic_header_is_served() {
    for app in [app(sample_state()), routed(sample_state())] {
        let reply = get_with(&app, "/orders/dev", &[("Authorization", "Basic Og==")]).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
}

#[tokio::test]
async fn a_request_that_outlives_the_timeout_gets_408_in_the_json_shape() {
    let source = Delayed::new(&sample_repo(), 2_000, 0);
    let state = AppState::new(Arc::new(source), "native");
    let server =
        Server::start(App::new(state, EdgeOptions::default().request_timeout(Duration::from_millis(200)))).await;
    let started = std::time::Instant::now();
    let request = "GET /orders/dev HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    let (status, headers, body) = raw_request(server.addr, request).await;
    assert_eq!(status, 408);
    assert!(started.elapsed() < Duration::from_millis(1_500), "answered at the timeout, not after the load");
    assert!(headers.iter().any(|(k, v)| k == "content-type" && v == "application/json"), "{headers:?}");
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["code"], "timeout");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_wrong_method_on_a_read_route_is_405_in_the_json_shape_with_allow() {
    for app in [app(sample_state()), routed(sample_state())] {
        let request = axum::http::Request::post("/orders/dev").body(axum::body::Body::empty()).unwrap();
        let reply = crate::support::send(&app, request).await;
        assert_eq!(reply.status, 405);
        assert_eq!(reply.error_code(), "method_not_allowed");
        assert!(reply.headers["allow"].to_str().unwrap().contains("GET"), "{:?}", reply.headers);
    }
}
