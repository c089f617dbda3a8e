//! [`GitSource`]: serves from the local mirror, keeps it fresh in the background.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use vortex_core::{
    BoxFuture, ChangeListener, ConfigQuery, ConfigSource, CoreError, Environment, HealthStatus, Listeners, Resource,
    SourceChange, SourceHealth,
};

use crate::GitError;
use crate::mirror::{self, Labels, Mirror};
use crate::tree::{self, Layout};

/// The least time between two fetches triggered by requests for unknown labels.
const ON_DEMAND_FETCH_INTERVAL: Duration = Duration::from_secs(5);
/// The first retry delay after a failed initial clone; it doubles up to the refresh interval.
const FIRST_RETRY: Duration = Duration::from_secs(1);

/// How a [`GitSource`] reaches and lays out its repository.
#[derive(Debug, Clone)]
pub struct GitOptions {
    /// The remote: `file:///abs`, a plain path, `git://`, `http(s)://` or `ssh://`.
    pub uri: String,
    /// The directory that holds the local mirror (a bare repository per remote).
    pub basedir: PathBuf,
    /// The label served when a request names none.
    pub default_label: String,
    /// Fall back to `master` when the default label is `main` and does not exist.
    pub try_master_branch: bool,
    /// Directories searched after the root; `{application}`, `{profile}`, `{label}`, `*` and `**`.
    pub search_paths: Vec<String>,
    /// Time between background fetches.
    pub refresh_interval: Duration,
    /// Longest a fetch may take before it is abandoned.
    pub timeout: Duration,
    /// Delete branches and tags that the remote no longer has.
    pub delete_untracked_branches: bool,
    /// With several labels in a request, skip one that does not exist instead of answering 404
    /// (Spring's `continue-on-multiple-label-failure`). A request with one label, or whose every
    /// label is missing, still answers 404.
    pub continue_on_multiple_label_failure: bool,
    /// Clone during [`GitSource::start`] when there is no local clone yet (bounded by `timeout`);
    /// otherwise the first clone happens in the background.
    pub clone_on_start: bool,
    /// User name and password (or token) for HTTP(S) remotes.
    pub credentials: Option<Credentials>,
    /// The command git runs for `ssh://` remotes (`core.sshCommand`), e.g. with `-i <key>`.
    /// `None` runs `ssh` with its own configuration.
    pub ssh_command: Option<String>,
    /// Where fetches are recorded; nowhere by default.
    pub metrics: vortex_metrics::GitMetrics,
}

/// HTTP(S) credentials. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name (for a token, whatever the git host expects, e.g. `x-access-token`).
    pub username: String,
    /// The password or token.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("username", &self.username).field("password", &"<redacted>").finish()
    }
}

/// A configuration backend over a git remote.
///
/// Requests are served from the commits already in the local mirror; git is never contacted on the
/// request path, except for one rate-limited fetch when a request names a label that is not known
/// yet. A background task fetches every `refresh_interval`; a fetch that fails or hangs leaves the
/// last good commits in service.
#[derive(Clone)]
pub struct GitSource {
    inner: Arc<Inner>,
}

struct Inner {
    options: GitOptions,
    /// Parsed files, shared between loads and labels.
    documents: vortex_core::config_data::DocumentCache,
    /// The URI as shown in source names and health: no trailing `/`, credentials removed.
    display_uri: String,
    dir: PathBuf,
    state: RwLock<State>,
    /// One fetch at a time per remote.
    fetch_lock: tokio::sync::Mutex<()>,
    /// Set while a fetch runs on a blocking thread. A transfer stuck in the transport outlives its
    /// timeout; no new fetch starts until it ends, so a silent remote cannot pile up threads.
    transfer_running: Arc<AtomicBool>,
    last_on_demand: std::sync::Mutex<Option<Instant>>,
    /// Told about moved labels after every fetch that moved some.
    listeners: Listeners,
}

