//! HTTP basic authentication for the read API, when `security.basic_auth` is configured, the
//! bearer token of the admin API, and the signatures of git hosts' webhooks.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use vortex_metrics::AuthApi;

use crate::AppState;
use crate::error::{ApiError, ErrorCode};

/// The expected `Authorization` header value.
pub(crate) struct BasicAuth {
    /// `None` when a user name is set without a password: nothing is let in.
    expected: Option<Vec<u8>>,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BasicAuth(<redacted>)")
    }
}

impl BasicAuth {
    /// The check for `username` and `password`. Without a password (settings built in code whose
    /// `password_file` was never read) no one is let in, rather than everyone.
    pub(crate) fn new(username: &str, password: Option<&str>) -> Self {
        let expected = password.map(|password| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}")).into_bytes()
        });
        Self { expected }
    }

    fn allows(&self, header: Option<&HeaderValue>) -> bool {
        match (&self.expected, header.and_then(|value| credentials(value, "basic"))) {
            (Some(expected), Some(given)) => bool::from(given.ct_eq(expected)),
            _ => false,
        }
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
            Some(auth) if !auth.allows(headers.get(AUTHORIZATION)) => {
                let missing = !headers.contains_key(AUTHORIZATION);
                // Counted, and logged at debug only: read clients retry, and a fleet with a
                // rotated password would flood the log. Never the header itself.
                tracing::debug!(credentials = if missing { "missing" } else { "wrong" }, "read API: request refused");
                state.auth_failed(AuthApi::Read, missing);
                Err(Unauthorized)
            }
            _ => Ok(Self),
        }
    }
}

/// A read request without the credentials: 401 with a `Basic` challenge.
#[derive(Debug)]
pub(crate) struct Unauthorized;

impl IntoResponse for Unauthorized {
    fn into_response(self) -> Response {
        ApiError::of(ErrorCode::Unauthorized).into_response()
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
        Self { expected: token.as_bytes().to_vec() }
    }

    /// Whether the `Authorization` header carries the token, compared in constant time.
    pub(crate) fn allows(&self, header: Option<&HeaderValue>) -> bool {
        header
            .and_then(|value| credentials(value, "bearer"))
            .is_some_and(|given| bool::from(given.ct_eq(&self.expected)))
    }
}

/// The credentials of an `Authorization` header in `scheme`, which is matched without regard to
/// case (RFC 9110, 11.1: `basic` and `BEARER` are `Basic` and `Bearer`); `None` for another scheme.
fn credentials<'h>(header: &'h HeaderValue, scheme: &str) -> Option<&'h [u8]> {
    let value = header.as_bytes();
    let space = value.iter().position(|&b| b == b' ')?;
    let (given, rest) = value.split_at(space);
    given.eq_ignore_ascii_case(scheme.as_bytes()).then(|| rest.trim_ascii_start())
}

/// The shared secret of git hosts' webhooks (`security.webhook_secret`).
pub(crate) struct WebhookSecret {
    secret: Vec<u8>,
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

/// Why a webhook was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WebhookRefusal {
    /// No signature or token header at all.
    Unsigned,
    /// The named header's signature or token does not match.
    Wrong(&'static str),
}

/// The headers that carry an HMAC-SHA256 of the body as hex, and the prefix before the hex: GitHub
/// (and Gitea since 1.17, Forgejo), Gitea, Gogs, Bitbucket Cloud and Server.
const SIGNATURE_HEADERS: [(&str, &str); 4] = [
    ("x-hub-signature-256", "sha256="),
    ("x-gitea-signature", ""),
    ("x-gogs-signature", ""),
    ("x-hub-signature", "sha256="),
];
/// The headers that carry the secret itself: GitLab, and Gitee's "password" mode.
const TOKEN_HEADERS: [&str; 2] = ["x-gitlab-token", "x-gitee-token"];

impl WebhookSecret {
    pub(crate) fn new(secret: &str) -> Self {
        Self { secret: secret.as_bytes().to_vec() }
    }

    /// Accepts `body` when the first signature or token header present matches the secret, and
    /// returns that header's name. Signatures are compared in constant time.
    pub(crate) fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<&'static str, WebhookRefusal> {
        for (name, prefix) in SIGNATURE_HEADERS {
            let Some(value) = headers.get(name) else { continue };
            let signature = value.as_bytes().strip_prefix(prefix.as_bytes()).and_then(|hex| hex::decode(hex).ok());
            let valid = signature.is_some_and(|signature| {
                // HMAC accepts keys of any length: `new_from_slice` cannot fail here.
                Hmac::<Sha256>::new_from_slice(&self.secret)
                    .map(|mac| mac.chain_update(body).verify_slice(&signature).is_ok())
                    .unwrap_or(false)
            });
            return if valid { Ok(name) } else { Err(WebhookRefusal::Wrong(name)) };
        }
        for name in TOKEN_HEADERS {
            let Some(value) = headers.get(name) else { continue };
            return if bool::from(value.as_bytes().ct_eq(&self.secret)) {
                Ok(name)
            } else {
                Err(WebhookRefusal::Wrong(name))
            };
        }
        Err(WebhookRefusal::Unsigned)
    }
}

/// Whether `headers` carry any webhook signature or token header, valid or not.
pub(crate) fn has_webhook_credentials(headers: &HeaderMap) -> bool {
    SIGNATURE_HEADERS.iter().any(|(name, _)| headers.contains_key(*name))
        || TOKEN_HEADERS.iter().any(|name| headers.contains_key(*name))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231, test case 2: the key "Jefe".
    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        let secret = WebhookSecret::new("Jefe");
        let mut headers = HeaderMap::new();
        let signature = "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        headers.insert("x-hub-signature-256", HeaderValue::from_static(signature));
        assert_eq!(secret.verify(&headers, b"what do ya want for nothing?"), Ok("x-hub-signature-256"));
        assert_eq!(
            secret.verify(&headers, b"what do ya want for nothing!"),
            Err(WebhookRefusal::Wrong("x-hub-signature-256"))
        );
    }

    #[test]
    fn schemes_match_without_regard_to_case() {
        let token = BearerToken::new("t0ken");
        for header in ["Bearer t0ken", "bearer t0ken", "BEARER t0ken", "Bearer  t0ken"] {
            assert!(token.allows(Some(&HeaderValue::from_static(header))), "{header}");
        }
        for header in ["Bearer t0kem", "Basic t0ken", "Bearert0ken", "t0ken", "Bearer T0KEN"] {
            assert!(!token.allows(Some(&HeaderValue::from_static(header))), "{header}");
        }
        let basic = BasicAuth::new("user", Some("pass"));
        for header in ["Basic dXNlcjpwYXNz", "basic dXNlcjpwYXNz", "BASIC dXNlcjpwYXNz"] {
            assert!(basic.allows(Some(&HeaderValue::from_static(header))), "{header}");
        }
        assert!(!basic.allows(Some(&HeaderValue::from_static("Bearer dXNlcjpwYXNz"))));
    }
}
