//! [`PatternRepos`]: several git repositories behind one source, each serving the applications
//! its patterns match (Spring's `spring.cloud.config.server.git.repos`).

use std::sync::Arc;

use crate::tree::Glob;

use vortex_core::{
    BoxFuture, ChangeListener, ConfigQuery, ConfigSource, CoreError, Environment, HealthStatus, Resource, SourceHealth,
};

/// A repository chosen by pattern: its name, its patterns and its source (a
/// [`GitSource`](crate::GitSource), or [`ApplicationRepos`](crate::ApplicationRepos) for a URI
/// with `{application}`).
#[derive(Clone)]
pub struct PatternRepo {
    name: String,
    patterns: Vec<Glob>,
    source: Arc<dyn ConfigSource>,
}

impl PatternRepo {
    /// A repository that serves the queries one of `patterns` matches.
    ///
    /// A pattern is matched against `{application}/{profile}`, where `*` stands for any run of
    /// characters. A pattern without `/` matches every profile (`orders*` is `orders*/*`), as in
    /// Spring.
    pub fn new(name: impl Into<String>, patterns: &[String], source: Arc<dyn ConfigSource>) -> Self {
        Self { name: name.into(), patterns: normalise(patterns).iter().map(|p| Glob::new(p)).collect(), source }
    }

    /// The repository's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the repository serves `query`: one of its patterns matches the application and
    /// one of the profiles, tried from the last profile (the one that wins) to the first.
    pub fn matches(&self, query: &ConfigQuery) -> bool {
        matches(&self.patterns, query)
    }
}

/// Spring's pattern forms: trimmed, empty ones dropped, `/*` added to a pattern without `/`.
fn normalise(patterns: &[String]) -> Vec<String> {
    patterns
        .iter()
        .map(|pattern| pattern.trim())
        .filter(|pattern| !pattern.is_empty())
        .map(|pattern| if pattern.contains('/') { pattern.to_owned() } else { format!("{pattern}/*") })
        .collect()
}

fn matches(patterns: &[Glob], query: &ConfigQuery) -> bool {
    query.profiles.iter().rev().any(|profile| {
        let candidate = format!("{}/{profile}", query.application);
        patterns.iter().any(|pattern| pattern.matches(&candidate))
    })
}

/// Several git repositories behind one [`ConfigSource`]: a query is served by the first
/// [`PatternRepo`] whose patterns match it, in the order given, and by the default repository
/// when none does.
///
/// Unlike Spring, a matching repository that fails (an unknown label, a file that does not parse)
/// answers with its error: falling through to another repository would serve one team's
/// configuration in place of another's. Fetches, change notifications and health cover every
/// repository (a pattern repository that cannot serve degrades the backend; only the default one
/// makes it unready); the label a query without one gets is the default repository's default
/// label, and every repository shares it (the cache keys rely on that).
#[derive(Clone)]
pub struct PatternRepos {
    default: Arc<dyn ConfigSource>,
    repos: Vec<PatternRepo>,
}

impl PatternRepos {
    /// Routes queries to `repos`, tried in order, then to `default`.
    pub fn new(default: Arc<dyn ConfigSource>, repos: Vec<PatternRepo>) -> Self {
        Self { default, repos }
    }

    /// The repository that serves `query`: its name (`None` for the default) and source.
    pub fn select(&self, query: &ConfigQuery) -> (Option<&str>, &Arc<dyn ConfigSource>) {
        match self.repos.iter().find(|repo| repo.matches(query)) {
            Some(repo) => (Some(repo.name()), &repo.source),
            None => (None, &self.default),
        }
    }

    fn sources(&self) -> impl Iterator<Item = &Arc<dyn ConfigSource>> {
        std::iter::once(&self.default).chain(self.repos.iter().map(|repo| &repo.source))
    }
}

impl ConfigSource for PatternRepos {
    fn load<'a>(&'a self, query: &'a ConfigQuery) -> BoxFuture<'a, Result<Environment, CoreError>> {
        self.select(query).1.load(query)
    }