#[derive(Default)]
struct State {
    mirror: Option<Arc<Mirror>>,
    labels: Arc<Labels>,
    /// Whether the mirror has content to serve (a fetch succeeded, or an existing clone was opened).
    ready: bool,
    last_fetch: Option<SystemTime>,
    last_error: Option<String>,
    consecutive_failures: u32,
}

/// What a fetch changed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FetchOutcome {
    /// Branches and tags that now point elsewhere, appeared or went away.
    pub moved: Vec<String>,
}

impl GitSource {
    /// Opens (or creates) the local mirror and starts the background fetch task.
    ///
    /// An existing clone is served at once, even when the remote is unreachable. Without one, the
    /// first clone runs here when `clone_on_start` is set (at most `timeout`); until a clone succeeds
    /// the source answers "unavailable", and the clone is retried in the background with backoff.
    /// Must be called within a tokio runtime.
    ///
    /// # Errors
    /// [`GitError::InvalidUri`] for a URI that cannot be used, [`GitError::Io`] when the mirror
    /// directory cannot be created.
    pub async fn start(options: GitOptions) -> Result<Self, GitError> {
        let url = normalise_uri(&options.uri)?;
        let dir = options.basedir.join(mirror_dir_name(&url));
        let display_uri = crate::error::redact(url.trim_end_matches('/'));
        let open_dir = dir.clone();
        let ssh_command = options.ssh_command.clone();
        let (opened, labels) = blocking(move || mirror::open_or_init(&open_dir, ssh_command.as_deref())).await?;
        let ready = !labels.is_empty();
        let inner = Arc::new(Inner {
            documents: vortex_core::config_data::DocumentCache::new(),
            options: GitOptions { uri: url, ..options },
            display_uri,
            dir,
            state: RwLock::new(State {
                mirror: Some(Arc::new(opened)),
                labels: Arc::new(labels),
                ready,
                ..State::default()
            }),
            fetch_lock: tokio::sync::Mutex::new(()),
            transfer_running: Arc::new(AtomicBool::new(false)),
            last_on_demand: std::sync::Mutex::new(None),
            listeners: Listeners::default(),
        });
        // Without a clone there is nothing to serve: clone now (bounded by the timeout) so that a
        // healthy remote is served from the first request. An existing clone is served at once and
        // refreshed in the background.
        let first_delay = if !ready && inner.options.clone_on_start {
            match inner.fetch().await {
                Ok(_) => inner.options.refresh_interval,
                Err(_) => FIRST_RETRY,
            }
        } else {
            Duration::ZERO
        };
        tokio::spawn(background(Arc::downgrade(&inner), first_delay));
        Ok(Self { inner })
    }

    /// Fetches now and reports which labels moved. Concurrent calls wait for one another.
    /// [Subscribers](ConfigSource::subscribe) hear about the moved labels before this returns.
    ///
    /// # Errors
    /// The fetch error; the previous commits stay in service.
    pub async fn refresh(&self) -> Result<FetchOutcome, GitError> {
        self.inner.fetch().await
    }

    /// The directory of the local mirror.
    pub(crate) fn mirror_dir(&self) -> &std::path::Path {
        &self.inner.dir
    }

