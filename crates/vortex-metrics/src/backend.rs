//! [`MeteredSource`]: backend loads timed and their errors counted.

use metrics::{Counter, Histogram};
use vortex_core::{BoxFuture, ConfigQuery, ConfigSource, CoreError, Decorator, Environment, ErrorKind};

use crate::names;
use crate::registry::{Metrics, Timer};

/// A [`ConfigSource`] decorator that times loads and counts their errors, by backend name.
pub struct MeteredSource<S> {
    inner: S,
    seconds: Histogram,
    errors: [Counter; 5],
    enabled: bool,
}

impl<S> MeteredSource<S> {
    /// Wraps `inner`, recording under `backend` (`git`, `native`, ...).
    pub fn new(inner: S, backend: &'static str, metrics: &Metrics) -> Self {
        let error = |kind| metrics.counter(names::BACKEND_LOAD_ERRORS, &[("backend", backend), ("kind", kind)]);
        Self {
            inner,
            seconds: metrics.histogram(names::BACKEND_LOAD_DURATION, &[("backend", backend)]),
            errors: [
                error("invalid_input"),
                error("not_found"),
                error("invalid_document"),
                error("unavailable"),
                error("internal"),
            ],
            enabled: metrics.is_enabled(),
        }
    }
}

impl<S: ConfigSource> Decorator for MeteredSource<S> {
    fn inner(&self) -> &dyn ConfigSource {
        &self.inner
    }

    fn decorate_load<'a>(&'a self, query: &'a ConfigQuery) -> BoxFuture<'a, Result<Environment, CoreError>> {
        if !self.enabled {
            return self.inner.load(query);
        }
        Box::pin(async move {
            let started = Timer::start();
            let result = self.inner.load(query).await;
            self.seconds.record(started.elapsed());
            if let Err(err) = &result {
                let index = match err.kind() {
                    ErrorKind::InvalidInput => 0,
                    ErrorKind::NotFound => 1,
                    ErrorKind::InvalidDocument => 2,
                    ErrorKind::Unavailable => 3,
                    _ => 4,
                };
                self.errors[index].increment(1);
            }
            result
        })
    }
}
