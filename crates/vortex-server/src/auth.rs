//! HTTP basic authentication for the read API, when `security.basic_auth` is configured, and the
//! bearer token of the admin API.

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use vortex_settings::BasicAuthSettings;

use crate::{ApiError, AppState};

/// The expected `Authorization` header value.
#[derive(Debug)]
pub(crate) struct BasicAuth {
    expected: Vec<u8>,
}

impl BasicAuth {
    /// Returns the checker, or `None` when basic authentication is not configured.
    pub(crate) fn from_settings(settings: &BasicAuthSettings) -> Option<Self> {
        let (user, password) = (settings.username.as_ref()?, settings.password.as_ref()?);
        let credentials = format!("{user}:{}", password.expose());
        Some(Self { expected: format!("Basic {}", base64(credentials.as_bytes())).into_bytes() })
    }

    fn allows(&self, header: Option<&HeaderValue>) -> bool {
        header.is_some_and(|value| constant_time_eq(value.as_bytes(), &self.expected))
    }
}

/// Proof that a read request may be served: taken by every read handler, so a route cannot forget
/// it. Without `security.basic_auth` every request passes (also one with an empty `Basic`
/// header, as some clients send); with it, a request without the credentials gets 401.
pub(crate) struct ReadAccess;

impl FromRequestParts<AppState> for ReadAccess {
    type Rejection = Unauthorized;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Unauthorized> {
        Self::check(state, &parts.headers)
    }
}

impl ReadAccess {
    /// Grants access when basic authentication is off or `headers` carry the credentials.
    pub(crate) fn check(state: &AppState, headers: &HeaderMap) -> Result<Self, Unauthorized> {
        match &state.inner.auth {
            Some(auth) if !auth.allows(headers.get(AUTHORIZATION)) => Err(Unauthorized),
            _ => Ok(Self),
        }
    }
}

/// A read request without the credentials: 401 with a `Basic` challenge.
#[derive(Debug)]
pub(crate) struct Unauthorized;

impl IntoResponse for Unauthorized {
    fn into_response(self) -> Response {
        let mut response = ApiError::from_status(StatusCode::UNAUTHORIZED).into_response();
        response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"vortex\""));
        response
    }
}

/// The admin API's `Authorization: Bearer <token>` check.
pub(crate) struct BearerToken {
    expected: Vec<u8>,
}

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

impl BearerToken {
    pub(crate) fn new(token: &str) -> Self {
        Self { expected: format!("Bearer {token}").into_bytes() }
    }

    /// Whether the `Authorization` header carries the token, compared in constant time.
    pub(crate) fn allows(&self, header: Option<&HeaderValue>) -> bool {
        header.is_some_and(|value| constant_time_eq(value.as_bytes(), &self.expected))
    }
}

/// Compares without an early exit, so the time taken does not reveal how much of a guess matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, &x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i).copied().unwrap_or(0));
    }
    diff == 0
}

fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (input, expected) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy")] {
            assert_eq!(base64(input.as_bytes()), expected);
        }
    }

    #[test]
    fn comparison_is_exact() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}
