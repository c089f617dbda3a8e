//! The axum router, derived from the route table: each [`Route`] gets the handlers its row names,
//! and a path no route serves gets the JSON 404.

use axum::Router;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post};

use crate::auth::Identified;
use crate::error::ApiError;
use crate::route::Route;
use crate::{AppState, admin, encrypt, routes};

/// The routes at the root, whatever the prefix.
pub(crate) fn root(state: AppState) -> Router {
    root_with(state, |_, handlers| handlers)
}

/// [`root`], each route's handlers passed through `wrap` first (tests mark which route answered).
fn root_with(state: AppState, wrap: impl Fn(Route, MethodRouter<AppState>) -> MethodRouter<AppState>) -> Router {
    let mut router = Router::new();
    for route in Route::ALL {
        router = router.route(route.template(), wrap(route, handlers(route, &state)));
    }
    router.fallback(no_route).with_state(state)
}

/// The handlers of `route`'s methods, as its row of the table says. The admin token is checked by
/// a layer on the methods that need it; every other check is in the handler.
fn handlers(route: Route, state: &AppState) -> MethodRouter<AppState> {
    let admin = || from_fn_with_state(state.clone(), admin::require_token);
    match route {
        Route::One | Route::Two | Route::Three | Route::Resource => get(routes::read),
        Route::Health | Route::ActuatorHealth => get(routes::health),
        Route::Liveness => get(routes::liveness),
        Route::Readiness => get(routes::readiness),
        Route::Cache => get(admin::stats).delete(admin::delete_pattern).route_layer(admin()),
        Route::CacheKey => delete(admin::delete_key).route_layer(admin()).merge(get(routes::read)),
        // Authenticated in the handler: a signature covers the body.
        Route::Monitor => post(admin::monitor),
        Route::Metrics | Route::ActuatorPrometheus => get(exposition),
        Route::Encrypt => post(encrypt::encrypt),
        Route::EncryptStatus => get(encrypt::status),
        Route::EncryptFor => post(encrypt::encrypt_for).merge(get(routes::read)),
        Route::Decrypt => post(encrypt::decrypt),
        Route::DecryptFor => post(encrypt::decrypt_for).merge(get(routes::read)),
        Route::Key => get(encrypt::key),
        Route::KeyFor => get(encrypt::key_for),
        Route::BusRefresh => post(admin::bus_refresh).route_layer(admin()).merge(get(routes::read)),
        Route::BusRefreshFor => post(admin::bus_refresh_for).route_layer(admin()).merge(get(routes::read)),
    }
}

/// `GET /metrics` and `/actuator/prometheus`: the Prometheus text exposition, with the cache's
/// sizes brought up to date first; 404 when metrics are off. Traffic is recorded by the edge,
/// which sees every answer.
async fn exposition(State(state): State<AppState>, Identified(caller): Identified, uri: axum::http::Uri) -> Response {
    if let Err(denied) = state.permit(&caller, crate::access::Need::Metrics) {
        return denied.into_response();
    }
    state.inner.cache.update_sizes().await;
    match state.inner.observability.render() {
        Some(text) => {
            let content_type = HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8");
            ([(CONTENT_TYPE, content_type)], text).into_response()
        }
        None => ApiError::no_route(uri.path()).into_response(),
    }
}

/// Answers a path that no route serves.
async fn no_route(uri: axum::http::Uri) -> ApiError {
    ApiError::no_route(uri.path())
}

#[cfg(test)]
mod tests;
