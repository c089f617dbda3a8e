//! Held reads (`?wait=` long-polls) over real HTTP: answered when the representation changes
//! (native file, webhook, background fetch), 304 when the wait ends, not for an unrelated change,
//! limited, authenticated, and answered when the server stops.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use vortex_server::app_from_settings;
use vortex_settings::{Secret, Settings};

use crate::support::{Remote, Server, git_settings, raw_get, raw_request};

const TOKEN: &str = "watch-test-admin-token-0123456789";

/// Settings for the native backend over `dir`, and nothing else.
fn native_settings(dir: &std::path::Path) -> Settings {
    let mut settings = Settings::default();
    settings.backends.git.enabled = false;
    settings.backends.native.enabled = true;
    settings.backends.native.search_locations = vec![dir.display().to_string()];
    settings
}

/// A native server over `dir` with a cache, the file watcher every second, holds of at most 2 s.
async fn native(dir: &std::path::Path, max_watchers: usize) -> Server {
    let mut settings = native_settings(dir);
    settings.backends.native.watch_interval_seconds = 1;
    settings.cache.ttl_seconds = 3600;
    settings.watch.max_wait_seconds = 2;
    settings.watch.max_watchers = max_watchers;
    Server::start(app_from_settings(&settings).await.unwrap()).await
}

/// A git server on `remote`, fetching every `refresh` seconds, with the admin API for webhooks.
async fn git(remote: &Remote, basedir: &std::path::Path, refresh: u64, max_wait: u64) -> Server {
    let mut settings = git_settings(&remote.uri(), basedir);
    settings.backends.git.refresh_interval_seconds = refresh;
    settings.security.admin_token = Some(Secret::new(TOKEN));
    settings.watch.max_wait_seconds = max_wait;
    Server::start(app_from_settings(&settings).await.unwrap()).await
}

/// Status, ETag and body of `GET path` with `If-None-Match: etag` when given.
async fn get(addr: SocketAddr, path: &str, etag: Option<&str>) -> (u16, String, String) {
    let header = etag.map_or_else(String::new, |etag| format!("If-None-Match: {etag}\r\n"));
    let (status, headers, body) = raw_get(addr, path, &header).await;
    let etag = headers.iter().find(|(n, _)| n == "etag").map(|(_, v)| v.clone()).unwrap_or_default();
    (status, etag, String::from_utf8_lossy(&body).into_owned())
}

