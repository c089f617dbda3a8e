//! `GET /metrics` and `/actuator/prometheus`, and the HTTP traffic middleware (feature `metrics`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::handler::HandlerWithoutStateExt;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower::{Layer, Service};
use vortex_metrics::{HttpMetrics, Timer};

use crate::AppState;

/// Every route template of the router; other paths are recorded as `unmatched`.
pub(crate) const ROUTES: &[&str] = &[
    "/{a}",
    "/{a}/{b}",
    "/{a}/{b}/{c}",
    "/{a}/{b}/{c}/{*path}",
    "/health",
    "/actuator/health",
    "/cache",
    "/cache/{*key}",
    "/monitor",
    "/metrics",
    "/actuator/prometheus",
];

/// How often the exporter folds histogram samples and drops idle series.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Adds the exposition routes and the traffic recording when metrics are on.
///
/// Recording is one plain tower service around the whole router, so it sees every answer (also
/// 404s, 405s and 408s). It names the route template with [`route_template`], which mirrors the
/// router's table without a lookup or an allocation; a test checks it against axum's `MatchedPath`.
pub(crate) fn routes(app: Router<AppState>, state: &AppState) -> Router<AppState> {
    let Some((_, http)) = &state.inner.prometheus else { return app.fallback(crate::no_route) };
    let track = TrackLayer(Arc::clone(http));
    app.route("/metrics", get(exposition))
        .route("/actuator/prometheus", get(exposition))
        .route_layer(track.clone())
        .fallback_service(track.layer(crate::no_route.into_service()))
}

/// The index in [`ROUTES`] of the route that serves `path`, `None` for the fallback.
pub(crate) fn route_template(path: &str) -> Option<usize> {
    let index = |template: &str| ROUTES.iter().position(|r| *r == template);
    match path {
        "/health" | "/actuator/health" | "/cache" | "/monitor" | "/metrics" | "/actuator/prometheus" => {
            return index(path);
        }
        _ => {}
    }
    let rest = path.strip_prefix('/')?;
    if rest.strip_prefix("cache/").is_some_and(|key| !key.is_empty()) {
        return index("/cache/{*key}");
    }
    // axum's parameters match empty segments in the middle (`/a//c`), never a trailing empty
    // one; the wildcard takes anything of at least one character.
    let parts: [Option<&str>; 4] = {
        let mut split = rest.splitn(4, '/');
        [split.next(), split.next(), split.next(), split.next()]
    };
    match parts {
        [Some(a), None, None, None] if !a.is_empty() => index("/{a}"),
        [Some(_), Some(b), None, None] if !b.is_empty() => index("/{a}/{b}"),
        [Some(_), Some(_), Some(c), None] if !c.is_empty() => index("/{a}/{b}/{c}"),
        [Some(_), Some(_), Some(_), Some(tail)] if !tail.is_empty() => index("/{a}/{b}/{c}/{*path}"),
        _ => None,
    }
}

/// Counts and times requests by route template, method and status class.
#[derive(Clone)]
struct TrackLayer(Arc<HttpMetrics>);

impl<S> Layer<S> for TrackLayer {
    type Service = Track<S>;

    fn layer(&self, inner: S) -> Track<S> {
        Track { inner, http: Arc::clone(&self.0) }
    }
}

#[derive(Clone)]
struct Track<S> {
    inner: S,
    http: Arc<HttpMetrics>,
}

impl<S> Service<Request> for Track<S>
where
    S: Service<Request, Response = Response> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = TrackFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let started = Timer::start();
        let route = route_template(request.uri().path());
        let method = request.method().clone();
        self.http.in_flight_add(1.0);
        TrackFuture { inner: self.inner.call(request), http: Some(Arc::clone(&self.http)), started, route, method }
    }
}

pin_project_lite::pin_project! {
    /// The inner response future, recorded when it completes (no boxing: the router's future is
    /// large, and moving it to the heap cost more than all the recording).
    pub(crate) struct TrackFuture<F> {
        #[pin]
        inner: F,
        http: Option<Arc<HttpMetrics>>,
        started: Timer,
        route: Option<usize>,
        method: Method,
    }

    impl<F> PinnedDrop for TrackFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            // Cancelled before it answered (a timeout above, or the client left): not in flight.
            if let Some(http) = this.project().http.take() {
                http.in_flight_add(-1.0);
            }
        }
    }
}

impl<F, E> Future for TrackFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll(cx));
        if let Some(http) = this.http.take() {
            http.in_flight_add(-1.0);
            if let Ok(response) = &result {
                http.record(*this.route, this.method.as_str(), response.status().as_u16(), this.started.elapsed());
            }
        }
        Poll::Ready(result)
    }
}

/// The Prometheus text exposition, with the cache's sizes brought up to date first.
async fn exposition(State(state): State<AppState>) -> Response {
    let Some((prometheus, _)) = &state.inner.prometheus else { return StatusCode::NOT_FOUND.into_response() };
    #[cfg(feature = "cache")]
    if let Some(cache) = &state.inner.cache {
        cache.stats().await;
    }
    let content_type = HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8");
    ([(CONTENT_TYPE, content_type)], prometheus.render()).into_response()
}

/// Runs the exporter's upkeep in the background, when there is a runtime to run it on.
pub(crate) fn spawn_upkeep(prometheus: &vortex_metrics::Prometheus) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
    let prometheus = prometheus.clone();
    runtime.spawn(async move {
        let mut interval = tokio::time::interval(UPKEEP_INTERVAL);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            prometheus.run_upkeep();
        }
    });
}

#[cfg(test)]
mod tests;
