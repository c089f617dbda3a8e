//! The listener: accepts connections up to `server.max_connections`, terminates TLS when
//! configured (feature `tls`), serves HTTP/1.1 on each connection with hyper under the header
//! limits and timeouts, and shuts down gracefully.
//!
//! `axum::serve` has none of these knobs: without a header read timeout a client that sends its
//! headers one byte a minute (slowloris) holds a task and a descriptor for ever, and without a
//! connection limit enough of them exhaust the descriptors every other client needs.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::Body;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::SocketAddr;
use tokio::io::{AsyncRead, AsyncWrite};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use vortex_metrics::Rejection;

use crate::App;
use crate::access::PeerCertificate;

/// How [`serve`](crate::serve) treats connections; [`ServeOptions::from_settings`] reads them from
/// the `server` settings.
#[derive(Clone)]
pub struct ServeOptions {
    /// After the shutdown signal, how long the server keeps accepting and serving while draining.
    pub drain: Duration,
    /// Once it stops accepting, how long in-flight requests may take to finish.
    pub grace: Duration,
    /// Open connections at most; connections over it are closed as they are accepted.
    pub max_connections: usize,
    /// Longest time to receive a request's headers, and to wait idle for the next request on a
    /// kept-alive connection.
    pub header_read_timeout: Duration,
    /// Largest request head (request line and headers), in bytes; larger ones get 431.
    pub max_header_bytes: usize,
    /// TLS termination; plain HTTP when `None`.
    #[cfg(feature = "tls")]
    pub tls: Option<tokio_rustls::TlsAcceptor>,
}

impl std::fmt::Debug for ServeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut debug = f.debug_struct("ServeOptions");
        debug
            .field("drain", &self.drain)
            .field("grace", &self.grace)
            .field("max_connections", &self.max_connections)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("max_header_bytes", &self.max_header_bytes);
        #[cfg(feature = "tls")]
        debug.field("tls", &self.tls.is_some());
        debug.finish()
    }
}

