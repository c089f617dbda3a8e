//! The edge: one tower service in front of the router that does everything every request needs —
//! load shedding over the concurrency limit, the URI limit, the request timeout, the body limit,
//! the JSON shape of errors made outside the handlers, the HTTP metrics and the per-request debug
//! log.
//!
//! These were five tower and axum layers at first. axum applies `Router::layer` to every route
//! separately and clones the layered, boxed service on every request; `from_fn` middlewares box
//! their futures on top. One hand-written service with one unboxed future does the same work for
//! a fraction of the cost (figures in `docs/benchmarks.md`, "The request path").

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::extract::Request;
use axum::http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST};
use axum::http::{HeaderValue, Method, Uri, Version};
use axum::response::{IntoResponse, Response};
use tokio::time::Sleep;
use tower::Service;
use vortex_metrics::{HttpMetrics, Rejection, Timer};

use crate::error::{ApiError, ErrorCode};
use crate::route::Route;
use crate::{AppState, EdgeOptions, routes};

/// The complete HTTP application: the [`router`](crate::router) behind the edge. Serve it with
/// [`serve`](crate::serve), or call it as a tower `Service`. Cloning it (hyper does, per request)
/// is one reference-count increment.
#[derive(Clone)]
pub struct App(Arc<Inner>);

/// What the edge applies to every request, and what it serves.
#[derive(Clone)]
struct Inner {
    router: Router,
    state: AppState,
    options: EdgeOptions,
    /// `None` when metrics are off: then nothing is timed or counted.
    http: Option<Arc<HttpMetrics>>,
    /// Whether read requests skip the router; off once other routes are merged in, which may be
    /// more specific than the read API's.
    direct_reads: bool,
    /// The routes' prefix: stripped before a path is classified.
    prefix: Option<Arc<str>>,
    /// Requests being served now, against `max_concurrent_requests`. A plain counter, not a
    /// semaphore: a request that finds no room is refused, never queued, so no wait list is needed
    /// (tokio's semaphore takes a lock on every release).
    in_flight: Arc<AtomicUsize>,
}

impl App {
    /// The [`router`](crate::router) of `state` behind the edge, with `options`' limits. The body
    /// limit applies to every route that reads a body.
    pub fn new(state: AppState, options: EdgeOptions) -> Self {
        let router = crate::router(state.clone()).layer(DefaultBodyLimit::max(options.body_limit));
        Self(Arc::new(Inner {
            router,
            http: state.inner.observability.http(),
            prefix: state.inner.prefix.clone(),
            state,
            options,
            direct_reads: true,
            in_flight: Arc::new(AtomicUsize::new(0)),
        }))
    }

    /// Answers one request: what the `Service` implementation does, without needing `&mut`.
    pub(crate) fn handle(&self, request: Request) -> EdgeFuture<<Router as Service<Request>>::Future> {
        let app = &*self.0;
        let route = match &app.prefix {
            None => Route::classify(request.uri().path()),
            // Under a prefix the router strips it: the direct path, which reads the raw path,
            // is for unprefixed servers only.
            Some(prefix) => unprefixed(request.uri().path(), prefix).and_then(Route::classify),
        };
        let direct_reads = app.direct_reads && app.prefix.is_none();
        let track = app.http.as_ref().map(|http| {
            http.in_flight_add(1.0);
            Track { http: Arc::clone(http), started: Timer::start(), route, method: request.method().clone() }
        });
        let log = tracing::enabled!(tracing::Level::DEBUG).then(|| (request.method().clone(), request.uri().clone()));
        let audit =
            app.state.inner.audit.as_ref().map(|auditor| Box::new((auditor.clone(), request.method().clone(), route)));
        // A request with a body is admitted from its headers, its body read without a slot, and
        // only then does it take one: see `write`.
        if !matches!(*request.method(), Method::GET | Method::HEAD) {
            let phase = match self.check_target(&request) {
                Err(refusal) => Phase::Done { response: Some(refusal.into_response(app)) },
                Ok(()) => Phase::Direct { future: Box::pin(write(self.clone(), request, route)) },
            };
            let close = app.state.is_draining();
            return EdgeFuture {
                phase,
                deadline: None,
                timeout: app.options.request_timeout,
                track,
                log,
                audit,
                close,
                _slot: None,
                _held: None,
            };
        }
        let close = app.state.is_draining();
        // A watch (`?wait=` with `If-None-Match` on the read API) takes a place under
        // `watch.max_watchers` instead of a request slot, and its timer allows the longest hold.
        let watch = &app.state.inner.watch;
        let reads = request.method() == Method::GET && route.is_some_and(Route::reads);
        if reads && watch.is_watch(request.uri(), request.headers()) {
            let (phase, held) = match self.check_target(&request) {
                Err(refusal) => (Phase::Done { response: Some(refusal.into_response(app)) }, None),
                Ok(()) => match watch.enter(false) {
                    Err(refused) => (Phase::Done { response: Some(refused.into_response()) }, None),
                    Ok(held) => (self.dispatch(request, route, direct_reads), held),
                },
            };
            let timeout = app.options.request_timeout + watch.longest();
            return EdgeFuture { phase, deadline: None, timeout, track, log, audit, close, _slot: None, _held: held };
        }
        let (phase, slot) = match self.admit(&request, route) {
            Err(refusal) => (Phase::Done { response: Some(refusal.into_response(app)) }, None),
            Ok(slot) => (self.dispatch(request, route, direct_reads), slot),
        };
        let timeout = app.options.request_timeout;
        EdgeFuture { phase, deadline: None, timeout, track, log, audit, close, _slot: slot, _held: None }
    }

