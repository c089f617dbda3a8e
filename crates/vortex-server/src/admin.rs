//! The admin API: cache statistics and invalidation, and the `/monitor` push webhook.
//!
//! Every route requires `Authorization: Bearer <security.admin_token>`. Without a configured
//! token the routes answer 403 `admin_disabled`, saying how to turn them on. `POST /monitor` is
//! the exception when `security.webhook_secret` is set: git hosts cannot send a bearer token, so
//! it then requires the host's signature (or GitLab's token) instead.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde_json::json;

use vortex_metrics::AuthApi;

use crate::auth::{self, WebhookRefusal};
use crate::error::ApiError;
use crate::{AppState, monitor, routes};

/// The admin routes. `GET /cache/...` is not an admin route: it stays the read API of an
/// application named `cache`.
pub(crate) fn routes(state: AppState) -> Router<AppState> {
    let admin = middleware::from_fn_with_state(state, require_token);
    Router::new()
        .route("/cache", get(stats).delete(delete_pattern).route_layer(admin.clone()))
        .route("/cache/{*key}", delete(delete_key).route_layer(admin).merge(get(routes::read)))
        // Authenticated in the handler: a signature covers the body.
        .route("/monitor", post(monitor))
}

/// Answers 403 when the admin API is off, 401 without the right bearer token.
pub(crate) async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match admin_access(&state, request.method().as_str(), request.uri().path(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(denied) => denied.into_response(),
    }
}

/// Admission before the body: refuses, from the headers alone, a request to a route that takes a
/// body and that would be refused anyway, so that no body from an unauthenticated client is ever
/// read. `template` is the route's template; the answer is the refusal, `None` to go on. A
/// webhook's signature covers the body, so only its presence is checked here; the handler
/// verifies it.
pub(crate) fn refuse_writer(state: &AppState, method: &str, template: &str, headers: &HeaderMap) -> Option<Response> {
    let refused = match template {
        "/monitor" => match &state.inner.webhook {
            Some(_) if auth::has_webhook_credentials(headers) => Ok(()),
            Some(_) => {
                tracing::warn!(header = "none", "monitor: webhook refused, nothing changed");
                state.auth_failed(AuthApi::Webhook, true);
                Err(Denied::Unsigned.into_response())
            }
            None => admin_access(state, method, template, headers).map_err(IntoResponse::into_response),
        },
        "/cache" | "/cache/{*key}" | "/decrypt" | "/decrypt/{name}/{profiles}" => {
            admin_access(state, method, template, headers).map_err(IntoResponse::into_response)
        }
        "/encrypt" | "/encrypt/{name}/{profiles}" => {
            crate::auth::ReadAccess::check(state, headers).map(|_| ()).map_err(IntoResponse::into_response)
        }
        _ => Ok(()),
    };
    refused.err()
}

/// Why an admin or webhook request was refused.
#[derive(Debug, Clone, Copy)]
enum Denied {
    /// No admin token is configured: 403.
    AdminDisabled,
    /// The bearer token is missing or wrong: 401 with a `Bearer` challenge.
    Token,
    /// The webhook has no signature or token: 401.
    Unsigned,
    /// The webhook's signature or token does not match: 401.
    BadSignature,
}

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        let unauthorized = |message: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message);
        match self {
            Self::AdminDisabled => ApiError::new(
                StatusCode::FORBIDDEN,
                "admin_disabled",
                "the admin API is off: set security.admin_token to turn it on",
            )
            .into_response(),
            Self::Token => {
                let mut response = ApiError::from_status(StatusCode::UNAUTHORIZED).into_response();
                response
                    .headers_mut()
                    .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"vortex-admin\""));
                response
            }
            Self::Unsigned => unauthorized(
                "the webhook is not signed: configure the git host's webhook secret (security.webhook_secret)",
            )
            .into_response(),
            Self::BadSignature => {
                unauthorized("the webhook signature does not match security.webhook_secret").into_response()
            }
        }
    }
}

/// The admin token check. Refusals are logged and counted, never with the header: a near-miss
/// token is still a secret.
fn admin_access(state: &AppState, method: &str, path: &str, headers: &HeaderMap) -> Result<(), Denied> {
    let Some(token) = &state.inner.admin else {
        return Err(Denied::AdminDisabled);
    };
    if token.allows(headers.get(AUTHORIZATION)) {
        return Ok(());
    }
    let missing = !headers.contains_key(AUTHORIZATION);
    tracing::warn!(method, path, credentials = if missing { "missing" } else { "wrong" }, "admin API: request refused");
    state.auth_failed(AuthApi::Admin, missing);
    Err(Denied::Token)
}

