//! Prometheus metrics over real HTTP: counters move exactly with traffic, the exposition's shape
//! (insta), Prometheus' own parser accepts it, and client-controlled names never become series.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use vortex_cache::CacheOptions;
use vortex_core::native::{NativeOptions, NativeSource};
use vortex_metrics::Prometheus;
use vortex_server::{AppState, NativeBackend, app};

use crate::support::{Server, TempRepo, python_tools, raw_request, send};

const BEARER: &str = "Bearer metrics-test-token-0123456789";

fn state(dir: &std::path::Path) -> AppState {
    let options = NativeOptions { search_locations: vec![dir.display().to_string()], ..NativeOptions::default() };
    let backend = NativeBackend::new(NativeSource::new(options).unwrap());
    AppState::builder(Arc::new(backend), "native")
        .metrics(Prometheus::new().unwrap())
        .cache(CacheOptions::default())
        .admin_token("metrics-test-token-0123456789")
        .build()
}

fn repo() -> TempRepo {
    TempRepo::new(&[("orders.yml", "value: 1\n"), ("broken.yml", "a: [unclosed\n")])
}

async fn call(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> (u16, Vec<(String, String)>) {
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("Content-Length: 0\r\n\r\n");
    let (status, headers, _) = raw_request(addr, &request).await;
    (status, headers)
}

async fn exposition(addr: SocketAddr) -> String {
    let (status, headers, body) =
        raw_request(addr, "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await;
    assert_eq!(status, 200);
    let content_type = headers.iter().find(|(n, _)| n == "content-type").map(|(_, v)| v.as_str());
    assert_eq!(content_type, Some("text/plain; version=0.0.4; charset=utf-8"));
    String::from_utf8(body).unwrap()
}

/// Samples by `name{labels}`, as written.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap();
            (series.to_owned(), value.parse().unwrap())
        })
        .collect()
}

fn sample(text: &str, series: &str) -> f64 {
    samples(text).get(series).copied().unwrap_or_else(|| panic!("no sample {series} in:\n{text}"))
}