    /// The phase that answers an admitted `GET` or `HEAD`: directly for the read API, else the router.
    fn dispatch(
        &self,
        request: Request,
        route: Option<Route>,
        direct_reads: bool,
    ) -> Phase<<Router as Service<Request>>::Future> {
        let app = &*self.0;
        match limit_body(request, app.options.body_limit) {
            // The read API does not need the router: the route is known, and the handler reads the
            // raw path itself. Skipping it saves its parameter extraction (an allocation per
            // parameter and for the extensions that carry them) on the hottest path.
            Ok(request) if direct_reads && request.method() == Method::GET && route.is_some_and(Route::reads) => {
                Phase::Direct { future: Box::pin(read(app.state.clone(), request)) }
            }
            Ok(request) => Phase::Routed { future: app.router.clone().call(request) },
            Err(refused) => Phase::Done { response: Some(refused.into_response()) },
        }
    }

    /// Refuses a request whose target is too long (414) or that finds every slot taken (503 with
    /// `Retry-After`); otherwise takes a slot, held until the answer is complete. Health and
    /// metrics take none and are never refused: an overloaded server must not look dead to its
    /// liveness probe, nor go blind to its monitoring.
    fn admit(&self, request: &Request, route: Option<Route>) -> Result<Option<Slot>, Refusal> {
        self.check_target(request)?;
        if route.is_some_and(Route::is_exempt) {
            return Ok(None);
        }
        self.take_slot().map(Some)
    }

    /// Refuses a request target longer than `server.max_uri_bytes` (414).
    fn check_target(&self, request: &Request) -> Result<(), Refusal> {
        let target = request.uri().path_and_query().map_or(0, |target| target.as_str().len());
        if target > self.0.options.max_uri_bytes {
            self.rejected(Rejection::UriTooLong);
            return Err(Refusal::UriTooLong);
        }
        Ok(())
    }

    /// Answers a request from the wire that is not HTTP as RFC 9112 allows, before anything else:
    /// an HTTP/1.1 request with no `Host` gets 400 (section 3.2). `None` for every other request.
    /// In-process callers, which build requests without `Host`, never come through here.
    pub(crate) fn refuse_malformed(
        &self,
        request: &Request,
    ) -> Option<EdgeFuture<<Router as Service<Request>>::Future>> {
        let no_host = request.version() == Version::HTTP_11
            && request.uri().authority().is_none()
            && !request.headers().contains_key(HOST);
        no_host.then(|| EdgeFuture {
            phase: Phase::Done { response: Some(Refusal::NoHost.into_response(&self.0)) },
            deadline: None,
            timeout: self.0.options.request_timeout,
            track: None,
            log: None,
            audit: None,
            close: true,
            _slot: None,
            _held: None,
        })
    }

    /// Takes a place under `server.max_concurrent_requests`, or refuses (503).
    fn take_slot(&self) -> Result<Slot, Refusal> {
        let app = &*self.0;
        if app.in_flight.fetch_add(1, Ordering::AcqRel) >= app.options.max_concurrent_requests {
            app.in_flight.fetch_sub(1, Ordering::AcqRel);
            self.rejected(Rejection::Overloaded);
            return Err(Refusal::Overloaded);
        }
        Ok(Slot(Arc::clone(&app.in_flight)))
    }

    /// Counts a request or connection refused before any handler ran, when metrics are on.
    pub(crate) fn rejected(&self, why: Rejection) {
        if let Some(http) = &self.0.http {
            http.rejected(why);
        }
    }

    /// Starts draining: readiness answers 503 from now on, and every response closes its
    /// connection, so that load balancers and keep-alive clients move to other replicas while this
    /// one still serves. [`serve`](crate::serve) calls it when its shutdown signal comes.
    pub fn drain(&self) {
        self.0.state.inner.draining.store(true, Ordering::Relaxed);
        // Held reads answer now (304), and their clients reconnect elsewhere.
        self.0.state.inner.watch.stop();
        // Peers stop waiting for a replica that is leaving.
        self.0.state.inner.bus.leave();
    }

