//! The [`ConfigSource`] trait every backend implements.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::{ConfigQuery, CoreError, Environment};

/// A boxed, sendable future, so that [`ConfigSource`] stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A plain-text or binary file served by the resource endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// The file's bytes, unmodified.
    pub bytes: Vec<u8>,
    /// The version of the repository the file was read from, when the backend has one.
    pub version: Option<String>,
}

/// How well a backend is doing, as reported by the health endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HealthStatus {
    /// Serving fresh configuration.
    Up,
    /// Serving, but something is wrong (for example, fetches fail and content may be stale).
    Degraded,
    /// Not able to serve.
    Down,
}

/// A backend's health: its status, whether it is ready to serve, and backend-specific details.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SourceHealth {
    /// The overall status.
    pub status: HealthStatus,
    /// Whether the backend has loaded what it needs to answer requests.
    pub ready: bool,
    /// Backend-specific details (locations, commits, last fetch, errors).
    pub details: serde_json::Value,
}

/// A backend that answers configuration queries.
///
/// Implementations must be cheap to call concurrently: the server calls them from many tasks, and a
/// cache may sit in front of them. Neither method may block the calling thread for long; blocking
/// work belongs on a blocking thread pool.
pub trait ConfigSource: Send + Sync + 'static {
    /// Loads the environment for `query`, property sources highest precedence first.
    fn load<'a>(&'a self, query: &'a ConfigQuery) -> BoxFuture<'a, Result<Environment, CoreError>>;

    /// Finds the plain-text resource `path` for `query` (see `docs/compatibility.md`) and returns its bytes.
    fn resource<'a>(&'a self, query: &'a ConfigQuery, path: &'a str) -> BoxFuture<'a, Result<Resource, CoreError>>;

    /// Reports the backend's health. Must be cheap: no I/O beyond reading in-memory state or
    /// checking that a directory exists.
    fn health(&self) -> SourceHealth;

    /// The label served when a query names none, if the backend has labels.
    ///
    /// A query without a label and one naming this label must get the same answer (apart from the
    /// `label` field), so that a cache can treat them as one entry.
    fn default_label(&self) -> Option<&str> {
        None
    }

    /// Brings the backend up to date with its origin now (a git fetch), and tells the
    /// [subscribers](ConfigSource::subscribe) what changed before it returns. The default does
    /// nothing: a backend that reads its files on every load is always up to date.
    fn refresh(&self) -> BoxFuture<'_, Result<(), CoreError>> {
        Box::pin(std::future::ready(Ok(())))
    }

    /// Registers `listener`, called synchronously each time the backend starts serving different
    /// content for some labels, after new loads see the new content and before the update counts
    /// as done. Listeners must be quick and must not block. The default keeps no listeners.
    fn subscribe(&self, listener: ChangeListener) {
        let _ = listener;
    }
}

/// What a backend changed: the labels whose content moved (a branch or tag now at another commit,
/// created or deleted), or everything, for a backend that cannot tell which labels a change touched
/// (a file edited in a native search location).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SourceChange {
    /// The labels affected, as queries name them.
    pub labels: Vec<String>,
    /// Whether every label may have changed: what was loaded before is stale, whatever its label.
    pub everything: bool,
    /// When set, only these applications' content changed (a backend with a repository per
    /// application); otherwise any application's may have.
    pub applications: Option<Vec<String>>,
    /// The version each moved label serves now (a commit id; `None` for a deleted label), when the
    /// backend has versions. Told to peers, never used to choose what is served.
    pub versions: Vec<(String, Option<String>)>,
}

impl SourceChange {
    /// A change of `labels`.
    pub fn of_labels(labels: Vec<String>) -> Self {
        Self { labels, everything: false, applications: None, versions: Vec::new() }
    }

    /// A change that may touch every label.
    pub fn everything() -> Self {
        Self { labels: Vec::new(), everything: true, applications: None, versions: Vec::new() }
    }

    /// The same change, with the version each label serves now.
    #[must_use]
    pub fn with_versions(mut self, versions: Vec<(String, Option<String>)>) -> Self {
        self.versions = versions;
        self
    }

    /// The same change, narrowed to the applications in `applications`.
    #[must_use]
    pub fn for_applications(mut self, applications: Vec<String>) -> Self {
        self.applications = Some(applications);
        self
    }

    /// One change covering `self` and `other`: the labels of both, the later version of each
    /// label, everything when either is, and the applications of both (all when either concerns all).
    #[must_use]
    pub fn merge(mut self, other: &Self) -> Self {
        self.everything |= other.everything;
        for label in &other.labels {
            if !self.labels.contains(label) {
                self.labels.push(label.clone());
            }
        }
        for (label, version) in &other.versions {
            self.versions.retain(|(l, _)| l != label);
            self.versions.push((label.clone(), version.clone()));
        }
        self.applications = match (self.applications.take(), &other.applications) {
            (Some(mut names), Some(more)) => {
                for name in more {
                    if !names.contains(name) {
                        names.push(name.clone());
                    }
                }
                Some(names)
            }
            _ => None,
        };
        self
    }

    /// Whether content of `application` may have changed.
    pub fn concerns_application(&self, application: &str) -> bool {
        self.applications.as_ref().is_none_or(|names| names.iter().any(|name| name == application))
    }
}

#[cfg(test)]
mod tests {
    use super::SourceChange;

