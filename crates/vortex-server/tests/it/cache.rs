//! The response cache over real HTTP: entity tags and 304s, the admin API and its token, TTL,
//! bounds, coalesced misses, the `/monitor` webhook, git pushes, and a concurrency stress test.

use std::fs;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use vortex_cache::{CacheOptions, Clock};
use vortex_server::{AppState, app};

use crate::support::{Delayed, Server, TempRepo, native_backend, raw_request};

const TOKEN: &str = "test-admin-token-0123456789";
const BEARER: &str = "Bearer test-admin-token-0123456789";

/// One response, as read off the wire.
#[derive(Debug)]
struct Http {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Http {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }
}

async fn http(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Http {
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    let (status, headers, body) = raw_request(addr, &request).await;
    Http { status, headers, body: String::from_utf8(body).unwrap() }
}

async fn get(addr: SocketAddr, path: &str) -> Http {
    http(addr, "GET", path, &[], "").await
}

async fn admin(addr: SocketAddr, method: &str, path: &str) -> Http {
    http(addr, method, path, &[("Authorization", BEARER)], "").await
}

/// A server over the native backend at `dir`, with a cache built from `options` and the admin API on.
async fn cached_server(dir: &Path, options: CacheOptions) -> Server {
    let state = AppState::builder(Arc::new(native_backend(dir)), "native").cache(options).admin_token(TOKEN).build();
    Server::start(app(state)).await
}

fn repo() -> TempRepo {
    TempRepo::new(&[
        ("application.yml", "shared: 1\n"),
        ("orders.yml", "value: 1\nref: ${shared}\n"),
        ("payments.yml", "value: 1\n"),
        ("cache.yml", "who: the application named cache\n"),
        ("nginx.conf", "listen ${value};\n"),
    ])
}

fn write(repo: &TempRepo, file: &str, text: &str) {
    fs::write(repo.dir.path().join(file), text).unwrap();
}

fn value_of(reply: &Http) -> serde_json::Value {
    reply.json()["propertySources"][0]["source"]["value"].clone()
}

#[tokio::test]
async fn every_format_revalidates_with_304_with_and_without_the_cache() {
    let repo = repo();
    let plain = Server::start(app(AppState::new(Arc::new(native_backend(repo.dir.path())), "native"))).await;
    let cached = cached_server(repo.dir.path(), CacheOptions::default()).await;
    let v2 = ("Accept", vortex_server::V2_MEDIA_TYPE);
    let cases: [(&str, Option<(&str, &str)>); 9] = [
        ("/orders/default", None),
        ("/orders/default/master", None),
        ("/orders/default", Some(v2)),
        ("/orders-default.yml", None),
        ("/orders-default.properties", None),
        ("/orders-default.json", None),
        ("/master/orders-default.yml?resolvePlaceholders=false", None),
        ("/orders/default/master/nginx.conf", None),
        ("/orders/default/master/nginx.conf", Some(("Accept", "application/octet-stream"))),
    ];
    for server in [&plain, &cached] {
        let mut tags = std::collections::HashSet::new();
        for (path, accept) in cases {
            let headers: Vec<(&str, &str)> = accept.into_iter().collect();
            let first = http(server.addr, "GET", path, &headers, "").await;
            assert_eq!(first.status, 200, "{path}: {first:?}");
            let etag = first.header("etag").unwrap_or_else(|| panic!("{path}: no ETag")).to_owned();
            assert!(etag.starts_with('"') && etag.ends_with('"'), "{path}: a strong tag: {etag}");
            assert_eq!(first.header("cache-control"), Some("no-cache, private"), "{path}");
            tags.insert(etag.clone());

            let again = http(server.addr, "GET", path, &headers, "").await;
            assert_eq!(again.header("etag"), Some(etag.as_str()), "{path}: the tag is stable");
            for matching in [etag.clone(), format!("W/{etag}"), format!("\"nope\", {etag}"), "*".to_owned()] {
                let mut conditional = headers.clone();
                conditional.push(("If-None-Match", &matching));
                let reply = http(server.addr, "GET", path, &conditional, "").await;
                assert_eq!(reply.status, 304, "{path} with {matching}");
                assert!(reply.body.is_empty(), "{path}: a 304 has no body");
                assert_eq!(reply.header("etag"), Some(etag.as_str()), "{path}");
                assert_eq!(reply.header("cache-control"), Some("no-cache, private"), "{path}");
            }
            let mut stale = headers.clone();
            stale.push(("If-None-Match", "\"0000000000000000\""));
            assert_eq!(http(server.addr, "GET", path, &stale, "").await.status, 200, "{path}: another tag");
        }
        assert_eq!(tags.len(), cases.len(), "every representation has its own tag");
    }
    // The label is null without one in the URL and named with one, although both share an entry.
    assert_eq!(get(cached.addr, "/orders/default").await.json()["label"], serde_json::Value::Null);
    assert_eq!(get(cached.addr, "/orders/default/master").await.json()["label"], "master");
    let stats = admin(cached.addr, "GET", "/cache?keys").await.json();
    assert_eq!(stats["keys"], serde_json::json!(["orders:default:master"]));
}

#[tokio::test]
async fn with_the_cache_disabled_every_request_loads_and_the_admin_api_says_so() {
    let repo = repo();
    let mut settings = vortex_settings::Settings::default();
    settings.backends.native.search_locations = vec![repo.dir.path().display().to_string()];
    settings.cache.enabled = false;
    settings.security.admin_token = Some(vortex_settings::Secret::new(TOKEN));
    let server = Server::start(app(AppState::from_settings(&settings).await.unwrap())).await;
    assert_eq!(value_of(&get(server.addr, "/orders/default").await), 1);
    write(&repo, "orders.yml", "value: 2\n");
    let reply = get(server.addr, "/orders/default").await;
    assert_eq!(value_of(&reply), 2, "no cache: the change is served at once");
    assert!(reply.header("etag").is_some(), "tags without the cache too");
    assert_eq!(admin(server.addr, "GET", "/cache").await.json(), serde_json::json!({"enabled": false}));
    let reply = admin(server.addr, "DELETE", "/cache?pattern=*").await;
    assert_eq!((reply.status, reply.json()["removed"].as_u64()), (200, Some(0)));
}

#[tokio::test]
async fn a_changed_file_gets_a_new_tag_once_invalidated() {
    let repo = repo();
    let server = cached_server(repo.dir.path(), CacheOptions::default()).await;
    let before = get(server.addr, "/orders-default.yml").await;
    let tag = before.header("etag").unwrap().to_owned();
    write(&repo, "orders.yml", "value: 2\n");
    let cached = http(server.addr, "GET", "/orders-default.yml", &[("If-None-Match", &tag)], "").await;
    assert_eq!(cached.status, 304, "still the cached content");
    assert_eq!(admin(server.addr, "DELETE", "/cache/orders:default").await.json()["removed"], 1);
    let after = http(server.addr, "GET", "/orders-default.yml", &[("If-None-Match", &tag)], "").await;
    assert_eq!(after.status, 200);
    assert_eq!(after.body, "shared: 1\nvalue: 2\n");
    assert_ne!(after.header("etag"), Some(tag.as_str()));
}

#[tokio::test]
async fn admin_routes_require_the_bearer_token() {
    let repo = repo();
    let routes = [
        ("GET", "/cache"),
        ("DELETE", "/cache?pattern=*"),
        ("DELETE", "/cache/orders:default:master"),
        ("POST", "/monitor"),
    ];

    let off = Server::start(app(AppState::builder(Arc::new(native_backend(repo.dir.path())), "native")
        .cache(CacheOptions::default())
        .build()))
    .await;
    for (method, path) in routes {
        let reply = admin(off.addr, method, path).await;
        assert_eq!(reply.status, 403, "{method} {path}");
        assert_eq!(reply.json()["code"], "admin_disabled", "{method} {path}");
        assert!(reply.json()["message"].as_str().unwrap().contains("security.admin_token"));
    }

    let on = cached_server(repo.dir.path(), CacheOptions::default()).await;
    let wrong = [
        None,
        Some("Bearer wrong-token-0123456789abcd"),
        Some("Bearer test-admin-token-012345678"),
        Some("Bearer: test-admin-token-0123456789"),
        Some("Basic dXNlcjpwYXNz"),
    ];
    for (method, path) in routes {
        for header in wrong {
            let headers: Vec<(&str, &str)> = header.map(|h| ("Authorization", h)).into_iter().collect();
            let reply = http(on.addr, method, path, &headers, "").await;
            assert_eq!(reply.status, 401, "{method} {path} with {header:?}");
            assert_eq!(reply.header("www-authenticate"), Some("Bearer realm=\"vortex-admin\""));
            assert_eq!(reply.json()["code"], "unauthorized");
        }
        let body = if method == "POST" { r#"{"path":"orders.yml"}"# } else { "" };
        let reply =
            http(on.addr, method, path, &[("Authorization", BEARER), ("Content-Type", "application/json")], body).await;
        assert_eq!(reply.status, 200, "{method} {path}: {reply:?}");
    }
}

#[tokio::test]
async fn invalidation_by_key_and_pattern() {
    let repo = repo();
    let server = cached_server(repo.dir.path(), CacheOptions::default()).await;
    for path in ["/orders/default", "/orders/prod", "/payments/default"] {
        assert_eq!(value_of(&get(server.addr, path).await), 1);
    }
    write(&repo, "orders.yml", "value: 2\n");
    write(&repo, "payments.yml", "value: 2\n");
    assert_eq!(value_of(&get(server.addr, "/orders/default").await), 1, "served from the cache");

    let reply = admin(server.addr, "DELETE", "/cache/orders:default:master").await;
    assert_eq!(reply.json(), serde_json::json!({"key": "orders:default:master", "removed": 1}));
    assert_eq!(value_of(&get(server.addr, "/orders/default").await), 2);
    assert_eq!(value_of(&get(server.addr, "/orders/prod").await), 1, "other keys stay");
    assert_eq!(admin(server.addr, "DELETE", "/cache/nothing:here").await.json()["removed"], 0);

    let reply = admin(server.addr, "DELETE", "/cache?pattern=*:prod:*").await;
    assert_eq!(reply.json(), serde_json::json!({"pattern": "*:prod:*", "removed": 1}));
    assert_eq!(value_of(&get(server.addr, "/orders/prod").await), 2);
    assert_eq!(value_of(&get(server.addr, "/payments/default").await), 1);
    assert_eq!(admin(server.addr, "DELETE", "/cache?pattern=pay*").await.json()["removed"], 1);
    assert_eq!(value_of(&get(server.addr, "/payments/default").await), 2);
    assert_eq!(admin(server.addr, "DELETE", "/cache?pattern=*").await.json()["removed"], 3);
    assert_eq!(admin(server.addr, "GET", "/cache").await.json()["entries"], 0);

    for (path, code) in [("/cache", "invalid_request"), ("/cache/only-one-part", "invalid_request")] {
        let reply = admin(server.addr, "DELETE", path).await;
        assert_eq!((reply.status, reply.json()["code"].as_str()), (400, Some(code)), "{path}");
    }
}

#[tokio::test]
async fn stats_count_hits_misses_and_evictions() {
    let repo = repo();
    let server = cached_server(repo.dir.path(), CacheOptions::default()).await;
    get(server.addr, "/orders/default").await;
    get(server.addr, "/orders/default").await;
    get(server.addr, "/orders-default.yml").await;
    get(server.addr, "/payments/default").await;
    admin(server.addr, "DELETE", "/cache/payments:default").await;
    let stats = admin(server.addr, "GET", "/cache").await.json();
    assert_eq!(stats["enabled"], true);
    assert_eq!((stats["hits"].as_u64(), stats["misses"].as_u64()), (Some(2), Some(2)), "{stats}");
    assert_eq!(stats["hitRatio"], 0.5);
    assert_eq!(stats["entries"], 1);
    assert_eq!(stats["loads"], 2);
    assert_eq!(stats["evictions"]["explicit"], 1, "{stats}");
    assert!(stats.get("keys").is_none(), "keys only on request");
}

#[tokio::test]
async fn entries_expire_by_the_cache_clock() {
    let repo = repo();
    let clock = Clock::adjustable();
    let options = CacheOptions { ttl: Duration::from_secs(300), clock: clock.clone(), ..CacheOptions::default() };
    let server = cached_server(repo.dir.path(), options).await;
    assert_eq!(value_of(&get(server.addr, "/orders/default").await), 1);
    write(&repo, "orders.yml", "value: 2\n");
    clock.advance(Duration::from_secs(299));
    assert_eq!(value_of(&get(server.addr, "/orders/default").await), 1, "fresh until the TTL");
    clock.advance(Duration::from_secs(1));
    assert_eq!(value_of(&get(server.addr, "/orders/default").await), 2, "reloaded at the TTL");
    let stats = admin(server.addr, "GET", "/cache").await.json();
    assert_eq!(stats["evictions"]["expired"], 1, "{stats}");
}

#[tokio::test]
async fn the_entry_bound_holds_over_http() {
    let files: Vec<(String, String)> = (0..40).map(|i| (format!("app{i}.yml"), format!("n: {i}\n"))).collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    let repo = TempRepo::new(&refs);
    let server = cached_server(repo.dir.path(), CacheOptions { max_capacity: 5, ..CacheOptions::default() }).await;
    for i in 0..40 {
        assert_eq!(get(server.addr, &format!("/app{i}/default")).await.status, 200);
    }
    let stats = admin(server.addr, "GET", "/cache").await.json();
    assert!(stats["entries"].as_u64().unwrap() <= 5, "{stats}");
    assert!(stats["evictions"]["size"].as_u64().unwrap() >= 35, "{stats}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_misses_cause_one_backend_load() {
    let repo = repo();
    let source = Delayed::new(repo.dir.path(), 300, 0);
    let loads = Arc::clone(&source.loads);
    let state = AppState::builder(Arc::new(source), "native").cache(CacheOptions::default()).build();
    let server = Server::start(app(state)).await;
    let addr = server.addr;
    let paths = ["/orders/default", "/orders-default.yml", "/orders/default/master", "/master/orders-default.json"];
    let requests: Vec<_> = (0..32).map(|i| tokio::spawn(async move { get(addr, paths[i % 4]).await.status })).collect();
    for request in requests {
        assert_eq!(request.await.unwrap(), 200);
    }
    assert_eq!(loads.load(Ordering::SeqCst), 1, "32 concurrent misses of one key, one load");
}

#[tokio::test]
async fn the_application_named_cache_is_still_served() {
    let repo = repo();
    let server = cached_server(repo.dir.path(), CacheOptions::default()).await;
    let reply = get(server.addr, "/cache/default").await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json()["propertySources"][0]["source"]["who"], "the application named cache");
    assert_eq!(get(server.addr, "/cache/default/master").await.status, 200);
    assert_eq!(get(server.addr, "/cache-default.yml").await.body, "shared: 1\nwho: the application named cache\n");
}

#[tokio::test]
async fn monitor_invalidates_the_applications_a_push_names() {
    let repo = repo();
    let server = cached_server(repo.dir.path(), CacheOptions::default()).await;
    for path in ["/orders/default", "/payments/default"] {
        get(server.addr, path).await;
    }
    write(&repo, "orders.yml", "value: 2\n");
    write(&repo, "payments.yml", "value: 2\n");
    let github = r#"{"ref":"refs/heads/master","commits":[{"added":[],"removed":[],"modified":["orders-dev.yml"]}]}"#;
    let json = ("Content-Type", "application/json");
    let auth = ("Authorization", BEARER);
    let reply = http(server.addr, "POST", "/monitor", &[auth, json, ("X-GitHub-Event", "push")], github).await;
    assert_eq!(reply.json(), serde_json::json!(["orders-dev", "orders"]));
    assert_eq!(value_of(&get(server.addr, "/orders/default").await), 2);
    assert_eq!(value_of(&get(server.addr, "/payments/default").await), 1, "not named by the push");

    write(&repo, "application.yml", "shared: 2\n");
    let form = ("Content-Type", "application/x-www-form-urlencoded");
    let reply = http(server.addr, "POST", "/monitor", &[auth, form], "path=application.yml").await;
    assert_eq!(reply.json(), serde_json::json!(["*"]));
    assert_eq!(value_of(&get(server.addr, "/payments/default").await), 2, "application.yml concerns everyone");

    let reply = http(server.addr, "POST", "/monitor", &[auth, json, ("X-GitHub-Event", "ping")], "{}").await;
    assert_eq!((reply.status, reply.json()), (200, serde_json::json!([])), "unrecognised: nothing to do");
    let reply = http(server.addr, "POST", "/monitor", &[auth, json], "").await;
    assert_eq!((reply.status, reply.json()["code"].as_str()), (400, Some("invalid_request")));
}

/// An edit in a native search location reaches clients within one watch interval, not one TTL;
/// without the watcher the cache keeps serving what it loaded (the test would fail without it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_file_changes_empty_the_cache_within_the_watch_interval() {
    let repo = TempRepo::new(&[("orders.yml", "value: 1\n"), ("payments.yml", "value: 1\n")]);
    let mut settings = vortex_settings::Settings::default();
    settings.backends.native.search_locations = vec![repo.dir.path().display().to_string()];
    settings.backends.native.watch_interval_seconds = 1;
    let watched = Server::start(app(AppState::from_settings(&settings).await.unwrap())).await;
    settings.backends.native.watch_interval_seconds = 0;
    let unwatched = Server::start(app(AppState::from_settings(&settings).await.unwrap())).await;
    for server in [&watched, &unwatched] {
        for path in ["/orders/default", "/orders/default", "/payments/default"] {
            assert_eq!(value_of(&get(server.addr, path).await), 1);
        }
    }
    fs::write(repo.dir.path().join("orders.yml"), "value: 2\n").unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while value_of(&get(watched.addr, "/orders/default").await) != 2 {
        assert!(std::time::Instant::now() < deadline, "the edit was never served");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(value_of(&get(unwatched.addr, "/orders/default").await), 1, "without the watcher: the cached value");
    fs::write(repo.dir.path().join("application.yml"), "shared: new\n").unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while get(watched.addr, "/payments/default").await.json()["propertySources"].as_array().map(Vec::len) != Some(2) {
        assert!(std::time::Instant::now() < deadline, "a new file was never served");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Readers, invalidations by key, by pattern and of everything, and writers run at once. After an
/// invalidation returns, no request that starts later may show content older than it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stress_no_response_after_an_invalidation_shows_older_data() {
    let repo = TempRepo::new(&[("orders.yml", "generation: 0\n"), ("payments.yml", "generation: 0\n")]);
    let source = Delayed::new(repo.dir.path(), 0, 3);
    let state = AppState::builder(Arc::new(source), "native").cache(CacheOptions::default()).admin_token(TOKEN).build();
    let server = Server::start(app(state)).await;
    let addr = server.addr;
    // The newest generation whose invalidation has returned.
    let floor = Arc::new(AtomicU64::new(0));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut readers = Vec::new();
    for reader in 0..6 {
        let (floor, done) = (Arc::clone(&floor), Arc::clone(&done));
        readers.push(tokio::spawn(async move {
            let mut checked = 0u64;
            let path = ["/orders/default", "/orders-default.json", "/orders/default/master"][reader % 3];
            while !done.load(Ordering::SeqCst) {
                let at_least = floor.load(Ordering::SeqCst);
                let reply = get(addr, path).await;
                assert_eq!(reply.status, 200, "{reply:?}");
                let json = reply.json();
                let seen = json["propertySources"][0]["source"]["generation"]
                    .as_u64()
                    .or_else(|| json["generation"].as_u64())
                    .unwrap();
                assert!(seen >= at_least, "{path}: generation {seen} after the invalidation of {at_least} returned");
                checked += 1;
            }
            checked
        }));
    }
    // Unrelated traffic and invalidations interleave.
    let noise = {
        let done = Arc::clone(&done);
        tokio::spawn(async move {
            while !done.load(Ordering::SeqCst) {
                assert_eq!(get(addr, "/payments/default").await.status, 200);
                assert_eq!(admin(addr, "DELETE", "/cache?pattern=payments:*").await.status, 200);
            }
        })
    };
    let dir = repo.dir.path().to_owned();
    for generation in 1..=100u64 {
        // Write atomically (rename), so a load never reads a half-written file.
        let tmp = dir.join(".orders.yml.tmp");
        fs::write(&tmp, format!("generation: {generation}\n")).unwrap();
        fs::rename(&tmp, dir.join("orders.yml")).unwrap();
        let path = match generation % 3 {
            0 => "/cache/orders:default:master",
            1 => "/cache?pattern=orders:*",
            _ => "/cache?pattern=*",
        };
        assert_eq!(admin(addr, "DELETE", path).await.status, 200);
        floor.store(generation, Ordering::SeqCst);
        // Let the readers load (3 ms) and hit before the next write.
        tokio::time::sleep(Duration::from_millis(1 + generation % 5)).await;
    }
    noise.abort();
    done.store(true, Ordering::SeqCst);
    let mut total = 0;
    for reader in readers {
        total += reader.await.unwrap();
    }
    assert!(total > 100, "the readers ran: {total} checked responses");
    // On a slow machine every load may overlap an invalidation, so the run itself need not hit.
    // Once the invalidations stop, the newest generation is loaded once and then served cached.
    for _ in 0..2 {
        let reply = get(addr, "/orders/default").await;
        assert_eq!(reply.json()["propertySources"][0]["source"]["generation"], 100, "{reply:?}");
    }
    let stats = admin(addr, "GET", "/cache").await.json();
    assert!(stats["hits"].as_u64().unwrap() > 0, "{stats}");
}

#[cfg(feature = "git")]
mod git {
    use std::time::Instant;

    use super::*;
    use crate::support::{Remote, git_settings};

    async fn git_server(remote: &Remote, basedir: &Path, refresh_seconds: u64) -> Server {
        let mut settings = git_settings(&remote.uri(), basedir);
        settings.backends.git.refresh_interval_seconds = refresh_seconds;
        settings.security.admin_token = Some(vortex_settings::Secret::new(TOKEN));
        Server::start(app(AppState::from_settings(&settings).await.unwrap())).await
    }

    #[tokio::test]
    async fn a_push_with_the_webhook_is_served_at_once() {
        let remote = Remote::new();
        let basedir = tempfile::tempdir().unwrap();
        let server = git_server(&remote, basedir.path(), 3600).await;
        assert_eq!(value_of(&get(server.addr, "/orders/default").await), 1);
        remote.commit("orders.yml", "value: 2\n");
        assert_eq!(value_of(&get(server.addr, "/orders/default").await), 1, "no fetch yet");
        let push = r#"{"commits":[{"modified":["orders.yml"]}]}"#;
        let headers = [("Authorization", BEARER), ("Content-Type", "application/json"), ("X-GitHub-Event", "push")];
        let reply = http(server.addr, "POST", "/monitor", &headers, push).await;
        assert_eq!(reply.json(), serde_json::json!(["orders"]));
        // The answer came after the fetch and the invalidation: the next request sees the push.
        assert_eq!(value_of(&get(server.addr, "/orders/default").await), 2);
        assert_eq!(value_of(&get(server.addr, "/orders/default/main").await), 2, "main falls back to master");
    }

    #[tokio::test]
    async fn a_push_without_a_webhook_is_served_after_the_next_background_fetch() {
        let remote = Remote::new();
        let basedir = tempfile::tempdir().unwrap();
        let server = git_server(&remote, basedir.path(), 1).await;
        assert_eq!(value_of(&get(server.addr, "/orders/default").await), 1);
        // Some other file changes too: a moved label drops every entry of that label.
        remote.commit("unrelated.yml", "x: 1\n");
        remote.commit("orders.yml", "value: 2\n");
        let deadline = Instant::now() + Duration::from_secs(20);
        while value_of(&get(server.addr, "/orders/default").await) != 2 {
            assert!(Instant::now() < deadline, "the background fetch never reached the cache");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let stats = admin(server.addr, "GET", "/cache").await.json();
        assert_eq!(stats["evictions"]["expired"], 0, "not the TTL: {stats}");
        assert!(stats["evictions"]["explicit"].as_u64().unwrap() >= 1, "{stats}");
    }

    /// Pushes and webhooks while readers run: once a webhook answered, no later request shows an
    /// older commit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn stress_pushes_and_webhooks_never_serve_an_older_commit() {
        let remote = Remote::new();
        remote.commit("orders.yml", "generation: 0\n");
        let basedir = tempfile::tempdir().unwrap();
        let server = git_server(&remote, basedir.path(), 3600).await;
        let addr = server.addr;
        let floor = Arc::new(AtomicU64::new(0));
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let readers: Vec<_> = (0..4)
            .map(|i| {
                let (floor, done) = (Arc::clone(&floor), Arc::clone(&done));
                tokio::spawn(async move {
                    let path = ["/orders/default", "/orders/default/master"][i % 2];
                    let mut checked = 0u64;
                    while !done.load(Ordering::SeqCst) {
                        let at_least = floor.load(Ordering::SeqCst);
                        let reply = get(addr, path).await;
                        let seen = reply.json()["propertySources"][0]["source"]["generation"].as_u64().unwrap();
                        assert!(seen >= at_least, "{path}: generation {seen} after the webhook for {at_least}");
                        checked += 1;
                    }
                    checked
                })
            })
            .collect();
        let headers = [("Authorization", BEARER), ("Content-Type", "application/json"), ("X-GitHub-Event", "push")];
        for generation in 1..=15u64 {
            remote.commit("orders.yml", &format!("generation: {generation}\n"));
            let push = r#"{"commits":[{"modified":["orders.yml"]}]}"#;
            assert_eq!(http(addr, "POST", "/monitor", &headers, push).await.status, 200);
            floor.store(generation, Ordering::SeqCst);
        }
        done.store(true, Ordering::SeqCst);
        let mut total = 0;
        for reader in readers {
            total += reader.await.unwrap();
        }
        assert!(total > 30, "the readers ran: {total}");
    }
}
