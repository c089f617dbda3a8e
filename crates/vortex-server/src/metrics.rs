//! `GET /metrics` and `/actuator/prometheus`, and the exporter's upkeep (feature `metrics`).

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;

/// How often the exporter folds histogram samples and drops idle series.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Adds the exposition routes when metrics are on. Traffic is recorded by the edge
/// ([`crate::edge`]), which sees every answer, 404s, 405s and 408s included.
pub(crate) fn routes(app: Router<AppState>, state: &AppState) -> Router<AppState> {
    if state.inner.prometheus.is_none() {
        return app;
    }
    app.route("/metrics", get(exposition)).route("/actuator/prometheus", get(exposition))
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
