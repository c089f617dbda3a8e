//! The one route table: every route the server serves, with its template, the methods it takes,
//! whether its `GET` is the read API and whether it is exempt from the request limits.
//!
//! The axum router ([`crate::router`]), the edge's classifier ([`Route::classify`]), the metric
//! labels (`metrics::TEMPLATES`) and the direct read path are all derived from it, so a route added here
//! is routed, classified and labelled alike; a test checks the classifier against the real router
//! for every route and method.

use std::sync::LazyLock;

use axum::http::Method;

/// A route of the server. The order is the table's: it indexes the metric labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Route {
    /// `/{name}-{profiles}.{ext}`.
    One,
    /// `/{name}/{profiles}` and `/{label}/{name}-{profiles}.{ext}`.
    Two,
    /// `/{name}/{profiles}/{label}`, or a resource with `?useDefaultLabel`.
    Three,
    /// `/{name}/{profile}/{label}/{path}`: a plain-text resource.
    Resource,
    Health,
    ActuatorHealth,
    /// Whether the process is alive (Kubernetes' liveness probe).
    Liveness,
    /// Whether the server should get traffic (Kubernetes' readiness probe).
    Readiness,
    /// `GET` statistics, `DELETE ?pattern=`.
    Cache,
    /// `DELETE` one entry; `GET` reads the application `cache`.
    CacheKey,
    Monitor,
    Metrics,
    ActuatorPrometheus,
    Encrypt,
    EncryptStatus,
    /// `POST` encrypts; `GET` reads the application `encrypt`.
    EncryptFor,
    Decrypt,
    /// `POST` decrypts; `GET` reads the application `decrypt`.
    DecryptFor,
    Key,
    KeyFor,
    /// `POST` refreshes every Spring service over the bus; `GET` reads the application `actuator`.
    BusRefresh,
    /// `POST` refreshes the destination's services; `GET` reads the application `actuator`.
    BusRefreshFor,
}

/// How a route answers `GET`, besides the methods it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Get {
    /// Not at all: 405.
    No,
    /// With a handler of its own.
    Own,
    /// As the read API (`GET /cache/x` reads the application `cache`).
    Read,
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row {
    pub(crate) template: &'static str,
    pub(crate) get: Get,
    pub(crate) post: bool,
    pub(crate) delete: bool,
    /// Health and metrics: taken by no slot and never refused, since an overloaded server must not
    /// look dead to its liveness probe nor go blind to its monitoring.
    pub(crate) exempt: bool,
}

const fn row(template: &'static str, get: Get, post: bool, delete: bool) -> Row {
    Row { template, get, post, delete, exempt: false }
}

const fn exempt(template: &'static str) -> Row {
    Row { template, get: Get::Own, post: false, delete: false, exempt: true }
}

impl Route {
    /// Every route, in table order.
    pub(crate) const ALL: [Self; 22] = [
        Self::One,
        Self::Two,
        Self::Three,
        Self::Resource,
        Self::Health,
        Self::ActuatorHealth,
        Self::Liveness,
        Self::Readiness,
        Self::Cache,
        Self::CacheKey,
        Self::Monitor,
        Self::Metrics,
        Self::ActuatorPrometheus,
        Self::Encrypt,
        Self::EncryptStatus,
        Self::EncryptFor,
        Self::Decrypt,
        Self::DecryptFor,
        Self::Key,
        Self::KeyFor,
        Self::BusRefresh,
        Self::BusRefreshFor,
    ];

    /// The table.
    pub(crate) const fn row(self) -> Row {
        match self {
            Self::One => row("/{a}", Get::Read, false, false),
            Self::Two => row("/{a}/{b}", Get::Read, false, false),
            Self::Three => row("/{a}/{b}/{c}", Get::Read, false, false),
            Self::Resource => row("/{a}/{b}/{c}/{*path}", Get::Read, false, false),
            Self::Health => exempt("/health"),
            Self::ActuatorHealth => exempt("/actuator/health"),
            Self::Liveness => exempt("/actuator/health/liveness"),
            Self::Readiness => exempt("/actuator/health/readiness"),
            Self::Cache => row("/cache", Get::Own, false, true),
            Self::CacheKey => row("/cache/{*key}", Get::Read, false, true),
            Self::Monitor => row("/monitor", Get::No, true, false),
            Self::Metrics => exempt("/metrics"),
            Self::ActuatorPrometheus => exempt("/actuator/prometheus"),
            Self::Encrypt => row("/encrypt", Get::No, true, false),
            Self::EncryptStatus => row("/encrypt/status", Get::Own, false, false),
            Self::EncryptFor => row("/encrypt/{name}/{profiles}", Get::Read, true, false),
            Self::Decrypt => row("/decrypt", Get::No, true, false),
            Self::DecryptFor => row("/decrypt/{name}/{profiles}", Get::Read, true, false),
            Self::Key => row("/key", Get::Own, false, false),
            Self::KeyFor => row("/key/{name}/{profiles}", Get::Own, false, false),
            Self::BusRefresh => row("/actuator/busrefresh", Get::Read, true, false),
            Self::BusRefreshFor => row("/actuator/busrefresh/{destination}", Get::Read, true, false),
        }
    }

