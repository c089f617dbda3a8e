//! The one place where errors become HTTP responses: a status and `{"code", "message"}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use vortex_core::{CoreError, ErrorKind};

/// Seconds a client is asked to wait before retrying a 503.
const RETRY_AFTER_SECONDS: &str = "5";

/// An error answered to a client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    /// An error with its status, stable code and message.
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }

    /// A 404 for a path that no route serves.
    pub fn no_route(path: &str) -> Self {
        Self { status: StatusCode::NOT_FOUND, code: "not_found", message: format!("no resource at {path}") }
    }

    /// An error for a status produced outside the handlers (timeouts, body limits, wrong methods).
    pub fn from_status(status: StatusCode) -> Self {
        let (code, message) = match status {
            StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "method not allowed"),
            StatusCode::REQUEST_TIMEOUT => ("timeout", "request timed out"),
            StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "request body too large"),
            StatusCode::UNAUTHORIZED => ("unauthorized", "authentication required"),
            StatusCode::NOT_FOUND => ("not_found", "not found"),
            s if s.is_client_error() => ("bad_request", "bad request"),
            _ => ("internal", "internal server error"),
        };
        Self { status, code, message: message.to_owned() }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<CoreError> for ApiError {
    fn from(err: CoreError) -> Self {
        let kind = err.kind();
        let (status, code) = match kind {
            ErrorKind::InvalidInput => (StatusCode::BAD_REQUEST, "invalid_request"),
            ErrorKind::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ErrorKind::InvalidDocument => (StatusCode::INTERNAL_SERVER_ERROR, "invalid_config"),
            ErrorKind::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        let message = match kind {
            ErrorKind::Internal => {
                // The full chain goes to the log once; the client gets nothing internal.
                tracing::error!(error = %error_chain(&err), "request failed");
                "internal server error".to_owned()
            }
            ErrorKind::InvalidDocument => {
                tracing::warn!(error = %err, "configuration file is invalid");
                err.to_string()
            }
            _ => err.to_string(),
        };
        Self { status, code, message }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&Body { code: self.code, message: &self.message }).unwrap_or_default();
        let mut response =
            (self.status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECONDS));
        }
        response
    }
}

/// Formats an error and all its sources as `outer: inner: innermost`.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        // Many errors repeat their source in their own message: say each cause once.
        let text = inner.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = inner.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error whose message repeats its source's, as `CoreError::Backend` does for a git error.
    #[derive(Debug)]
    struct Outer(std::io::Error);

    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "git fetch failed: {}", self.0)
        }
    }

    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn each_cause_is_said_once() {
        let inner = std::io::Error::other("detected dubious ownership");
        let core = CoreError::Backend {
            kind: vortex_core::ErrorKind::Internal,
            message: "git fetch failed: detected dubious ownership".to_owned(),
            source: Some(Box::new(Outer(inner))),
        };
        let shared = CoreError::Shared(std::sync::Arc::new(core));
        assert_eq!(error_chain(&shared), "git fetch failed: detected dubious ownership");
    }
}