    /// Set while a transfer runs on a blocking thread, also after a timeout abandoned it.
    pub(crate) fn transfer_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.inner.transfer_running)
    }

    /// Returns whether the mirror has content to serve.
    pub fn is_ready(&self) -> bool {
        self.inner.read_state(|s| s.ready)
    }

    /// Resolves each label of `query` (or the default label) to a commit, in request order.
    async fn resolve(&self, query: &ConfigQuery) -> Result<Vec<(String, gix::ObjectId)>, CoreError> {
        if !self.is_ready() {
            let reason =
                self.inner.read_state(|s| s.last_error.clone()).unwrap_or_else(|| "first clone in progress".to_owned());
            return Err(GitError::NotReady { reason }.into());
        }
        let default = self.inner.options.default_label.as_str();
        let labels = query.labels().unwrap_or_else(|| vec![default]);
        let skip_missing = labels.len() > 1 && self.inner.options.continue_on_multiple_label_failure;
        let mut resolved = Vec::with_capacity(labels.len());
        let mut first_missing = None;
        for label in labels {
            // The default label named explicitly is the same request as no label (one cache entry),
            // so the `master` fallback applies to both.
            let commit = if label == default && self.falls_back_to_master() {
                self.resolve_with_fallback(label).await
            } else {
                self.resolve_label(label).await.map(|commit| (label.to_owned(), commit))
            };
            match commit {
                Ok(commit) => resolved.push(commit),
                Err(err @ CoreError::NoSuchLabel { .. }) if skip_missing => {
                    tracing::debug!(label, "a label of several does not exist: skipped");
                    first_missing.get_or_insert(err);
                }
                Err(err) => return Err(err),
            }
        }
        match first_missing {
            Some(missing) if resolved.is_empty() => Err(missing),
            _ => Ok(resolved),
        }
    }

    fn falls_back_to_master(&self) -> bool {
        self.inner.falls_back_to_master()
    }

    /// Resolves the default label `main`, or `master` in its place. Both are looked up in the
    /// mirror before an on-demand fetch is tried: a repository that only has `master` is served
    /// without fetching on the request path, and a `main` created later arrives with the next
    /// fetch.
    async fn resolve_with_fallback(&self, label: &str) -> Result<(String, gix::ObjectId), CoreError> {
        for known in [label, "master"] {
            if let Some(commit) = self.lookup(known).await? {
                return Ok((known.to_owned(), commit));
            }
        }
        match self.resolve_label(label).await {
            Ok(commit) => Ok((label.to_owned(), commit)),
            Err(err) => match self.resolve_label("master").await {
                Ok(commit) => Ok(("master".to_owned(), commit)),
                Err(_) => Err(err),
            },
        }
    }

    /// Runs `read` on a blocking thread with that thread's repository handle and the layout.
    async fn read_at<T: Send + 'static>(
        &self,
        read: impl FnOnce(&gix::Repository, &Layout<'_>) -> Result<T, CoreError> + Send + 'static,
    ) -> Result<T, CoreError> {
        let mirror = self
            .inner
            .read_state(|s| s.mirror.clone())
            .ok_or_else(|| GitError::NotReady { reason: "no local clone".to_owned() })?;
        let inner = Arc::clone(&self.inner);
        blocking(move || {
            mirror::with_repo(&mirror, |repo| {
                let layout = Layout {
                    uri: &inner.display_uri,
                    search_paths: &inner.options.search_paths,
                    documents: &inner.documents,
                };
                read(repo, &layout)
            })
        })
        .await
    }

    async fn resolve_label(&self, label: &str) -> Result<gix::ObjectId, CoreError> {
        if let Some(commit) = self.lookup(label).await? {
            return Ok(commit);
        }
        // An unknown label may be new on the remote: fetch once, rate-limited, then look again.
        if self.inner.claim_on_demand_fetch() {
            if let Err(err) = self.inner.fetch().await {
                tracing::warn!(label, error = %err, "on-demand fetch for an unknown label failed");
            }
            if let Some(commit) = self.lookup(label).await? {
                return Ok(commit);
            }
        }
        Err(CoreError::NoSuchLabel { label: label.to_owned() })
    }

    /// Looks a label up among branches and tags, then as a full or abbreviated commit id.
    async fn lookup(&self, label: &str) -> Result<Option<gix::ObjectId>, CoreError> {
        if let Some(commit) = self.inner.read_state(|s| s.labels.get(label)) {
            return Ok(Some(commit));
        }
        let is_hex = (4..=40).contains(&label.len()) && label.bytes().all(|b| b.is_ascii_hexdigit());
        if !is_hex {
            return Ok(None);
        }
        let Some(mirror) = self.inner.read_state(|s| s.mirror.clone()) else { return Ok(None) };
        let label = label.to_owned();
        blocking(move || {
            Ok(mirror::with_repo(&mirror, |repo| {
                repo.rev_parse_single(label.as_str())
                    .ok()
                    .and_then(|id| id.object().ok())
                    .and_then(|object| object.peel_to_commit().ok())
                    .map(|commit| commit.id)
            }))
        })
        .await
    }
}

