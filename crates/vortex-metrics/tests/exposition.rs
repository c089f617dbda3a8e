//! Every handle set recording into a Prometheus registry of its own, checked in the text a scrape
//! gets: names, labels, values, units and descriptions; and the disabled handles recording nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use vortex_core::{BoxFuture, ConfigQuery, ConfigSource, CoreError, Environment, Resource, SourceHealth};
use vortex_metrics::{AuthApi, Denial, EvictionCause, MeteredSource, Metrics, Prometheus, Rejection, names};

/// The value of the first exposed sample that starts with `series`.
fn sample(text: &str, series: &str) -> f64 {
    let line = text.lines().find(|line| line.starts_with(series)).unwrap_or_else(|| panic!("no {series} in\n{text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn the_cache_handles_are_exposed() {
    let prometheus = Prometheus::new().unwrap();
    let cache = prometheus.metrics().cache();
    cache.hit(cache.start());
    cache.hit(cache.start());
    cache.miss(cache.start());
    for cause in [EvictionCause::Expired, EvictionCause::Size, EvictionCause::Explicit, EvictionCause::Replaced] {
        cache.evicted(cause);
    }
    cache.evicted(EvictionCause::Size);
    cache.stale_load();
    cache.sizes(12, 20, 0.75);
    let text = prometheus.render();
    assert_eq!(sample(&text, "vortex_cache_lookups_total{outcome=\"hit\"}"), 2.0);
    assert_eq!(sample(&text, "vortex_cache_lookups_total{outcome=\"miss\"}"), 1.0);
    assert_eq!(sample(&text, "vortex_cache_evictions_total{cause=\"size\"}"), 2.0);
    assert_eq!(sample(&text, "vortex_cache_evictions_total{cause=\"expired\"}"), 1.0);
    assert_eq!(sample(&text, "vortex_cache_stale_loads_total"), 1.0);
    assert_eq!(sample(&text, "vortex_cache_entries"), 12.0);
    assert_eq!(sample(&text, "vortex_cache_weighted_size"), 20.0);
    assert_eq!(sample(&text, "vortex_cache_hit_ratio"), 0.75);
    assert_eq!(sample(&text, "vortex_cache_lookup_duration_seconds_count{outcome=\"hit\"}"), 2.0);
    assert!(text.contains("# HELP vortex_cache_lookups_total Cache lookups, by outcome (hit, miss)."), "{text}");
}

#[test]
fn the_git_handles_are_exposed_per_repository() {
    let prometheus = Prometheus::new().unwrap();
    let metrics = prometheus.metrics();
    let default = metrics.git();
    default.fetched(Duration::from_millis(120), Some(2));
    default.fetched(Duration::from_millis(80), None);
    metrics.git_repository("team-a").fetched(Duration::from_millis(30), Some(0));
    let text = prometheus.render();
    assert_eq!(sample(&text, "vortex_git_fetches_total{repository=\"default\",result=\"ok\"}"), 1.0);
    assert_eq!(sample(&text, "vortex_git_fetches_total{repository=\"default\",result=\"error\"}"), 1.0);
    assert_eq!(sample(&text, "vortex_git_labels_moved_total{repository=\"default\"}"), 2.0);
    assert_eq!(sample(&text, "vortex_git_fetches_total{repository=\"team-a\",result=\"ok\"}"), 1.0);
    assert!(sample(&text, "vortex_git_last_fetch_success_timestamp_seconds{repository=\"default\"}") > 1.7e9);
    assert_eq!(sample(&text, "vortex_git_fetch_duration_seconds_count{repository=\"default\"}"), 2.0);
}

#[test]
fn the_http_handles_are_exposed_by_route_method_and_class() {
    let prometheus = Prometheus::new().unwrap();
    let metrics = prometheus.metrics();
    metrics.build_info("1.2.3", &["git", "cache"]);
    let http = metrics.http(&["/{a}/{b}", "/health"]);
    assert!(http.is_enabled());
    http.record(Some(0), "GET", 200, Duration::from_micros(50));
    http.record(Some(0), "GET", 304, Duration::from_micros(20));
    http.record(Some(1), "HEAD", 503, Duration::from_micros(10));
    http.record(None, "PATCH", 404, Duration::from_micros(5));
    http.record(Some(7), "GET", 101, Duration::from_micros(5));
    http.in_flight_add(3.0);
    http.in_flight_add(-1.0);
    http.rejected(Rejection::Overloaded);
    http.rejected(Rejection::UriTooLong);
    http.rejected(Rejection::Connections);
    http.auth_failed(AuthApi::Read, true);
    http.auth_failed(AuthApi::Admin, false);
    http.auth_failed(AuthApi::Webhook, false);
    let text = prometheus.render();
    let requests = |route: &str, method: &str, status: &str| {
        sample(
            &text,
            &format!("vortex_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}}"),
        )
    };
    assert_eq!(requests("/{a}/{b}", "GET", "2xx"), 1.0);
    assert_eq!(requests("/{a}/{b}", "GET", "3xx"), 1.0);
    assert_eq!(requests("/health", "HEAD", "5xx"), 1.0);
    assert_eq!(requests("unmatched", "other", "4xx"), 1.0);
    assert_eq!(requests("unmatched", "GET", "1xx"), 1.0, "an index past the table is unmatched");
    assert_eq!(sample(&text, "vortex_http_not_modified_total"), 1.0);
    assert_eq!(sample(&text, "vortex_http_requests_in_flight"), 2.0);
    for reason in ["overloaded", "uri_too_long", "connections"] {
        assert_eq!(sample(&text, &format!("vortex_http_rejected_total{{reason=\"{reason}\"}}")), 1.0, "{reason}");
    }
    assert_eq!(sample(&text, "vortex_auth_failures_total{api=\"read\",credentials=\"missing\"}"), 1.0);
    assert_eq!(sample(&text, "vortex_auth_failures_total{api=\"admin\",credentials=\"wrong\"}"), 1.0);
    assert_eq!(sample(&text, "vortex_build_info{version=\"1.2.3\",features=\"git,cache\"}"), 1.0);
    prometheus.run_upkeep();
}

/// A source that loads an empty environment, or fails with `kind`.
struct Backend(Option<vortex_core::ErrorKind>);

impl ConfigSource for Backend {
    fn load<'a>(&'a self, query: &'a ConfigQuery) -> BoxFuture<'a, Result<Environment, CoreError>> {
        let answer = match self.0 {
            None => Ok(Environment {
                name: query.application.clone(),
                profiles: query.profiles.clone(),
                label: None,
                version: None,
                state: None,
                property_sources: Vec::new(),
            }),
            Some(kind) => Err(CoreError::Backend { kind, message: "failed".to_owned(), source: None }),
        };
        Box::pin(std::future::ready(answer))
    }

    fn resource<'a>(&'a self, _: &'a ConfigQuery, path: &'a str) -> BoxFuture<'a, Result<Resource, CoreError>> {
        Box::pin(std::future::ready(Err(CoreError::NoSuchResource { path: path.to_owned() })))
    }

    fn health(&self) -> SourceHealth {
        SourceHealth { status: vortex_core::HealthStatus::Up, ready: true, details: serde_json::Value::Null }
    }
}

