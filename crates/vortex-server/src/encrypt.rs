//! Spring's encryption endpoints: `POST /encrypt`, `POST /decrypt`, `GET /encrypt/status` and
//! `GET /key`, each also as `/{name}/{profiles}` (one key serves every application here).
//!
//! `/encrypt`, `/encrypt/status` and `/key` need the `encrypt` role (open when reads are):
//! encrypting reveals nothing. `/decrypt` turns any cipher text of the key back into the secret,
//! so it needs the `decrypt` role, which the admin token has (ADR 0010). The `/{name}/{profiles}`
//! forms are also checked against the client's scope.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use vortex_core::cipher::{CIPHER_PREFIX, TextEncryptor, split_prefixes};

use crate::AppState;
use crate::access::Need;
use crate::auth::Identified;
use crate::error::{ApiError, ErrorCode};

/// The installed key, or 404 `no_key` as Spring answers without one.
fn encryptor(state: &AppState) -> Result<&TextEncryptor, ApiError> {
    state.inner.encryptor.as_deref().ok_or_else(|| ApiError::of(ErrorCode::NoKey))
}

/// `GET /encrypt/status`: 200 `{"status":"OK"}` with a key, 404 without.
pub(crate) async fn status(State(state): State<AppState>, Identified(caller): Identified) -> Response {
    state.decide(&caller, Need::Encrypt(None), || match encryptor(&state) {
        Ok(_) => axum::Json(json!({ "status": "OK" })).into_response(),
        Err(no_key) => no_key.into_response(),
    })
}

/// `GET /key`: the public key of an RSA key pair; a symmetric key has none.
pub(crate) async fn key(State(state): State<AppState>, Identified(caller): Identified) -> Response {
    state.decide(&caller, Need::Encrypt(None), || public_key(&state).into_response())
}

fn public_key(state: &AppState) -> ApiError {
    match encryptor(state) {
        Err(no_key) => no_key,
        Ok(_) => ApiError::new(ErrorCode::NotFound, "no public key available: the key is symmetric"),
    }
}

pub(crate) async fn key_for(
    State(state): State<AppState>,
    Identified(caller): Identified,
    Path((name, profiles)): Path<(String, String)>,
) -> Response {
    state.decide(&caller, Need::Encrypt(Some((&name, &profiles))), || match check_names(&name, &profiles) {
        Ok(()) => public_key(&state).into_response(),
        Err(err) => err.into_response(),
    })
}

pub(crate) async fn encrypt(
    State(state): State<AppState>,
    Identified(caller): Identified,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.decide(&caller, Need::Encrypt(None), || answer(encrypt_text(&state, &headers, &body)))
}

pub(crate) async fn encrypt_for(
    State(state): State<AppState>,
    Identified(caller): Identified,
    Path((name, profiles)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.decide(&caller, Need::Encrypt(Some((&name, &profiles))), || {
        answer(check_names(&name, &profiles).and_then(|()| encrypt_text(&state, &headers, &body)))
    })
}

pub(crate) async fn decrypt(
    State(state): State<AppState>,
    Identified(caller): Identified,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.decide(&caller, Need::Decrypt(None), || answer(decrypt_text(&state, &headers, &body)))
}

pub(crate) async fn decrypt_for(
    State(state): State<AppState>,
    Identified(caller): Identified,
    Path((name, profiles)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.decide(&caller, Need::Decrypt(Some((&name, &profiles))), || {
        answer(check_names(&name, &profiles).and_then(|()| decrypt_text(&state, &headers, &body)))
    })
}

/// Encrypts the body; leading `{name:value}` groups are kept in front of the cipher text, as
/// Spring does, except `{name:...}` and `{profiles:...}`, which are the locator's and never echoed.
fn encrypt_text(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<String, ApiError> {
    let encryptor = encryptor(state)?;
    let text = form_data(headers, body)?;
    let (prefixes, plain) = split_prefixes(&text);
    let hex = encryptor.encrypt(plain).map_err(|err| {
        tracing::error!(error = %err, "encrypt: cannot encrypt");
        ApiError::of(ErrorCode::Internal)
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
        ApiError::of(ErrorCode::InvalidCipher)
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
        .map_err(|_| ApiError::new(ErrorCode::InvalidRequest, "the body is not UTF-8 text"))?;
    let plain = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("text/plain")));
    match text.strip_suffix('=') {
        Some(form) if !plain => {
            let spaced = form.replace('+', " ");
            let decoded = percent_encoding::percent_decode_str(&spaced)
                .decode_utf8()
                .map_err(|_| ApiError::new(ErrorCode::InvalidRequest, "the form data is not UTF-8 once decoded"))?;
            Ok(decoded.into_owned())
        }
        _ => Ok(text.to_owned()),
    }
}

/// Spring refuses names and profiles with `..` in them.
fn check_names(name: &str, profiles: &str) -> Result<(), ApiError> {
    if name.contains("..") || profiles.contains("..") {
        return Err(ApiError::new(ErrorCode::InvalidRequest, "name and profiles may not contain .."));
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