impl Inner {
    fn falls_back_to_master(&self) -> bool {
        self.options.try_master_branch && self.options.default_label == "main"
    }

    /// Tells the listeners which labels now serve other content. `moved` are refs; the default
    /// label is added when it is served from `master` through the fallback.
    fn notify(&self, moved: &[String]) {
        let mut labels = moved.to_vec();
        let default = &self.options.default_label;
        if self.falls_back_to_master() && moved.iter().any(|l| l == "master") && !labels.contains(default) {
            labels.push(default.clone());
        }
        let fallback = self.falls_back_to_master().then_some(default.as_str());
        let versions = self.read_state(|s| {
            let version = |label: &String| {
                let id = s
                    .labels
                    .get(label)
                    .or_else(|| fallback.filter(|d| d == label).and_then(|_| s.labels.get("master")));
                id.map(|id| id.to_string())
            };
            labels.iter().map(|label| (label.clone(), version(label))).collect()
        });
        self.listeners.notify(&SourceChange::of_labels(labels).with_versions(versions));
    }

    fn read_state<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        match self.state.read() {
            Ok(state) => f(&state),
            Err(poisoned) => f(&poisoned.into_inner()),
        }
    }

    fn write_state(&self, f: impl FnOnce(&mut State)) {
        match self.state.write() {
            Ok(mut state) => f(&mut state),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// Returns true, and records the time, when an on-demand fetch may run now.
    fn claim_on_demand_fetch(&self) -> bool {
        let Ok(mut last) = self.last_on_demand.lock() else { return false };
        let now = Instant::now();
        if last.is_some_and(|t| now.duration_since(t) < ON_DEMAND_FETCH_INTERVAL) {
            return false;
        }
        *last = Some(now);
        true
    }

    async fn fetch(&self) -> Result<FetchOutcome, GitError> {
        let _one_at_a_time = self.fetch_lock.lock().await;
        let started = Instant::now();
        let result = self.fetch_unlocked().await;
        self.options.metrics.fetched(started.elapsed(), result.as_ref().ok().map(|outcome| outcome.moved.len()));
        match &result {
            Ok(outcome) => {
                if !outcome.moved.is_empty() {
                    tracing::info!(remote = %self.display_uri, moved = ?outcome.moved, "git fetch moved labels");
                    // New loads already see the new commits; tell the listeners before the fetch
                    // counts as done, so nothing built from an old commit outlives it.
                    self.notify(&outcome.moved);
                }
            }
            Err(err) => {
                let message = err.to_string();
                tracing::warn!(remote = %self.display_uri, error = %message, "git fetch failed");
                self.write_state(|s| {
                    s.last_error = Some(message);
                    s.consecutive_failures = s.consecutive_failures.saturating_add(1);
                });
            }
        }
        result
    }

    async fn fetch_unlocked(&self) -> Result<FetchOutcome, GitError> {
        // The clone was deleted (or emptied) under the running server: open a new one rather than
        // fail every fetch into a directory that is gone. Until the fetch below completes, the
        // last answers stay in the response cache; the old mirror's open packs keep serving.
        let vanished = !self.dir.join("objects").is_dir();
        if vanished && self.read_state(|s| s.mirror.is_some()) {
            tracing::warn!(path = %self.dir.display(), "the local clone disappeared: cloning again");
            self.write_state(|s| s.mirror = None);
        }
        let mirror = match self.read_state(|s| s.mirror.clone()) {
            Some(mirror) => mirror,
            None => {
                let dir = self.dir.clone();
                let ssh_command = self.options.ssh_command.clone();
                let (opened, _) = blocking(move || mirror::open_or_init(&dir, ssh_command.as_deref())).await?;
                let opened = Arc::new(opened);
                self.write_state(|s| s.mirror = Some(Arc::clone(&opened)));
                opened
            }
        };
        // A transfer abandoned at its timeout ends on its own within about one more timeout (its
        // socket reads time out too): wait for it rather than fail while it winds down.
        let waited = Instant::now();
        while self.transfer_running.swap(true, Ordering::AcqRel) {
            if waited.elapsed() > self.options.timeout {
                return Err(GitError::op_msg("fetch", "the previous fetch is still waiting for the remote"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let running = Arc::clone(&self.transfer_running);
        let interrupt = Arc::new(AtomicBool::new(false));
        let (url, prune) = (self.options.uri.clone(), self.options.delete_untracked_branches);
        let credentials = self.options.credentials.clone();
        let fetch_mirror = Arc::clone(&mirror);
        let flag = Arc::clone(&interrupt);
        let timeout = self.options.timeout;
        let task = blocking(move || {
            let result = mirror::fetch(&fetch_mirror, &url, prune, credentials.as_ref(), timeout, &flag)
                .and_then(|()| mirror::read_labels(&fetch_mirror));
            running.store(false, Ordering::Release);
            result
        });
        let labels = match tokio::time::timeout(timeout, task).await {
            Ok(fetched) => fetched?,
            Err(_) => {
                // Ask the transfer to stop; the blocking thread ends on its own.
                interrupt.store(true, Ordering::Relaxed);
                return Err(GitError::Timeout { operation: "fetch", seconds: timeout.as_secs() });
            }
        };
        let mut moved = Vec::new();
        let labels = Arc::new(labels);
        self.write_state(|s| {
            moved = s.labels.moved(&labels);
            s.labels = labels;
            s.ready = true;
            s.last_fetch = Some(SystemTime::now());
            s.last_error = None;
            s.consecutive_failures = 0;
        });
        Ok(FetchOutcome { moved })
    }
}

/// Fetches at start (retrying with backoff while there is nothing to serve), then every interval.
async fn background(inner: Weak<Inner>, first_delay: Duration) {
    let mut delay = first_delay;
    loop {
        tokio::time::sleep(delay).await;
        let Some(inner) = inner.upgrade() else { return };
        let interval = inner.options.refresh_interval;
        let result = inner.fetch().await;
        delay = match result {
            Ok(_) => interval,
            Err(_) if !inner.read_state(|s| s.ready) => {
                let failures = inner.read_state(|s| s.consecutive_failures).min(16);
                FIRST_RETRY.saturating_mul(1 << failures.saturating_sub(1)).min(interval)
            }
            Err(_) => interval,
        };
    }
}

impl ConfigSource for GitSource {
    fn load<'a>(&'a self, query: &'a ConfigQuery) -> BoxFuture<'a, Result<Environment, CoreError>> {
        Box::pin(async move {
            let resolved = self.resolve(query).await?;
            let versions: Vec<String> = resolved.iter().map(|(_, id)| id.to_string()).collect();
            let query_owned = query.clone();
            let property_sources = self
                .read_at(move |repo, layout| {
                    // Labels are processed from last to first, so the last label's sources come first.
                    let mut sources = Vec::new();
                    for (label, commit) in resolved.iter().rev() {
                        sources.extend(tree::load_sources(repo, *commit, label, &query_owned, layout)?);
                    }
                    Ok(sources)
                })
                .await?;
            Ok(Environment {
                name: query.application.clone(),
                profiles: vec![query.profiles_joined()],
                label: query.label.clone(),
                version: Some(versions.join(",")),
                state: Some(String::new()),
                property_sources,
            })
        })
    }

    fn resource<'a>(&'a self, query: &'a ConfigQuery, path: &'a str) -> BoxFuture<'a, Result<Resource, CoreError>> {
        Box::pin(async move {
            let resolved = self.resolve(query).await?;
            let (query_owned, path_owned) = (query.clone(), path.to_owned());
            self.read_at(move |repo, layout| {
                for (label, commit) in resolved.iter().rev() {
                    if let Some(bytes) = tree::read_resource(repo, *commit, label, &query_owned, &path_owned, layout)? {
                        return Ok(Resource { bytes, version: Some(commit.to_string()) });
                    }
                }
                Err(CoreError::NoSuchResource { path: path_owned.clone() })
            })
            .await
        })
    }

    fn default_label(&self) -> Option<&str> {
        Some(&self.inner.options.default_label)
    }

    fn refresh(&self) -> BoxFuture<'_, Result<(), CoreError>> {
        Box::pin(async move { self.inner.fetch().await.map(|_| ()).map_err(CoreError::from) })
    }

    fn subscribe(&self, listener: ChangeListener) {
        self.inner.listeners.subscribe(listener);
    }

    fn health(&self) -> SourceHealth {
        self.inner.read_state(|s| {
            let status = match (s.ready, &s.last_error) {
                (false, _) => HealthStatus::Down,
                (true, Some(_)) => HealthStatus::Degraded,
                (true, None) => HealthStatus::Up,
            };
            let epoch = |t: SystemTime| t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).ok();
            let age = s.last_fetch.and_then(|t| SystemTime::now().duration_since(t).ok()).map(|d| d.as_secs());
            let branches: serde_json::Map<String, serde_json::Value> =
                s.labels.branches.iter().map(|(k, v)| (k.clone(), v.to_string().into())).collect();
            let tags: serde_json::Map<String, serde_json::Value> =
                s.labels.tags.iter().map(|(k, v)| (k.clone(), v.to_string().into())).collect();
            SourceHealth {
                status,
                ready: s.ready,
                details: serde_json::json!({
                    "uri": self.inner.display_uri,
                    "defaultLabel": self.inner.options.default_label,
                    "branches": branches,
                    "tags": tags,
                    "lastFetchEpochSeconds": s.last_fetch.and_then(epoch),
                    "secondsSinceLastFetch": age,
                    "lastError": s.last_error,
                    "consecutiveFailures": s.consecutive_failures,
                }),
            }
        })
    }
}

/// Accepts the URI forms of the settings and returns what gix connects to.
pub(crate) fn normalise_uri(uri: &str) -> Result<String, GitError> {
    let trimmed = uri.trim();
    let invalid = |reason: &str| GitError::InvalidUri { uri: crate::error::redact(uri), reason: reason.to_owned() };
    if trimmed.is_empty() {
        return Err(invalid("is empty"));
    }
    if trimmed.contains('{') {
        return Err(invalid("placeholders in the uri are not supported"));
    }
    if let Some((scheme, _)) = trimmed.split_once("://") {
        if !["file", "git", "http", "https", "ssh", "git+ssh"].contains(&scheme) {
            return Err(invalid("unsupported scheme"));
        }
        gix::url::parse(gix::bstr::BStr::new(trimmed)).map_err(|e| invalid(&e.to_string()))?;
        return Ok(trimmed.trim_end_matches('/').to_owned());
    }
    // A plain path: make it absolute so the mirror does not depend on the working directory.
    let path = std::path::Path::new(trimmed);
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map_err(|e| invalid(&e.to_string()))?.join(path)
    };
    Ok(absolute.display().to_string())
}

/// A directory name for the mirror of `url`: readable, and distinct per remote.
fn mirror_dir_name(url: &str) -> String {
    let readable: String = crate::error::redact(url)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' })
        .collect();
    let readable = readable.trim_matches('_');
    let tail: String = readable.chars().rev().take(48).collect::<Vec<_>>().into_iter().rev().collect();
    // FNV-1a keeps two URLs with the same tail apart without another dependency.
    let hash = url.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    format!("{tail}-{hash:016x}.git")
}

/// The git backend's one way to run blocking work (gitoxide's blocking client, object reads) on
/// tokio's blocking pool; a panicked task is an error of the operation, never a panic here.
async fn blocking<T, E>(work: impl FnOnce() -> Result<T, E> + Send + 'static) -> Result<T, E>
where
    T: Send + 'static,
    E: From<GitError> + Send + 'static,
{
    tokio::task::spawn_blocking(work).await.map_err(|join| E::from(join_error(join)))?
}

pub(crate) fn join_error(err: tokio::task::JoinError) -> GitError {
    GitError::op_msg("task", err)
}
