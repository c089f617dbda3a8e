//! Stopping without losing a request, and telling the orchestrator the truth: the liveness and
//! readiness probes in each state, the drain, and the connections the kernel had queued.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use vortex_server::{AppState, ServeOptions, app, serve};

use crate::support::{get, native_backend, sample_repo};

#[tokio::test]
async fn probes_answer_ready_and_then_draining() {
    let app = app(AppState::new(Arc::new(native_backend(&sample_repo())), "native"));
    for (path, status) in [("/actuator/health/liveness", "UP"), ("/actuator/health/readiness", "UP")] {
        let reply = get(&app, path).await;
        assert_eq!((reply.status, reply.json()["status"].as_str()), (StatusCode::OK, Some(status)), "{path}");
    }
    app.drain();
    let readiness = get(&app, "/actuator/health/readiness").await;
    assert_eq!(readiness.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(readiness.json()["status"], "OUT_OF_SERVICE");
    assert_eq!(get(&app, "/actuator/health/liveness").await.status, StatusCode::OK, "alive while draining");
    let read = get(&app, "/orders/dev").await;
    assert_eq!(read.status, StatusCode::OK, "reads are still served while draining");
    assert_eq!(read.headers["connection"], "close", "keep-alive clients are sent elsewhere");
}

#[cfg(feature = "git")]
#[tokio::test]
async fn a_git_backend_without_a_clone_is_alive_but_not_ready() {
    let basedir = tempfile::tempdir().unwrap();
    let missing = tempfile::tempdir().unwrap();
    let settings =
        crate::support::git_settings(&format!("file://{}/nowhere", missing.path().display()), basedir.path());
    let app = app(AppState::from_settings(&settings).await.unwrap());
    assert_eq!(get(&app, "/actuator/health/liveness").await.status, StatusCode::OK);
    let readiness = get(&app, "/actuator/health/readiness").await;
    assert_eq!(
        (readiness.status, readiness.json()["status"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("OUT_OF_SERVICE"))
    );
}

/// Connections the kernel accepted for the server, with their requests sent, before the server
/// stopped: each is accepted and answered, none reset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_connection_queued_in_the_kernel_is_answered() {
    const CLIENTS: usize = 64;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Nobody accepts yet: the handshakes complete into the listen queue, the requests wait in it.
    let mut clients = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(b"GET /orders/dev HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
        clients.push(stream);
    }
    // The server starts with its stop already signalled and no drain: all it may do is serve what
    // is queued and stop.
    let app = app(AppState::new(Arc::new(native_backend(&sample_repo())), "native"));
    let options = ServeOptions { drain: Duration::ZERO, grace: Duration::from_secs(10), ..ServeOptions::default() };
    let server = tokio::spawn(serve(listener, app, std::future::ready(()), options));
    let mut answered = 0;
    for mut client in clients {
        let mut response = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), client.read_to_end(&mut response)).await.unwrap().unwrap();
        let text = String::from_utf8_lossy(&response);
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.to_ascii_lowercase().contains("connection: close"), "{text}");
        answered += 1;
    }
    assert_eq!(answered, CLIENTS);
    server.await.unwrap().unwrap();
    assert!(TcpStream::connect(addr).await.is_err(), "the listener is closed once the queue is served");
}

/// A connection the server accepted before it stopped, whose client sends its first request only
/// after the stop: answered (and closed after the answer), not closed as idle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_without_its_first_request_at_the_stop_is_still_answered() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = app(AppState::new(Arc::new(native_backend(&sample_repo())), "native"));
    let options = ServeOptions { drain: Duration::ZERO, grace: Duration::from_secs(10), ..ServeOptions::default() };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, app, async move { stopped.await.unwrap_or(()) }, options));
    let mut client = TcpStream::connect(addr).await.unwrap();
    // Accepted, and waiting for its first request when the server stops.
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    client.write_all(b"GET /orders/dev HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), client.read_to_end(&mut response)).await.unwrap().unwrap();
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text:?}");
    assert!(text.to_ascii_lowercase().contains("connection: close"), "{text}");
    server.await.unwrap().unwrap();
}
