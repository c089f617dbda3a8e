//! `logging`: level and format of the log output.

use serde::{Deserialize, Serialize};

use crate::validate::Problems;

const LOG_LEVELS: [&str; 5] = ["trace", "debug", "info", "warn", "error"];

/// Log output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoggingSettings {
    /// Least severe level written: `trace`, `debug`, `info`, `warn` or `error`. Default `info`.
    /// Env `VORTEX__LOGGING__LEVEL`.
    pub level: String,
    /// `json` (one object per line) or `pretty` (for people). Default `json`. Env `VORTEX__LOGGING__FORMAT`.
    pub format: LogFormat,
}

impl Default for LoggingSettings {
    fn default() -> Self {
        Self { level: "info".to_owned(), format: LogFormat::Json }
    }
}

/// The log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    Pretty,
}

impl LoggingSettings {
    /// Adds a problem for every invalid `logging.*` setting.
    pub(crate) fn check(&self, problems: &mut Problems) {
        if !LOG_LEVELS.contains(&self.level.to_ascii_lowercase().as_str()) {
            problems.add("logging.level", format!("{:?} is not one of {}", self.level, LOG_LEVELS.join(", ")));
        }
    }
}
