//! Errors of settings loading and validation.

use std::fmt;
use std::path::PathBuf;

/// Where the value of a setting came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueOrigin {
    /// The built-in default.
    Default,
    /// The settings file at this path.
    File(PathBuf),
    /// The named environment variable.
    Environment(String),
}

impl fmt::Display for ValueOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => f.write_str("built-in default"),
            Self::File(path) => write!(f, "file {}", path.display()),
            Self::Environment(name) => write!(f, "environment variable {name}"),
        }
    }
}

/// One problem with the settings, naming the dotted key it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The dotted key, e.g. `server.port`.
    pub key: String,
    /// What is wrong with it.
    pub message: String,
    /// Where the offending value came from.
    pub origin: ValueOrigin,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} (from {})", self.key, self.message, self.origin)
    }
}

/// The error type of `vortex-settings`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// The settings file named on the command line does not exist.
    #[error("settings file {} does not exist", path.display())]
    MissingFile {
        /// The path that was given.
        path: PathBuf,
    },
    /// The settings file is too large, too deep, or its aliases expand too far to be loaded safely.
    #[error("settings file {}: {message}", path.display())]
    UnsafeFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A layer could not be read or parsed (for example, invalid YAML in the settings file).
    #[error("failed to load settings")]
    Load(#[source] config::ConfigError),
    /// One or more settings are invalid; every problem is listed.
    #[error("invalid settings:\n{}", format_problems(.0))]
    Invalid(Vec<Problem>),
}

fn format_problems(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n")
}

impl SettingsError {
    /// Returns the individual problems, one per line, ready to print.
    pub fn lines(&self) -> Vec<String> {
        match self {
            Self::Invalid(problems) => problems.iter().map(ToString::to_string).collect(),
            Self::Load(source) => vec![format!("failed to load settings: {source}")],
            other => vec![other.to_string()],
        }
    }
}
