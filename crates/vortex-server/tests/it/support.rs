//! Helpers: repositories in temp dirs, in-process requests, a server on loopback, a raw HTTP client.

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;
use vortex_core::native::{NativeOptions, NativeSource};
use vortex_core::{BoxFuture, ConfigQuery, ConfigSource, CoreError, Environment, Resource, SourceHealth};
use vortex_server::{App, AppState, NativeBackend, ServeOptions, app};

/// Third-party Python packages the tests run against, pinned: the Spring Cloud Config client the
/// assertions were written against, Prometheus' own text-format parser, and pika, RabbitMQ's
/// Python client, to read the bus as a consumer that is not ours.
const PYTHON_PACKAGES: &[&str] = &["config-client==1.5.0", "prometheus-client==0.21.1", "pika==1.3.2"];

/// Creates a virtualenv with [`PYTHON_PACKAGES`] once (kept in the target dir between runs) and
/// returns its Python.
pub(crate) fn python_tools() -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-tools-venv");
    let python = venv.join("bin/python");
    install_once(&venv, &PYTHON_PACKAGES.join(" "), || {
        let status = std::process::Command::new("python3").args(["-m", "venv", "--clear"]).arg(&venv).status();
        let status = status.expect("python3 is needed for the third-party client tests");
        assert!(status.success(), "python3 -m venv failed");
        let status = std::process::Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
            .args(PYTHON_PACKAGES)
            .status()
            .unwrap();
        assert!(status.success(), "pip install {PYTHON_PACKAGES:?} failed");
    });
    python
}

/// Runs `install` unless `dir` holds a marker saying that `what` was installed there; tests
/// running at the same time wait for one another here.
fn install_once(dir: &Path, what: &str, install: impl FnOnce()) {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let marker = dir.join(".installed");
    if fs::read_to_string(&marker).is_ok_and(|installed| installed == what) {
        return;
    }
    install();
    fs::write(&marker, what).unwrap();
}

/// The Node.js Spring Cloud Config client the tests run against, pinned (npm `cloud-config-client`).
const NODE_PACKAGE: &str = "cloud-config-client@1.6.2";

/// What the Node.js client reads: `node reader.js ENDPOINT NAME PROFILES LABEL USER PASS KEY...`
/// prints one JSON object with each key's value, the whole configuration as the client nests it
/// (`@object`), or the client's error (`@error`).
const NODE_READER: &str = r#"'use strict'
const client = require('cloud-config-client')
const [endpoint, name, profiles, label, user, pass, ...keys] = process.argv.slice(2)
client.load({ endpoint, name, profiles, label: label || undefined, auth: user ? { user, pass } : undefined })
  .then((config) => {
    const out = { '@object': config.toObject() }
    for (const key of keys) out[key] = config.get(key) === undefined ? null : config.get(key)
    console.log(JSON.stringify(out))
  })
  .catch((error) => console.log(JSON.stringify({ '@error': error.message })))
"#;

/// Installs [`NODE_PACKAGE`] with npm once (kept in the target dir between runs) and returns the
/// reader script beside it.
pub(crate) fn node_tools() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("node-tools");
    let reader = dir.join("reader.js");
    install_once(&dir, &format!("{NODE_PACKAGE}\n{NODE_READER}"), || {
        fs::create_dir_all(&dir).unwrap();
        let status = std::process::Command::new("npm")
            .args(["install", "--silent", "--no-audit", "--no-fund", "--no-save", "--prefix"])
            .arg(&dir)
            .arg(NODE_PACKAGE)
            .status();
        let status = status.expect("npm (Node.js) is needed for the third-party client tests");
        assert!(status.success(), "npm install {NODE_PACKAGE} failed");
        fs::write(&reader, NODE_READER).unwrap();
    });
    reader
}

/// The bundled sample repository.
pub(crate) fn sample_repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/sample-repo").canonicalize().unwrap()
}