#[test]
fn backend_loads_are_timed_and_their_errors_counted_by_kind() {
    use vortex_core::ErrorKind;
    let prometheus = Prometheus::new().unwrap();
    let query = ConfigQuery::parse("orders", "dev", None).unwrap();
    let block = |source: &MeteredSource<Backend>| {
        let waker = std::task::Waker::noop();
        let mut context = std::task::Context::from_waker(waker);
        let mut future = source.load(&query);
        match future.as_mut().poll(&mut context) {
            std::task::Poll::Ready(result) => result.map(|_| ()),
            std::task::Poll::Pending => panic!("the test backend answers at once"),
        }
    };
    let ok = MeteredSource::new(Backend(None), "native", prometheus.metrics());
    block(&ok).unwrap();
    assert!(ok.health().ready, "health is the inner source's");
    for kind in [
        ErrorKind::InvalidInput,
        ErrorKind::NotFound,
        ErrorKind::InvalidDocument,
        ErrorKind::Unavailable,
        ErrorKind::Internal,
    ] {
        let failing = MeteredSource::new(Backend(Some(kind)), "native", prometheus.metrics());
        assert!(block(&failing).is_err());
    }
    let text = prometheus.render();
    assert_eq!(sample(&text, "vortex_backend_load_duration_seconds_count{backend=\"native\"}"), 6.0);
    for kind in ["invalid_input", "not_found", "invalid_document", "unavailable", "internal"] {
        let series = format!("vortex_backend_load_errors_total{{backend=\"native\",kind=\"{kind}\"}}");
        assert_eq!(sample(&text, &series), 1.0, "{kind}");
    }
}

