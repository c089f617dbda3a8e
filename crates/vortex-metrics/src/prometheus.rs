//! The Prometheus text exposition (feature `prometheus`).

use std::sync::Arc;

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

use crate::hot::{Hot, HotRegistry};
use crate::{Metrics, names};

/// A Prometheus registry of its own (nothing is installed globally, so several servers in one
/// process keep separate figures), and the [`Metrics`] that record into it.
///
/// Most metrics live in `metrics-exporter-prometheus`; those recorded on every request
/// (hot metrics ([`names::Row::hot`])) are plain atomics of this crate, handed out through the same facade and
/// rendered in the same exposition.
#[derive(Clone)]
pub struct Prometheus {
    handle: PrometheusHandle,
    hot: Arc<HotRegistry>,
    metrics: Metrics,
}

impl std::fmt::Debug for Prometheus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Prometheus")
    }
}

impl Prometheus {
    /// A registry with the project's histogram buckets: microseconds for the request and cache
    /// paths, seconds for git fetches.
    ///
    /// # Errors
    /// When the exporter refuses the bucket configuration (not for the built-in buckets).
    pub fn new() -> Result<Self, BuildError> {
        let builder = PrometheusBuilder::new()
            .with_recommended_naming(true)
            .set_buckets_for_metric(Matcher::Full(names::GIT_FETCH_DURATION.to_owned()), names::GIT_BUCKETS)?
            .set_buckets_for_metric(Matcher::Full(names::BUS_PROPAGATION_DURATION.to_owned()), names::BUS_BUCKETS)?
            .set_buckets_for_metric(Matcher::Full(names::WATCH_DELIVERY.to_owned()), names::WATCH_BUCKETS)?;
        let exporter = builder.build_recorder();
        let handle = exporter.handle();
        let hot = Arc::new(HotRegistry::default());
        let recorder = Split { exporter, hot: Arc::clone(&hot) };
        Ok(Self { handle, hot, metrics: Metrics::new(Arc::new(recorder)) })
    }

    /// The metrics that record into this registry.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        let mut text = self.handle.render();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        self.hot.render(&mut text);
        text
    }

    /// Folds recorded histogram samples into their buckets; call it every few seconds.
    pub fn run_upkeep(&self) {
        self.handle.run_upkeep();
    }
}

/// The recorder behind [`Prometheus`]: hot metrics here, everything else in the exporter.
struct Split {
    exporter: PrometheusRecorder,
    hot: Arc<HotRegistry>,
}

impl Recorder for Split {
    // Hot metrics take their HELP text from `names` when they are rendered.
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        if !names::is_hot(key.as_str()) {
            self.exporter.describe_counter(key, unit, description);
        }
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        if !names::is_hot(key.as_str()) {
            self.exporter.describe_gauge(key, unit, description);
        }
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        if !names::is_hot(key.as_str()) {
            self.exporter.describe_histogram(key, unit, description);
        }
    }

    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
        match self.hot.get(key) {
            Some(Hot::Counter(counter)) => Counter::from_arc(counter),
            _ => self.exporter.register_counter(key, metadata),
        }
    }

    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
        match self.hot.get(key) {
            Some(Hot::Gauge(gauge)) => Gauge::from_arc(gauge),
            _ => self.exporter.register_gauge(key, metadata),
        }
    }

    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
        match self.hot.get(key) {
            Some(Hot::Histogram(histogram)) => Histogram::from_arc(histogram),
            _ => self.exporter.register_histogram(key, metadata),
        }
    }
}
