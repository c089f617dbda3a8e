//! Errors of the git backend.

use vortex_core::{CoreError, ErrorKind};

/// The error type of `vortex-git`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GitError {
    /// The remote URI cannot be used.
    #[error("invalid git uri {uri:?}: {reason}")]
    InvalidUri {
        /// The URI as configured.
        uri: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A git operation failed; `message` never contains credentials.
    #[error("git {operation} failed: {message}")]
    Operation {
        /// What was attempted (`clone`, `fetch`, `open`, `read`).
        operation: &'static str,
        /// The underlying error, rendered.
        message: String,
    },
    /// A fetch or clone took longer than its timeout.
    #[error("git {operation} timed out after {seconds} s")]
    Timeout {
        /// What was attempted.
        operation: &'static str,
        /// The timeout.
        seconds: u64,
    },
    /// The local clone directory cannot be prepared.
    #[error("cannot prepare {path}: {source}")]
    Io {
        /// The directory.
        path: String,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// No clone exists yet: the first clone has not succeeded.
    #[error("the git repository is not available yet: {reason}")]
    NotReady {
        /// The last clone error, or that a clone is in progress.
        reason: String,
    },
}

impl GitError {
    /// Returns the transport-neutral kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidUri { .. } => ErrorKind::InvalidInput,
            Self::NotReady { .. } => ErrorKind::Unavailable,
            Self::Operation { .. } | Self::Timeout { .. } | Self::Io { .. } => ErrorKind::Internal,
        }
    }

    pub(crate) fn op(operation: &'static str) -> impl FnOnce(gix::Error) -> Self {
        move |err| Self::Operation { operation, message: redact(&vortex_core::error_chain(&err)) }
    }

    pub(crate) fn op_msg(operation: &'static str, err: impl std::fmt::Display) -> Self {
        Self::Operation { operation, message: redact(&err.to_string()) }
    }
}

impl From<GitError> for CoreError {
    fn from(err: GitError) -> Self {
        let kind = err.kind();
        let message = match kind {
            ErrorKind::Unavailable => {
                "configuration is not available yet: the git repository has not been cloned".to_owned()
            }
            _ => err.to_string(),
        };
        CoreError::Backend { kind, message, source: Some(Box::new(err)) }
    }
}

/// Removes `user:password@` from URLs inside a message, so credentials never reach logs or clients.
pub(crate) fn redact(message: &str) -> String {
    vortex_core::redact_credentials(message)
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn credentials_are_removed_from_urls() {
        assert_eq!(redact("failed https://user:secret@host/repo.git x"), "failed https://***@host/repo.git x");
        assert_eq!(redact("ssh://git@host:22/r and http://h/x"), "ssh://***@host:22/r and http://h/x");
        assert_eq!(redact("no url here"), "no url here");
    }
}
