//! The config API under a path prefix: nested in a host application's router (embedding), and
//! from `server.prefix` for the standalone server. Over real HTTP on loopback.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;
use vortex_core::native::{NativeOptions, NativeSource};
use vortex_server::{AppState, NativeBackend, app, router, router_from_settings};

use crate::support::{Server, raw_get, sample_repo};

fn sample_state() -> AppState {
    let options =
        NativeOptions { search_locations: vec![sample_repo().display().to_string()], ..NativeOptions::default() };
    AppState::new(Arc::new(NativeBackend::new(NativeSource::new(options).unwrap())), "native")
}

fn sample_settings(prefix: &str) -> vortex_settings::Settings {
    let mut settings = vortex_settings::Settings::default();
    settings.backends.native.search_locations = vec![sample_repo().display().to_string()];
    settings.server.prefix = Some(prefix.to_owned());
    settings.validate().unwrap();
    settings
}

/// Serves a plain axum `Router` (the host application's) on loopback.
async fn serve_host(host: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, host).await });
    addr
}

/// A host application with routes of its own, one of them a path the config API would also match.
fn host_routes() -> Router {
    Router::new()
        .route("/hello", get(|| async { "hello from the host" }))
        .route("/orders/dev", get(|| async { "the host's own /orders/dev" }))
}

async fn body(addr: SocketAddr, path: &str) -> (u16, String) {
    let (status, _, body) = raw_get(addr, path, "").await;
    (status, String::from_utf8(body).unwrap())
}

/// The contract endpoints answer under `prefix` as they do at the root of a standalone server.
async fn assert_contract_under(addr: SocketAddr, prefix: &str) {
    let (status, text) = body(addr, &format!("{prefix}/orders/dev")).await;
    assert_eq!(status, 200, "{text}");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["name"], "orders");
    assert_eq!(json["profiles"], serde_json::json!(["dev"]));
    assert!(json["propertySources"].as_array().is_some_and(|s| !s.is_empty()), "{json}");
    let (status, text) = body(addr, &format!("{prefix}/orders/dev/master")).await;
    assert_eq!(
        (status, serde_json::from_str::<serde_json::Value>(&text).unwrap()["label"].clone()),
        (200, "master".into())
    );
    let (status, text) = body(addr, &format!("{prefix}/orders-dev.yml")).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("server:"), "{text}");
    let (status, text) = body(addr, &format!("{prefix}/master/orders-dev.properties")).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.lines().any(|l| l.starts_with("server.port: ")), "{text}");
    let (status, _) = body(addr, &format!("{prefix}/health")).await;
    assert_eq!(status, 200);
    // Errors keep their JSON shape under the prefix.
    let (status, text) = body(addr, &format!("{prefix}/orders/dev/master/no-such-file.txt")).await;
    assert_eq!(status, 404, "{text}");
    assert!(text.contains("\"code\""), "{text}");
}

#[tokio::test]
async fn nested_in_a_host_router_serves_the_contract_next_to_the_host_routes() {
    let host = host_routes().nest("/config", router(sample_state()));
    let addr = serve_host(host).await;
    assert_contract_under(addr, "/config").await;
    assert_eq!(body(addr, "/hello").await, (200, "hello from the host".to_owned()));
    assert_eq!(body(addr, "/orders/dev").await, (200, "the host's own /orders/dev".to_owned()));
}

#[tokio::test]
async fn router_from_settings_merges_into_a_host_under_server_prefix() {
    let vortex = router_from_settings(&sample_settings("/config/v1")).await.unwrap();
    let addr = serve_host(host_routes().merge(vortex)).await;
    assert_contract_under(addr, "/config/v1").await;
    assert_eq!(body(addr, "/hello").await, (200, "hello from the host".to_owned()));
    assert_eq!(body(addr, "/orders/dev").await, (200, "the host's own /orders/dev".to_owned()));
}

#[tokio::test]
async fn the_standalone_server_serves_every_route_under_server_prefix_only() {
    let state = AppState::from_settings(&sample_settings("/config")).await.unwrap();
    let server = Server::start(app(state)).await;
    assert_contract_under(server.addr, "/config").await;
    for outside in ["/orders/dev", "/health", "/orders-dev.yml", "/configorders/dev", "/"] {
        let (status, text) = body(server.addr, outside).await;
        assert_eq!(status, 404, "{outside}: {text}");
        assert!(text.contains("\"code\""), "{outside}: {text}");
    }
}