    #[test]
    fn changes_merge_into_one() {
        let a = SourceChange::of_labels(vec!["main".to_owned()])
            .with_versions(vec![("main".to_owned(), Some("1".to_owned()))])
            .for_applications(vec!["orders".to_owned()]);
        let b = SourceChange::of_labels(vec!["main".to_owned(), "v1".to_owned()])
            .with_versions(vec![("main".to_owned(), Some("2".to_owned()))])
            .for_applications(vec!["billing".to_owned()]);
        let merged = a.clone().merge(&b);
        assert_eq!(merged.labels, ["main", "v1"]);
        assert_eq!(merged.versions, [("main".to_owned(), Some("2".to_owned()))]);
        assert_eq!(merged.applications, Some(vec!["orders".to_owned(), "billing".to_owned()]));
        let everything = a.merge(&SourceChange::everything());
        assert!(everything.everything && everything.applications.is_none());
    }
}

/// A callback for [`SourceChange`]s; see [`ConfigSource::subscribe`].
pub type ChangeListener = Arc<dyn Fn(&SourceChange) + Send + Sync>;

/// The subscribers of a backend's change notifications: what every backend keeps for
/// [`ConfigSource::subscribe`], in one place.
///
/// A listener is called outside the lock, so it may subscribe others. A panic while the lock was
/// held (which no code here can cause: each operation is one push or one clone) does not lose the
/// list: a poisoned lock is used as it is, the policy of every lock of this workspace whose data
/// stays consistent whatever happens.
#[derive(Default)]
pub struct Listeners(std::sync::RwLock<Vec<ChangeListener>>);

impl std::fmt::Debug for Listeners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listeners").field("count", &self.snapshot().len()).finish()
    }
}

impl Listeners {
    /// Adds `listener`.
    pub fn subscribe(&self, listener: ChangeListener) {
        self.0.write().unwrap_or_else(std::sync::PoisonError::into_inner).push(listener);
    }

    /// Calls every listener with `change`, in the order they subscribed.
    pub fn notify(&self, change: &SourceChange) {
        for listener in self.snapshot() {
            listener(change);
        }
    }

    fn snapshot(&self) -> Vec<ChangeListener> {
        self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

/// A [`ConfigSource`] that changes what another source loads (or the resources it reads) and
/// nothing else: its health, default label, refresh and change notifications are the inner
/// source's. Every such decorator (metrics, post-processing, the cache) implements this trait
/// instead of [`ConfigSource`], which a blanket implementation provides, so the forwarding of the
/// methods a decorator does not change is written once.
///
/// ```
/// use vortex_core::{BoxFuture, ConfigQuery, ConfigSource, CoreError, Decorator, Environment};
///
/// /// Counts loads.
/// struct Counting<S> { inner: S, loads: std::sync::atomic::AtomicU64 }
///
/// impl<S: ConfigSource> Decorator for Counting<S> {
///     fn inner(&self) -> &dyn ConfigSource {
///         &self.inner
///     }
///
///     fn decorate_load<'a>(&'a self, query: &'a ConfigQuery) -> BoxFuture<'a, Result<Environment, CoreError>> {
///         self.loads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
///         self.inner.load(query)
///     }
/// }
/// ```
pub trait Decorator: Send + Sync + 'static {
    /// The decorated source, which answers everything this decorator does not change.
    fn inner(&self) -> &dyn ConfigSource;

    /// [`ConfigSource::load`] through this decorator; the default is the inner source's.
    fn decorate_load<'a>(&'a self, query: &'a ConfigQuery) -> BoxFuture<'a, Result<Environment, CoreError>> {
        self.inner().load(query)
    }

    /// [`ConfigSource::resource`] through this decorator; the default is the inner source's.
    fn decorate_resource<'a>(
        &'a self,
        query: &'a ConfigQuery,
        path: &'a str,
    ) -> BoxFuture<'a, Result<Resource, CoreError>> {
        self.inner().resource(query, path)
    }
}

impl<D: Decorator> ConfigSource for D {
    fn load<'a>(&'a self, query: &'a ConfigQuery) -> BoxFuture<'a, Result<Environment, CoreError>> {
        self.decorate_load(query)
    }

    fn resource<'a>(&'a self, query: &'a ConfigQuery, path: &'a str) -> BoxFuture<'a, Result<Resource, CoreError>> {
        self.decorate_resource(query, path)
    }

    fn health(&self) -> SourceHealth {
        self.inner().health()
    }

    fn default_label(&self) -> Option<&str> {
        self.inner().default_label()
    }

    fn refresh(&self) -> BoxFuture<'_, Result<(), CoreError>> {
        self.inner().refresh()
    }

    fn subscribe(&self, listener: ChangeListener) {
        self.inner().subscribe(listener);
    }
}

impl<T: ConfigSource + ?Sized> ConfigSource for Arc<T> {
    fn load<'a>(&'a self, query: &'a ConfigQuery) -> BoxFuture<'a, Result<Environment, CoreError>> {
        (**self).load(query)
    }

    fn resource<'a>(&'a self, query: &'a ConfigQuery, path: &'a str) -> BoxFuture<'a, Result<Resource, CoreError>> {
        (**self).resource(query, path)
    }

    fn health(&self) -> SourceHealth {
        (**self).health()
    }

    fn default_label(&self) -> Option<&str> {
        (**self).default_label()
    }

    fn refresh(&self) -> BoxFuture<'_, Result<(), CoreError>> {
        (**self).refresh()
    }

    fn subscribe(&self, listener: ChangeListener) {
        (**self).subscribe(listener);
    }
}
