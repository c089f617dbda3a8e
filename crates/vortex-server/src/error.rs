//! The one place where errors become HTTP responses: [`ErrorCode`] is the table of every error the
//! server answers (status, stable code, extra headers), and [`ApiError`] the only way to build one.
//! Handler errors, extractor rejections, edge refusals and authentication refusals all go through
//! it; `docs/api.md`'s status table is checked against it.

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use vortex_core::{CoreError, ErrorKind, error_chain};

/// Every error the server answers, with its status, its stable `snake_case` code and the headers
/// it carries. The code is part of the interface: clients may match on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 400: a malformed name, label, profile, path, parameter or body.
    InvalidRequest,
    /// 400: `POST /decrypt` with a text that is not a cipher text of the key.
    InvalidCipher,
    /// 401 with a `Basic` challenge: the read API without its credentials.
    Unauthorized,
    /// 401 with a `Bearer` challenge: an admin route without the token.
    AdminUnauthorized,
    /// 401 without a challenge: a webhook without a valid signature.
    WebhookUnauthorized,
    /// 403: an admin route while the admin API is off.
    AdminDisabled,
    /// 403: a client outside its scope or without the role; the same answer whether or not what it
    /// asked for exists.
    Forbidden,
    /// 404: no route, no such application, resource or file.
    NotFound,
    /// 404: an encryption endpoint without a key.
    NoKey,
    /// 404: a bus endpoint on a replica that is not on a bus.
    BusDisabled,
    /// 405: a method the route does not take.
    MethodNotAllowed,
    /// 408: the request or its body took too long.
    Timeout,
    /// 413: a body over the limit.
    PayloadTooLarge,
    /// 414: a request target over the limit.
    UriTooLong,
    /// 500: a configuration file that cannot be used.
    InvalidConfig,
    /// 500: anything else; the message is generic and the chain is logged.
    Internal,
    /// 502: `POST /monitor` could not fetch.
    FetchFailed,
    /// 503: the backend cannot serve yet.
    Unavailable,
    /// 503: the server is at its concurrency limit.
    Overloaded,
    /// 503: a bus endpoint while the message broker cannot be reached.
    BusUnavailable,
}

impl ErrorCode {
    /// Every code, in the order of `docs/api.md`'s table.
    pub const ALL: [Self; 20] = [
        Self::InvalidRequest,
        Self::InvalidCipher,
        Self::Unauthorized,
        Self::AdminUnauthorized,
        Self::WebhookUnauthorized,
        Self::AdminDisabled,
        Self::Forbidden,
        Self::NotFound,
        Self::NoKey,
        Self::BusDisabled,
        Self::MethodNotAllowed,
        Self::Timeout,
        Self::PayloadTooLarge,
        Self::UriTooLong,
        Self::InvalidConfig,
        Self::Internal,
        Self::FetchFailed,
        Self::Unavailable,
        Self::Overloaded,
        Self::BusUnavailable,
    ];

    /// The row of the table: status, code, and the headers the answer carries.
    const fn row(self) -> (StatusCode, &'static str, &'static [(&'static str, &'static str)]) {
        match self {
            Self::InvalidRequest => (StatusCode::BAD_REQUEST, "invalid_request", &[]),
            Self::InvalidCipher => (StatusCode::BAD_REQUEST, "invalid_cipher", &[]),
            Self::Unauthorized => {
                (StatusCode::UNAUTHORIZED, "unauthorized", &[("www-authenticate", "Basic realm=\"vortex\"")])
            }
            Self::AdminUnauthorized => {
                (StatusCode::UNAUTHORIZED, "unauthorized", &[("www-authenticate", "Bearer realm=\"vortex-admin\"")])
            }
            Self::WebhookUnauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", &[]),
            Self::AdminDisabled => (StatusCode::FORBIDDEN, "admin_disabled", &[]),
            Self::Forbidden => (StatusCode::FORBIDDEN, "forbidden", &[]),
            Self::NotFound => (StatusCode::NOT_FOUND, "not_found", &[]),
            Self::NoKey => (StatusCode::NOT_FOUND, "no_key", &[]),
            Self::BusDisabled => (StatusCode::NOT_FOUND, "bus_disabled", &[]),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", &[]),
            Self::Timeout => (StatusCode::REQUEST_TIMEOUT, "timeout", &[]),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", &[]),
            Self::UriTooLong => (StatusCode::URI_TOO_LONG, "uri_too_long", &[]),
            Self::InvalidConfig => (StatusCode::INTERNAL_SERVER_ERROR, "invalid_config", &[]),
            Self::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal", &[]),
            Self::FetchFailed => (StatusCode::BAD_GATEWAY, "fetch_failed", &[]),
            // A backend that cannot serve yet is cloning or fetching: seconds, not milliseconds.
            Self::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", &[("retry-after", "5")]),
            // A full server frees a slot within one request's time.
            Self::Overloaded => (StatusCode::SERVICE_UNAVAILABLE, "overloaded", &[("retry-after", "1")]),
            // The transport reconnects with backoff of at most 5 s.
            Self::BusUnavailable => (StatusCode::SERVICE_UNAVAILABLE, "bus_unavailable", &[("retry-after", "5")]),
        }
    }

