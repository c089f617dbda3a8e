//! The read API of Spring Cloud Config and the health endpoint: each parsed read request
//! ([`ReadRequest`]) answered in its representation, with its entity tag.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::{Request, State};
use axum::http::header::{ACCEPT, ACCEPT_CHARSET, CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH, VARY};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use vortex_core::placeholder::{self, Budget};
use vortex_core::render::FlatFormat;
use vortex_core::snapshot::{Rendering, Representation, Snapshot};
use vortex_core::{ConfigQuery, HealthStatus, Value};

use crate::AppState;
use crate::access::{Caller, Need};
use crate::auth::Identified;
use crate::error::{ApiError, ErrorCode};
use crate::request::{Options, ReadRequest, Target};

/// The media type of the v2 Environment JSON, with `{value, origin}` pairs.
pub const V2_MEDIA_TYPE: &str = "application/vnd.spring-cloud.config-server.v2+json";
const JSON: &str = "application/json";
const TEXT_PLAIN: &str = "text/plain";
const TEXT_UTF8: &str = "text/plain;charset=UTF-8";
const OCTET_STREAM: &str = "application/octet-stream";

/// Every read route: `/{a}`, `/{a}/{b}`, `/{a}/{b}/{c}` and `/{a}/{b}/{c}/{*path}`, and the `GET`
/// of `/cache/...`, `/encrypt/{a}/{b}` and `/decrypt/{a}/{b}` (applications of those names).
pub(crate) async fn read(
    State(state): State<AppState>,
    Identified(caller): Identified,
    request: Request,
) -> Result<Response, ApiError> {
    answer(&state, &caller, request.uri(), request.headers()).await
}

/// Answers a read request that may be served (see [`ReadAccess`]). The edge calls it directly for
/// the read routes, without the router's parameter extraction.
pub(crate) async fn answer(
    state: &AppState,
    caller: &Caller,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    // The policy decides on the parsed request, before any backend work: the same answer whether
    // or not what it names exists.
    let request = ReadRequest::from_uri(uri)?;
    let need = Need::Read(&request.query);
    if let Err(denied) = state.permit(caller, need) {
        return Ok(state.noted(caller, need, denied.into_response()));
    }
    let opened = if crate::stream::wanted(headers) { crate::stream::open(state, uri, headers).await } else { None };
    let answered = match opened {
        Some(opened) => opened,
        None => answer_parsed(state, &request, headers).await,
    };
    match &state.inner.audit {
        None => answered,
        Some(_) => Ok(state.noted(caller, need, answered.unwrap_or_else(IntoResponse::into_response))),
    }
}

/// Answers a read request, held with `?wait=` and `If-None-Match` (see [`crate::watch`]).
pub(crate) async fn answer_held(state: &AppState, uri: &Uri, headers: &HeaderMap) -> Result<Response, ApiError> {
    answer_parsed(state, &ReadRequest::from_uri(uri)?, headers).await
}

/// Answers a parsed read request, held with `?wait=` and `If-None-Match`.
async fn answer_parsed(state: &AppState, request: &ReadRequest<'_>, headers: &HeaderMap) -> Result<Response, ApiError> {
    let watch = &state.inner.watch;
    match watch.hold_for(request.options.wait, headers) {
        Some(wait) => {
            let applications: Vec<&str> = request.query.applications().collect();
            watch.hold(&applications, wait, || answer_request(state, request, headers)).await
        }
        None => answer_request(state, request, headers).await,
    }
}

/// Answers a parsed read request once.
async fn answer_request(
    state: &AppState,
    request: &ReadRequest<'_>,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let (query, options) = (&request.query, request.options);
    match &request.target {
        Target::Environment => environment(state, query, headers).await,
        Target::Flat(format) => flat(state, query, *format, options, headers).await,
        Target::Resource(path) => resource(state, query, path, options, headers).await,
    }
}

