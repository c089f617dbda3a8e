//! Metrics recorded on every request, as plain atomics (feature `prometheus`).
//!
//! The exporter's handles cost more than the hot path can afford: every counter or gauge update
//! also bumps a generation counter, and every histogram sample is stored with a clock reading and
//! folded into buckets later. With two histograms, three counters and two gauge updates per
//! request, metrics cost 12 % of a cached request (`docs/adr/0007-edge-and-hot-path-metrics.md`). The
//! families of hot metrics ([`names::Row::hot`]) are therefore kept here: a counter is one relaxed atomic addition, a
//! histogram a short scan of its bounds and two additions (the sum is kept in nanoseconds). The
//! [`Prometheus`](crate::Prometheus) recorder hands them out through the same `metrics` facade and
//! renders them after the exporter's families.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use metrics::{CounterFn, GaugeFn, HistogramFn, Key};

use crate::names::{self, Kind};

/// A counter: one atomic.
#[derive(Debug, Default)]
pub(crate) struct HotCounter(AtomicU64);

impl CounterFn for HotCounter {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::Relaxed);
    }

    fn absolute(&self, value: u64) {
        self.0.fetch_max(value, Ordering::Relaxed);
    }
}

/// A gauge: an `f64` in an atomic.
#[derive(Debug, Default)]
pub(crate) struct HotGauge(AtomicU64);

impl HotGauge {
    fn update(&self, f: impl Fn(f64) -> f64) {
        let _ =
            self.0.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| Some(f(f64::from_bits(bits)).to_bits()));
    }

    fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}

impl GaugeFn for HotGauge {
    fn increment(&self, value: f64) {
        self.update(|v| v + value);
    }

    fn decrement(&self, value: f64) {
        self.update(|v| v - value);
    }

    fn set(&self, value: f64) {
        self.0.store(value.to_bits(), Ordering::Relaxed);
    }
}

/// A histogram of durations in seconds over fixed bucket bounds.
#[derive(Debug)]
pub(crate) struct HotHistogram {
    bounds: &'static [f64],
    /// One counter per bound, then one for the samples above the last bound.
    counts: Box<[AtomicU64]>,
    sum_nanos: AtomicU64,
}

impl HotHistogram {
    fn new(bounds: &'static [f64]) -> Self {
        Self { bounds, counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(), sum_nanos: AtomicU64::new(0) }
    }
}

impl HistogramFn for HotHistogram {
    fn record(&self, seconds: f64) {
        // `le` is inclusive: a sample equal to a bound belongs to that bound's bucket. A scan from
        // the smallest bound: hot-path samples land in the first buckets, where it stops after a
        // comparison or two that the branch predictor learns (a binary search mispredicts).
        let bucket = self.bounds.iter().position(|&bound| seconds <= bound).unwrap_or(self.bounds.len());
        if let Some(count) = self.counts.get(bucket) {
            count.fetch_add(1, Ordering::Relaxed);
        }
        // Saturating conversion: NaN and negative durations add nothing.
        self.sum_nanos.fetch_add((seconds * 1e9) as u64, Ordering::Relaxed);
    }
}

/// A hot metric of any kind.
#[derive(Debug, Clone)]
pub(crate) enum Hot {
    Counter(Arc<HotCounter>),
    Gauge(Arc<HotGauge>),
    Histogram(Arc<HotHistogram>),
}

/// The hot metrics registered so far, by key. Registration happens when a subsystem starts; the
/// lock is never taken while recording.
#[derive(Debug, Default)]
pub(crate) struct HotRegistry {
    metrics: Mutex<Vec<(Key, Hot)>>,
}

impl HotRegistry {
    /// The metric for `key`, created on first use as the kind `names` gives its name; `None` when
    /// the name is not a hot metric ([`names::Row::hot`]).
    pub(crate) fn get(&self, key: &Key) -> Option<Hot> {
        if !names::is_hot(key.name()) {
            return None;
        }
        let mut metrics = self.metrics.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, metric)) = metrics.iter().find(|(k, _)| k == key) {
            return Some(metric.clone());
        }
        let metric = match names::row(key.name())?.kind {
            Kind::Counter => Hot::Counter(Arc::default()),
            Kind::Gauge => Hot::Gauge(Arc::default()),
            Kind::Histogram => Hot::Histogram(Arc::new(HotHistogram::new(names::FAST_BUCKETS))),
        };
        metrics.push((key.clone(), metric.clone()));
        Some(metric)
    }

    /// Appends the text exposition (format 0.0.4) of every hot metric to `out`, one family per
    /// name with its `HELP` and `TYPE`.
    pub(crate) fn render(&self, out: &mut String) {
        let mut metrics = self.metrics.lock().unwrap_or_else(PoisonError::into_inner).clone();
        metrics.sort_by(|(a, _), (b, _)| a.name().cmp(b.name()));
        let mut family = "";
        for (key, metric) in &metrics {
            let name = key.name();
            if name != family {
                family = name;
                let help = names::row(name).map_or("", |row| row.help);
                let kind = match metric {
                    Hot::Counter(_) => "counter",
                    Hot::Gauge(_) => "gauge",
                    Hot::Histogram(_) => "histogram",
                };
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            }
            let labels: String = key.labels().map(|l| format!("{}=\"{}\",", l.key(), escape(l.value()))).collect();
            match metric {
                Hot::Counter(counter) => {
                    let _ = writeln!(out, "{name}{} {}", braces(&labels), counter.0.load(Ordering::Relaxed));
                }
                Hot::Gauge(gauge) => {
                    let _ = writeln!(out, "{name}{} {}", braces(&labels), gauge.get());
                }
                Hot::Histogram(histogram) => render_histogram(out, name, &labels, histogram),
            }
        }
    }
}

