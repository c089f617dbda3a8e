//! The Prometheus text exposition (feature `prometheus`).

use std::sync::Arc;

use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

use crate::{Metrics, names};

/// A Prometheus registry of its own (nothing is installed globally, so several servers in one
/// process keep separate figures), and the [`Metrics`] that record into it.
#[derive(Clone)]
pub struct Prometheus {
    handle: PrometheusHandle,
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
        let mut builder = PrometheusBuilder::new().with_recommended_naming(true);
        for name in names::FAST_HISTOGRAMS {
            builder = builder.set_buckets_for_metric(Matcher::Full((*name).to_owned()), names::FAST_BUCKETS)?;
        }
        builder =
            builder.set_buckets_for_metric(Matcher::Full(names::GIT_FETCH_DURATION.to_owned()), names::GIT_BUCKETS)?;
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        Ok(Self { handle, metrics: Metrics::new(Arc::new(recorder)) })
    }

    /// The metrics that record into this registry.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// Folds recorded histogram samples into their buckets; call it every few seconds.
    pub fn run_upkeep(&self) {
        self.handle.run_upkeep();
    }
}
