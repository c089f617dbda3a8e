//! Validation of loaded settings: every problem at once, each naming its dotted key. Each section
//! checks its own settings ([`crate::section`]); this module collects what they find.

use crate::{Settings, SettingsError, ValueOrigin};

/// The problems found so far: `(dotted key, message)`.
#[derive(Debug, Default)]
pub(crate) struct Problems(Vec<(String, String)>);

impl Problems {
    /// Adds a problem with the setting `key`.
    pub(crate) fn add(&mut self, key: &str, message: String) {
        self.0.push((key.to_owned(), message));
    }

    /// The problems, `(dotted key, message)` each.
    pub(crate) fn into_inner(self) -> Vec<(String, String)> {
        self.0
    }
}

impl Settings {
    /// Checks every setting and returns all problems, or `Ok` when there are none.
    ///
    /// Problems found this way report their origin as the built-in default; [`crate::load`] reports
    /// the real origin of each value.
    ///
    /// # Errors
    /// [`SettingsError::Invalid`] listing every problem.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let problems: Vec<_> = self
            .check()
            .into_iter()
            .map(|(key, message)| crate::Problem { key, message, origin: ValueOrigin::Default })
            .collect();
        if problems.is_empty() { Ok(()) } else { Err(SettingsError::Invalid(problems)) }
    }

    /// Returns `(dotted key, message)` for every invalid setting, section by section.
    pub(crate) fn check(&self) -> Vec<(String, String)> {
        let mut problems = Problems::default();
        self.server.check(&mut problems);
        self.cache.check(&mut problems);
        self.backends.check(&mut problems);
        self.encrypt.check(&mut problems);
        self.logging.check(&mut problems);
        self.security.check(&mut problems);
        self.bus.check(&mut problems);
        self.watch.check(&mut problems);
        // `/monitor` and `busrefresh` wait for the peers within one request.
        let request_ms = self.server.request_timeout_seconds.saturating_mul(1000);
        if self.bus.enabled && self.bus.peer_timeout_ms >= request_ms {
            problems.add(
                "bus.peer_timeout_ms",
                format!(
                    "must be below server.request_timeout_seconds ({request_ms} ms): a webhook waits for the peers within its request"
                ),
            );
        }
        problems.0
    }
}