#[test]
fn the_bus_handles_are_exposed_by_type_and_outcome() {
    let prometheus = Prometheus::new().unwrap();
    let bus = prometheus.metrics().bus();
    bus.published("refresh", true);
    bus.published("refresh", true);
    bus.published("change", false);
    bus.consumed("unknown", "malformed");
    bus.consumed("change", "acted");
    bus.propagated(Duration::from_millis(40), 2, 0, 1);
    bus.acknowledged(1);
    bus.acknowledged(2);
    bus.connection(true);
    bus.peers(2);
    let text = prometheus.render();
    assert_eq!(sample(&text, "vortex_bus_messages_published_total{type=\"refresh\",result=\"ok\"}"), 2.0);
    assert_eq!(sample(&text, "vortex_bus_messages_published_total{type=\"change\",result=\"error\"}"), 1.0);
    assert_eq!(sample(&text, "vortex_bus_messages_consumed_total{type=\"unknown\",outcome=\"malformed\"}"), 1.0);
    assert_eq!(sample(&text, "vortex_bus_propagation_peers_total{result=\"confirmed\"}"), 2.0);
    assert_eq!(sample(&text, "vortex_bus_propagation_peers_total{result=\"missing\"}"), 1.0);
    assert_eq!(sample(&text, "vortex_bus_propagation_duration_seconds_bucket{le=\"0.05\"}"), 1.0);
    assert_eq!(sample(&text, "vortex_bus_acks_total"), 2.0);
    assert_eq!(sample(&text, "vortex_bus_last_refresh_acks"), 2.0);
    assert_eq!(sample(&text, "vortex_bus_connected"), 1.0);
    assert_eq!(sample(&text, "vortex_bus_peers"), 2.0);
    bus.connection(false);
    assert_eq!(sample(&prometheus.render(), "vortex_bus_connected"), 0.0);
}

#[test]
fn the_watch_handles_are_exposed_by_kind() {
    let prometheus = Prometheus::new().unwrap();
    let watch = prometheus.metrics().watch();
    for _ in 0..4 {
        watch.entered(false);
    }
    watch.left(false);
    watch.entered(true);
    watch.woken();
    watch.woken();
    watch.delivered(Duration::from_millis(3));
    watch.timed_out();
    watch.refused();
    let text = prometheus.render();
    assert_eq!(sample(&text, "vortex_watch_watchers{kind=\"long_poll\"}"), 3.0);
    assert_eq!(sample(&text, "vortex_watch_watchers{kind=\"stream\"}"), 1.0);
    assert_eq!(sample(&text, "vortex_watch_wakeups_total"), 2.0);
    assert_eq!(sample(&text, "vortex_watch_changes_delivered_total"), 1.0);
    assert_eq!(sample(&text, "vortex_watch_timeouts_total"), 1.0);
    assert_eq!(sample(&text, "vortex_watch_refused_total"), 1.0);
    assert_eq!(sample(&text, "vortex_watch_delivery_seconds_bucket{le=\"0.005\"}"), 1.0);
}

#[test]
fn the_access_handles_are_exposed_by_client_and_reason() {
    let prometheus = Prometheus::new().unwrap();
    let access = prometheus.metrics().access();
    let orders = access.client("orders");
    orders.increment();
    orders.increment();
    access.client("anonymous").increment();
    access.denied(Denial::OutOfScope);
    access.denied(Denial::MissingCredentials);
    access.denied(Denial::MissingCredentials);
    let text = prometheus.render();
    assert_eq!(sample(&text, "vortex_access_requests_total{client=\"orders\"}"), 2.0);
    assert_eq!(sample(&text, "vortex_access_requests_total{client=\"anonymous\"}"), 1.0);
    assert_eq!(sample(&text, "vortex_access_denied_total{reason=\"out_of_scope\"}"), 1.0);
    assert_eq!(sample(&text, "vortex_access_denied_total{reason=\"missing_credentials\"}"), 2.0);
    assert_eq!(sample(&text, "vortex_access_denied_total{reason=\"admin_disabled\"}"), 0.0);
}

#[test]
fn without_a_recorder_nothing_is_recorded_or_timed() {
    let metrics = Metrics::disabled();
    assert!(!metrics.is_enabled());
    let cache = metrics.cache();
    assert!(cache.start().is_none());
    cache.hit(None);
    cache.evicted(EvictionCause::Expired);
    metrics.git().fetched(Duration::from_millis(1), Some(1));
    let bus = metrics.bus();
    bus.published("refresh", true);
    bus.propagated(Duration::ZERO, 1, 0, 0);
    bus.acknowledged(1);
    bus.connection(true);
    let watch = metrics.watch();
    watch.entered(true);
    watch.left(true);
    watch.delivered(Duration::ZERO);
    let access = metrics.access();
    access.client("orders").increment();
    access.denied(Denial::WrongCredentials);
    vortex_metrics::ClientRequests::default().increment();
    let http = metrics.http(&["/x"]);
    assert!(!http.is_enabled());
    http.record(Some(0), "GET", 200, Duration::ZERO);
    metrics.build_info("0", &[]);
    assert_eq!(names::all().count(), names::ALL.len());
    assert!(names::ALL.iter().all(|row| row.name.starts_with("vortex_") && !row.help.is_empty()));
    assert!(names::is_hot(names::HTTP_REQUESTS) && !names::is_hot(names::GIT_FETCHES));
}
