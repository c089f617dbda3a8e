//! Log output: JSON lines or human-readable text, at the configured level.

use tracing::level_filters::LevelFilter;
use vortex_settings::{LogFormat, LoggingSettings};

/// Installs the global tracing subscriber. Call once, from `main`.
pub(crate) fn init(settings: &LoggingSettings) {
    let level = match settings.level.to_ascii_lowercase().as_str() {
        "trace" => LevelFilter::TRACE,
        "debug" => LevelFilter::DEBUG,
        "warn" => LevelFilter::WARN,
        "error" => LevelFilter::ERROR,
        _ => LevelFilter::INFO,
    };
    let builder = tracing_subscriber::fmt().with_max_level(level).with_writer(std::io::stderr);
    match settings.format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).init(),
        LogFormat::Pretty => builder.init(),
    }
}
