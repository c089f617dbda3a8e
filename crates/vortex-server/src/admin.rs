//! The admin API: cache statistics and invalidation, and the `/monitor` push webhook.
//!
//! Every route requires `Authorization: Bearer <security.admin_token>`. Without a configured
//! token the routes answer 403 `admin_disabled`, saying how to turn them on. `POST /monitor` is
//! the exception when `security.webhook_secret` is set: git hosts cannot send a bearer token, so
//! it then requires the host's signature (or GitLab's token) instead.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use std::time::Instant;

use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use vortex_core::SourceChange;
use vortex_metrics::AuthApi;

use crate::access::{self, Caller, Need};
use crate::auth::{self, WebhookRefusal};
use crate::error::{ApiError, ErrorCode};
use crate::route::Route;
use crate::{AppState, bus, monitor};

/// Answers 403 when the admin API is off, 401 without the credentials of a client with the
/// `admin` role (the admin token's among them), 403 for a client without it.
pub(crate) async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let caller = state.inner.access.identify(request.headers(), request.extensions()).await;
    let response = match admin_decision(&state, &caller, request.method().as_str(), request.uri().path()) {
        Ok(()) => next.run(request).await,
        Err(denied) => denied.into_response(),
    };
    state.noted(&caller, Need::Admin, response)
}

/// Admission before the body: refuses, from the headers alone, a request to a route that takes a
/// body and that would be refused anyway, so that no body from an unauthenticated client is ever
/// read. The answer is the refusal, `None` to go on. A webhook's signature covers the body, so
/// only its presence is checked here; the handler verifies it.
pub(crate) async fn refuse_writer(
    state: &AppState,
    method: &str,
    route: Route,
    headers: &HeaderMap,
    extensions: &Extensions,
) -> Option<Response> {
    let path = route.template();
    let refused = match route {
        Route::Monitor => match &state.inner.webhook {
            Some(_) if auth::has_webhook_credentials(headers) => Ok(()),
            Some(_) => {
                tracing::warn!(header = "none", "monitor: webhook refused, nothing changed");
                state.auth_failed(AuthApi::Webhook, true);
                Err(Denied::Unsigned.into_response())
            }
            None => admin_access(state, method, path, headers, extensions).await.map_err(IntoResponse::into_response),
        },
        Route::Cache | Route::CacheKey | Route::BusRefresh | Route::BusRefreshFor => {
            admin_access(state, method, path, headers, extensions).await.map_err(IntoResponse::into_response)
        }
        // The scope of the `/{name}/{profiles}` forms is checked by their handlers.
        Route::Decrypt | Route::DecryptFor => refuse_early(state, headers, extensions, Need::Decrypt(None)).await,
        Route::Encrypt | Route::EncryptFor => refuse_early(state, headers, extensions, Need::Encrypt(None)).await,
        _ => Ok(()),
    };
    refused.err()
}

/// The refusal of a request with a body, from its headers, noted for the audit log.
async fn refuse_early(
    state: &AppState,
    headers: &HeaderMap,
    extensions: &Extensions,
    need: Need<'_>,
) -> Result<(), Response> {
    let caller = state.inner.access.identify(headers, extensions).await;
    state.permit(&caller, need).map_err(|denied| state.noted(&caller, need, denied.into_response()))
}

/// Why an admin or webhook request was refused.
#[derive(Debug, Clone, Copy)]
enum Denied {
    /// The policy's refusal: no admin client at all, missing or wrong credentials, no `admin` role.
    Access(access::Denied),
    /// The webhook has no signature or token: 401.
    Unsigned,
    /// The webhook's signature or token does not match: 401.
    BadSignature,
}

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        let error = match self {
            Self::Access(denied) => return denied.into_response(),
            Self::Unsigned => ApiError::new(
                ErrorCode::WebhookUnauthorized,
                "the webhook is not signed: configure the git host's webhook secret (security.webhook_secret)",
            ),
            Self::BadSignature => ApiError::new(
                ErrorCode::WebhookUnauthorized,
                "the webhook signature does not match security.webhook_secret",
            ),
        };
        error.into_response()
    }
}

/// The admin check. Refusals are logged (at warn: the admin API is not polled by a fleet) and
/// counted, never with the header: a near-miss token is still a secret.
async fn admin_access(
    state: &AppState,
    method: &str,
    path: &str,
    headers: &HeaderMap,
    extensions: &Extensions,
) -> Result<(), Denied> {
    let caller = state.inner.access.identify(headers, extensions).await;
    admin_decision(state, &caller, method, path)
}

