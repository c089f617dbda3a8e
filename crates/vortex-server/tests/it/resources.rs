//! Plain-text and binary resources: `/{name}/{profile}/{label}/{path}` (see `docs/compatibility.md`).

use axum::http::StatusCode;

use crate::support::{TempRepo, get, get_with, sample_app};

#[tokio::test]
async fn text_resources_resolve_placeholders() {
    let reply = get(&sample_app(), "/orders/dev/master/nginx.conf").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.content_type(), "text/plain;charset=UTF-8");
    assert!(reply.body.contains("server orders-db.dev.internal:8081;"), "{}", reply.body);
    assert!(reply.body.contains("proxy_read_timeout 3s;"), "{}", reply.body);
    // An escaped placeholder comes out literally, without its backslash.
    assert!(reply.body.contains("set $greeting \"${not-a-placeholder}\";"), "{}", reply.body);
}

#[tokio::test]
async fn profile_variant_wins_and_default_label_works() {
    let reply = get(&sample_app(), "/orders/prod/nginx.conf?useDefaultLabel").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.contains("keepalive 64;"), "{}", reply.body);
    assert!(reply.body.contains("server orders-db.prod.internal:8443;"), "{}", reply.body);
    let with_value = get(&sample_app(), "/orders/prod/nginx.conf?useDefaultLabel=").await;
    assert_eq!(with_value.body, reply.body);
}

#[tokio::test]
async fn placeholders_can_be_left_alone() {
    let reply = get(&sample_app(), "/orders/dev/master/nginx.conf?resolvePlaceholders=false").await;
    assert!(reply.body.contains("server ${db.host}:${server.port};"), "{}", reply.body);
}

#[tokio::test]
async fn octet_stream_returns_the_raw_bytes() {
    let reply =
        get_with(&sample_app(), "/orders/dev/master/nginx.conf", &[("accept", "application/octet-stream")]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.content_type(), "application/octet-stream");
    let raw = std::fs::read_to_string(crate::support::sample_repo().join("nginx.conf")).unwrap();
    assert_eq!(reply.body, raw);
}

#[tokio::test]
async fn nested_paths_and_charsets() {
    let repo = TempRepo::new(&[("dir/sub/greeting.txt", "grüße ${name}"), ("app.yml", "name: welt")]);
    let app = repo.app();
    let utf8 = get(&app, "/app/default/master/dir/sub/greeting.txt").await;
    assert_eq!(utf8.body, "grüße welt");
    let latin1 = get_with(&app, "/app/default/master/dir/sub/greeting.txt", &[("accept-charset", "ISO-8859-1")]).await;
    assert_eq!(latin1.body, "grÃ¼Ã\u{9f}e welt", "UTF-8 bytes read as ISO-8859-1 give mojibake");
}

#[tokio::test]
async fn missing_and_forbidden_paths() {
    let app = sample_app();
    for (uri, status) in [
        ("/orders/dev/master/missing.txt", StatusCode::NOT_FOUND),
        ("/orders/dev/master/WEB-INF/web.xml", StatusCode::NOT_FOUND),
        ("/orders/dev/master/../foo.txt", StatusCode::BAD_REQUEST),
        ("/orders/dev/master/a/%2e%2e/%2e%2e/foo.txt", StatusCode::BAD_REQUEST),
        ("/orders/dev/master/..%5Cfoo.txt", StatusCode::BAD_REQUEST),
        ("/orders/../master/nginx.conf", StatusCode::BAD_REQUEST),
    ] {
        let reply = get(&app, uri).await;
        assert_eq!(reply.status, status, "{uri}: {}", reply.body);
        reply.error_code();
    }
}
