//! Authentication, signed webhooks and limits: each protection, and that it holds on the wire.

use std::collections::HashMap;
use std::fs;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use vortex_cache::CacheOptions;
use vortex_server::{App, AppState, EdgeOptions, ServeOptions, app};
use vortex_settings::Settings;

use crate::support::{
    Delayed, Reply, Server, TempRepo, get_with, native_backend, raw_get, raw_request, sample_repo, send,
};

const SECRET: &str = "webhook-secret-0123456789";
const TOKEN: &str = "admin-token-0123456789abcdef";

/// Settings loaded as the binary loads them, over the sample repository, with `env` on top.
fn settings(env: &[(&str, &str)]) -> Settings {
    let mut vars: HashMap<String, String> = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    vars.insert("VORTEX__BACKENDS__NATIVE__SEARCH_LOCATIONS".to_owned(), sample_repo().display().to_string());
    vortex_settings::load(None, &vars).unwrap().settings
}

async fn app_from(settings: &Settings) -> App {
    vortex_server::app_from_settings(settings).await.unwrap()
}

/// The value of one series in the app's own `/metrics`.
async fn series(app: &App, series: &str) -> f64 {
    let body = get_with(app, "/metrics", &[]).await.body;
    let line = body.lines().find(|l| l.starts_with(series)).unwrap_or_else(|| panic!("no {series} in\n{body}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_password_file_turns_basic_auth_on_and_refusals_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("password");
    fs::write(&file, "from-a-file\n").unwrap();
    let file = file.display().to_string();
    let app = app_from(&settings(&[
        ("VORTEX__SECURITY__BASIC_AUTH__USERNAME", "reader"),
        ("VORTEX__SECURITY__BASIC_AUTH__PASSWORD_FILE", &file),
    ]))
    .await;
    // base64("reader:from-a-file"); the file's newline is not part of the password.
    let right = ("Authorization", "Basic cmVhZGVyOmZyb20tYS1maWxl");
    assert_eq!(get_with(&app, "/orders/dev", &[right]).await.status, 200);
    assert_eq!(get_with(&app, "/orders/dev", &[]).await.status, 401);
    let newline = ("Authorization", "Basic cmVhZGVyOmZyb20tYS1maWxlCg==");
    assert_eq!(get_with(&app, "/orders/dev", &[newline]).await.status, 401);
    assert_eq!(series(&app, r#"vortex_auth_failures_total{api="read",credentials="missing"}"#).await, 1.0);
    assert_eq!(series(&app, r#"vortex_auth_failures_total{api="read",credentials="wrong"}"#).await, 1.0);
}

#[tokio::test]
async fn a_user_name_without_a_password_lets_no_one_in() {
    // Settings built in code whose password file was never read: closed, not open.
    let mut settings = settings(&[]);
    settings.security.basic_auth.username = Some("reader".to_owned());
    settings.security.basic_auth.password_file = Some("/run/secrets/never-read".into());
    let app = app_from(&settings).await;
    for header in [None, Some("Basic Og=="), Some("Basic cmVhZGVyOg==")] {
        let headers: Vec<(&str, &str)> = header.map(|h| ("Authorization", h)).into_iter().collect();
        assert_eq!(get_with(&app, "/orders/dev", &headers).await.status, 401, "{header:?}");
    }
}

#[tokio::test]
async fn admin_refusals_are_counted_by_cause() {
    let app = app_from(&settings(&[("VORTEX__SECURITY__ADMIN_TOKEN", TOKEN)])).await;
    assert_eq!(get_with(&app, "/cache", &[]).await.status, 401);
    assert_eq!(get_with(&app, "/cache", &[("Authorization", "Bearer admin-token-0123456789abcdeX")]).await.status, 401);
    assert_eq!(get_with(&app, "/cache", &[("Authorization", "Bearer admin-token-0123456789abcdef")]).await.status, 200);
    assert_eq!(series(&app, r#"vortex_auth_failures_total{api="admin",credentials="missing"}"#).await, 1.0);
    assert_eq!(series(&app, r#"vortex_auth_failures_total{api="admin",credentials="wrong"}"#).await, 1.0);
}

fn hmac_hex(secret: &str, body: &str) -> String {
    let mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap().chain_update(body.as_bytes());
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

async fn post(app: &App, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut request = Request::post(path).header("Content-Type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    send(app, request.body(Body::from(body.to_owned())).unwrap()).await
}

/// A cached app over a repository whose `orders.yml` says `value: 1`, with the webhook secret.
async fn webhook_app() -> (TempRepo, App) {
    let repo = TempRepo::new(&[("orders.yml", "value: 1\n")]);
    let state = AppState::builder(Arc::new(native_backend(repo.dir.path())), "native")
        .cache(CacheOptions::default())
        .webhook_secret(SECRET)
        .admin_token(TOKEN)
        .build();
    (repo, app(state))
}

async fn value(app: &App) -> i64 {
    let reply = get_with(app, "/orders/default", &[]).await;
    reply.json()["propertySources"][0]["source"]["value"].as_i64().unwrap()
}

#[tokio::test]
async fn signed_webhooks_are_verified_and_others_change_nothing() {
    let (repo, app) = webhook_app().await;
    let push = r#"{"ref":"refs/heads/master","commits":[{"added":[],"removed":[],"modified":["orders.yml"]}]}"#;
    let github = ("X-GitHub-Event", "push");
    assert_eq!(value(&app).await, 1);
    fs::write(repo.dir.path().join("orders.yml"), "value: 2\n").unwrap();

    // Refused, and the cached answer is still the old one: nothing was invalidated.
    let signed_other = format!("sha256={}", hmac_hex(SECRET, "{}"));
    let wrong_secret = format!("sha256={}", hmac_hex("another-secret-0123456789", push));
    let bearer = format!("Bearer {TOKEN}");
    for (case, headers) in [
        ("unsigned", vec![github]),
        ("signature of another body", vec![github, ("X-Hub-Signature-256", signed_other.as_str())]),
        ("signed with another secret", vec![github, ("X-Hub-Signature-256", wrong_secret.as_str())]),
        ("not hex", vec![github, ("X-Hub-Signature-256", "sha256=zz")]),
        ("no algorithm prefix", vec![github, ("X-Hub-Signature-256", &wrong_secret[7..])]),
        ("wrong GitLab token", vec![("X-Gitlab-Event", "Push Hook"), ("X-Gitlab-Token", "guess")]),
        ("the admin token is not a signature", vec![github, ("Authorization", bearer.as_str())]),
    ] {
        let reply = post(&app, "/monitor", &headers, push).await;
        assert_eq!(reply.status, 401, "{case}: {reply:?}");
        assert_eq!(reply.json()["code"], "unauthorized", "{case}");
        assert_eq!(value(&app).await, 1, "{case}: the cache was invalidated");
    }

    let signature = format!("sha256={}", hmac_hex(SECRET, push));
    let reply = post(&app, "/monitor", &[github, ("X-Hub-Signature-256", &signature)], push).await;
    assert_eq!((reply.status.as_u16(), reply.json()), (200, serde_json::json!(["orders"])), "{reply:?}");
    assert_eq!(value(&app).await, 2);
}

#[tokio::test]
async fn gitlab_gitea_and_gogs_webhooks_are_verified_their_way() {
    let (repo, app) = webhook_app().await;
    let push = r#"{"ref":"refs/heads/master","commits":[{"added":["orders.yml"],"removed":[],"modified":[]}]}"#;
    let hex = hmac_hex(SECRET, push);
    for (round, headers) in [
        vec![("X-Gitlab-Event", "Push Hook"), ("X-Gitlab-Token", SECRET)],
        vec![("X-Gitea-Event", "push"), ("X-Gitea-Signature", hex.as_str())],
        vec![("X-Gogs-Event", "push"), ("X-Gogs-Signature", hex.as_str())],
    ]
    .into_iter()
    .enumerate()
    {
        let generation = i64::try_from(round).unwrap() + 1;
        assert_eq!(value(&app).await, generation);
        fs::write(repo.dir.path().join("orders.yml"), format!("value: {}\n", generation + 1)).unwrap();
        let reply = post(&app, "/monitor", &headers, push).await;
        assert_eq!(reply.status, 200, "{headers:?}: {reply:?}");
        assert_eq!(value(&app).await, generation + 1, "{headers:?}");
    }
}

#[tokio::test]
async fn an_overlong_request_target_gets_414() {
    let app = app_from(&settings(&[("VORTEX__SERVER__MAX_URI_BYTES", "64")])).await;
    let long = format!("/orders/dev?{}", "x".repeat(60));
    let reply = get_with(&app, &long, &[]).await;
    assert_eq!((reply.status.as_u16(), reply.json()["code"].as_str()), (414, Some("uri_too_long")), "{reply:?}");
    assert_eq!(get_with(&app, "/orders/dev", &[]).await.status, 200);
    assert_eq!(series(&app, r#"vortex_http_rejected_total{reason="uri_too_long"}"#).await, 1.0);
}

#[tokio::test]
async fn oversized_headers_get_431_on_the_wire() {
    let app = app(AppState::new(Arc::new(native_backend(&sample_repo())), "native"));
    let options = ServeOptions { max_header_bytes: 2048, ..ServeOptions::default() };
    let server = Server::start_with(app, options).await;
    let big = format!("X-Filler: {}\r\n", "y".repeat(4096));
    let (status, _, _) = raw_get(server.addr, "/orders/dev", &big).await;
    assert_eq!(status, 431);
    let (status, _, _) = raw_get(server.addr, "/orders/dev", "X-Small: 1\r\n").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn more_than_a_hundred_header_fields_get_431_and_no_host_gets_400() {
    let app = app(AppState::new(Arc::new(native_backend(&sample_repo())), "native"));
    let server = Server::start(app).await;
    let many: String = (0..101).map(|i| format!("X-H{i}: 1\r\n")).collect();
    assert_eq!(raw_get(server.addr, "/orders/dev", &many).await.0, 431);
    let few: String = (0..90).map(|i| format!("X-H{i}: 1\r\n")).collect();
    assert_eq!(raw_get(server.addr, "/orders/dev", &few).await.0, 200);
    // RFC 9112 section 3.2: an HTTP/1.1 request without Host is a 400, whatever it asks for.
    for request in [
        "GET /orders/dev HTTP/1.1\r\nConnection: close\r\n\r\n",
        "POST /monitor HTTP/1.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
    ] {
        let (status, _, body) = raw_request(server.addr, request).await;
        assert_eq!(status, 400, "{request:?}");
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["code"], "invalid_request");
    }
    // HTTP/1.0 has no Host requirement.
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(b"GET /orders/dev HTTP/1.0\r\n\r\n").await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    assert!(raw.starts_with(b"HTTP/1.0 200 OK"), "{}", String::from_utf8_lossy(&raw));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_concurrency_limit_requests_are_shed_with_retry_after() {
    // Two slow loads fill both slots; the third request is refused at once, health still answers.
    let source = Delayed::new(&sample_repo(), 1_000, 0);
    let app = App::new(AppState::new(Arc::new(source), "native"), EdgeOptions::default().max_concurrent_requests(2));
    let slow: Vec<_> = ["/orders/dev", "/payments/dev"]
        .into_iter()
        .map(|path| {
            let app = app.clone();
            tokio::spawn(async move { get_with(&app, path, &[]).await.status })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let shed = get_with(&app, "/orders/prod", &[]).await;
    assert!(started.elapsed() < Duration::from_millis(500), "a shed request must not wait");
    assert_eq!((shed.status.as_u16(), shed.json()["code"].as_str()), (503, Some("overloaded")), "{shed:?}");
    assert_eq!(shed.headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    assert_eq!(get_with(&app, "/health", &[]).await.status, 200, "health is never shed");
    for task in slow {
        assert_eq!(task.await.unwrap(), 200);
    }
    assert_eq!(get_with(&app, "/orders/prod", &[]).await.status, 200, "slots are given back");
}

/// Reads until the server closes the connection; `true` when it did within `within`.
async fn closed_by_server(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn slow_clients_are_cut_off_and_cannot_hold_every_connection() {
    let app = app(AppState::new(Arc::new(native_backend(&sample_repo())), "native"));
    let options =
        ServeOptions { max_connections: 8, header_read_timeout: Duration::from_secs(1), ..ServeOptions::default() };
    let server = Server::start_with(app, options).await;
    // Slowloris: every connection slot holds a request whose headers never end.
    let mut slow = Vec::new();
    for _ in 0..8 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(b"GET /orders/dev HTTP/1.1\r\nHost: localhost\r\nX-Slow: ").await.unwrap();
        slow.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut extra = TcpStream::connect(server.addr).await.unwrap();
    assert!(closed_by_server(&mut extra, Duration::from_millis(500)).await, "over the limit: closed at once");
    for stream in &mut slow {
        // A byte now and then does not extend the deadline.
        let _ = stream.write_all(b"a").await;
    }
    for stream in &mut slow {
        assert!(closed_by_server(stream, Duration::from_secs(3)).await, "the header read timeout cut it off");
    }
    let (status, _, _) = raw_get(server.addr, "/orders/dev", "").await;
    assert_eq!(status, 200, "the slots are free again");
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_timeout() {
    let app = app(AppState::new(Arc::new(native_backend(&sample_repo())), "native"));
    let options = ServeOptions { header_read_timeout: Duration::from_secs(1), ..ServeOptions::default() };
    let server = Server::start_with(app, options).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buf[..n]));
    assert!(closed_by_server(&mut stream, Duration::from_secs(3)).await, "idle for longer than the timeout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_lets_in_flight_requests_finish() {
    let source = Delayed::new(&sample_repo(), 700, 0);
    let server = Server::start(app(AppState::new(Arc::new(source), "native"))).await;
    let addr = server.addr;
    let in_flight = tokio::spawn(async move { raw_get(addr, "/orders/dev", "").await.0 });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stopping = Instant::now();
    server.stop().await.unwrap();
    assert!(stopping.elapsed() >= Duration::from_millis(300), "stopped before the request finished");
    assert_eq!(in_flight.await.unwrap(), 200, "the in-flight request was cut");
    assert!(TcpStream::connect(addr).await.is_err(), "still accepting after stop");
}

#[cfg(feature = "tls")]
mod tls {
    use std::path::{Path, PathBuf};

    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, ServerName};
    use tokio_rustls::TlsConnector;
    use tokio_rustls::rustls::{ClientConfig, RootCertStore};

    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls").join(name)
    }

    fn connector() -> TlsConnector {
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(fixture("ca.pem")).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
        let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        TlsConnector::from(Arc::new(config))
    }

    fn tls_settings() -> vortex_settings::ServerSettings {
        let mut server = vortex_settings::ServerSettings::default();
        server.tls.cert_path = Some(fixture("server.pem"));
        server.tls.key_path = Some(fixture("server.key"));
        server
    }

    #[tokio::test]
    async fn serves_https_with_the_configured_certificate() {
        let options = ServeOptions::from_settings(&tls_settings()).unwrap();
        let app = app(AppState::new(Arc::new(native_backend(&sample_repo())), "native"));
        let server = Server::start_with(app, options).await;
        let tcp = TcpStream::connect(server.addr).await.unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let mut tls = connector().connect(name, tcp).await.unwrap();
        tls.write_all(b"GET /orders/dev HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
        let mut raw = Vec::new();
        let _ = tls.read_to_end(&mut raw).await;
        let text = String::from_utf8_lossy(&raw);
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        assert!(text.contains("\"name\":\"orders\""), "{text}");

        // Plain HTTP on the TLS port gets no HTTP answer.
        let (mut plain, mut answer) = (TcpStream::connect(server.addr).await.unwrap(), Vec::new());
        plain.write_all(b"GET /orders/dev HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
        let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut answer)).await;
        assert!(!answer.starts_with(b"HTTP/1.1 200"));
    }

    #[test]
    fn unusable_tls_material_is_named() {
        let mut settings = tls_settings();
        settings.tls.key_path = Some(fixture("ca.pem"));
        let err = ServeOptions::from_settings(&settings).unwrap_err().to_string();
        assert!(err.contains("ca.pem: cannot read the private key"), "{err}");
        settings.tls.cert_path = Some(fixture("server.key"));
        settings.tls.key_path = Some(fixture("server.key"));
        let err = ServeOptions::from_settings(&settings).unwrap_err().to_string();
        assert!(err.contains("server.key: holds no PEM certificate"), "{err}");
    }
}

#[tokio::test]
async fn no_request_path_reaches_outside_the_repository() {
    let app = app(AppState::new(Arc::new(native_backend(&sample_repo())), "native"));
    let long = "a".repeat(150);
    let attempts = [
        "/..%2F..%2F..%2Fetc%2Fpasswd/default".to_owned(),
        "/%2Fetc%2Fpasswd/default".to_owned(),
        "/orders/default/master/..%2F..%2F..%2F..%2Fetc%2Fpasswd".to_owned(),
        "/orders/default/master/%2e%2e/%2e%2e/%2e%2e/etc/passwd".to_owned(),
        "/orders/default/master/%252e%252e/%252e%252e/etc/passwd".to_owned(),
        "/orders/default/master//etc/passwd".to_owned(),
        "/orders/default/(_)etc/passwd".to_owned(),
        "/orders/default/master/a%00b.txt".to_owned(),
        "/orders%00/default".to_owned(),
        "/orders/dev%00".to_owned(),
        "/..(_)..(_)etc-passwd.properties".to_owned(),
        "/master/..%2F..%2Fetc-passwd.yml".to_owned(),
        format!("/{long}/default"),
        format!("/orders/{long}"),
        format!("/orders/default/{long}"),
    ];
    for path in &attempts {
        let reply = get_with(&app, path, &[]).await;
        let status = reply.status.as_u16();
        assert!(matches!(status, 400 | 404), "{path}: {status} {}", reply.body);
        assert_eq!(reply.headers.get("content-type").and_then(|v| v.to_str().ok()), Some("application/json"));
        assert!(!reply.body.contains("root:"), "{path}: {}", reply.body);
    }
    assert_eq!(get_with(&app, "/orders/default", &[]).await.status, 200, "still serving");
}

#[tokio::test]
async fn admin_and_webhook_bodies_are_limited_even_without_a_length() {
    let app =
        app_from(&settings(&[("VORTEX__SERVER__BODY_LIMIT_BYTES", "1024"), ("VORTEX__SECURITY__ADMIN_TOKEN", TOKEN)]))
            .await;
    let bearer = format!("Bearer {TOKEN}");
    let big = format!(r#"{{"path": "{}"}}"#, "x".repeat(4096));
    // No Content-Length: the limit applies while the body is read.
    let reply = post(&app, "/monitor", &[("Authorization", &bearer)], &big).await;
    assert_eq!((reply.status.as_u16(), reply.json()["code"].as_str()), (413, Some("payload_too_large")), "{reply:?}");
    let small = r#"{"path": "orders.yml"}"#;
    assert_eq!(post(&app, "/monitor", &[("Authorization", &bearer)], small).await.status, 200);
}
