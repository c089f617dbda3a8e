//! Who sent a request and whether it may do what it asks (through [`crate::access`]), and the
//! signatures of git hosts' webhooks.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use vortex_metrics::AuthApi;

use crate::AppState;
use crate::access::{Caller, Denied, Need};
use crate::audit::AuditNote;

/// Who sent a request, as the policy identified it: taken by every handler that needs it, so a
/// route cannot forget to ask ([`crate::access`]).
pub(crate) struct Identified(pub(crate) Caller);

impl FromRequestParts<AppState> for Identified {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Self(state.inner.access.identify(&parts.headers, &parts.extensions).await))
    }
}

impl AppState {
    /// Whether `caller` may do what `need` asks; a refusal is counted and logged at debug (read
    /// clients retry, and a fleet with rotated credentials would flood the log), never with the
    /// credentials themselves.
    pub(crate) fn permit(&self, caller: &Caller, need: Need<'_>) -> Result<(), Denied> {
        let decided = self.inner.access.permit(caller, need);
        // Monitoring's own requests (health details, scrapes) are not counted as clients' requests.
        if !matches!(need, Need::Details | Need::Metrics) {
            self.inner.access.count(caller, decided.err());
        }
        let Err(denied) = decided else { return Ok(()) };
        let api = match need {
            Need::Admin | Need::Decrypt(_) | Need::Details | Need::Metrics => AuthApi::Admin,
            Need::Read(_) | Need::Encrypt(_) => AuthApi::Read,
        };
        match denied {
            Denied::Credentials { missing } | Denied::AdminCredentials { missing } => {
                tracing::debug!(credentials = if missing { "missing" } else { "wrong" }, "request refused");
                self.auth_failed(api, missing);
            }
            Denied::Forbidden => tracing::debug!(client = caller.name(), "request refused: out of scope"),
            Denied::AdminDisabled => {}
        }
        Err(denied)
    }

    /// Answers with `answer` when `caller` may do what `need` asks, else with the refusal; either
    /// way noted for the audit log when it is on.
    pub(crate) fn decide(&self, caller: &Caller, need: Need<'_>, answer: impl FnOnce() -> Response) -> Response {
        let response = match self.permit(caller, need) {
            Ok(()) => answer(),
            Err(denied) => denied.into_response(),
        };
        self.noted(caller, need, response)
    }

    /// `response` with the audit note of `caller` asking for `need`, when the audit log is on.
    pub(crate) fn noted(&self, caller: &Caller, need: Need<'_>, response: Response) -> Response {
        match &self.inner.audit {
            Some(_) => AuditNote::new(caller, need).on(response),
            None => response,
        }
    }
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
    use axum::http::HeaderValue;

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
}
