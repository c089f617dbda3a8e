//! The audit log (`security.audit`): one JSON line per request the access policy decided, to its
//! own target (a file, or standard output), apart from the diagnostic log.
//!
//! Handlers that consult the policy put an [`AuditNote`] (who, and what they asked for) in the
//! response's extensions; the edge, which sees every answer, adds the route, the status and the
//! size, and hands the line to a writer thread. Lines never hold a secret: no header, no body, no
//! query string — the client's configured name stands for its credentials.
//!
//! The writer drains a bounded queue of 65,536 lines, flushing whenever it is empty. A target that
//! stops taking lines (a full disk) fills it, and then requests wait for it rather than go
//! unaudited.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use axum::http::header::CONTENT_LENGTH;
use axum::response::Response;
use serde::Serialize;

use crate::access::{Caller, Need};

/// Lines waiting for the writer, at most.
const QUEUE: usize = 65_536;

/// Where audit lines go; cloning it is one reference-count increment.
#[derive(Clone)]
pub(crate) struct Auditor {
    lines: SyncSender<String>,
}

impl std::fmt::Debug for Auditor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Auditor")
    }
}

impl Auditor {
    /// Appends to `path` (created when missing), or writes to standard output without one.
    ///
    /// # Errors
    /// When the file cannot be opened for appending, or the writer thread cannot start.
    pub(crate) fn open(path: Option<&Path>) -> std::io::Result<Self> {
        let target: Box<dyn Write + Send> = match path {
            Some(path) => Box::new(std::fs::OpenOptions::new().create(true).append(true).open(path)?),
            None => Box::new(std::io::stdout()),
        };
        let (lines, queue) = sync_channel(QUEUE);
        std::thread::Builder::new().name("vortex-audit".to_owned()).spawn(move || write_lines(&queue, target))?;
        Ok(Self { lines })
    }

    /// Records the answer to a request on `method` and `route` (its template) that carries a note.
    pub(crate) fn record(&self, method: &str, route: &str, response: &Response) {
        let Some(note) = response.extensions().get::<AuditNote>() else { return };
        let bytes = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok()?.parse::<u64>().ok())
            .or_else(|| http_body::Body::size_hint(response.body()).exact());
        let line = Line {
            time: jiff::Timestamp::now().to_string(),
            client: note.client.as_deref(),
            method,
            route,
            application: note.application.as_deref(),
            profiles: note.profiles.as_deref(),
            label: note.label.as_deref(),
            version: response.extensions().get::<Version>().and_then(|v| v.0.as_deref()),
            status: response.status().as_u16(),
            bytes,
        };
        if let Ok(mut text) = serde_json::to_string(&line) {
            text.push('\n');
            // The writer stops only with the process: a failed send has nowhere to go.
            let _ = self.lines.send(text);
        }
    }
}

/// Writes lines as they come, flushing whenever none is waiting; ends when every sender is gone.
fn write_lines(queue: &Receiver<String>, mut target: Box<dyn Write + Send>) {
    let mut failed = false;
    while let Ok(line) = queue.recv() {
        let mut result = target.write_all(line.as_bytes());
        while let Ok(line) = queue.try_recv() {
            result = result.and_then(|()| target.write_all(line.as_bytes()));
        }
        result = result.and_then(|()| target.flush());
        // Said once per failure, in the diagnostic log, and again once it recovers.
        match (result, failed) {
            (Err(err), false) => {
                tracing::error!(error = %err, "audit log: cannot write");
                failed = true;
            }
            (Ok(()), true) => {
                tracing::warn!("audit log: writing again");
                failed = false;
            }
            _ => {}
        }
    }
}

/// Who asked for what, put in a response's extensions by the handler that consulted the policy.
#[derive(Debug, Clone, Default)]
pub(crate) struct AuditNote {
    client: Option<Arc<str>>,
    application: Option<String>,
    profiles: Option<String>,
    label: Option<String>,
}

impl AuditNote {
    /// The note of `caller` asking for `need`.
    pub(crate) fn new(caller: &Caller, need: Need<'_>) -> Self {
        let client = match caller {
            Caller::Client(client) => Some(Arc::clone(&client.name)),
            Caller::Anonymous | Caller::Unknown => None,
        };
        let (application, profiles, label) = match need {
            Need::Read(query) => (Some(query.application.clone()), Some(query.profiles_joined()), query.label.clone()),
            Need::Encrypt(Some((name, profiles))) | Need::Decrypt(Some((name, profiles))) => {
                (Some(name.to_owned()), Some(profiles.to_owned()), None)
            }
            _ => (None, None, None),
        };
        Self { client, application, profiles, label }
    }

    /// `response` with this note.
    pub(crate) fn on(self, mut response: Response) -> Response {
        response.extensions_mut().insert(self);
        response
    }
}

/// The version a read served, for its audit line.
#[derive(Debug, Clone)]
pub(crate) struct Version(pub(crate) Option<String>);

#[derive(Serialize)]
struct Line<'a> {
    time: String,
    client: Option<&'a str>,
    method: &'a str,
    route: &'a str,
    application: Option<&'a str>,
    profiles: Option<&'a str>,
    label: Option<&'a str>,
    version: Option<&'a str>,
    status: u16,
    bytes: Option<u64>,
}
