//! The request path for a cache hit and a 304, with metrics off and on (what recording costs on the
//! hottest path), and for a cache miss. Two views: in-process through the `App` (edge, handler, cache, rendering; no HTTP
//! parsing), and over HTTP/1.1 on loopback through a kept-alive connection (also hyper's parsing
//! and writing and the socket round trip; client and server share one core).
//!
//! `cargo bench -p vortex-server --bench request`

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::cached_sample_app;
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;
use vortex_server::App;

async fn hit(app: &App, uri: &str, if_none_match: Option<&str>) -> usize {
    let mut request = Request::get(uri);
    if let Some(tag) = if_none_match {
        request = request.header("if-none-match", tag);
    }
    let response = app.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    assert!(response.status() == StatusCode::OK || response.status() == StatusCode::NOT_MODIFIED);
    response.into_body().collect().await.unwrap().to_bytes().len()
}

/// Benchmarks `off` and `on` interleaved: every iteration runs both, and each benchmark times
/// only its own. Both see the same caches, clock frequency and neighbours, so the difference is
/// what metrics cost, not which ran first (run one after the other, the order alone moved the
/// loopback figures by 3 %).
fn interleaved(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    mut off: impl FnMut(),
    mut on: impl FnMut(),
) {
    let timed = |b: &mut criterion::Bencher<'_>, timed_is_on: bool, off: &mut dyn FnMut(), on: &mut dyn FnMut()| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (first, second): (&mut dyn FnMut(), &mut dyn FnMut()) =
                    if timed_is_on { (&mut *off, &mut *on) } else { (&mut *on, &mut *off) };
                first();
                let started = Instant::now();
                second();
                total += started.elapsed();
            }
            total
        });
    };
    group.bench_function(format!("{name}/metrics_off"), |b| timed(b, false, &mut off, &mut on));
    group.bench_function(format!("{name}/metrics_on"), |b| timed(b, true, &mut off, &mut on));
}

fn request_path(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut group = c.benchmark_group("request");
    // Built inside the runtime, so the exporter's upkeep runs as in the server.
    let (off, on) = rt.block_on(async { (cached_sample_app(false), cached_sample_app(true)) });
    let tag = rt.block_on(async {
        let response = off.clone().oneshot(Request::get("/orders/dev").body(Body::empty()).unwrap()).await.unwrap();
        response.headers()["etag"].to_str().unwrap().to_owned()
    });
    rt.block_on(hit(&on, "/orders/dev", None));
    interleaved(
        &mut group,
        "cache_hit_json",
        || {
            rt.block_on(hit(black_box(&off), "/orders/dev", None));
        },
        || {
            rt.block_on(hit(black_box(&on), "/orders/dev", None));
        },
    );
    interleaved(
        &mut group,
        "not_modified",
        || {
            rt.block_on(hit(black_box(&off), "/orders/dev", Some(&tag)));
        },
        || {
            rt.block_on(hit(black_box(&on), "/orders/dev", Some(&tag)));
        },
    );
    // A miss: every request names a profile not seen before, so the native backend reads the
    // application's files (parsed already: the document cache compares their bytes), merges and
    // renders them, and the cache inserts the result. URIs are made outside the timing.
    // Criterion calls the closure once per sample: the counter lives outside it.
    let mut next = 0_u64;
    group.bench_function("cache_miss_json/metrics_off", |b| {
        b.iter_custom(|iters| {
            let uris: Vec<String> = (0..iters).map(|i| format!("/orders/miss{}", next + i)).collect();
            next += iters;
            let started = Instant::now();
            for uri in &uris {
                rt.block_on(hit(black_box(&off), uri, None));
            }
            started.elapsed()
        });
    });
    group.finish();
}

/// One request on a kept-alive connection; returns the body length. Reads exactly one response
/// (headers, then `Content-Length` bytes), so the next request reuses the connection.
async fn over_http(stream: &mut TcpStream, request: &[u8], buffer: &mut Vec<u8>) -> usize {
    stream.write_all(request).await.unwrap();
    buffer.clear();
    let (head_end, length) = loop {
        let mut chunk = [0_u8; 4096];
        let read = stream.read(&mut chunk).await.unwrap();
        assert!(read > 0, "the server closed the connection");
        buffer.extend_from_slice(&chunk[..read]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buffer[..end]).unwrap();
            assert!(head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.1 304"), "{head}");
            let length = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
                .unwrap_or(0);
            break (end + 4, length);
        }
    };
    while buffer.len() < head_end + length {
        let mut chunk = [0_u8; 4096];
        let read = stream.read(&mut chunk).await.unwrap();
        assert!(read > 0, "the server closed the connection");
        buffer.extend_from_slice(&chunk[..read]);
    }
    length
}

fn request_over_http(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut group = c.benchmark_group("request_http");
    let connect = |metrics: bool| {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = vortex_server::serve(
                listener,
                cached_sample_app(metrics),
                std::future::pending(),
                vortex_server::ServeOptions { grace: Duration::from_secs(1), ..Default::default() },
            );
            tokio::spawn(server);
            let stream = TcpStream::connect(addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            stream
        })
    };
    let (mut off, mut on) = (connect(false), connect(true));
    let (mut off_buffer, mut on_buffer) = (Vec::new(), Vec::new());
    let request = b"GET /orders/dev HTTP/1.1\r\nHost: localhost\r\n\r\n";
    interleaved(
        &mut group,
        "cache_hit_json",
        || {
            rt.block_on(over_http(&mut off, black_box(request), &mut off_buffer));
        },
        || {
            rt.block_on(over_http(&mut on, black_box(request), &mut on_buffer));
        },
    );
    group.finish();
}

criterion_group!(benches, request_path, request_over_http);
criterion_main!(benches);