    /// The HTTP status.
    pub const fn status(self) -> StatusCode {
        self.row().0
    }

    /// The stable code of the JSON body.
    pub const fn as_str(self) -> &'static str {
        self.row().1
    }

    /// The headers every answer with this code carries (`Retry-After`, `WWW-Authenticate`).
    pub const fn headers(self) -> &'static [(&'static str, &'static str)] {
        self.row().2
    }

    /// The message of an answer made outside the handlers, which know nothing more.
    const fn default_message(self) -> &'static str {
        match self {
            Self::InvalidRequest => "bad request",
            Self::InvalidCipher => "text not encrypted with this key",
            Self::Unauthorized | Self::AdminUnauthorized | Self::WebhookUnauthorized => "authentication required",
            Self::AdminDisabled => "the admin API is off: set security.admin_token to turn it on",
            Self::Forbidden => "this client may not do that (security.clients: its scope and roles)",
            Self::NotFound => "not found",
            Self::NoKey => "no encryption key is installed: set encrypt.key",
            Self::BusDisabled => "this replica is not on a bus: set bus.enabled",
            Self::MethodNotAllowed => "method not allowed",
            Self::Timeout => "request timed out",
            Self::PayloadTooLarge => "request body too large",
            Self::UriTooLong => "request target too long",
            Self::InvalidConfig => "a configuration file cannot be used",
            Self::Internal => "internal server error",
            Self::FetchFailed => "fetching from the configuration repository failed",
            Self::Unavailable => "the backend cannot serve yet",
            Self::Overloaded => "the server is at its limit of concurrent requests; retry shortly",
            Self::BusUnavailable => "the message broker cannot be reached",
        }
    }

    /// The code of an error status made by a layer that gave no body in our shape (axum's 405,
    /// an extractor's 400 or 413). A status outside the table becomes the nearest row: any other
    /// 4xx is a bad request, any other 5xx an internal error.
    pub fn for_status(status: StatusCode) -> Self {
        match status {
            StatusCode::UNAUTHORIZED => Self::Unauthorized,
            StatusCode::FORBIDDEN => Self::AdminDisabled,
            StatusCode::NOT_FOUND => Self::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => Self::MethodNotAllowed,
            StatusCode::REQUEST_TIMEOUT => Self::Timeout,
            StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge,
            StatusCode::URI_TOO_LONG => Self::UriTooLong,
            StatusCode::BAD_GATEWAY => Self::FetchFailed,
            StatusCode::SERVICE_UNAVAILABLE => Self::Unavailable,
            s if s.is_client_error() => Self::InvalidRequest,
            _ => Self::Internal,
        }
    }

    /// The code of a domain error's kind.
    pub fn for_kind(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::InvalidInput => Self::InvalidRequest,
            ErrorKind::NotFound => Self::NotFound,
            ErrorKind::InvalidDocument => Self::InvalidConfig,
            ErrorKind::Unavailable => Self::Unavailable,
            _ => Self::Internal,
        }
    }
}

/// An error answered to a client: a row of [`ErrorCode`] and a message.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    /// An error with its code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    /// An error with its code's default message.
    pub fn of(code: ErrorCode) -> Self {
        Self::new(code, code.default_message())
    }

    /// A 404 for a path that no route serves.
    pub fn no_route(path: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("no resource at {path}"))
    }

    /// The code of this error.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        self.code.status()
    }
}

impl From<ErrorCode> for ApiError {
    fn from(code: ErrorCode) -> Self {
        Self::of(code)
    }
}

impl From<CoreError> for ApiError {
    fn from(err: CoreError) -> Self {
        let kind = err.kind();
        let message = match kind {
            ErrorKind::InvalidInput | ErrorKind::NotFound | ErrorKind::InvalidDocument | ErrorKind::Unavailable => {
                if kind == ErrorKind::InvalidDocument {
                    tracing::warn!(error = %err, "configuration file is invalid");
                }
                err.to_string()
            }
            _ => {
                // The full chain goes to the log once; the client gets nothing internal.
                tracing::error!(error = %error_chain(&err), "request failed");
                ErrorCode::Internal.default_message().to_owned()
            }
        };
        Self::new(ErrorCode::for_kind(kind), message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&Body { code: self.code.as_str(), message: &self.message }).unwrap_or_default();
        let mut response = (self.code.status(), body).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (name, value) in self.code.headers() {
            headers.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
        }
        response
    }
}

#[cfg(test)]
mod tests;