#[tokio::test]
async fn counters_move_exactly_with_traffic() {
    let repo = repo();
    let server = Server::start(app(state(repo.dir.path()))).await;
    let addr = server.addr;
    let before = exposition(addr).await;
    assert_eq!(sample(&before, r#"vortex_cache_lookups_total{outcome="miss"}"#), 0.0);

    // One miss, then one hit.
    let (_, headers) = call(addr, "GET", "/orders/default", &[]).await;
    let text = exposition(addr).await;
    assert_eq!(sample(&text, r#"vortex_cache_lookups_total{outcome="miss"}"#), 1.0);
    assert_eq!(sample(&text, r#"vortex_cache_lookups_total{outcome="hit"}"#), 0.0);
    call(addr, "GET", "/orders/default", &[]).await;
    let text = exposition(addr).await;
    assert_eq!(sample(&text, r#"vortex_cache_lookups_total{outcome="miss"}"#), 1.0);
    assert_eq!(sample(&text, r#"vortex_cache_lookups_total{outcome="hit"}"#), 1.0);
    assert_eq!(sample(&text, "vortex_cache_hit_ratio"), 0.5);
    assert_eq!(sample(&text, "vortex_cache_entries"), 1.0);
    assert_eq!(sample(&text, r#"vortex_cache_lookup_duration_seconds_count{outcome="hit"}"#), 1.0);
    assert_eq!(sample(&text, r#"vortex_backend_load_duration_seconds_count{backend="native"}"#), 1.0);
    let ok = r#"vortex_http_requests_total{route="/{a}/{b}",method="GET",status="2xx"}"#;
    assert_eq!(sample(&text, ok), 2.0);

    // A 304.
    let etag = headers.iter().find(|(n, _)| n == "etag").map(|(_, v)| v.clone()).unwrap();
    assert_eq!(call(addr, "GET", "/orders/default", &[("If-None-Match", &etag)]).await.0, 304);
    let text = exposition(addr).await;
    assert_eq!(sample(&text, "vortex_http_not_modified_total"), 1.0);
    assert_eq!(sample(&text, r#"vortex_http_requests_total{route="/{a}/{b}",method="GET",status="3xx"}"#), 1.0);

    // An explicit invalidation is an eviction.
    assert_eq!(call(addr, "DELETE", "/cache/orders:default:master", &[("Authorization", BEARER)]).await.0, 200);
    let text = exposition(addr).await;
    assert_eq!(sample(&text, r#"vortex_cache_evictions_total{cause="explicit"}"#), 1.0);
    assert_eq!(sample(&text, r#"vortex_cache_evictions_total{cause="expired"}"#), 0.0);
    assert_eq!(sample(&text, "vortex_cache_entries"), 0.0);
    assert_eq!(sample(&text, r#"vortex_http_requests_total{route="/cache/{*key}",method="DELETE",status="2xx"}"#), 1.0);

    // A failing load is counted by backend and kind; an unknown path by its fixed label.
    assert_eq!(call(addr, "GET", "/broken/default", &[]).await.0, 500);
    assert_eq!(call(addr, "GET", "/a/b/c/d/e?x", &[]).await.0, 404);
    assert_eq!(call(addr, "GET", "/a/b/c/", &[]).await.0, 404);
    let text = exposition(addr).await;
    assert_eq!(sample(&text, r#"vortex_backend_load_errors_total{backend="native",kind="invalid_document"}"#), 1.0);
    assert_eq!(sample(&text, r#"vortex_http_requests_total{route="/{a}/{b}",method="GET",status="5xx"}"#), 1.0);
    assert_eq!(
        sample(&text, r#"vortex_http_requests_total{route="/{a}/{b}/{c}/{*path}",method="GET",status="4xx"}"#),
        1.0
    );
    assert_eq!(sample(&text, r#"vortex_http_requests_total{route="unmatched",method="GET",status="4xx"}"#), 1.0);
    let build =
        samples(&text).into_iter().find(|(k, _)| k.starts_with(r#"vortex_build_info{version="0.1.0",features=""#));
    assert_eq!(build.map(|(_, v)| v), Some(1.0));
    // The exposition is traffic too, counted under its own route once answered: five scrapes before.
    assert_eq!(sample(&text, r#"vortex_http_requests_total{route="/metrics",method="GET",status="2xx"}"#), 5.0);
}

/// Names, HELP and TYPE lines and label sets after a fixed sequence of requests; values redacted.
#[tokio::test]
async fn exposition_shape_snapshot() {
    let repo = repo();
    let server = Server::start(app(state(repo.dir.path()))).await;
    for path in ["/orders/default", "/orders/default", "/orders-default.yml", "/broken/default", "/nope"] {
        call(server.addr, "GET", path, &[]).await;
    }
    let text = exposition(server.addr).await;
    // Families sorted by name, samples sorted within each: the exporter's order is a hash map's.
    let mut families: Vec<Vec<String>> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty() && !l.contains("_bucket{") && !l.contains("quantile=")) {
        if line.starts_with("# HELP") || families.is_empty() {
            families.push(Vec::new());
        }
        let line = if line.starts_with('#') {
            line.to_owned()
        } else {
            // The feature list depends on the build being tested.
            let series = line.rsplit_once(' ').unwrap().0;
            let series = match series.find("features=\"") {
                Some(at) => format!("{}features=\"<features>\"}}", &series[..at]),
                None => series.to_owned(),
            };
            format!("{series} <value>")
        };
        families.last_mut().unwrap().push(line);
    }
    for family in &mut families {
        family[2..].sort();
    }
    families.sort();
    let shape: Vec<String> = families.concat();
    insta::assert_snapshot!(shape.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_own_parser_accepts_the_exposition() {
    let repo = repo();
    let server = Server::start(app(state(repo.dir.path()))).await;
    for path in ["/orders/default", "/orders/default", "/orders-default.properties", "/broken/default"] {
        call(server.addr, "GET", path, &[]).await;
    }
    let text = exposition(server.addr).await;
    let python = tokio::task::spawn_blocking(python_tools).await.unwrap();
    let script = r#"
import sys
from prometheus_client.parser import text_string_to_metric_families
families = list(text_string_to_metric_families(sys.stdin.read()))
for family in families:
    assert family.documentation, family.name + " has no HELP"
    print(family.name, family.type, len(family.samples))
"#;
    let mut child = Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "the parser refused the exposition: {}", String::from_utf8_lossy(&output.stderr));
    let parsed = String::from_utf8(output.stdout).unwrap();
    for expected in [
        "vortex_cache_lookups counter",
        "vortex_cache_lookup_duration_seconds histogram",
        "vortex_http_requests counter",
        "vortex_http_request_duration_seconds histogram",
        "vortex_backend_load_errors counter",
        "vortex_cache_hit_ratio gauge",
    ] {
        assert!(parsed.lines().any(|l| l.starts_with(expected)), "{expected} missing from:\n{parsed}");
    }
}

#[tokio::test]
async fn ten_thousand_unknown_applications_do_not_grow_the_exposition() {
    let repo = repo();
    let app = app(state(repo.dir.path()));
    let get = |uri: String| Request::get(uri).body(Body::empty()).unwrap();
    // Warm up every series the flood touches: a miss (200), a hit, a 404.
    for uri in ["/warm/default", "/warm/default", "/warm-default.yml", "/nope"] {
        send(&app, get(uri.to_owned())).await;
    }
    let scrape = || async { send(&app, get("/metrics".to_owned())).await.body };
    // The first scrape is counted after it answered: the second one shows its series.
    scrape().await;
    let lines_before = scrape().await.lines().count();
    for i in 0..10_000 {
        let uri = match i % 3 {
            0 => format!("/app-{i}/default"),
            1 => format!("/app{i}-dev.yml"),
            _ => format!("/unknown-{i}"),
        };
        send(&app, get(uri)).await;
    }
    let after = scrape().await;
    assert_eq!(after.lines().count(), lines_before, "the exposition grew with client-chosen names");
    assert!(!after.contains("app-9999") && !after.contains("unknown-"), "a client-chosen name became a label");
}

#[cfg(feature = "git")]
#[tokio::test]
async fn a_failing_fetch_is_counted() {
    let remote = tempfile::tempdir().unwrap();
    for args in [
        &["init", "-q", "-b", "main"][..],
        &["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x"],
    ] {
        assert!(Command::new("git").args(args).current_dir(remote.path()).status().unwrap().success());
    }
    let basedir = tempfile::tempdir().unwrap();
    let mut settings = crate::support::git_settings(&format!("file://{}", remote.path().display()), basedir.path());
    settings.backends.git.refresh_interval_seconds = 3600;
    settings.security.admin_token = Some(vortex_settings::Secret::new("metrics-test-token-0123456789"));
    let server = Server::start(app(AppState::from_settings(&settings).await.unwrap())).await;
    let text = exposition(server.addr).await;
    assert_eq!(sample(&text, r#"vortex_git_fetches_total{repository="default",result="ok"}"#), 1.0, "the first clone");
    assert!(sample(&text, r#"vortex_git_last_fetch_success_timestamp_seconds{repository="default"}"#) > 1.7e9);

    drop(remote);
    let webhook = [("Authorization", BEARER), ("Content-Type", "application/json")];
    let mut request = "POST /monitor HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n".to_owned();
    for (name, value) in webhook {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    let body = r#"{"path":"orders.yml"}"#;
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    assert_eq!(raw_request(server.addr, &request).await.0, 502);
    let text = exposition(server.addr).await;
    assert_eq!(sample(&text, r#"vortex_git_fetches_total{repository="default",result="error"}"#), 1.0);
    assert_eq!(sample(&text, r#"vortex_git_fetches_total{repository="default",result="ok"}"#), 1.0);
    assert_eq!(sample(&text, r#"vortex_git_fetch_duration_seconds_count{repository="default"}"#), 2.0);
}