/// Who may post to `/monitor`: with `security.webhook_secret`, only a request signed with it (or
/// carrying GitLab's token); without one, the admin API's bearer token.
fn monitor_access(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<(), Denied> {
    let Some(secret) = &state.inner.webhook else {
        return admin_access(state, "POST", "/monitor", headers);
    };
    let (header, denied) = match secret.verify(headers, body) {
        Ok(header) => {
            tracing::debug!(header, "monitor: webhook signature verified");
            return Ok(());
        }
        Err(WebhookRefusal::Unsigned) => ("none", Denied::Unsigned),
        Err(WebhookRefusal::Wrong(header)) => (header, Denied::BadSignature),
    };
    tracing::warn!(header, "monitor: webhook refused, nothing changed");
    state.auth_failed(AuthApi::Webhook, matches!(denied, Denied::Unsigned));
    Err(denied)
}

#[derive(Debug, Deserialize)]
struct StatsParams {
    /// List the keys of the entries too.
    #[serde(default)]
    keys: Option<String>,
}

/// `GET /cache`: entries, hits, misses, hit ratio and evictions by cause; `?keys` lists the keys.
async fn stats(State(state): State<AppState>, Query(params): Query<StatsParams>) -> Response {
    #[cfg(feature = "cache")]
    if let Some(cache) = &state.inner.cache {
        let stats = cache.stats().await;
        let mut body = json!({
            "enabled": true,
            "entries": stats.entries,
            "weightedSize": stats.weighted_size,
            "hits": stats.hits,
            "misses": stats.misses,
            "hitRatio": stats.hit_ratio(),
            "loads": stats.loads,
            "loadErrors": stats.load_errors,
            "staleLoads": stats.stale_loads,
            "evictions": {
                "expired": stats.evictions.expired,
                "size": stats.evictions.size,
                "explicit": stats.evictions.explicit,
                "replaced": stats.evictions.replaced,
            },
        });
        if params.keys.is_some() {
            let mut keys: Vec<String> = cache.keys().iter().map(ToString::to_string).collect();
            keys.sort_unstable();
            body["keys"] = json!(keys);
        }
        return Json(body).into_response();
    }
    let _ = (state, params.keys);
    Json(json!({ "enabled": false })).into_response()
}

#[derive(Debug, Deserialize)]
struct DeleteParams {
    pattern: Option<String>,
}

/// `DELETE /cache?pattern=GLOB`: removes the matching entries and says how many went.
async fn delete_pattern(
    State(state): State<AppState>,
    Query(params): Query<DeleteParams>,
) -> Result<Response, ApiError> {
    let Some(pattern) = params.pattern else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "name the entries: DELETE /cache?pattern=GLOB (`*` for all) or DELETE /cache/{key}",
        ));
    };
    #[cfg(feature = "cache")]
    if let Some(cache) = &state.inner.cache {
        let glob = vortex_cache::KeyPattern::new(&pattern).map_err(invalid)?;
        let removed = cache.invalidate_pattern(&glob).await;
        tracing::info!(%pattern, removed, "admin API: cache entries invalidated by pattern");
        return Ok(Json(json!({ "pattern": pattern, "removed": removed })).into_response());
    }
    let _ = state;
    Ok(Json(json!({ "pattern": pattern, "removed": 0, "enabled": false })).into_response())
}

/// `DELETE /cache/{key}`: removes one entry; `removed` is 0 when there was none.
async fn delete_key(State(state): State<AppState>, Path(key): Path<String>) -> Result<Response, ApiError> {
    #[cfg(feature = "cache")]
    if let Some(cache) = &state.inner.cache {
        let parsed = cache.parse_key(&key).map_err(invalid)?;
        let removed = u64::from(cache.invalidate(&parsed).await);
        tracing::info!(key = %parsed, removed, "admin API: cache entry invalidated");
        return Ok(Json(json!({ "key": parsed.to_string(), "removed": removed })).into_response());
    }
    let _ = state;
    Ok(Json(json!({ "key": key, "removed": 0, "enabled": false })).into_response())
}

/// `POST /monitor`: a git host's push webhook (or `path=`): fetch now, invalidate the applications
/// the changed files concern, and answer their names as Spring does.
async fn monitor(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    if let Err(denied) = monitor_access(&state, &headers, &body) {
        return Ok(denied.into_response());
    }
    let Some(paths) = monitor::changed_paths(&headers, &body)? else {
        return Ok(Json(json!([])).into_response());
    };
    let names = monitor::service_names(&paths);
    if let Err(err) = state.inner.source.refresh().await {
        tracing::error!(error = %crate::error_chain(&err), "monitor: fetch failed");
        return Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "fetch_failed",
            "fetching from the configuration repository failed; the previous content stays in service",
        ));
    }
    let removed = invalidate_applications(&state, &names).await;
    tracing::info!(?paths, ?names, removed, "monitor: refreshed");
    Ok(Json(names).into_response())
}

#[cfg(feature = "cache")]
async fn invalidate_applications(state: &AppState, names: &[String]) -> u64 {
    match &state.inner.cache {
        Some(cache) => cache.invalidate_applications(names).await,
        None => 0,
    }
}

#[cfg(not(feature = "cache"))]
async fn invalidate_applications(_: &AppState, _: &[String]) -> u64 {
    0
}

#[cfg(feature = "cache")]
fn invalid(err: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", err.to_string())
}
