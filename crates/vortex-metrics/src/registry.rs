//! [`Metrics`]: where handles are registered, a recorder or nowhere; and [`Timer`].

use std::sync::Arc;
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Key, Label, Level, Metadata, Recorder};

use crate::names;

pub(crate) const METADATA: Metadata<'static> = Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// Where metrics go: a recorder, or nowhere.
///
/// Subsystems get their handles from it once ([`Metrics::cache`], [`Metrics::git`], ...). Without a
/// recorder every handle is a no-op and nothing is timed.
#[derive(Clone, Default)]
pub struct Metrics {
    pub(crate) recorder: Option<Arc<dyn Recorder + Send + Sync>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").field("enabled", &self.is_enabled()).finish()
    }
}

impl Metrics {
    /// Metrics that go nowhere and cost nothing.
    pub fn disabled() -> Self {
        Self { recorder: None }
    }

    /// Metrics recorded on `recorder`, which learns every metric's description and unit now.
    pub fn new(recorder: Arc<dyn Recorder + Send + Sync>) -> Self {
        names::describe(recorder.as_ref());
        Self { recorder: Some(recorder) }
    }

    /// Whether a recorder is attached.
    pub fn is_enabled(&self) -> bool {
        self.recorder.is_some()
    }

    fn key(name: &'static str, labels: &[(&'static str, &'static str)]) -> Key {
        Key::from_parts(name, labels.iter().map(|&(k, v)| Label::from_static_parts(k, v)).collect::<Vec<_>>())
    }

    pub(crate) fn counter(&self, name: &'static str, labels: &[(&'static str, &'static str)]) -> Counter {
        self.recorder.as_ref().map_or_else(Counter::noop, |r| r.register_counter(&Self::key(name, labels), &METADATA))
    }

    pub(crate) fn gauge(&self, name: &'static str, labels: &[(&'static str, &'static str)]) -> Gauge {
        self.recorder.as_ref().map_or_else(Gauge::noop, |r| r.register_gauge(&Self::key(name, labels), &METADATA))
    }

    pub(crate) fn histogram(&self, name: &'static str, labels: &[(&'static str, &'static str)]) -> Histogram {
        self.recorder
            .as_ref()
            .map_or_else(Histogram::noop, |r| r.register_histogram(&Self::key(name, labels), &METADATA))
    }

    /// Sets `vortex_build_info{version, features}` to 1, `features` joined with commas.
    pub fn build_info(&self, version: &'static str, features: &[&str]) {
        let Some(recorder) = &self.recorder else { return };
        let labels = vec![Label::from_static_parts("version", version), Label::new("features", features.join(","))];
        recorder.register_gauge(&Key::from_parts(names::BUILD_INFO, labels), &METADATA).set(1.0);
    }
}

/// A started measurement. It reads the CPU's time-stamp counter (through `quanta`, which the
/// Prometheus exporter uses too): a few nanoseconds, where the system clock costs tens.
#[derive(Debug, Clone, Copy)]
pub struct Timer(quanta::Instant);

impl Timer {
    /// Starts measuring now.
    pub fn start() -> Self {
        Self(quanta::Instant::now())
    }

    /// The time since the start.
    pub fn elapsed(self) -> Duration {
        quanta::Instant::now().duration_since(self.0)
    }
}