/// `GET /health` and `/actuator/health`: 200 while the backend serves, 503 when it cannot.
///
/// With `security.clients`, the details (backends, their locations, branches, last errors; the
/// bus) are shown only to a client with the `admin` or `health` role; others get the bare status.
pub(crate) async fn health(State(state): State<AppState>, Identified(caller): Identified) -> Response {
    let backend = state.inner.source.health();
    let mut status = if backend.ready { backend.status } else { HealthStatus::Down };
    let code = if status == HealthStatus::Down { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
    if state.inner.access.permit(&caller, Need::Details).is_err() {
        if state.inner.bus.health().is_some_and(|(_, degraded)| degraded) && status == HealthStatus::Up {
            status = HealthStatus::Degraded;
        }
        let body = serde_json::json!({ "status": status });
        return (code, [(CONTENT_TYPE, HeaderValue::from_static(JSON))], body.to_string()).into_response();
    }
    let mut body = serde_json::json!({
        "status": status,
        "backends": { state.inner.backend_name: backend },
    });
    // A replica without its broker serves, but tells: degraded, never down.
    if let Some((bus, degraded)) = state.inner.bus.health() {
        if degraded && status == HealthStatus::Up {
            status = HealthStatus::Degraded;
            body["status"] = serde_json::json!(status);
        }
        body["bus"] = bus;
    }
    (code, [(CONTENT_TYPE, HeaderValue::from_static(JSON))], body.to_string()).into_response()
}

/// `GET /actuator/health/liveness`: 200 while the process can answer at all. Nothing a backend does
/// makes it fail: restarting the process would not bring a git remote back.
pub(crate) async fn liveness() -> Response {
    probe(true, "UP")
}

/// `GET /actuator/health/readiness`: 200 when the backend can serve (for git, a usable clone) and
/// the server is not draining; 503 otherwise, so that the orchestrator sends traffic elsewhere.
pub(crate) async fn readiness(State(state): State<AppState>) -> Response {
    let ready = !state.is_draining() && state.inner.source.health().ready;
    probe(ready, if ready { "UP" } else { "OUT_OF_SERVICE" })
}

fn probe(ok: bool, status: &'static str) -> Response {
    let code = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = serde_json::json!({ "status": status });
    (code, [(CONTENT_TYPE, HeaderValue::from_static(JSON))], body.to_string()).into_response()
}

async fn environment(state: &AppState, query: &ConfigQuery, headers: &HeaderMap) -> Result<Response, ApiError> {
    let snapshot = served(state, query).await?;
    let v2 = accepts(headers, V2_MEDIA_TYPE);
    let representation = Representation::Environment { origins: v2, label_in_request: query.label.is_some() };
    let rendering = render(state, &snapshot, representation).await?;
    let content_type = if v2 { V2_MEDIA_TYPE } else { JSON };
    Ok(versioned(state, &snapshot, respond(rendering, content_type, headers, Some(ACCEPT.as_str()))))
}

async fn flat(
    state: &AppState,
    query: &ConfigQuery,
    format: FlatFormat,
    options: Options,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let snapshot = served(state, query).await?;
    let representation = Representation::Flat { format, resolve_placeholders: options.resolve_placeholders };
    let rendering = render(state, &snapshot, representation).await?;
    let content_type = if format == FlatFormat::Json { JSON } else { TEXT_PLAIN };
    Ok(versioned(state, &snapshot, respond(rendering, content_type, headers, None)))
}

/// `response` with the version it served, for the audit log when it is on.
fn versioned(state: &AppState, snapshot: &Snapshot, mut response: Response) -> Response {
    if state.inner.audit.is_some() {
        let version = crate::audit::Version(snapshot.environment().version.clone());
        response.extensions_mut().insert(version);
    }
    response
}

/// The rendering of `representation`: at once when the snapshot has it (every cache hit), else
/// made now. Heavy work — a large environment, or placeholders to resolve — is made off the async
/// workers, under the placeholder budget, and stopped when the request is dropped (it timed out,
/// or its client left), so that no input can keep a worker or a CPU from everything else.
async fn render<'s>(
    state: &AppState,
    snapshot: &'s Arc<Snapshot>,
    representation: Representation,
) -> Result<&'s Rendering, ApiError> {
    if let Some(rendering) = snapshot.rendered(representation) {
        return Ok(rendering);
    }
    let mut budget = Budget::new(state.inner.placeholder_budget, 0);
    if !is_heavy(snapshot, representation) {
        return Ok(snapshot.render_within(representation, &mut budget)?);
    }
    let cancel = CancelOnDrop::default();
    let mut budget = budget.cancelled_by(Arc::clone(&cancel.0));
    let made = Arc::clone(snapshot);
    crate::heavy::run(move || made.render_within(representation, &mut budget).map(|_| ())).await?;
    drop(cancel);
    Ok(snapshot.render(representation)?)
}

