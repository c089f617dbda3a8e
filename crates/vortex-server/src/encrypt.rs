//! Spring's encryption endpoints: `POST /encrypt`, `POST /decrypt`, `GET /encrypt/status` and
//! `GET /key`, each also as `/{name}/{profiles}` (one key serves every application here).
//!
//! `/encrypt`, `/encrypt/status` and `/key` are read API routes: encrypting reveals nothing.
//! `/decrypt` turns any cipher text of the key back into the secret, so it is an admin route and
//! needs the admin token (ADR 0010).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use vortex_core::cipher::{CIPHER_PREFIX, TextEncryptor, split_prefixes};

use crate::auth::ReadAccess;
use crate::error::ApiError;
use crate::{AppState, admin, routes};

/// The encryption routes. `GET /encrypt/{name}/{profiles}` and `GET /decrypt/{name}/{profiles}`
/// stay the read API of the applications `encrypt` and `decrypt`.
pub(crate) fn routes(state: AppState) -> Router<AppState> {
    let admin = axum::middleware::from_fn_with_state(state, admin::require_token);
    Router::new()
        .route("/encrypt", post(encrypt))
        .route("/encrypt/status", get(status))
        .route("/encrypt/{name}/{profiles}", post(encrypt_for).merge(get(routes::read)))
        .route("/decrypt", post(decrypt).route_layer(admin.clone()))
        .route("/decrypt/{name}/{profiles}", post(decrypt_for).route_layer(admin).merge(get(routes::read)))
        .route("/key", get(key))
        .route("/key/{name}/{profiles}", get(key_for))
}

/// The installed key, or 404 `no_key` as Spring answers without one.
fn encryptor(state: &AppState) -> Result<&TextEncryptor, ApiError> {
    state.inner.encryptor.as_deref().ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "no_key", "no encryption key is installed: set encrypt.key")
    })
}

/// `GET /encrypt/status`: 200 `{"status":"OK"}` with a key, 404 without.
async fn status(State(state): State<AppState>, _: ReadAccess) -> Result<Response, ApiError> {
    encryptor(&state)?;
    Ok(axum::Json(json!({ "status": "OK" })).into_response())
}

/// `GET /key`: the public key of an RSA key pair; a symmetric key has none.
async fn key(State(state): State<AppState>, _: ReadAccess) -> ApiError {
    match encryptor(&state) {
        Err(no_key) => no_key,
        Ok(_) => ApiError::new(StatusCode::NOT_FOUND, "not_found", "no public key available: the key is symmetric"),
    }
}

async fn key_for(
    state: State<AppState>,
    access: ReadAccess,
    Path((name, profiles)): Path<(String, String)>,
) -> Response {
    match check_names(&name, &profiles) {
        Ok(()) => key(state, access).await.into_response(),
        Err(err) => err.into_response(),
    }
}

async fn encrypt(State(state): State<AppState>, _: ReadAccess, headers: HeaderMap, body: Bytes) -> Response {
    answer(encrypt_text(&state, &headers, &body))
}

async fn encrypt_for(
    State(state): State<AppState>,
    _: ReadAccess,
    Path((name, profiles)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(check_names(&name, &profiles).and_then(|()| encrypt_text(&state, &headers, &body)))
}

async fn decrypt(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    answer(decrypt_text(&state, &headers, &body))
}

async fn decrypt_for(
    State(state): State<AppState>,
    Path((name, profiles)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(check_names(&name, &profiles).and_then(|()| decrypt_text(&state, &headers, &body)))
}

/// Encrypts the body; leading `{name:value}` groups are kept in front of the cipher text, as
/// Spring does, except `{name:...}` and `{profiles:...}`, which are the locator's and never echoed.
fn encrypt_text(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<String, ApiError> {
    let encryptor = encryptor(state)?;
    let text = form_data(headers, body)?;
    let (prefixes, plain) = split_prefixes(&text);
    let hex = encryptor.encrypt(plain).map_err(|err| {
        tracing::error!(error = %err, "encrypt: cannot encrypt");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal server error")
    })?;
    let mut out = echoed_prefixes(prefixes);
    out.push_str(&hex);
    Ok(out)
}

/// Decrypts the body: a cipher text, with or without `{cipher}` and its `{name:value}` groups.
fn decrypt_text(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<String, ApiError> {
    let encryptor = encryptor(state)?;
    let text = form_data(headers, body)?;
    let text = text.strip_prefix(CIPHER_PREFIX).unwrap_or(&text);
    let (_, cipher_text) = split_prefixes(text);
    encryptor.decrypt(cipher_text).map_err(|err| {
        tracing::debug!(error = %err, "decrypt: refused");
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_cipher", "text not encrypted with this key")
    })
}

/// The groups of `prefixes` without `{name:...}` and `{profiles:...}`.
fn echoed_prefixes(prefixes: &str) -> String {
    prefixes
        .split_inclusive('}')
        .filter(|group| !(group.starts_with("{name:") || group.starts_with("{profiles:")))
        .collect()
}

/// The body as text. `curl -d secret` posts `application/x-www-form-urlencoded`, so a body that is
/// not `text/plain` and ends with `=` is form-decoded and loses that `=` (`secret=`), as Spring
/// does. Hex cipher texts never end with `=`.
fn form_data(headers: &HeaderMap, body: &[u8]) -> Result<String, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", "the body is not UTF-8 text"))?;
    let plain = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("text/plain")));
    match text.strip_suffix('=') {
        Some(form) if !plain => {
            let spaced = form.replace('+', " ");
            let decoded = percent_encoding::percent_decode_str(&spaced).decode_utf8().map_err(|_| {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", "the form data is not UTF-8 once decoded")
            })?;
            Ok(decoded.into_owned())
        }
        _ => Ok(text.to_owned()),
    }
}

/// Spring refuses names and profiles with `..` in them.
fn check_names(name: &str, profiles: &str) -> Result<(), ApiError> {
    if name.contains("..") || profiles.contains("..") {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", "name and profiles may not contain .."));
    }
    Ok(())
}

/// A `text/plain` answer, or the error.
fn answer(result: Result<String, ApiError>) -> Response {
    match result {
        Ok(text) => ([(CONTENT_TYPE, HeaderValue::from_static("text/plain;charset=UTF-8"))], text).into_response(),
        Err(err) => err.into_response(),
    }
}