/// Holds `path` in a task; the answer and when it came.
fn hold(addr: SocketAddr, path: &str, etag: &str) -> tokio::task::JoinHandle<(u16, String, Instant)> {
    let (path, etag) = (path.to_owned(), etag.to_owned());
    tokio::spawn(async move {
        let (status, _, body) = get(addr, &path, Some(&etag)).await;
        (status, body, Instant::now())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_read_without_a_change_answers_304_when_its_wait_ends() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("orders.yml"), "value: 1\n").unwrap();
    let server = native(dir.path(), 100).await;
    let (status, etag, _) = get(server.addr, "/orders-default.properties", None).await;
    assert_eq!(status, 200);

    let started = Instant::now();
    let (status, again, body) = get(server.addr, "/orders-default.properties?wait=1", Some(&etag)).await;
    let waited = started.elapsed();
    assert_eq!((status, again.as_str(), body.as_str()), (304, etag.as_str(), ""));
    // One second, and at most a sixteenth of the longest hold (2 s) of jitter.
    assert!(waited >= Duration::from_secs(1) && waited < Duration::from_millis(1500), "{waited:?}");

    // Without If-None-Match, or with another tag, or without `wait`: at once.
    for (path, tag) in [
        ("/orders-default.properties?wait=1", None),
        ("/orders-default.properties?wait=1", Some("\"other\"")),
        ("/orders/default?wait=1", Some(etag.as_str())),
    ] {
        let started = Instant::now();
        let (status, _, _) = get(server.addr, path, tag).await;
        assert!(started.elapsed() < Duration::from_millis(500), "{path} {tag:?}");
        assert_eq!(status, 200, "{path} {tag:?}");
    }
    // A wait over the limit is cut to it (2 s here), and a bad one is refused.
    let started = Instant::now();
    let (status, _, _) = get(server.addr, "/orders-default.properties?wait=3600", Some(&etag)).await;
    assert_eq!(status, 304);
    assert!(started.elapsed() < Duration::from_millis(2500), "{:?}", started.elapsed());
    let (status, _, body) = get(server.addr, "/orders-default.properties?wait=soon", Some(&etag)).await;
    assert_eq!(status, 400, "{body}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_native_file_change_answers_held_reads_of_every_route_family() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("orders.yml"), "value: 1\n").unwrap();
    std::fs::write(dir.path().join("nginx.conf"), "listen ${value};\n").unwrap();
    let server = native(dir.path(), 100).await;
    let paths = [
        "/orders/default",
        "/orders-default.yml",
        "/master/orders-default.properties",
        "/orders/default/master/nginx.conf",
    ];
    let mut held = Vec::new();
    for path in paths {
        let (_, etag, _) = get(server.addr, path, None).await;
        held.push(hold(server.addr, &format!("{path}?wait=2"), &etag));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    std::fs::write(dir.path().join("orders.yml"), "value: 2\n").unwrap();
    let changed = Instant::now();
    for (path, held) in paths.iter().zip(held) {
        let (status, body, at) = held.await.unwrap();
        assert_eq!(status, 200, "{path}");
        assert!(body.contains('2'), "{path}: {body}");
        // The watcher looks every second: the answer comes within it, not at the end of the wait.
        assert!(at.duration_since(changed) < Duration::from_millis(1500), "{path}: {:?}", at.duration_since(changed));
    }
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_answers_the_held_reads_it_concerns_and_no_other() {
    let remote = Remote::new();
    remote.commit("payments.yml", "value: 1\n");
    let basedir = tempfile::tempdir().unwrap();
    let server = git(&remote, basedir.path(), 3600, 3).await;
    // The flat formats carry no version: `orders`' answer is the same after a push of `payments`
    // (its Environment JSON would differ, by the commit in `version`).
    let (_, orders, _) = get(server.addr, "/orders-default.yml", None).await;
    let (_, payments, _) = get(server.addr, "/payments-default.yml", None).await;
    let orders_held = hold(server.addr, "/orders-default.yml?wait=2", &orders);
    let payments_held = hold(server.addr, "/payments-default.yml?wait=2", &payments);
    tokio::time::sleep(Duration::from_millis(200)).await;

    remote.commit("payments.yml", "value: 2\n");
    let pushed = Instant::now();
    let body = r#"{"path": ["payments.yml"]}"#;
    let request = format!(
        "POST /monitor HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    assert_eq!(raw_request(server.addr, &request).await.0, 200);
    let (status, body, at) = payments_held.await.unwrap();
    assert_eq!((status, body.as_str()), (200, "value: 2\n"));
    assert!(at.duration_since(pushed) < Duration::from_millis(1000), "{:?}", at.duration_since(pushed));
    // `orders` is served from the same commit, but its answer did not change: it waits on.
    let (status, _, at) = orders_held.await.unwrap();
    assert_eq!(status, 304);
    assert!(at.duration_since(pushed) > Duration::from_millis(1500));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_background_fetch_answers_a_held_read() {
    let remote = Remote::new();
    let basedir = tempfile::tempdir().unwrap();
    let server = git(&remote, basedir.path(), 1, 10).await;
    let (_, etag, _) = get(server.addr, "/orders-default.yml", None).await;
    let held = hold(server.addr, "/orders-default.yml?wait=10", &etag);
    tokio::time::sleep(Duration::from_millis(200)).await;
    remote.commit("orders.yml", "value: 2\n");
    let pushed = Instant::now();
    let (status, body, at) = held.await.unwrap();
    assert_eq!((status, body.as_str()), (200, "value: 2\n"));
    // A fetch every second.
    assert!(at.duration_since(pushed) < Duration::from_millis(2500), "{:?}", at.duration_since(pushed));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watches_over_the_limit_get_503_with_a_random_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("orders.yml"), "value: 1\n").unwrap();
    let server = native(dir.path(), 2).await;
    let (_, etag, _) = get(server.addr, "/orders/default", None).await;
    let held = [hold(server.addr, "/orders/default?wait=2", &etag), hold(server.addr, "/orders/default?wait=2", &etag)];
    tokio::time::sleep(Duration::from_millis(300)).await;
    let header = format!("If-None-Match: {etag}\r\n");
    let (status, headers, body) = raw_get(server.addr, "/orders/default?wait=2", &header).await;
    assert_eq!(status, 503, "{}", String::from_utf8_lossy(&body));
    let retry = headers.iter().find(|(n, _)| n == "retry-after").map(|(_, v)| v.parse::<u64>().unwrap());
    assert!(matches!(retry, Some(1..=3)), "{retry:?}");
    assert!(String::from_utf8_lossy(&body).contains("watch.max_watchers"));
    // Plain reads are not watches: served.
    assert_eq!(get(server.addr, "/orders/default", None).await.0, 200);
    let (_, _, metrics) = get(server.addr, "/metrics", None).await;
    assert!(metrics.contains("vortex_watch_refused_total 1"), "{metrics}");
    assert!(metrics.contains("vortex_watch_watchers{kind=\"long_poll\"} 2"), "{metrics}");
    for held in held {
        assert_eq!(held.await.unwrap().0, 304);
    }
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_server_answers_every_held_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("orders.yml"), "value: 1\n").unwrap();
    let server = Server::start(app_from_settings(&native_settings(dir.path())).await.unwrap()).await;
    let (_, etag, _) = get(server.addr, "/orders/default", None).await;
    let held: Vec<_> = (0..8).map(|_| hold(server.addr, "/orders/default?wait=55", &etag)).collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stopping = Instant::now();
    server.stop().await.unwrap();
    for held in held {
        let (status, _, at) = held.await.unwrap();
        assert_eq!(status, 304, "an answer, not a reset");
        assert!(at.duration_since(stopping) < Duration::from_secs(2));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_needs_the_credentials_of_a_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("orders.yml"), "value: 1\n").unwrap();
    let mut settings = native_settings(dir.path());
    settings.security.basic_auth.username = Some("reader".to_owned());
    settings.security.basic_auth.password = Some(Secret::new("reader-password"));
    let server = Server::start(app_from_settings(&settings).await.unwrap()).await;
    let started = Instant::now();
    let (status, _, _) = get(server.addr, "/orders/default?wait=30", Some("\"x\"")).await;
    assert_eq!(status, 401);
    assert!(started.elapsed() < Duration::from_millis(500), "refused at once, not held");
    let (status, _, body) = raw_get(
        server.addr,
        "/orders/default?wait=1",
        "If-None-Match: \"x\"\r\nAuthorization: Basic cmVhZGVyOnJlYWRlci1wYXNzd29yZA==\r\n",
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    server.stop().await.unwrap();
}

/// A server-sent event stream read off the wire: the response head, then events (comments skipped)
/// from the chunked body.
struct Events {
    stream: tokio::io::BufReader<tokio::net::TcpStream>,
    status: u16,
    headers: Vec<(String, String)>,
    /// Decoded body bytes not yet made into events.
    pending: Vec<u8>,
}

/// One event: its `id`, `event` and `data` (the data lines joined with `\n`).
#[derive(Debug, PartialEq, Eq)]
struct Event {
    id: String,
    kind: String,
    data: String,
}

impl Events {
    async fn open(addr: SocketAddr, path: &str, extra: &str) -> Self {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n{extra}\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut stream = tokio::io::BufReader::new(stream);
        let mut line = String::new();
        stream.read_line(&mut line).await.unwrap();
        let status = line[9..12].parse().unwrap();
        let mut headers = Vec::new();
        loop {
            line.clear();
            stream.read_line(&mut line).await.unwrap();
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap();
            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
        Self { stream, status, headers, pending: Vec::new() }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The next chunk of the body; `None` at its end.
    async fn chunk(&mut self) -> Option<Vec<u8>> {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt};
        let mut size = String::new();
        if self.stream.read_line(&mut size).await.ok()? == 0 {
            return None;
        }
        let size = usize::from_str_radix(size.trim(), 16).ok()?;
        let mut data = vec![0; size + 2];
        self.stream.read_exact(&mut data).await.ok()?;
        data.truncate(size);
        (size > 0).then_some(data)
    }

    /// The next event within `within`; `Err(true)` when the stream ended, `Err(false)` on time out.
    async fn next(&mut self, within: Duration) -> Result<Event, bool> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(end) = self.pending.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.pending.drain(..end + 2).collect();
                let text = String::from_utf8(block).unwrap();
                let (mut id, mut kind, mut data) = (String::new(), String::new(), Vec::new());
                for line in text.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        id = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        kind = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push(v.to_owned());
                    }
                }
                if id.is_empty() && kind.is_empty() {
                    continue; // a comment (keep-alive)
                }
                return Ok(Event { id, kind, data: data.join("\n") });
            }
            match tokio::time::timeout_at(deadline, self.chunk()).await {
                Ok(Some(chunk)) => self.pending.extend(chunk),
                Ok(None) => return Err(true),
                Err(_) => return Err(false),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_sends_the_representation_then_each_change_and_resumes_from_its_last_event() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("orders.yml"), "value: 1\n").unwrap();
    let server = native(dir.path(), 100).await;
    let (_, etag, body) = get(server.addr, "/orders-default.yml", None).await;

    let mut events = Events::open(server.addr, "/orders-default.yml", "").await;
    assert_eq!(events.status, 200);
    assert_eq!(events.header("content-type"), Some("text/event-stream"));
    let first = events.next(Duration::from_secs(2)).await.unwrap();
    // The data lines joined with `\n` are the body, byte for byte.
    assert_eq!(first, Event { id: etag.clone(), kind: "change".to_owned(), data: body });
    std::fs::write(dir.path().join("orders.yml"), "value: 2\n").unwrap();
    let second = events.next(Duration::from_secs(3)).await.unwrap();
    assert_eq!(second.data, "value: 2\n");
    assert_ne!(second.id, first.id);
    // An unrelated change sends nothing.
    std::fs::write(dir.path().join("payments.yml"), "value: 9\n").unwrap();
    assert_eq!(events.next(Duration::from_millis(2500)).await, Err(false));
    drop(events);

    // A change while disconnected: resuming from the last event id sends it at once.
    std::fs::write(dir.path().join("orders.yml"), "value: 3\n").unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let resume = format!("Last-Event-ID: {}\r\n", second.id);
    let mut events = Events::open(server.addr, "/orders-default.yml", &resume).await;
    let caught_up = events.next(Duration::from_secs(2)).await.unwrap();
    assert_eq!(caught_up.data, "value: 3\n");
    drop(events);
    // Resuming from the current one sends nothing until the next change.
    let resume = format!("Last-Event-ID: {}\r\n", caught_up.id);
    let mut events = Events::open(server.addr, "/orders-default.yml", &resume).await;
    assert_eq!(events.next(Duration::from_millis(1500)).await, Err(false));

    // Stopping ends the stream with a complete response, not a reset.
    server.stop().await.unwrap();
    assert_eq!(events.next(Duration::from_secs(3)).await, Err(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_of_an_unknown_route_or_a_bad_name_is_an_error_not_a_stream() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("orders.yml"), "value: 1\n").unwrap();
    let server = native(dir.path(), 100).await;
    let events = Events::open(server.addr, "/orders/default/master/missing.txt", "").await;
    assert_eq!(events.status, 404);
    let events = Events::open(server.addr, "/..%2F..%2Fetc/default", "").await;
    assert_eq!(events.status, 400);
    server.stop().await.unwrap();
}
