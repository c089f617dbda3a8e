//! [`ApplicationRepos`]: a repository per application, from a URI with `{application}` in it
//! (Spring's `spring.cloud.config.server.git.uri: https://host/{application}-config`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;
use vortex_core::{
    BoxFuture, ChangeListener, ConfigQuery, ConfigSource, CoreError, Environment, ErrorKind, HealthStatus, Resource,
    SourceChange, SourceHealth,
};

use crate::{GitError, GitOptions, GitSource};

/// The placeholder a per-application URI holds.
pub const APPLICATION_PLACEHOLDER: &str = "{application}";

/// How long an application whose repository could not be cloned is answered "not found" at once,
/// before a request may try to clone it again.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(30);

/// Most failed applications remembered: the memory a flood of made-up names can take is bounded.
const MAX_REMEMBERED_FAILURES: usize = 10_000;

/// Most first clones running at once: a flood of new names cannot open connections to the git host
/// without bound; a request over it is answered 503 and may retry. A clone that timed out keeps
/// its slot until its transfer has really ended (a silent host can hold a blocking thread long
/// after the timeout), so no more than this many threads ever wait on the host.
const MAX_CONCURRENT_CLONES: usize = 4;

/// One git repository per application, cloned when the application is first asked for, each
/// with its own mirror under `basedir` and its own background fetch.
///
/// The URI's `{application}` is replaced by the application's name (`team(_)orders` is
/// `team/orders`). A repository that cannot be cloned is answered 404, as in Spring, and not
/// tried again for 30 seconds; nothing of it stays on disk. At most `max_repositories` are kept:
/// past that, new applications are answered 503, so that requests for made-up names cannot make
/// the server clone without bound.
#[derive(Clone)]
pub struct ApplicationRepos {
    inner: Arc<Inner>,
}

struct Inner {
    template: GitOptions,
    max_repositories: usize,
    /// A slot per application being cloned or open; concurrent first requests share its clone.
    repos: Mutex<HashMap<String, Arc<OnceCell<GitSource>>>>,
    /// When an application's clone last failed.
    failed: Mutex<HashMap<String, Instant>>,
    /// Permits for first clones; see [`MAX_CONCURRENT_CLONES`].
    clones: Arc<tokio::sync::Semaphore>,
    /// The open repositories and the listeners each of them tells, under one lock, so that a
    /// listener and a repository opened at the same time always meet.
    opened: Mutex<Opened>,
}

#[derive(Default)]
struct Opened {
    sources: Vec<(String, GitSource)>,
    listeners: Vec<ChangeListener>,
}