    /// Whether [`drain`](Self::drain) was called.
    pub fn is_draining(&self) -> bool {
        self.0.state.is_draining()
    }

    /// Adds the routes of `other` behind the same edge: for applications that serve more than
    /// the config API from one listener. axum's precedence applies (`/x/y` wins over the read
    /// API's `/{a}/{b}`); every request then goes through the router.
    ///
    /// # Panics
    /// When a route of `other` is also a route of the config API, as [`Router::merge`] does.
    #[must_use]
    pub fn merge(mut self, other: Router) -> Self {
        let inner = Arc::make_mut(&mut self.0);
        inner.router = inner.router.clone().merge(other);
        inner.direct_reads = false;
        self
    }
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("options", &self.0.options)
            .field("metrics", &self.0.http.is_some())
            .field("direct_reads", &self.0.direct_reads)
            .finish_non_exhaustive()
    }
}

impl Service<Request> for App {
    type Response = Response;
    type Error = Infallible;
    type Future = EdgeFuture<<Router as Service<Request>>::Future>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // The router is always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        self.handle(request)
    }
}

/// A request refused by [`App::admit`].
#[derive(Debug, Clone, Copy)]
enum Refusal {
    UriTooLong,
    NoHost,
    Overloaded,
}

impl Refusal {
    fn into_response(self, app: &Inner) -> Response {
        let error = match self {
            Self::UriTooLong => ApiError::new(
                ErrorCode::UriTooLong,
                format!("the request target is longer than {} bytes (server.max_uri_bytes)", app.options.max_uri_bytes),
            ),
            Self::NoHost => ApiError::new(ErrorCode::InvalidRequest, "an HTTP/1.1 request needs a Host header"),
            Self::Overloaded => ApiError::new(
                ErrorCode::Overloaded,
                format!(
                    "the server is serving its limit of {} requests; retry shortly",
                    app.options.max_concurrent_requests
                ),
            ),
        };
        error.into_response()
    }
}

/// A request's place under the concurrency limit, given back when it is dropped.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// `path` without `prefix`, when it is under it: `/config/a` and `/config` are, `/configx` is not.
fn unprefixed<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    match path.strip_prefix(prefix)? {
        "" => Some("/"),
        rest if rest.starts_with('/') => Some(rest),
        _ => None,
    }
}

/// A `GET` of the read API, as the router's handler would answer it.
async fn read(state: AppState, request: Request) -> Response {
    let caller = state.inner.access.identify(request.headers(), request.extensions()).await;
    routes::answer(&state, &caller, request.uri(), request.headers()).await.unwrap_or_else(IntoResponse::into_response)
}

/// A request that may carry a body (`POST /monitor`, `/encrypt`, `DELETE /cache`, ...), in three
/// steps, so that neither a slow client nor an unauthenticated one can hold what readers need:
///
/// 1. admission from the headers alone: credentials, or a webhook's signature header, and the
///    declared length against the body limit;
/// 2. the body read whole, within `server.body_read_timeout_seconds` (408 after it) and the body
///    limit (413), holding no slot under the concurrency limit;
/// 3. a slot (or 503), and the router with the body in memory.
async fn write(app: App, request: Request, route: Option<Route>) -> Response {
    let inner = &*app.0;
    // No route, or a method it does not take: the router answers 404 or 405 without the body.
    let Some(route) = route.filter(|route| route.allows(request.method()) && route.takes_body()) else {
        return match inner.router.clone().call(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
    };
    if let Some(refused) = crate::admin::refuse_writer(
        &inner.state,
        request.method().as_str(),
        route,
        request.headers(),
        request.extensions(),
    )
    .await
    {
        return refused;
    }
    let request = match limit_body(request, inner.options.body_limit) {
        Ok(request) => request,
        Err(refused) => return refused.into_response(),
    };
    let (parts, body) = request.into_parts();
    let bytes =
        match tokio::time::timeout(inner.options.body_read_timeout, axum::body::to_bytes(body, usize::MAX)).await {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(err)) => {
                let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&err);
                let too_large = std::iter::from_fn(|| {
                    let current = cause?;
                    cause = current.source();
                    Some(current)
                })
                .any(|e| e.is::<http_body_util::LengthLimitError>());
                let code = if too_large { ErrorCode::PayloadTooLarge } else { ErrorCode::InvalidRequest };
                return ApiError::of(code).into_response();
            }
            Err(_) => {
                let message = format!(
                    "the request body did not arrive within {} s (server.body_read_timeout_seconds)",
                    inner.options.body_read_timeout.as_secs()
                );
                // The connection is closed: what is left of the body would be read as the next request.
                let mut response = ApiError::new(ErrorCode::Timeout, message).into_response();
                response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
                return response;
            }
        };
    let _slot = match app.take_slot() {
        Ok(slot) => slot,
        Err(refusal) => return refusal.into_response(inner),
    };
    let request = Request::from_parts(parts, Body::from(bytes));
    match inner.router.clone().call(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// Refuses a declared body over `limit` at once; caps the bodies that handlers may read.
fn limit_body(request: Request, limit: usize) -> Result<Request, ApiError> {
    let declared = request.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        let message = format!("the request body is larger than {limit} bytes (server.body_limit_bytes)");
        return Err(ApiError::new(ErrorCode::PayloadTooLarge, message));
    }
    // GET and HEAD handlers never read a body: they skip the limiting wrapper and its allocation.
    if request.method() == Method::GET || request.method() == Method::HEAD {
        return Ok(request);
    }
    Ok(request.map(|body| Body::new(http_body_util::Limited::new(body, limit))))
}