impl Default for ServeOptions {
    /// The defaults of the `server` settings.
    fn default() -> Self {
        let defaults = vortex_settings::ServerSettings::default();
        Self {
            drain: Duration::from_secs(defaults.shutdown.drain_seconds),
            grace: Duration::from_secs(defaults.shutdown_grace_seconds),
            max_connections: defaults.max_connections,
            header_read_timeout: Duration::from_secs(defaults.header_read_timeout_seconds),
            max_header_bytes: defaults.max_header_bytes,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl ServeOptions {
    /// The options the `server` settings give, TLS included. `max_connections` is lowered (with a
    /// warning) to what the open-files limit allows.
    ///
    /// # Errors
    /// When `server.tls` is set and its certificate or key cannot be read or used, or when this
    /// build has no TLS (feature `tls`).
    pub fn from_settings(server: &vortex_settings::ServerSettings) -> std::io::Result<Self> {
        #[cfg(not(feature = "tls"))]
        if server.tls.cert_path.is_some() || server.tls.key_path.is_some() {
            return Err(std::io::Error::other(
                "server.tls: this build has no TLS (feature `tls`); terminate TLS in a proxy or rebuild with it",
            ));
        }
        Ok(Self {
            drain: Duration::from_secs(server.shutdown.drain_seconds),
            grace: Duration::from_secs(server.shutdown_grace_seconds),
            max_connections: connection_limit(server.max_connections),
            header_read_timeout: Duration::from_secs(server.header_read_timeout_seconds),
            // hyper needs room for at least a request line and a few headers.
            max_header_bytes: server.max_header_bytes.max(1024),
            #[cfg(feature = "tls")]
            tls: match (&server.tls.cert_path, &server.tls.key_path) {
                (Some(cert), Some(key)) => Some(crate::tls::acceptor(cert, key, server.tls.client_ca.as_deref())?),
                _ => None,
            },
        })
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then stops in three steps, so that no
/// request a client sent is lost:
///
/// 1. **drain** for `options.drain`: [`App::drain`] (readiness answers 503, every response closes
///    its connection) while new connections are still accepted and served;
/// 2. **stop accepting**: the connections the kernel had already queued are accepted and served,
///    never reset;
/// 3. **finish**: in-flight requests get `options.grace`; idle connections close at once.
///
/// # Errors
/// None today: a failed accept (descriptors exhausted, a connection reset before it was accepted)
/// is logged and retried, so the function returns once shut down. The `Result` keeps room for
/// listeners that can fail for good.
pub async fn serve(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
    options: ServeOptions,
) -> std::io::Result<()> {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
        .max_header_size(options.max_header_bytes)
        .max_headers(MAX_HEADERS);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut acceptor = Acceptor {
        app,
        http: Arc::new(http),
        slots: Arc::new(Semaphore::new(options.max_connections)),
        stop: stop_rx,
        connections: JoinSet::new(),
        accept_errors: RateLimited::default(),
        #[cfg(feature = "tls")]
        tls: options.tls.clone(),
        handshake_timeout: options.header_read_timeout,
        draining: false,
    };
    tokio::pin!(shutdown);
    loop {
        // A stop already signalled wins over a connection waiting to be accepted: that one is
        // served as a draining server serves, closing after its answer.
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => {
                acceptor.accepted(accepted).await;
            }
        }
    }

    acceptor.app.drain();
    acceptor.draining = true;
    tracing::info!(
        drain_seconds = options.drain.as_secs(),
        "draining: readiness is 503, connections close after each answer"
    );
    let drain = tokio::time::sleep(options.drain);
    tokio::pin!(drain);
    let mut during_drain = 0_u64;
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                during_drain += u64::from(acceptor.accepted(accepted).await);
            }
            () = &mut drain => break,
        }
    }
    // Whatever the kernel had queued was sent by a client that is waiting: accept it all, asking
    // the kernel itself until its queue is empty (the reactor may not have seen the last ones
    // yet), then close the listener.
    let queued = accept_queued(listener, &mut acceptor).await;
    let open = acceptor.connections.len();
    tracing::info!(
        during_drain,
        queued,
        open,
        grace_seconds = options.grace.as_secs(),
        "stopped accepting: finishing in-flight requests"
    );
    let _ = stop_tx.send(true);
    let connections = &mut acceptor.connections;
    let finished =
        tokio::time::timeout(options.grace, async { while connections.join_next().await.is_some() {} }).await;
    if finished.is_err() {
        tracing::warn!(open = connections.len(), "grace period elapsed: closing the remaining connections");
        connections.abort_all();
    }
    Ok(())
}

/// Accepts every connection in the kernel's queue of `listener` and closes it; how many were served.
async fn accept_queued(listener: TcpListener, acceptor: &mut Acceptor) -> u64 {
    let listener = match listener.into_std() {
        Ok(listener) => listener,
        Err(err) => {
            tracing::warn!(error = %err, "cannot take the listener back to accept its queue");
            return 0;
        }
    };
    let (mut queued, mut failures) = (0_u64, 0_u32);
    // Still non-blocking: `WouldBlock` means the queue is empty. A lasting error (out of
    // descriptors) gives up after a hundred tries, about a second.
    while failures < 100 {
        let accepted = match listener.accept() {
            Ok((stream, peer)) => {
                stream.set_nonblocking(true).and_then(|()| TcpStream::from_std(stream)).map(|s| (s, peer))
            }
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => return queued,
            Err(err) => Err(err),
        };
        if acceptor.accepted(accepted).await {
            queued += 1;
            failures = 0;
        } else {
            failures += 1;
        }
    }
    queued
}

/// What accepting a connection needs, shared by every phase of [`serve`].
struct Acceptor {
    app: App,
    http: Arc<http1::Builder>,
    slots: Arc<Semaphore>,
    stop: watch::Receiver<bool>,
    connections: JoinSet<()>,
    accept_errors: RateLimited,
    #[cfg(feature = "tls")]
    tls: Option<tokio_rustls::TlsAcceptor>,
    handshake_timeout: Duration,
    /// Connections accepted from now on answer one request and close (the edge says
    /// `Connection: close`); the stop does not cut them before their first request, which their
    /// client may still be sending.
    draining: bool,
}

impl Acceptor {
    /// Serves an accepted connection on a task of its own, under the connection limit; `true`
    /// when it is served.
    async fn accepted(&mut self, accepted: std::io::Result<(TcpStream, SocketAddr)>) -> bool {
        let (tcp, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of descriptors, or a connection reset before it was accepted: wait a moment
                // (so an exhausted process does not spin) and go on. Logged at most once a second,
                // with how many were not.
                if let Some(suppressed) = self.accept_errors.allow() {
                    tracing::warn!(error = %err, suppressed, "cannot accept a connection");
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
                return false;
            }
        };
        // Reap finished connection tasks, so the set only holds open connections.
        while self.connections.try_join_next().is_some() {}
        let Ok(slot) = Arc::clone(&self.slots).try_acquire_owned() else {
            tracing::debug!(%peer, "connection limit reached: closing a new connection");
            self.app.rejected(Rejection::Connections);
            drop(tcp);
            return false;
        };
        // Responses are written whole; Nagle's algorithm would only hold back the tail of one
        // that spans two segments until the client's delayed ACK.
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(error = %err, "cannot set TCP_NODELAY");
        }
        let stop = (!self.draining).then(|| self.stop.clone());
        let (app, http) = (self.app.clone(), Arc::clone(&self.http));
        #[cfg(feature = "tls")]
        let tls = self.tls.clone();
        let timeout = self.handshake_timeout;
        self.connections.spawn(async move {
            let _slot = slot;
            #[cfg(feature = "tls")]
            if let Some(tls) = tls {
                // The handshake gets the same time as a request's headers: a client that never
                // finishes it does not hold the connection.
                // Boxed: a TLS stream is large, and inline it would size the task of every
                // plain connection too (heaptrack: 4.9 KB a task inline).
                match Box::pin(tokio::time::timeout(timeout, tls.accept(tcp))).await {
                    Ok(Ok(stream)) => {
                        let peer = stream.get_ref().1.peer_certificates().and_then(|certs| certs.first());
                        let peer = peer.map(|cert| PeerCertificate(Arc::from(cert.as_ref())));
                        Box::pin(connection(stream, app, &http, stop, peer)).await;
                    }
                    Ok(Err(err)) => tracing::debug!(%peer, error = %err, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                }
                return;
            }
            let _ = timeout;
            connection(tcp, app, &http, stop, None).await;
        });
        true
    }
}

/// Serves HTTP/1.1 on one connection until the client closes it, a timeout closes it, or the
/// server stops (then the request in flight, if any, completes first).
async fn connection<I>(
    io: I,
    app: App,
    http: &http1::Builder,
    stop: Option<watch::Receiver<bool>>,
    peer: Option<PeerCertificate>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // Whether a request has come on this connection: one that has none yet when the server stops
    // may hold a request hyper has not read; it is answered rather than closed as idle.
    let asked = Arc::new(AtomicBool::new(false));
    let seen = Arc::clone(&asked);
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        seen.store(true, Ordering::Relaxed);
        let mut request = request.map(Body::new);
        // The client certificate the handshake verified, for the access policy.
        if let Some(peer) = &peer {
            request.extensions_mut().insert(peer.clone());
        }
        app.refuse_malformed(&request).unwrap_or_else(|| app.handle(request))
    });
    let conn = http.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    let Some(mut stop) = stop else {
        // Accepted while draining: one answer, then the connection closes by itself.
        if let Err(err) = conn.await {
            tracing::debug!(error = %err, "connection closed with an error");
        }
        return;
    };
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(err) = result {
                tracing::debug!(error = %err, "connection closed with an error");
            }
        }
        () = stopped(&mut stop) => {
            // Finish the response being written, then close; an idle connection closes at once.
            // A connection that has not had its first request yet keeps waiting for it (the
            // server is draining, so its answer closes it; the header timeout and the grace
            // period bound the wait).
            if asked.load(Ordering::Relaxed) {
                conn.as_mut().graceful_shutdown();
            }
            if let Err(err) = conn.await {
                tracing::debug!(error = %err, "connection closed with an error while stopping");
            }
        }
    }
}

