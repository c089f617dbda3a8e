//! The handles of held requests (long-polls).

use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Key, Recorder};

use crate::names;
use crate::registry::{METADATA, Metrics};

/// The watch handles; see [`Metrics::watch`].
#[derive(Clone)]
pub struct WatchMetrics {
    long_polls: Gauge,
    streams: Gauge,
    wakeups: Counter,
    delivered: Counter,
    timeouts: Counter,
    refused: Counter,
    delivery: Histogram,
}

impl Default for WatchMetrics {
    fn default() -> Self {
        Metrics::disabled().watch()
    }
}

impl std::fmt::Debug for WatchMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WatchMetrics")
    }
}

impl WatchMetrics {
    /// A request of a kind is held from now on: a long-poll, or a stream (`stream`). Moves the
    /// gauge rather than setting it, so that two held at once from two threads cannot leave the
    /// older count behind.
    pub fn entered(&self, stream: bool) {
        self.gauge(stream).increment(1.0);
    }

    /// A held request of a kind has ended.
    pub fn left(&self, stream: bool) {
        self.gauge(stream).decrement(1.0);
    }

    fn gauge(&self, stream: bool) -> &Gauge {
        if stream { &self.streams } else { &self.long_polls }
    }

    /// A held request was woken to recompute its answer.
    pub fn woken(&self) {
        self.wakeups.increment(1);
    }

    /// A held request was answered with a changed representation, `took` after the change woke it.
    pub fn delivered(&self, took: Duration) {
        self.delivered.increment(1);
        self.delivery.record(took);
    }

    /// A held request was answered 304 at the end of its wait.
    pub fn timed_out(&self) {
        self.timeouts.increment(1);
    }

    /// A watch was refused over the limit.
    pub fn refused(&self) {
        self.refused.increment(1);
    }
}

impl Metrics {
    /// The watch handles.
    pub fn watch(&self) -> WatchMetrics {
        let Some(recorder) = &self.recorder else {
            return WatchMetrics {
                long_polls: Gauge::noop(),
                streams: Gauge::noop(),
                wakeups: Counter::noop(),
                delivered: Counter::noop(),
                timeouts: Counter::noop(),
                refused: Counter::noop(),
                delivery: Histogram::noop(),
            };
        };
        let key = |name: &'static str| Key::from_static_name(name);
        let kind = |kind: &'static str| {
            Key::from_parts(names::WATCH_WATCHERS, vec![metrics::Label::from_static_parts("kind", kind)])
        };
        WatchMetrics {
            long_polls: recorder.register_gauge(&kind("long_poll"), &METADATA),
            streams: recorder.register_gauge(&kind("stream"), &METADATA),
            wakeups: recorder.register_counter(&key(names::WATCH_WAKEUPS), &METADATA),
            delivered: recorder.register_counter(&key(names::WATCH_DELIVERED), &METADATA),
            timeouts: recorder.register_counter(&key(names::WATCH_TIMEOUTS), &METADATA),
            refused: recorder.register_counter(&key(names::WATCH_REFUSED), &METADATA),
            delivery: recorder.register_histogram(&key(names::WATCH_DELIVERY), &METADATA),
        }
    }
}