/// Whether `caller` may use the admin API; refusals logged as [`admin_access`] says.
fn admin_decision(state: &AppState, caller: &Caller, method: &str, path: &str) -> Result<(), Denied> {
    match state.permit(caller, Need::Admin) {
        Ok(()) => Ok(()),
        Err(denied) => {
            match denied {
                access::Denied::Credentials { missing } | access::Denied::AdminCredentials { missing } => {
                    let credentials = if missing { "missing" } else { "wrong" };
                    tracing::warn!(method, path, credentials, "admin API: request refused");
                }
                access::Denied::Forbidden => {
                    tracing::warn!(method, path, reason = denied.reason().label(), "admin API: request refused")
                }
                access::Denied::AdminDisabled => {}
            }
            Err(Denied::Access(denied))
        }
    }
}

/// Who may post to `/monitor`: with `security.webhook_secret`, only a request signed with it (or
/// carrying GitLab's token); without one, the admin API's bearer token.
async fn monitor_access(state: &AppState, request: &Parts, body: &[u8]) -> Result<(), Denied> {
    let headers = &request.headers;
    // Without a secret the caller was let in as an admin by `monitor`.
    let Some(secret) = &state.inner.webhook else { return Ok(()) };
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
pub(crate) struct StatsParams {
    /// List the keys of the entries too.
    #[serde(default)]
    keys: Option<String>,
}

/// `GET /cache`: entries, hits, misses, hit ratio and evictions by cause; `?keys` lists the keys.
pub(crate) async fn stats(State(state): State<AppState>, Query(params): Query<StatsParams>) -> Response {
    Json(state.inner.cache.stats(params.keys.is_some()).await).into_response()
}

#[derive(Debug, Deserialize)]
pub(crate) struct DeleteParams {
    pattern: Option<String>,
}

/// `DELETE /cache?pattern=GLOB`: removes the matching entries and says how many went.
pub(crate) async fn delete_pattern(
    State(state): State<AppState>,
    Query(params): Query<DeleteParams>,
) -> Result<Response, ApiError> {
    let Some(pattern) = params.pattern else {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "name the entries: DELETE /cache?pattern=GLOB (`*` for all) or DELETE /cache/{key}",
        ));
    };
    let removed = state.inner.cache.invalidate_pattern(&pattern).await?;
    // Held reads recompute: those whose answer changed are answered.
    state.inner.watch.changed(&SourceChange::everything());
    Ok(Json(removed).into_response())
}

/// `DELETE /cache/{key}`: removes one entry; `removed` is 0 when there was none.
pub(crate) async fn delete_key(State(state): State<AppState>, Path(key): Path<String>) -> Result<Response, ApiError> {
    let removed = state.inner.cache.invalidate_key(&key).await?;
    state.inner.watch.changed(&SourceChange::everything());
    Ok(Json(removed).into_response())
}

/// `POST /monitor`: a git host's push webhook (or `path=`): fetch now, invalidate the applications
/// the changed files concern, and answer their names as Spring does. On a bus, the other replicas
/// fetch too, and then the Spring services of those names are told to refresh; the peers that
/// confirmed are named in `X-Vortex-Bus-Peers` (and those that did not, in `X-Vortex-Bus-Missing`).
///
/// Without a webhook secret it is an admin route, and its answer is noted for the audit log.
pub(crate) async fn monitor(State(state): State<AppState>, request: Parts, body: Bytes) -> Response {
    if state.inner.webhook.is_some() {
        return refresh(&state, &request, &body).await.unwrap_or_else(IntoResponse::into_response);
    }
    let caller = state.inner.access.identify(&request.headers, &request.extensions).await;
    let response = match admin_decision(&state, &caller, "POST", "/monitor") {
        Ok(()) => refresh(&state, &request, &body).await.unwrap_or_else(IntoResponse::into_response),
        Err(denied) => denied.into_response(),
    };
    state.noted(&caller, Need::Admin, response)
}

