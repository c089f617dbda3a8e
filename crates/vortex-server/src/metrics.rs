//! `GET /metrics` and `/actuator/prometheus`, and the HTTP traffic middleware (feature `metrics`).

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

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

/// Adds the exposition routes and the traffic middleware when metrics are on.
pub(crate) fn routes(app: Router<AppState>, state: &AppState) -> Router<AppState> {
    if state.prometheus.is_none() {
        return app;
    }
    app.route("/metrics", get(exposition))
        .route("/actuator/prometheus", get(exposition))
        // Inside the router, where the matched route is known: hand it to the outer middleware.
        .route_layer(middleware::from_fn(remember_route))
        .layer(middleware::from_fn_with_state(state.clone(), track))
}

/// The route template of a request, carried from the inner middleware to the outer one.
#[derive(Clone)]
struct RouteTemplate(MatchedPath);

async fn remember_route(matched: Option<MatchedPath>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if let Some(matched) = matched {
        response.extensions_mut().insert(RouteTemplate(matched));
    }
    response
}

/// Counts and times every request by route template, method and status class.
async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some((_, http)) = &state.prometheus else { return next.run(request).await };
    let started = Instant::now();
    let method = request.method().clone();
    let response = {
        let _in_flight = http.in_flight();
        next.run(request).await
    };
    let route = response.extensions().get::<RouteTemplate>().map(|r| r.0.as_str());
    http.record(route, method.as_str(), response.status().as_u16(), started.elapsed());
    response
}

/// The Prometheus text exposition, with the cache's sizes brought up to date first.
async fn exposition(State(state): State<AppState>) -> Response {
    let Some((prometheus, _)) = &state.prometheus else { return StatusCode::NOT_FOUND.into_response() };
    #[cfg(feature = "cache")]
    if let Some(cache) = &state.cache {
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
