//! Smart HTTP on loopback: `git http-backend` behind a small CGI bridge. Paths under `/private/` demand
//! basic auth, which shows that credentials are never sent in clear text over `http://`.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use vortex_core::{ErrorKind, Value};
use vortex_git::{Credentials, GitSource};

use crate::support::{Remote, basedir, load, options, value};

/// `Basic base64("user:secret")`.
const EXPECTED_AUTH: &str = "Basic dXNlcjpzZWNyZXQ=";

async fn cgi(State(root): State<PathBuf>, request: Request) -> Response {
    let private = request.uri().path().starts_with("/private/");
    if private && request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) != Some(EXPECTED_AUTH) {
        let mut response = StatusCode::UNAUTHORIZED.into_response();
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"git\""));
        return response;
    }
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, 64 << 20).await.unwrap();
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let mut child = Command::new("git")
        .arg("http-backend")
        .env("GIT_PROJECT_ROOT", &root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", parts.uri.path().trim_start_matches("/private"))
        .env("QUERY_STRING", parts.uri.query().unwrap_or(""))
        .env("REQUEST_METHOD", parts.method.as_str())
        .env("CONTENT_TYPE", header("content-type"))
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("HTTP_CONTENT_ENCODING", header("content-encoding"))
        .env("GIT_PROTOCOL", header("git-protocol"))
        .env("REMOTE_USER", "user")
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let output = tokio::task::spawn_blocking(move || {
        child.stdin.take().unwrap().write_all(&body).unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let raw = output.stdout;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)))
        .unwrap();
    let head = String::from_utf8_lossy(&raw[..split.0]).into_owned();
    let mut response = Response::new(Body::from(raw[split.0 + split.1..].to_vec()));
    for line in head.lines() {
        let (name, value) = line.split_once(':').unwrap();
        if name.eq_ignore_ascii_case("status") {
            let code: u16 = value.trim()[..3].parse().unwrap();
            *response.status_mut() = StatusCode::from_u16(code).unwrap();
        } else {
            response.headers_mut().append(
                axum::http::HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
                HeaderValue::from_str(value.trim()).unwrap(),
            );
        }
    }
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetches_over_smart_http_and_keeps_credentials_off_plain_http() {
    let remote = Remote::new("main");
    remote.commit(&[("app.yml", "rev: 1\n")], "one");
    let root = remote.path().parent().unwrap().to_path_buf();
    let name = remote.path().file_name().unwrap().to_string_lossy().into_owned();
    let app = axum::Router::new().fallback(cgi).with_state(root);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = basedir();
    let source = GitSource::start(options(&format!("http://{addr}/{name}"), dir.path())).await.unwrap();
    source.refresh().await.unwrap();
    assert_eq!(value(&source, "app", None, "rev").await, Some(Value::Int(1)));
    remote.commit(&[("app.yml", "rev: 2\n")], "two");
    assert_eq!(source.refresh().await.unwrap().moved, ["main"]);
    assert_eq!(value(&source, "app", None, "rev").await, Some(Value::Int(2)));

    // A remote that demands a password over plain http: the password is not sent in clear text.
    let other = basedir();
    let mut private = options(&format!("http://{addr}/private/{name}"), other.path());
    private.credentials = Some(Credentials { username: "user".to_owned(), password: "secret".to_owned() });
    let refused = GitSource::start(private).await.unwrap();
    let err = refused.refresh().await.unwrap_err().to_string();
    assert!(err.contains("clear text"), "{err}");
    assert!(!err.contains("secret"), "{err}");
    assert_eq!(load(&refused, "app", "default", None).await.unwrap_err().kind(), ErrorKind::Unavailable);
    server.abort();
}
