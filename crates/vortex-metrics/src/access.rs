//! The handles of the access policy: requests by client, refusals by reason.

use metrics::{Counter, Key, Label};

use crate::names;
use crate::registry::{METADATA, Metrics};

/// Why the policy refused a request: the `reason` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// No credentials where they are needed.
    MissingCredentials,
    /// Credentials no client has.
    WrongCredentials,
    /// A client outside its scope, or without the role.
    OutOfScope,
    /// The admin API asked for while no client may use it.
    AdminDisabled,
}

impl Denial {
    const ALL: [Self; 4] = [Self::MissingCredentials, Self::WrongCredentials, Self::OutOfScope, Self::AdminDisabled];

    /// The `reason` label.
    pub fn label(self) -> &'static str {
        match self {
            Self::MissingCredentials => "missing_credentials",
            Self::WrongCredentials => "wrong_credentials",
            Self::OutOfScope => "out_of_scope",
            Self::AdminDisabled => "admin_disabled",
        }
    }
}

/// The requests of one client; see [`AccessMetrics::client`].
#[derive(Clone)]
pub struct ClientRequests(Counter);

impl Default for ClientRequests {
    /// Counts nothing.
    fn default() -> Self {
        Self(Counter::noop())
    }
}

impl std::fmt::Debug for ClientRequests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientRequests")
    }
}

impl ClientRequests {
    /// Counts one request.
    pub fn increment(&self) {
        self.0.increment(1);
    }
}

/// The access policy's handles; see [`Metrics::access`].
#[derive(Clone)]
pub struct AccessMetrics {
    metrics: Metrics,
    denied: [Counter; 4],
}

impl Default for AccessMetrics {
    fn default() -> Self {
        Metrics::disabled().access()
    }
}

impl std::fmt::Debug for AccessMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessMetrics")
    }
}

impl AccessMetrics {
    /// The counter of requests decided for the client `name` (`anonymous` for requests without a
    /// client). Client names are configured, so the label set is bounded; keep the handle.
    pub fn client(&self, name: &str) -> ClientRequests {
        let Some(recorder) = &self.metrics.recorder else { return ClientRequests::default() };
        let key = Key::from_parts(names::ACCESS_REQUESTS, vec![Label::new("client", name.to_owned())]);
        ClientRequests(recorder.register_counter(&key, &METADATA))
    }

    /// Counts a refusal.
    pub fn denied(&self, why: Denial) {
        self.denied[why as usize].increment(1);
    }
}

impl Metrics {
    /// The access policy's handles.
    pub fn access(&self) -> AccessMetrics {
        let denied = Denial::ALL.map(|why| self.counter(names::ACCESS_DENIED, &[("reason", why.label())]));
        AccessMetrics { metrics: self.clone(), denied }
    }
}