/// What `/monitor` does once its caller is let in (or, with a webhook secret, its signature
/// checked here).
async fn refresh(state: &AppState, request: &Parts, body: &Bytes) -> Result<Response, ApiError> {
    let seen = Instant::now();
    let headers = &request.headers;
    if let Err(denied) = monitor_access(state, request, body).await {
        return Ok(denied.into_response());
    }
    let Some(paths) = monitor::changed_paths(headers, body)? else {
        return Ok(Json(json!([])).into_response());
    };
    let names = monitor::service_names(&paths);
    let change = match state.inner.bus.fetch(state.inner.source.as_ref()).await {
        Ok(change) => change,
        Err(err) => {
            tracing::error!(error = %vortex_core::error_chain(&err), "monitor: fetch failed");
            return Err(ApiError::new(
                ErrorCode::FetchFailed,
                "fetching from the configuration repository failed; the previous content stays in service",
            ));
        }
    };
    let removed = state.inner.cache.invalidate_applications(&names).await;
    tracing::info!(?paths, ?names, removed, "monitor: refreshed");
    let mut response = Json(&names).into_response();
    // Peers drop what was dropped here: the named applications (all, for `*`), whatever moved.
    let mut announced = SourceChange::everything();
    if !names.iter().any(|name| name == "*") {
        announced = announced.for_applications(names.clone());
    }
    state.inner.watch.changed(&announced);
    announced.labels = change.labels;
    announced.versions = change.versions;
    if let Some(propagated) = state.inner.bus.propagate(&announced, &bus::destinations(&names), seen).await {
        for (header, peers) in
            [("x-vortex-bus-peers", &propagated.confirmed), ("x-vortex-bus-missing", &propagated.missing)]
        {
            if let Ok(value) = HeaderValue::from_str(&peers.join(","))
                && !peers.is_empty()
            {
                response.headers_mut().insert(header, value);
            }
        }
    }
    Ok(response)
}

/// `POST /actuator/busrefresh`: Spring Cloud Bus's endpoint, for every service.
pub(crate) async fn bus_refresh(State(state): State<AppState>) -> Result<Response, ApiError> {
    refresh_over_bus(&state, None).await
}

/// `POST /actuator/busrefresh/{destination}`: for the services of `destination` (`orders`,
/// `orders:dev`, `orders:**`).
pub(crate) async fn bus_refresh_for(
    State(state): State<AppState>,
    Path(destination): Path<String>,
) -> Result<Response, ApiError> {
    refresh_over_bus(&state, Some(&destination)).await
}

/// Fetches here, has the peers fetch, then tells the Spring services of `destination` to refresh;
/// answers the destination, the peers by outcome and the refresh events' ids.
async fn refresh_over_bus(state: &AppState, destination: Option<&str>) -> Result<Response, ApiError> {
    let seen = Instant::now();
    let bus = &state.inner.bus;
    if !bus.is_on() {
        return Err(ApiError::new(
            ErrorCode::BusDisabled,
            "this replica is not on a bus: set bus.enabled (in a build with the `bus` feature)",
        ));
    }
    let destination = bus::destination(destination)
        .map_err(|reason| ApiError::new(ErrorCode::InvalidRequest, format!("destination: {reason}")))?;
    let change = bus.fetch(state.inner.source.as_ref()).await.map_err(|err| {
        tracing::error!(error = %vortex_core::error_chain(&err), "busrefresh: fetch failed");
        ApiError::new(
            ErrorCode::FetchFailed,
            "fetching from the configuration repository failed; the previous content stays in service",
        )
    })?;
    // A refresh by hand drops everything, here and on the peers: with the native backend it is how
    // an operator says that files changed.
    let mut announced = SourceChange::everything();
    announced.labels = change.labels;
    announced.versions = change.versions;
    let removed = state.inner.cache.invalidate_change(&announced);
    state.inner.watch.changed(&announced);
    tracing::info!(%destination, removed, "busrefresh: refreshed");
    let propagated = bus.propagate(&announced, std::slice::from_ref(&destination), seen).await.unwrap_or_default();
    if propagated.error.is_some() {
        return Err(ApiError::new(
            ErrorCode::BusUnavailable,
            "the message broker cannot be reached: this replica fetched, but neither its peers nor the Spring \
             services were told",
        ));
    }
    let body = json!({
        "destination": destination,
        "peers": { "confirmed": propagated.confirmed, "failed": propagated.failed, "missing": propagated.missing },
        "events": propagated.events,
    });
    Ok(Json(body).into_response())
}