impl ApplicationRepos {
    /// A repository per application from `template`, whose `uri` holds `{application}`.
    ///
    /// # Errors
    /// [`GitError::InvalidUri`] when the URI has no `{application}`, has another placeholder, or
    /// is not a URI once the placeholder is filled in.
    pub fn new(template: GitOptions, max_repositories: usize) -> Result<Self, GitError> {
        let invalid =
            |reason: &str| GitError::InvalidUri { uri: crate::error::redact(&template.uri), reason: reason.to_owned() };
        if !template.uri.contains(APPLICATION_PLACEHOLDER) {
            return Err(invalid("has no {application} placeholder"));
        }
        if template.uri.replace(APPLICATION_PLACEHOLDER, "").contains('{') {
            return Err(invalid("only {application} may be a placeholder in the uri"));
        }
        crate::source::normalise_uri(&template.uri.replace(APPLICATION_PLACEHOLDER, "application"))?;
        Ok(Self {
            inner: Arc::new(Inner {
                template,
                max_repositories: max_repositories.max(1),
                repos: Mutex::default(),
                failed: Mutex::default(),
                clones: Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_CLONES)),
                opened: Mutex::default(),
            }),
        })
    }

    /// The applications whose repositories are open, in name order.
    pub fn applications(&self) -> Vec<String> {
        let mut names: Vec<String> = self.inner.started().into_iter().map(|(name, _)| name).collect();
        names.sort();
        names
    }

    /// The source of `query`'s application, cloned now if it is the first request for it.
    async fn source(&self, query: &ConfigQuery) -> Result<GitSource, CoreError> {
        let application = query.application.as_str();
        if query.applications().nth(1).is_some() {
            return Err(CoreError::InvalidInput {
                what: "application",
                reason: "a repository per application serves one application per request, not a list".to_owned(),
            });
        }
        let inner = &self.inner;
        if lock(&inner.failed).get(application).is_some_and(|at| at.elapsed() < RETRY_AFTER_FAILURE) {
            return Err(no_repository(application));
        }
        let cell = {
            let mut repos = lock(&inner.repos);
            let full = repos.len() >= inner.max_repositories;
            match repos.get(application) {
                Some(cell) => Arc::clone(cell),
                None if full => {
                    return Err(CoreError::Backend {
                        kind: ErrorKind::Unavailable,
                        message: format!(
                            "the server keeps at most {} application repositories (backends.git.max_repositories)",
                            inner.max_repositories
                        ),
                        source: None,
                    });
                }
                None => Arc::clone(repos.entry(application.to_owned()).or_default()),
            }
        };
        // Concurrent first requests for one application wait for one clone.
        let started = cell.get_or_try_init(|| inner.start(application)).await;
        match started {
            Ok(source) => Ok(source.clone()),
            Err(err) => {
                // Forget the attempt, so that the slot goes back to the bound.
                let mut repos = lock(&inner.repos);
                if repos.get(application).is_some_and(|current| Arc::ptr_eq(current, &cell)) {
                    repos.remove(application);
                }
                Err(err)
            }
        }
    }
}

impl Inner {
    async fn start(&self, application: &str) -> Result<GitSource, CoreError> {
        let Ok(permit) = Arc::clone(&self.clones).try_acquire_owned() else {
            return Err(CoreError::Backend {
                kind: ErrorKind::Unavailable,
                message: format!("{MAX_CONCURRENT_CLONES} application repositories are being cloned; retry shortly"),
                source: None,
            });
        };
        let options = GitOptions {
            uri: self.template.uri.replace(APPLICATION_PLACEHOLDER, application),
            clone_on_start: true,
            ..self.template.clone()
        };
        let source = GitSource::start(options).await?;
        if !source.is_ready() {
            // The clone failed (no such repository, or the remote is down): leave nothing behind.
            let reason = source.health().details["lastError"].as_str().unwrap_or("the clone failed").to_owned();
            tracing::warn!(application, error = %reason, "no repository could be cloned for the application");
            let dir = source.mirror_dir().to_path_buf();
            let transfer = source.transfer_flag();
            drop(source);
            let still_running = transfer.load(std::sync::atomic::Ordering::Acquire);
            let clean_up = async move {
                // An abandoned transfer may still write into the mirror: it keeps the slot, and the
                // directory is removed only once it has ended.
                while transfer.load(std::sync::atomic::Ordering::Acquire) {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                if let Err(err) = tokio::fs::remove_dir_all(&dir).await {
                    tracing::warn!(path = %dir.display(), error = %err, "could not remove the empty mirror");
                }
                drop(permit);
            };
            if still_running {
                tokio::spawn(clean_up);
            } else {
                clean_up.await;
            }
            remember_failure(&mut lock(&self.failed), application, Instant::now());
            return Err(no_repository(application));
        }
        tracing::info!(application, "cloned the application's repository");
        lock(&self.failed).remove(application);
        let mut opened = lock(&self.opened);
        for listener in &opened.listeners {
            source.subscribe(for_application(application, listener));
        }
        opened.sources.push((application.to_owned(), source.clone()));
        Ok(source)
    }

    fn started(&self) -> Vec<(String, GitSource)> {
        lock(&self.opened).sources.clone()
    }
}

/// Records that `application` could not be cloned at `now`. Past [`MAX_REMEMBERED_FAILURES`],
/// failures older than [`RETRY_AFTER_FAILURE`] are forgotten, and if that is not enough, all are.
fn remember_failure(failed: &mut HashMap<String, Instant>, application: &str, now: Instant) {
    if failed.len() >= MAX_REMEMBERED_FAILURES {
        failed.retain(|_, at| now.saturating_duration_since(*at) < RETRY_AFTER_FAILURE);
        if failed.len() >= MAX_REMEMBERED_FAILURES {
            failed.clear();
        }
    }
    failed.insert(application.to_owned(), now);
}

/// `listener`, told only of `application`'s changes: a push to one application's repository leaves
/// every other application's cached answers alone.
fn for_application(application: &str, listener: &ChangeListener) -> ChangeListener {
    let (application, listener) = (application.to_owned(), Arc::clone(listener));
    Arc::new(move |change: &SourceChange| listener(&change.clone().for_applications(vec![application.clone()])))
}

fn no_repository(application: &str) -> CoreError {
    CoreError::Backend {
        kind: ErrorKind::NotFound,
        message: format!("no repository for application {application:?}"),
        source: None,
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ConfigSource for ApplicationRepos {
    fn load<'a>(&'a self, query: &'a ConfigQuery) -> BoxFuture<'a, Result<Environment, CoreError>> {
        Box::pin(async move { self.source(query).await?.load(query).await })
    }

    fn resource<'a>(&'a self, query: &'a ConfigQuery, path: &'a str) -> BoxFuture<'a, Result<Resource, CoreError>> {
        Box::pin(async move { self.source(query).await?.resource(query, path).await })
    }

    fn default_label(&self) -> Option<&str> {
        Some(&self.inner.template.default_label)
    }

    /// Fetches every open repository at once; fails with the first error after all have finished.
    fn refresh(&self) -> BoxFuture<'_, Result<(), CoreError>> {
        Box::pin(crate::repos::refresh_all(self.inner.started().into_iter().map(|(_, source)| source)))
    }

