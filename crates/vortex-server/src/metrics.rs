//! `GET /metrics` and `/actuator/prometheus`, and the HTTP traffic middleware (feature `metrics`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::handler::HandlerWithoutStateExt;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower::{Layer, Service};
use vortex_metrics::HttpMetrics;

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
/// Recording wraps every route (where axum has set the matched template) and the fallback, as a
/// plain tower service: no extractor, no state clone, one allocation per request.
pub(crate) fn routes(app: Router<AppState>, state: &AppState) -> Router<AppState> {
    let Some((_, http)) = &state.inner.prometheus else { return app.fallback(crate::no_route) };
    let track = TrackLayer(Arc::clone(http));
    let fallback = crate::no_route.into_service();
    app.route("/metrics", get(exposition))
        .route("/actuator/prometheus", get(exposition))
        .route_layer(track.clone())
        .fallback_service(track.layer(fallback))
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
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let started = Instant::now();
        let http = Arc::clone(&self.http);
        let route = request.extensions().get::<MatchedPath>().map(|m| http.route(m.as_str()));
        let method = request.method().clone();
        let response = self.inner.call(request);
        Box::pin(async move {
            let in_flight = http.in_flight();
            let response = response.await;
            drop(in_flight);
            if let Ok(response) = &response {
                http.record(route.flatten(), method.as_str(), response.status().as_u16(), started.elapsed());
            }
            response
        })
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