/// The workspace root, where the binary finds `config/default.yaml`.
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// A router over the native backend at `location`.
pub(crate) fn native_app(location: &Path) -> App {
    let options = NativeOptions { search_locations: vec![location.display().to_string()], ..NativeOptions::default() };
    let backend = NativeBackend::new(NativeSource::new(options).unwrap());
    app(AppState::new(Arc::new(backend), "native"))
}

/// A router over the sample repository.
pub(crate) fn sample_app() -> App {
    native_app(&sample_repo())
}

/// A repository of files in a temp dir.
pub(crate) struct TempRepo {
    pub(crate) dir: tempfile::TempDir,
}

impl TempRepo {
    pub(crate) fn new(files: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let full = dir.path().join(path);
            fs::create_dir_all(full.parent().unwrap()).unwrap();
            fs::write(full, text).unwrap();
        }
        Self { dir }
    }

    pub(crate) fn app(&self) -> App {
        native_app(self.dir.path())
    }
}

/// A response read to the end.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Reply {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub(crate) fn content_type(&self) -> &str {
        self.headers.get("content-type").map_or("", |v| v.to_str().unwrap())
    }

    /// Asserts the JSON error shape and returns its code.
    pub(crate) fn error_code(&self) -> String {
        assert_eq!(self.content_type(), "application/json", "{self:?}");
        let json = self.json();
        assert!(json["message"].is_string(), "{json}");
        json["code"].as_str().unwrap().to_owned()
    }
}

/// Sends a GET through the router in-process.
pub(crate) async fn get(app: &App, uri: &str) -> Reply {
    get_with(app, uri, &[]).await
}

