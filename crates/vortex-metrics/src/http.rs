//! The HTTP edge's handles: requests by route, method and status class; refusals; failed
//! authentication.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram};

use crate::names;
use crate::registry::Metrics;

/// Why the edge refused a request (or a connection) before any handler ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// `server.max_concurrent_requests` were already being served: 503.
    Overloaded,
    /// The request target was over `server.max_uri_bytes`: 414.
    UriTooLong,
    /// `server.max_connections` were open: the connection was closed at accept.
    Connections,
}

impl Rejection {
    const ALL: [Self; 3] = [Self::Overloaded, Self::UriTooLong, Self::Connections];

    /// The `reason` label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Overloaded => "overloaded",
            Self::UriTooLong => "uri_too_long",
            Self::Connections => "connections",
        }
    }
}

/// Which API refused an authentication attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthApi {
    /// The read API's basic authentication.
    Read,
    /// The admin API's bearer token.
    Admin,
    /// `POST /monitor`'s webhook signature or token.
    Webhook,
}

impl AuthApi {
    const ALL: [Self; 3] = [Self::Read, Self::Admin, Self::Webhook];

    /// The `api` label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Admin => "admin",
            Self::Webhook => "webhook",
        }
    }
}

/// The request methods told apart; anything else is `other`.
const METHODS: &[&str] = &["GET", "HEAD", "POST", "DELETE", "other"];
/// Status classes.
const CLASSES: &[&str] = &["1xx", "2xx", "3xx", "4xx", "5xx"];

/// The HTTP edge's handles; see [`Metrics::http`]. Each (route, method, status class) series is
/// registered on first use and kept, so recording never allocates or locks.
pub struct HttpMetrics {
    metrics: Metrics,
    routes: &'static [&'static str],
    slots: Box<[OnceLock<(Counter, Histogram)>]>,
    in_flight: Gauge,
    not_modified: Counter,
    rejected: [Counter; 3],
    auth_failures: [[Counter; 2]; 3],
}

impl std::fmt::Debug for HttpMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpMetrics").field("routes", &self.routes).finish()
    }
}

impl HttpMetrics {
    /// Whether anything is recorded.
    pub fn is_enabled(&self) -> bool {
        self.metrics.is_enabled()
    }

    /// Moves the in-flight gauge by `delta`: +1 when a request arrives, -1 when it is answered or
    /// dropped.
    pub fn in_flight_add(&self, delta: f64) {
        self.in_flight.increment(delta);
    }

    /// Counts a request or connection refused before any handler ran.
    pub fn rejected(&self, why: Rejection) {
        self.rejected[why as usize].increment(1);
    }

    /// Counts a refused authentication attempt: without credentials (`missing`) or with wrong ones.
    pub fn auth_failed(&self, api: AuthApi, missing: bool) {
        self.auth_failures[api as usize][usize::from(!missing)].increment(1);
    }

    /// Records an answered request. `route` is the index of the matched template in the `routes`
    /// given to [`Metrics::http`], `None` when no known route matched.
    pub fn record(&self, route: Option<usize>, method: &str, status: u16, took: Duration) {
        let route = route.filter(|&r| r < self.routes.len()).unwrap_or(self.routes.len());
        let method = match method {
            "GET" => 0,
            "HEAD" => 1,
            "POST" => 2,
            "DELETE" => 3,
            _ => 4,
        };
        let class = usize::from((status / 100).clamp(1, 5) - 1);
        let slot = (route * METHODS.len() + method) * CLASSES.len() + class;
        let Some(cell) = self.slots.get(slot) else { return };
        let (count, seconds) = cell.get_or_init(|| {
            let labels = [
                ("route", self.routes.get(route).copied().unwrap_or("unmatched")),
                ("method", METHODS[method]),
                ("status", CLASSES[class]),
            ];
            (
                self.metrics.counter(names::HTTP_REQUESTS, &labels),
                self.metrics.histogram(names::HTTP_REQUEST_DURATION, &labels),
            )
        });
        count.increment(1);
        seconds.record(took);
        if status == 304 {
            self.not_modified.increment(1);
        }
    }
}

impl Metrics {
    /// Handles for the HTTP edge; `routes` are the route templates it serves, every other path is
    /// recorded as `unmatched`.
    pub fn http(&self, routes: &'static [&'static str]) -> HttpMetrics {
        HttpMetrics {
            metrics: self.clone(),
            routes,
            slots: (0..(routes.len() + 1) * METHODS.len() * CLASSES.len()).map(|_| OnceLock::new()).collect(),
            in_flight: self.gauge(names::HTTP_IN_FLIGHT, &[]),
            not_modified: self.counter(names::HTTP_NOT_MODIFIED, &[]),
            rejected: Rejection::ALL.map(|r| self.counter(names::HTTP_REJECTED, &[("reason", r.label())])),
            auth_failures: AuthApi::ALL.map(|api| {
                ["missing", "wrong"].map(|credentials| {
                    self.counter(names::AUTH_FAILURES, &[("api", api.label()), ("credentials", credentials)])
                })
            }),
        }
    }
}