/// A request being timed for the HTTP metrics.
struct Track {
    http: Arc<HttpMetrics>,
    started: Timer,
    route: Option<Route>,
    method: Method,
}

pin_project_lite::pin_project! {
    #[project = PhaseProj]
    enum Phase<F> {
        Routed { #[pin] future: F },
        Direct { future: Pin<Box<dyn Future<Output = Response> + Send>> },
        Done { response: Option<Response> },
    }
}

pin_project_lite::pin_project! {
    /// The router's future inside the edge: no box, and no timer until the request has to wait.
    pub struct EdgeFuture<F> {
        #[pin]
        phase: Phase<F>,
        #[pin]
        deadline: Option<Sleep>,
        timeout: Duration,
        track: Option<Track>,
        log: Option<(Method, Uri)>,
        // The audit log, with what it records of the request.
        audit: Option<Box<(crate::audit::Auditor, Method, Option<Route>)>>,
        // Held until the future is done or dropped.
        // Whether the answer closes its connection: the server is draining.
        close: bool,
        _slot: Option<Slot>,
        _held: Option<crate::watch::Held>,
    }

    impl<F> PinnedDrop for EdgeFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            // Dropped before it answered (the client left, or the server stopped): no longer in
            // flight, and not counted as answered.
            if let Some(track) = this.project().track.take() {
                track.http.in_flight_add(-1.0);
            }
        }
    }
}

impl<F> Future for EdgeFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let polled = match this.phase.as_mut().project() {
            PhaseProj::Done { response } => Poll::Ready(response.take()),
            PhaseProj::Routed { future } => future.poll(cx).map(|Ok(response)| Some(response)),
            PhaseProj::Direct { future } => future.as_mut().poll(cx).map(Some),
        };
        let response = match polled {
            Poll::Ready(response) => response,
            Poll::Pending => {
                // Most answers come from the cache on the first poll: the timer is armed only
                // for requests that wait, from the first time they do.
                if this.deadline.is_none() {
                    this.deadline.set(Some(tokio::time::sleep(*this.timeout)));
                }
                if let Some(deadline) = this.deadline.as_mut().as_pin_mut() {
                    ready!(deadline.poll(cx));
                }
                this.phase.set(Phase::Done { response: None });
                None
            }
        };
        let mut response = finish(response.unwrap_or_else(timed_out));
        if *this.close {
            // Keep-alive clients move to another replica; hyper closes after this response.
            response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
        }
        if let Some(track) = this.track.take() {
            track.http.in_flight_add(-1.0);
            let route = track.route.map(Route::index);
            track.http.record(route, track.method.as_str(), response.status().as_u16(), track.started.elapsed());
        }
        if let Some((method, uri)) = this.log.take() {
            tracing::debug!(%method, %uri, status = response.status().as_u16(), "request");
        }
        if let Some(audit) = this.audit.take() {
            let (auditor, method, route) = &*audit;
            auditor.record(method.as_str(), route.map_or("(none)", Route::template), &response);
        }
        Poll::Ready(Ok(response))
    }
}

fn timed_out() -> Response {
    ApiError::of(ErrorCode::Timeout).into_response()
}

/// Gives error responses made outside the handlers (405 from the router, 413 from an extractor)
/// the JSON error shape, keeping their other headers (`Allow`, `WWW-Authenticate`).
fn finish(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response.headers().get(CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json {
        return response;
    }
    let mut replaced = ApiError::of(ErrorCode::for_status(status)).into_response();
    for (name, value) in response.headers() {
        if name != CONTENT_TYPE && name != CONTENT_LENGTH {
            replaced.headers_mut().entry(name).or_insert_with(|| value.clone());
        }
    }
    replaced
}