/// Sends a GET with headers through the router in-process.
pub(crate) async fn get_with(app: &App, uri: &str, headers: &[(&str, &str)]) -> Reply {
    let mut request = Request::get(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    send(app, request.body(Body::empty()).unwrap()).await
}

/// Sends any request through the router in-process.
pub(crate) async fn send(app: &App, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Reply { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
}

/// A server on `127.0.0.1:0`, stopped (gracefully) when dropped or by [`Server::stop`].
pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    pub(crate) async fn start(app: App) -> Self {
        Self::start_with(app, ServeOptions { grace: Duration::from_secs(5), ..ServeOptions::default() }).await
    }

    /// A server with its own connection options (limits, timeouts, TLS).
    /// The tests stop it without a drain (see `lifecycle.rs` for the drain).
    pub(crate) async fn start_with(app: App, options: ServeOptions) -> Self {
        let options = ServeOptions { drain: Duration::ZERO, ..options };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let task = tokio::spawn(vortex_server::serve(listener, app, shutdown, options));
        Self { addr, stop: Some(stop), task }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Signals shutdown and waits for the server to finish.
    pub(crate) async fn stop(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.unwrap()
    }
}

/// Sends one HTTP/1.1 request over TCP and reads the raw response: no client library in between,
/// so the test sees exactly what goes over the wire.
pub(crate) async fn raw_request(addr: SocketAddr, request: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("no end of headers");
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    assert!(status_line.starts_with("HTTP/1.1 "), "{status_line}");
    let status = status_line[9..12].parse().unwrap();
    let headers = lines
        .map(|l| {
            let (name, value) = l.split_once(':').unwrap();
            (name.to_ascii_lowercase(), value.trim().to_owned())
        })
        .collect();
    (status, headers, body)
}

/// A GET over TCP with `Connection: close`.
pub(crate) async fn raw_get(
    addr: SocketAddr,
    path: &str,
    extra_headers: &str,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    raw_request(addr, &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{extra_headers}\r\n"))
        .await
}

/// Replaces the sample repository's absolute path, so snapshots do not depend on the checkout.
pub(crate) fn redact_repo(text: &str) -> String {
    text.replace(&sample_repo().display().to_string(), "<repo>")
}

/// A git remote holding the sample repository (branch `master`, tag `v2`), and a router over the git
/// backend with the search path `{label}`, so that label `v2` finds the `v2/` directory as the
/// native backend's label directories do. Keep the returned dirs alive while the router is used.
#[cfg(feature = "git")]
pub(crate) async fn git_sample_app() -> (App, tempfile::TempDir, tempfile::TempDir) {
    let remote = tempfile::tempdir().unwrap();
    copy_dir(&sample_repo(), remote.path());
    for args in [
        &["init", "-q", "-b", "master"][..],
        &["add", "-A"],
        &["-c", "user.name=t", "-c", "user.email=t@t.invalid", "commit", "-q", "-m", "sample"],
        &["tag", "v2"],
    ] {
        let status = std::process::Command::new("git").args(args).current_dir(remote.path()).status().unwrap();
        assert!(status.success(), "git {args:?}");
    }
    let basedir = tempfile::tempdir().unwrap();
    let mut settings = git_settings(&format!("file://{}", remote.path().display()), basedir.path());
    settings.backends.git.search_paths = vec!["{label}".to_owned()];
    let state = AppState::from_settings(&settings).await.unwrap();
    (app(state), remote, basedir)
}

/// A remote with `orders.yml` on `master`.
#[cfg(feature = "git")]
pub(crate) struct Remote {
    pub(crate) dir: tempfile::TempDir,
}

#[cfg(feature = "git")]
impl Remote {
    pub(crate) fn new() -> Self {
        let remote = Self { dir: tempfile::tempdir().unwrap() };
        remote.git(&["init", "-q", "-b", "master"]);
        remote.commit("orders.yml", "value: 1\n");
        remote
    }

    pub(crate) fn git(&self, args: &[&str]) {
        let status = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@t.invalid"])
            .args(args)
            .current_dir(self.dir.path())
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }

    pub(crate) fn commit(&self, file: &str, text: &str) {
        fs::write(self.dir.path().join(file), text).unwrap();
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", file]);
    }

    pub(crate) fn uri(&self) -> String {
        format!("file://{}", self.dir.path().display())
    }
}

/// Settings that enable only the git backend, for `uri`, with the mirror under `basedir`.
#[cfg(feature = "git")]
pub(crate) fn git_settings(uri: &str, basedir: &Path) -> vortex_settings::Settings {
    let mut settings = vortex_settings::Settings::default();
    settings.backends.native.enabled = false;
    settings.backends.git.enabled = true;
    settings.backends.git.uri = Some(uri.to_owned());
    settings.backends.git.basedir = basedir.to_path_buf();
    settings
}

#[cfg(feature = "git")]
fn copy_dir(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The native backend over `dir`.
pub(crate) fn native_backend(dir: &Path) -> NativeBackend {
    let options = NativeOptions { search_locations: vec![dir.display().to_string()], ..NativeOptions::default() };
    NativeBackend::new(NativeSource::new(options).unwrap())
}

/// The native backend, counting loads and waiting before and after reading the files: waiting
/// before makes concurrent requests overlap; waiting after widens the window in which an
/// invalidation can overlap a load that already holds old content.
pub(crate) struct Delayed {
    inner: NativeBackend,
    pub(crate) loads: Arc<AtomicU64>,
    before: Duration,
    after: Duration,
}

impl Delayed {
    pub(crate) fn new(dir: &Path, before_ms: u64, after_ms: u64) -> Self {
        let (before, after) = (Duration::from_millis(before_ms), Duration::from_millis(after_ms));
        Self { inner: native_backend(dir), loads: Arc::default(), before, after }
    }
}

impl ConfigSource for Delayed {
    fn load<'a>(&'a self, query: &'a ConfigQuery) -> BoxFuture<'a, Result<Environment, CoreError>> {
        Box::pin(async move {
            self.loads.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(self.before).await;
            let env = self.inner.load(query).await;
            tokio::time::sleep(self.after).await;
            env
        })
    }

    fn resource<'a>(&'a self, query: &'a ConfigQuery, path: &'a str) -> BoxFuture<'a, Result<Resource, CoreError>> {
        self.inner.resource(query, path)
    }

    fn health(&self) -> SourceHealth {
        self.inner.health()
    }

    fn default_label(&self) -> Option<&str> {
        self.inner.default_label()
    }
}
