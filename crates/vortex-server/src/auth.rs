//! HTTP basic authentication for the read API, when `security.basic_auth` is configured, the
//! bearer token of the admin API, and the signatures of git hosts' webhooks.

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use vortex_metrics::AuthApi;
use vortex_settings::BasicAuthSettings;

use crate::{ApiError, AppState};

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
    /// Returns the checker, or `None` when basic authentication is not configured (no user name).
    /// A user name without a password (settings built in code whose `password_file` was never
    /// read) lets no one in rather than everyone.
    pub(crate) fn from_settings(settings: &BasicAuthSettings) -> Option<Self> {
        let user = settings.username.as_ref()?;
        let expected = settings.password.as_ref().map(|password| {
            let credentials = format!("{user}:{}", password.expose());
            base64(credentials.as_bytes()).into_bytes()
        });
        Some(Self { expected })
    }

    fn allows(&self, header: Option<&HeaderValue>) -> bool {
        match (&self.expected, header.and_then(|value| credentials(value, "basic"))) {
            (Some(expected), Some(given)) => constant_time_eq(given, expected),
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
        Self { expected: token.as_bytes().to_vec() }
    }

    /// Whether the `Authorization` header carries the token, compared in constant time.
    pub(crate) fn allows(&self, header: Option<&HeaderValue>) -> bool {
        header
            .and_then(|value| credentials(value, "bearer"))
            .is_some_and(|given| constant_time_eq(given, &self.expected))
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
            let signature = value.as_bytes().strip_prefix(prefix.as_bytes()).and_then(decode_hex);
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
            return if constant_time_eq(value.as_bytes(), &self.secret) {
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

/// Lower- or upper-case hex, even length; `None` otherwise.
fn decode_hex(text: &[u8]) -> Option<Vec<u8>> {
    let digit = |c: u8| char::from(c).to_digit(16).and_then(|d| u8::try_from(d).ok());
    if text.len() % 2 != 0 {
        return None;
    }
    text.chunks(2).map(|pair| Some((digit(pair[0])? << 4) | digit(pair[1])?)).collect()
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
    fn hex_decoding_refuses_what_is_not_hex() {
        assert_eq!(decode_hex(b"00ff7A"), Some(vec![0, 255, 122]));
        assert_eq!(decode_hex(b"0"), None);
        assert_eq!(decode_hex(b"zz"), None);
        assert_eq!(decode_hex(b"+1"), None);
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
        let settings = BasicAuthSettings {
            username: Some("user".to_owned()),
            password: Some(vortex_settings::Secret::new("pass".to_owned())),
            ..BasicAuthSettings::default()
        };
        let basic = BasicAuth::from_settings(&settings).unwrap();
        for header in ["Basic dXNlcjpwYXNz", "basic dXNlcjpwYXNz", "BASIC dXNlcjpwYXNz"] {
            assert!(basic.allows(Some(&HeaderValue::from_static(header))), "{header}");
        }
        assert!(!basic.allows(Some(&HeaderValue::from_static("Bearer dXNlcjpwYXNz"))));
    }

    #[test]
    fn comparison_is_exact() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}