    /// Subscribes `listener` to every repository open now and to every one opened later.
    fn subscribe(&self, listener: ChangeListener) {
        let mut opened = lock(&self.inner.opened);
        for (application, source) in &opened.sources {
            source.subscribe(for_application(application, &listener));
        }
        opened.listeners.push(listener);
    }

    /// Always ready (a repository is cloned when its application is asked for); degraded while an
    /// open repository cannot fetch. Each open repository is under `repositories`.
    fn health(&self) -> SourceHealth {
        let mut status = HealthStatus::Up;
        let mut repositories = serde_json::Map::new();
        for (name, source) in self.inner.started() {
            let (own, details) = crate::repos::part_health(source.health());
            status = crate::repos::with_part(status, own);
            repositories.insert(name, details);
        }
        SourceHealth {
            status,
            ready: true,
            details: serde_json::json!({
                "uri": crate::error::redact(&self.inner.template.uri),
                "defaultLabel": self.inner.template.default_label,
                "maxRepositories": self.inner.max_repositories,
                "repositories": repositories,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::{Duration, Instant};

    use super::{MAX_REMEMBERED_FAILURES, RETRY_AFTER_FAILURE, remember_failure};

    #[test]
    fn remembered_failures_stay_bounded() {
        let start = Instant::now();
        let mut failed = HashMap::new();
        for i in 0..MAX_REMEMBERED_FAILURES {
            remember_failure(&mut failed, &format!("app-{i}"), start);
        }
        assert_eq!(failed.len(), MAX_REMEMBERED_FAILURES);
        // Later, the old ones have served their time and make room.
        let later = start + RETRY_AFTER_FAILURE + Duration::from_secs(1);
        remember_failure(&mut failed, "new", later);
        assert_eq!(failed.len(), 1);
        // All young: forgotten at once rather than growing.
        for i in 0..MAX_REMEMBERED_FAILURES + 5 {
            remember_failure(&mut failed, &format!("young-{i}"), later);
        }
        assert!(failed.len() <= MAX_REMEMBERED_FAILURES, "{}", failed.len());
    }
}
