//! Metrics behind one type, whether or not this build exports them (feature `metrics`): the
//! handles every subsystem records into, `GET /metrics` and `/actuator/prometheus`, and the
//! exporter's upkeep. With the feature off, or metrics disabled, everything records nothing.

use std::sync::Arc;

use vortex_core::{ConfigSource, CoreError};
use vortex_metrics::{AuthApi, HttpMetrics, Metrics};

use crate::Builder;
#[cfg(feature = "metrics")]
use crate::route::Route;

/// How often the exporter folds histogram samples and drops idle series.
#[cfg(feature = "metrics")]
const UPKEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// The features compiled into this build, for `vortex_build_info`.
#[cfg(feature = "metrics")]
pub(crate) const FEATURES: &[&str] = &[
    #[cfg(feature = "git")]
    "git",
    #[cfg(feature = "cache")]
    "cache",
    #[cfg(feature = "metrics")]
    "metrics",
    #[cfg(feature = "tls")]
    "tls",
];

/// Every template, in table order: the `route` labels of the HTTP metrics.
#[cfg(feature = "metrics")]
pub(crate) static TEMPLATES: [&str; Route::ALL.len()] = {
    let mut out = [""; Route::ALL.len()];
    let mut i = 0;
    while i < Route::ALL.len() {
        out[i] = Route::ALL[i].template();
        i += 1;
    }
    out
};

/// What a server records into and exports.
#[derive(Clone, Default)]
pub(crate) struct Observability {
    metrics: Metrics,
    http: Option<Arc<HttpMetrics>>,
    #[cfg(feature = "metrics")]
    prometheus: Option<vortex_metrics::Prometheus>,
}

impl Observability {
    /// Records into `prometheus` and exports it; starts the exporter's upkeep when called within
    /// a tokio runtime.
    #[cfg(feature = "metrics")]
    pub(crate) fn prometheus(prometheus: vortex_metrics::Prometheus) -> Self {
        let metrics = prometheus.metrics().clone();
        metrics.build_info(env!("CARGO_PKG_VERSION"), FEATURES);
        let http = Some(Arc::new(metrics.http(&TEMPLATES)));
        spawn_upkeep(&prometheus);
        Self { metrics, http, prometheus: Some(prometheus) }
    }

    /// The handles of every subsystem (disabled ones record nothing).
    pub(crate) fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The edge's handles, when metrics are on.
    pub(crate) fn http(&self) -> Option<Arc<HttpMetrics>> {
        self.http.clone()
    }

    /// `source`, timed and counted under `backend` when metrics are on.
    pub(crate) fn meter(&self, source: Arc<dyn ConfigSource>, backend: &'static str) -> Arc<dyn ConfigSource> {
        if !self.metrics.is_enabled() {
            return source;
        }
        Arc::new(vortex_metrics::MeteredSource::new(source, backend, &self.metrics))
    }

    /// Counts a refused authentication attempt.
    pub(crate) fn auth_failed(&self, api: AuthApi, missing: bool) {
        if let Some(http) = &self.http {
            http.auth_failed(api, missing);
        }
    }

    /// The Prometheus text exposition; `None` when metrics are off.
    pub(crate) fn render(&self) -> Option<String> {
        #[cfg(feature = "metrics")]
        if let Some(prometheus) = &self.prometheus {
            return Some(prometheus.render());
        }
        None
    }
}

/// The exporter the settings ask for, made before the backend so that the backend records into it.
pub(crate) struct Exporter {
    metrics: Metrics,
    #[cfg(feature = "metrics")]
    prometheus: Option<vortex_metrics::Prometheus>,
}

impl Exporter {
    /// The exporter of `metrics.enabled`, when this build has one.
    ///
    /// # Errors
    /// When the Prometheus recorder cannot be built.
    pub(crate) fn from_settings(settings: &vortex_settings::MetricsSettings) -> Result<Self, CoreError> {
        #[cfg(feature = "metrics")]
        if settings.enabled {
            let prometheus = vortex_metrics::Prometheus::new().map_err(|e| CoreError::Backend {
                kind: vortex_core::ErrorKind::Internal,
                message: "metrics: the Prometheus exporter cannot be built".to_owned(),
                source: Some(Box::new(e)),
            })?;
            return Ok(Self { metrics: prometheus.metrics().clone(), prometheus: Some(prometheus) });
        }
        let _ = settings;
        Ok(Self {
            metrics: Metrics::disabled(),
            #[cfg(feature = "metrics")]
            prometheus: None,
        })
    }

    /// The handles to record into (disabled ones record nothing).
    pub(crate) fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// `builder`, recording into and exporting this exporter's metrics.
    pub(crate) fn install(self, builder: Builder) -> Builder {
        #[cfg(feature = "metrics")]
        if let Some(prometheus) = self.prometheus {
            return builder.metrics(prometheus);
        }
        builder
    }
}

/// Runs the exporter's upkeep in the background, when there is a runtime to run it on.
#[cfg(feature = "metrics")]
fn spawn_upkeep(prometheus: &vortex_metrics::Prometheus) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
    let prometheus = prometheus.clone();
    runtime.spawn(async move {
        let mut interval = tokio::time::interval(UPKEEP_INTERVAL);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            prometheus.run_upkeep();
        }
    });
}