/// Environments larger than this (by [`Snapshot::estimated_bytes`]) render off the async workers.
const HEAVY_BYTES: u64 = 256 * 1024;

fn is_heavy(snapshot: &Snapshot, representation: Representation) -> bool {
    let resolves = matches!(representation, Representation::Flat { resolve_placeholders: true, .. });
    snapshot.estimated_bytes() > HEAVY_BYTES
        || resolves
            && snapshot.environment().property_sources.iter().any(|ps| {
                ps.source
                    .iter()
                    .any(|(key, p)| key.contains("${") || matches!(&p.value, Value::String(s) if s.contains("${")))
            })
}

/// Sets its flag when dropped: with the request's future, when the request ends for any reason.
#[derive(Default)]
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// The snapshot that answers an environment request for `query`; with `accept_empty` off, 404
/// when it has no property source at all (Spring's `EnvironmentNotFoundException`).
async fn served(state: &AppState, query: &ConfigQuery) -> Result<Arc<Snapshot>, ApiError> {
    let snapshot = state.snapshot(query).await?;
    if !state.inner.accept_empty && snapshot.environment().property_sources.is_empty() {
        let message = format!(
            "no configuration for application {:?} with profiles {:?}",
            query.application,
            query.profiles_joined()
        );
        return Err(ApiError::new(ErrorCode::NotFound, message));
    }
    Ok(snapshot)
}

async fn resource(
    state: &AppState,
    query: &ConfigQuery,
    path: &str,
    options: Options,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    const VARY: &str = "accept, accept-charset";
    let found = state.inner.source.resource(query, path).await?;
    if accepts(headers, OCTET_STREAM) {
        return Ok(respond(&Rendering::new(found.bytes), OCTET_STREAM, headers, Some(VARY)));
    }
    let text = decode(&found.bytes, headers);
    let text = if options.resolve_placeholders && text.contains("${") {
        let snapshot = state.snapshot(query).await?;
        let cancel = CancelOnDrop::default();
        let mut budget = Budget::new(state.inner.placeholder_budget, text.len()).cancelled_by(Arc::clone(&cancel.0));
        let resolved =
            crate::heavy::run(move || placeholder::resolve_placeholders(&text, snapshot.environment(), &mut budget))
                .await?;
        drop(cancel);
        resolved
    } else {
        text
    };
    Ok(respond(&Rendering::new(text), TEXT_UTF8, headers, Some(VARY)))
}

/// Answers a rendering: 304 when the client's `If-None-Match` names its entity tag, else 200
/// with the body. Both carry `ETag` and `Cache-Control` (clients and proxies revalidate every
/// time; shared caches do not store configuration).
fn respond(
    rendering: &Rendering,
    content_type: &'static str,
    request: &HeaderMap,
    vary: Option<&'static str>,
) -> Response {
    let not_modified = if_none_match(request, rendering.etag());
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(CONTENT_TYPE, HeaderValue::from_static(content_type))], rendering.body().clone()).into_response()
    };
    let headers = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_maybe_shared(rendering.etag().clone()) {
        headers.insert(ETAG, etag);
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache, private"));
    if let Some(vary) = vary {
        headers.insert(VARY, HeaderValue::from_static(vary));
    }
    response
}

/// Whether `If-None-Match` matches `etag`, with the weak comparison RFC 9110 prescribes for it.
fn if_none_match(request: &HeaderMap, etag: &[u8]) -> bool {
    request
        .get_all(IF_NONE_MATCH)
        .iter()
        .flat_map(|value| value.as_bytes().split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .any(|tag| tag == b"*" || tag.strip_prefix(b"W/").unwrap_or(tag) == etag)
}

fn accepts(headers: &HeaderMap, media_type: &str) -> bool {
    headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case(media_type)))
}

/// Decodes resource bytes with the charset the client asked for: ISO-8859-1, or UTF-8 otherwise.
fn decode(bytes: &[u8], headers: &HeaderMap) -> String {
    let charset = headers
        .get(ACCEPT_CHARSET)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    match charset.as_deref() {
        Some("iso-8859-1" | "latin1" | "us-ascii") => bytes.iter().map(|&b| char::from(b)).collect(),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}