/// Header fields a request may carry; more get 431 from hyper (its default, stated here so that
/// the limit is ours and documented).
const MAX_HEADERS: usize = 100;

/// Descriptors kept free of connections for the listener, logs, repositories and the blocking pool.
const RESERVED_DESCRIPTORS: usize = 64;

/// `configured`, lowered to what the process's open-files limit allows: past it, `accept` fails
/// with EMFILE on every try instead of connections being closed cleanly at the limit.
fn connection_limit(configured: usize) -> usize {
    let Some(files) = open_files_limit() else { return configured };
    let allowed = files.saturating_sub(RESERVED_DESCRIPTORS).max(1);
    if configured > allowed {
        tracing::warn!(
            configured,
            allowed,
            open_files_limit = files,
            "server.max_connections is over what the open-files limit (ulimit -n) allows: serving at most \
             `allowed` connections; raise the limit (LimitNOFILE= in systemd) to serve more"
        );
        return allowed;
    }
    configured
}

/// The soft open-files limit of this process, from `/proc/self/limits` (Linux); `None` elsewhere
/// or when unlimited.
fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files").split_whitespace().next()?.parse().ok()
}

/// Lets an event through at most once a second, counting the ones it held back.
#[derive(Default)]
struct RateLimited {
    last: Option<std::time::Instant>,
    suppressed: u64,
}

impl RateLimited {
    /// `Some(held back since the last one)` when this event may be logged.
    fn allow(&mut self) -> Option<u64> {
        let now = std::time::Instant::now();
        if self.last.is_some_and(|last| now.duration_since(last) < Duration::from_secs(1)) {
            self.suppressed += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.suppressed))
    }
}

/// Completes once the server stops (or the sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`: drop it here, not across the caller's awaits.
    let _ = stop.wait_for(|stopped| *stopped).await.map(drop);
}
