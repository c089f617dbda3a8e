//! What goes over a real TCP connection on loopback: framing, limits and graceful shutdown.

use std::time::Duration;

use axum::routing::get;

use crate::support::{Server, raw_get, raw_request, sample_app};

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn environment_over_http() {
    let server = Server::start(sample_app()).await;
    let (status, headers, body) = raw_get(server.addr, "/orders/dev/v2", "").await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), Some("application/json"));
    assert_eq!(header(&headers, "content-length").map(|l| l.parse::<usize>().unwrap()), Some(body.len()));
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["label"], "v2");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn flat_yaml_over_http() {
    let server = Server::start(sample_app()).await;
    let (status, headers, body) = raw_get(server.addr, "/inventory-dev.yml", "").await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), Some("text/plain"));
    assert!(String::from_utf8(body).unwrap().starts_with("management:\n"));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn oversized_bodies_get_413_in_the_json_shape() {
    let server = Server::start(sample_app()).await;
    let request = "POST /encrypt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 10000000\r\n\r\n";
    let (status, headers, body) = raw_request(server.addr, request).await;
    assert_eq!(status, 413);
    assert_eq!(header(&headers, "content-type"), Some("application/json"));
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["code"], "payload_too_large");
    // A route that takes no body answers 405 before anything of the body is looked at.
    let request =
        "POST /orders/dev HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 10000000\r\n\r\n";
    let (status, _, body) = raw_request(server.addr, request).await;
    assert_eq!(status, 405);
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&body).unwrap()["code"], "method_not_allowed");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish() {
    let (entered_tx, entered_rx) = tokio::sync::oneshot::channel::<()>();
    let entered = std::sync::Arc::new(std::sync::Mutex::new(Some(entered_tx)));
    let app = sample_app().merge(axum::Router::new().route(
        "/slow/request/handler/x",
        get(move || {
            let signal = entered.lock().unwrap().take();
            // The guard is dropped here, before the future is awaited.
            async move {
                if let Some(signal) = signal {
                    let _ = signal.send(());
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
                "finished"
            }
        }),
    ));
    let server = Server::start(app).await;
    let addr = server.addr;
    let in_flight = tokio::spawn(async move { raw_get(addr, "/slow/request/handler/x", "").await });
    entered_rx.await.unwrap();
    // The request is inside the handler: shut down now.
    server.stop().await.unwrap();
    let (status, _, body) = in_flight.await.unwrap();
    assert_eq!((status, body.as_slice()), (200, b"finished".as_slice()));
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "the listener is closed after shutdown");
}
