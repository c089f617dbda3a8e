//! The config API inside an axum application that has routes of its own: mounted under `/config`,
//! next to the host's `/hello`. The example serves on a loopback port, asks itself a few
//! questions over HTTP and prints the answers.
//!
//! `cargo run -p vortex-server --example embed`

// Printing is what an example is for.
#![allow(clippy::print_stdout)]

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use vortex_core::native::{NativeOptions, NativeSource};
use vortex_server::{AppState, NativeBackend};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/sample-repo");
    let source = NativeSource::new(NativeOptions {
        search_locations: vec![sample.display().to_string()],
        ..NativeOptions::default()
    })?;
    let state = AppState::new(Arc::new(NativeBackend::new(source)), "native");

    // The host application: its own routes, and the config API under a prefix of its choosing.
    // (`vortex_server::router_from_settings` builds the same from settings, `server.prefix` included.)
    let host = Router::new()
        .route("/hello", get(|| async { "hello from the host application" }))
        .nest("/config", vortex_server::router(state));

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, host).await });

    for path in ["/hello", "/config/orders/dev", "/config/orders-dev.properties", "/config/health"] {
        let mut stream = TcpStream::connect(addr).await?;
        stream
            .write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes())
            .await?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await?;
        let status = response.lines().next().unwrap_or_default();
        let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        let first_line = body.lines().next().unwrap_or_default();
        let shown: String = first_line.chars().take(100).collect();
        println!("GET {path} -> {status}\n  {shown}");
    }
    Ok(())
}