/// `labels` (each followed by a comma) in braces, or nothing.
fn braces(labels: &str) -> String {
    match labels.trim_end_matches(',') {
        "" => String::new(),
        labels => format!("{{{labels}}}"),
    }
}

fn render_histogram(out: &mut String, name: &str, labels: &str, histogram: &HotHistogram) {
    let mut cumulative = 0_u64;
    for (i, count) in histogram.counts.iter().enumerate() {
        cumulative += count.load(Ordering::Relaxed);
        match histogram.bounds.get(i) {
            Some(bound) => {
                let _ = writeln!(out, "{name}_bucket{{{labels}le=\"{bound}\"}} {cumulative}");
            }
            None => {
                let _ = writeln!(out, "{name}_bucket{{{labels}le=\"+Inf\"}} {cumulative}");
            }
        }
    }
    let sum = histogram.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
    let _ = writeln!(out, "{name}_sum{} {sum}", braces(labels));
    let _ = writeln!(out, "{name}_count{} {cumulative}", braces(labels));
}

/// Escapes a label value as the text format requires.
fn escape(value: &str) -> String {
    value.replace('\\', r"\\").replace('"', "\\\"").replace('\n', r"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_land_in_inclusive_buckets_and_render_cumulatively() {
        let registry = HotRegistry::default();
        let key = Key::from_parts(names::HTTP_REQUEST_DURATION, vec![metrics::Label::new("route", "/{a}")]);
        let Some(Hot::Histogram(histogram)) = registry.get(&key) else { panic!("a histogram") };
        let Some(Hot::Histogram(again)) = registry.get(&key) else { panic!("a histogram") };
        assert!(Arc::ptr_eq(&histogram, &again), "one histogram per key");
        for seconds in [0.000_005, 0.000_006, 0.5, 100.0] {
            histogram.record(seconds);
        }
        let mut text = String::new();
        registry.render(&mut text);
        let name = names::HTTP_REQUEST_DURATION;
        assert!(text.starts_with(&format!("# HELP {name} Time to answer")), "{text}");
        for line in [
            format!("{name}_bucket{{route=\"/{{a}}\",le=\"0.000005\"}} 1"),
            format!("{name}_bucket{{route=\"/{{a}}\",le=\"0.00001\"}} 2"),
            format!("{name}_bucket{{route=\"/{{a}}\",le=\"0.5\"}} 3"),
            format!("{name}_bucket{{route=\"/{{a}}\",le=\"10\"}} 3"),
            format!("{name}_bucket{{route=\"/{{a}}\",le=\"+Inf\"}} 4"),
            format!("{name}_sum{{route=\"/{{a}}\"}} 100.500011"),
            format!("{name}_count{{route=\"/{{a}}\"}} 4"),
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
    }

    #[test]
    fn counters_and_gauges_render_with_and_without_labels() {
        let registry = HotRegistry::default();
        let Some(Hot::Counter(hits)) =
            registry.get(&Key::from_parts(names::CACHE_LOOKUPS, vec![metrics::Label::new("outcome", "hit")]))
        else {
            panic!("a counter")
        };
        hits.increment(3);
        let Some(Hot::Gauge(in_flight)) = registry.get(&Key::from_name(names::HTTP_IN_FLIGHT)) else {
            panic!("a gauge")
        };
        in_flight.increment(2.0);
        in_flight.decrement(1.0);
        assert!(registry.get(&Key::from_name(names::GIT_FETCHES)).is_none(), "not a hot metric");
        let mut text = String::new();
        registry.render(&mut text);
        assert!(
            text.contains("# TYPE vortex_cache_lookups_total counter\nvortex_cache_lookups_total{outcome=\"hit\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE vortex_http_requests_in_flight gauge\nvortex_http_requests_in_flight 1\n"),
            "{text}"
        );
    }
}
