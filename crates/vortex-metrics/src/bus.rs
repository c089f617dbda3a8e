//! The bus's handles. Bus messages are rare (a few per push), so each is recorded through the
//! recorder by key, without handles registered in advance.

use std::sync::Arc;
use std::time::Duration;

use metrics::{Key, Label, Recorder};

use crate::names;
use crate::registry::{METADATA, Metrics};

/// The bus's handles; see [`Metrics::bus`].
#[derive(Clone, Default)]
pub struct BusMetrics {
    recorder: Option<Arc<dyn Recorder + Send + Sync>>,
}

impl std::fmt::Debug for BusMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BusMetrics")
    }
}

fn key(name: &'static str, labels: &[(&'static str, &'static str)]) -> Key {
    Key::from_parts(name, labels.iter().map(|(k, v)| Label::from_static_parts(k, v)).collect::<Vec<_>>())
}

impl BusMetrics {
    fn counter(&self, name: &'static str, labels: &[(&'static str, &'static str)], by: u64) {
        if let Some(recorder) = &self.recorder {
            recorder.register_counter(&key(name, labels), &METADATA).increment(by);
        }
    }

    fn gauge(&self, name: &'static str, value: f64) {
        if let Some(recorder) = &self.recorder {
            recorder.register_gauge(&key(name, &[]), &METADATA).set(value);
        }
    }

    /// A message of `kind` was published, or failed to be.
    pub fn published(&self, kind: &'static str, ok: bool) {
        self.counter(names::BUS_PUBLISHED, &[("type", kind), ("result", if ok { "ok" } else { "error" })], 1);
    }

    /// A message of `kind` was read, with `outcome`.
    pub fn consumed(&self, kind: &'static str, outcome: &'static str) {
        self.counter(names::BUS_CONSUMED, &[("type", kind), ("outcome", outcome)], 1);
    }

    /// A propagation took `took` and heard from its peers so.
    pub fn propagated(&self, took: Duration, confirmed: usize, failed: usize, missing: usize) {
        if let Some(recorder) = &self.recorder {
            recorder.register_histogram(&key(names::BUS_PROPAGATION_DURATION, &[]), &METADATA).record(took);
        }
        for (result, count) in [("confirmed", confirmed), ("failed", failed), ("missing", missing)] {
            self.counter(names::BUS_PROPAGATION_PEERS, &[("result", result)], u64::try_from(count).unwrap_or(u64::MAX));
        }
    }

    /// A Spring service acknowledged a refresh event, its `acks`-th acknowledgement.
    pub fn acknowledged(&self, acks: u64) {
        self.counter(names::BUS_ACKS, &[], 1);
        // Gauges hold f64: acknowledgement counts stay far below 2^53.
        #[allow(clippy::cast_precision_loss)]
        self.gauge(names::BUS_LAST_REFRESH_ACKS, acks as f64);
    }

    /// The broker connection came up or went down.
    pub fn connection(&self, up: bool) {
        self.gauge(names::BUS_CONNECTED, if up { 1.0 } else { 0.0 });
    }

    /// `alive` peers are known.
    pub fn peers(&self, alive: usize) {
        #[allow(clippy::cast_precision_loss)]
        self.gauge(names::BUS_PEERS, alive as f64);
    }
}

impl Metrics {
    /// The bus's handles.
    pub fn bus(&self) -> BusMetrics {
        BusMetrics { recorder: self.recorder.clone() }
    }
}