    fn resource<'a>(&'a self, query: &'a ConfigQuery, path: &'a str) -> BoxFuture<'a, Result<Resource, CoreError>> {
        self.select(query).1.resource(query, path)
    }

    fn default_label(&self) -> Option<&str> {
        self.default.default_label()
    }

    /// Fetches every repository at once; fails with the first error after all have finished.
    fn refresh(&self) -> BoxFuture<'_, Result<(), CoreError>> {
        Box::pin(refresh_all(self.sources().cloned()))
    }

    fn subscribe(&self, listener: ChangeListener) {
        for source in self.sources() {
            source.subscribe(Arc::clone(&listener));
        }
    }

    /// The default repository's health, with each pattern repository's under `repos`. Ready when
    /// the default repository is: a pattern repository that cannot serve (its remote unreachable
    /// since start-up) makes the backend degraded, not down, so that a replica keeps serving every
    /// application it can instead of leaving the load balancer.
    fn health(&self) -> SourceHealth {
        let mut health = self.default.health();
        let mut repos = serde_json::Map::new();
        for repo in &self.repos {
            let (status, mut details) = part_health(repo.source.health());
            health.status = with_part(health.status, status);
            if let Some(object) = details.as_object_mut() {
                let patterns: Vec<String> = repo.patterns.iter().map(ToString::to_string).collect();
                object.insert("pattern".to_owned(), serde_json::json!(patterns));
            }
            repos.insert(repo.name.clone(), details);
        }
        if let Some(object) = health.details.as_object_mut() {
            object.insert("repos".to_owned(), serde_json::Value::Object(repos));
        }
        health
    }
}

/// Refreshes every source at once and waits for all; the first error, if any, after all ran.
pub(crate) async fn refresh_all<S: ConfigSource + Clone>(sources: impl Iterator<Item = S>) -> Result<(), CoreError> {
    let fetches: Vec<_> = sources.map(|source| tokio::spawn(async move { source.refresh().await })).collect();
    let mut first_error = None;
    for fetch in fetches {
        let result = match fetch.await {
            Ok(fetched) => fetched,
            Err(err) => Err(crate::source::join_error(err).into()),
        };
        if let Err(err) = result {
            first_error.get_or_insert(err);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// The health of one repository of several: its status (`DOWN` when it cannot serve at all) and
/// its details, which then carry that status and its readiness too.
pub(crate) fn part_health(own: SourceHealth) -> (HealthStatus, serde_json::Value) {
    let status = if own.ready { own.status } else { HealthStatus::Down };
    let mut details = own.details;
    if let Some(object) = details.as_object_mut() {
        object.insert("status".to_owned(), serde_json::json!(status));
        object.insert("ready".to_owned(), serde_json::json!(own.ready));
    }
    (status, details)
}

/// The status of a backend whose `overall` status is joined by one of its repositories': the worst
/// of both, except that one repository of several can make the backend degraded, never down.
pub(crate) fn with_part(overall: HealthStatus, part: HealthStatus) -> HealthStatus {
    worst(overall, if part == HealthStatus::Down { HealthStatus::Degraded } else { part })
}

fn worst(a: HealthStatus, b: HealthStatus) -> HealthStatus {
    let rank = |status| match status {
        HealthStatus::Up => 0,
        HealthStatus::Degraded => 1,
        HealthStatus::Down => 2,
    };
    if rank(b) > rank(a) { b } else { a }
}

#[cfg(test)]
mod tests {
    use vortex_core::{ConfigQuery, HealthStatus};

    use super::{matches, normalise, worst};

    fn serves(patterns: &[&str], application: &str, profiles: &str) -> bool {
        let patterns = normalise(&patterns.iter().map(|p| (*p).to_owned()).collect::<Vec<_>>());
        let patterns: Vec<_> = patterns.iter().map(|p| super::Glob::new(p)).collect();
        matches(&patterns, &ConfigQuery::parse(application, profiles, None).unwrap())
    }

    #[test]
    fn patterns_match_application_and_profile_as_spring_does() {
        assert!(serves(&["orders"], "orders", "dev"), "no '/' means every profile");
        assert!(!serves(&["orders"], "orders-api", "dev"));
        assert!(serves(&["orders*"], "orders-api", "dev"));
        assert!(serves(&["*/prod"], "anything", "prod"));
        assert!(!serves(&["*/prod"], "anything", "production"));
        assert!(serves(&["*/prod*"], "anything", "production"));
        assert!(serves(&["team-*/dev"], "team-a", "dev"));
        assert!(!serves(&["team-*/dev"], "team-a", "prod"));
        // Each profile on its own: `*/staging` serves `staging,cloud` and `cloud,staging`.
        assert!(serves(&["*/staging"], "orders", "staging,cloud"));
        assert!(serves(&["*/staging"], "orders", "cloud,staging"));
        assert!(!serves(&["*/staging"], "orders", "cloud,dev"));
        // Any of several patterns; blank ones never match.
        assert!(serves(&["billing/*", "  pay*  "], "payments", "dev"));
        assert!(!serves(&["", " "], "orders", "dev"));
        // A `*` may span a '/' of a name written with `(_)`.
        assert!(serves(&["team/*"], "team/orders", "dev"));
    }

    #[test]
    fn the_worst_status_wins() {
        use HealthStatus::{Degraded, Down, Up};
        assert_eq!(worst(Up, Up), Up);
        assert_eq!(worst(Up, Degraded), Degraded);
        assert_eq!(worst(Down, Degraded), Down);
        assert_eq!(worst(Degraded, Up), Degraded);
    }
}