    /// The axum template, also the `route` label of the HTTP metrics.
    pub(crate) const fn template(self) -> &'static str {
        self.row().template
    }

    /// The position in [`Route::ALL`] and the metric labels.
    pub(crate) const fn index(self) -> usize {
        self as usize
    }

    /// Whether `GET` of this route is the read API: the edge then serves it without the router.
    pub(crate) const fn reads(self) -> bool {
        matches!(self.row().get, Get::Read)
    }

    /// Whether the route is exempt from the concurrency limit (health and metrics).
    pub(crate) const fn is_exempt(self) -> bool {
        self.row().exempt
    }

    /// Whether the route takes `method` (`HEAD` wherever `GET` is taken, as axum does).
    pub(crate) fn allows(self, method: &Method) -> bool {
        let row = self.row();
        match *method {
            Method::GET | Method::HEAD => !matches!(row.get, Get::No),
            Method::POST => row.post,
            Method::DELETE => row.delete,
            _ => false,
        }
    }

    /// Whether a request to this route may carry a body the handler reads.
    pub(crate) const fn takes_body(self) -> bool {
        self.row().post || self.row().delete
    }

    /// The route that serves `path` (without the prefix), `None` for the fallback: the most
    /// specific template that matches, as axum's router chooses (per segment, a literal before a
    /// parameter before a wildcard). No allocation; a test checks it against the real router.
    pub(crate) fn classify(path: &str) -> Option<Self> {
        let rest = path.strip_prefix('/')?;
        let first = rest.split('/').next().unwrap_or(rest);
        // The patterns are sorted most specific first: the first that matches wins.
        PATTERNS.iter().find_map(|(route, pattern)| {
            // Literal-first templates are only worth trying under their own first segment.
            let skip = matches!(pattern.first(), Some(Segment::Literal(literal)) if *literal != first);
            (!skip && matches(pattern, rest)).then_some(*route)
        })
    }
}

/// One segment of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Segment {
    Literal(&'static str),
    /// `{name}`: one segment; empty only when it is not the path's last.
    Param,
    /// `{*name}`: the rest of the path, at least one character.
    Rest,
}

impl Segment {
    const fn rank(self) -> u8 {
        match self {
            Self::Literal(_) => 0,
            Self::Param => 1,
            Self::Rest => 2,
        }
    }
}

/// The templates parsed once, most specific first, so that the first one that matches a path is
/// the one axum's router picks: compared segment by segment, a literal before a parameter before a
/// wildcard.
static PATTERNS: LazyLock<Vec<(Route, Vec<Segment>)>> = LazyLock::new(|| {
    let mut patterns: Vec<(Route, Vec<Segment>)> = Route::ALL
        .iter()
        .map(|&route| {
            let segments = route.template()[1..]
                .split('/')
                .map(|segment| match segment {
                    s if s.starts_with("{*") => Segment::Rest,
                    s if s.starts_with('{') => Segment::Param,
                    s => Segment::Literal(s),
                })
                .collect();
            (route, segments)
        })
        .collect();
    patterns.sort_by(|(_, a), (_, b)| a.iter().map(|s| s.rank()).cmp(b.iter().map(|s| s.rank())));
    patterns
});

/// Whether `pattern` matches `rest`, the path without its leading `/`.
fn matches(pattern: &[Segment], rest: &str) -> bool {
    let mut remaining = Some(rest);
    for (i, segment) in pattern.iter().enumerate() {
        let Some(text) = remaining else { return false };
        if *segment == Segment::Rest {
            return !text.is_empty();
        }
        let (part, after) = match text.split_once('/') {
            Some((part, after)) => (part, Some(after)),
            None => (text, None),
        };
        let last = i + 1 == pattern.len();
        let fits = match segment {
            Segment::Literal(literal) => part == *literal,
            // axum's parameters match an empty segment in the middle (`/a//c`), never at the end.
            Segment::Param => !part.is_empty() || after.is_some(),
            // Returned above.
            Segment::Rest => false,
        };
        if !fits || (last && after.is_some()) {
            return false;
        }
        remaining = after;
    }
    remaining.is_none()
}

#[cfg(test)]
mod tests;
