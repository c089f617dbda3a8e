//! Errors of the domain, classified by a transport-neutral [`ErrorKind`].

use std::error::Error as StdError;
use std::path::PathBuf;
use std::sync::Arc;

/// What kind of failure an error is, independent of any transport.
///
/// The HTTP edge maps each kind to a status code; nothing below it knows about HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request itself is malformed: a bad name, profile, label or path.
    InvalidInput,
    /// The requested label or resource does not exist.
    NotFound,
    /// A file in the configuration repository cannot be parsed or is not allowed.
    ///
    /// The message names the file relative to the repository, so it is safe to show to clients.
    InvalidDocument,
    /// The backend cannot answer right now (for example, no clone yet); retrying may help.
    Unavailable,
    /// Anything else: a bug or an operating-system failure. Never shown to clients in detail.
    Internal,
}

/// The error type of `vortex-core`, and the error every [`ConfigSource`](crate::ConfigSource) returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// A request parameter failed validation.
    #[error("invalid {what}: {reason}")]
    InvalidInput {
        /// The parameter that failed (`application`, `profiles`, `label`, `path`, ...).
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
    /// The label names no branch, tag, commit or label directory.
    #[error("no such label: {label}")]
    NoSuchLabel {
        /// The label as requested.
        label: String,
    },
    /// No plain-text resource with that path exists for the request.
    #[error("no such resource: {path}")]
    NoSuchResource {
        /// The resource path as requested.
        path: String,
    },
    /// A configuration file has a syntax error, a duplicate key or a forbidden property.
    #[error("failed to parse {file} at line {line}, column {column}: {message}")]
    Parse {
        /// The file, relative to its search location.
        file: String,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A configuration file is not usable as a whole (not UTF-8, a missing import, ...).
    #[error("invalid configuration file {file}: {message}")]
    InvalidFile {
        /// The file, relative to its search location.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// Placeholder resolution found a cycle (`a=${b}`, `b=${a}`).
    #[error("circular placeholder reference ${{{key}}}")]
    CircularPlaceholder {
        /// The key whose resolution led back to itself.
        key: String,
    },
    /// Placeholder resolution nests too deep or exceeds its [`Budget`](crate::placeholder::Budget).
    #[error("placeholder ${{{key}}}{} cannot be resolved: {reason}", file.as_deref().map(|f| format!(" (defined in {f})")).unwrap_or_default())]
    PlaceholderLimit {
        /// The outermost placeholder's key, as written.
        key: String,
        /// The property source that defines the key, when known.
        file: Option<String>,
        /// Which limit it reached.
        reason: String,
    },
    /// Work was stopped because the request it was for has gone (it timed out, or its client left).
    #[error("the work was cancelled: its request is gone")]
    Cancelled,
    /// A flat property key cannot be turned into a YAML or JSON tree (`a..b`, `a[]`, ...).
    #[error("invalid property key {key:?}: {reason}")]
    InvalidKey {
        /// The offending key.
        key: String,
        /// Why it cannot be placed in a tree.
        reason: &'static str,
    },
    /// Reading a file or directory failed for a reason other than its absence.
    #[error("failed to read {}", path.display())]
    Io {
        /// The path that could not be read.
        path: PathBuf,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// An error raised by a backend crate, carrying its own classification.
    #[error("{message}")]
    Backend {
        /// How the backend classifies the failure.
        kind: ErrorKind,
        /// A message that is safe to show to clients for non-internal kinds.
        message: String,
        /// The underlying error, kept for logs.
        #[source]
        source: Option<Box<dyn StdError + Send + Sync>>,
    },
    /// One error handed to every caller that waited for the same load (a cache coalesces
    /// concurrent misses into one load). It reads, and classifies, exactly as the error inside.
    #[error(transparent)]
    Shared(Arc<CoreError>),
}

impl CoreError {
    /// Returns the transport-neutral kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidInput { .. } | Self::CircularPlaceholder { .. } | Self::InvalidKey { .. } => {
                ErrorKind::InvalidInput
            }
            Self::NoSuchLabel { .. } | Self::NoSuchResource { .. } => ErrorKind::NotFound,
            Self::Parse { .. } | Self::InvalidFile { .. } | Self::PlaceholderLimit { .. } => ErrorKind::InvalidDocument,
            Self::Cancelled => ErrorKind::Unavailable,
            Self::Io { .. } => ErrorKind::Internal,
            Self::Backend { kind, .. } => *kind,
            Self::Shared(inner) => inner.kind(),
        }
    }

    pub(crate) fn invalid(what: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidInput { what, reason: reason.into() }
    }
}

/// Formats an error and all its sources as `outer: inner: innermost`, saying each cause once (many
/// errors repeat their source in their own message), so that a log line says what really failed.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        let text = inner.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = inner.source();
    }
    out
}

/// Removes `user:password@` from every URL inside `message` (`https://alice:secret@host/x` becomes
/// `https://***@host/x`), so that credentials written into a URI never reach a log line, an error
/// body, health or `--check-config`.
pub fn redact_credentials(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(pos) = rest.find("://") {
        let (head, tail) = rest.split_at(pos + 3);
        out.push_str(head);
        let end = tail.find(|c: char| c == '/' || c.is_whitespace() || c == '"' || c == '\'').unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                out.push_str("***@");
                out.push_str(&authority[at + 1..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}
