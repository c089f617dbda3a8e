//! Held reads (long-polls): a read with `?wait=<seconds>` and `If-None-Match` is answered at once
//! when its entity tag differs, and otherwise held until its representation changes (200) or the
//! wait ends (304).
//!
//! Every change the server learns of (a fetch that moved labels, the native watcher, `/monitor`,
//! the admin API, a change a peer announced over the bus) goes through [`Watch::changed`], after the
//! cache has dropped what it made stale. It wakes the requests held for the applications it
//! concerns (all of them when it names none); each recomputes its answer through the cache, so ten
//! thousand requests held on one key cost one load, and answers only if its entity tag really
//! changed: a change elsewhere in the repository wakes, recomputes a 304 and goes back to waiting.
//! A held request costs no thread and no CPU while it waits: a task and three registrations.
//!
//! No wake-up is lost: a request reads the generation of what it waits on before it computes its
//! answer, registers for notifications, and then checks the generations again before it sleeps.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::Poll;
use std::time::{Duration, Instant};

use axum::http::header::{IF_NONE_MATCH, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tokio::sync::Notify;
use vortex_core::SourceChange;
use vortex_metrics::WatchMetrics;

use crate::error::{ApiError, ErrorCode};

/// The held reads of a server, or nothing when `watch.enabled` is false.
#[derive(Clone, Default)]
pub(crate) struct Watch {
    hub: Option<Arc<Hub>>,
}

/// How reads are held (`watch.*`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct WatchConfig {
    /// Whether `?wait=` holds at all.
    pub(crate) enabled: bool,
    /// The longest hold, before jitter.
    pub(crate) max_wait: Duration,
    /// Requests held at once.
    pub(crate) max_watchers: usize,
}

impl Default for WatchConfig {
    fn default() -> Self {
        Self::from_settings(&vortex_settings::WatchSettings::default())
    }
}

impl WatchConfig {
    /// The `watch` settings.
    pub(crate) fn from_settings(settings: &vortex_settings::WatchSettings) -> Self {
        Self {
            enabled: settings.enabled,
            max_wait: Duration::from_secs(settings.max_wait_seconds),
            max_watchers: settings.max_watchers,
        }
    }
}

/// What held requests wait on.
struct Hub {
    config: WatchConfig,
    /// Held now, of both kinds: what `max_watchers` bounds.
    held: AtomicUsize,
    /// One entry per application someone waits for now.
    applications: Mutex<HashMap<String, Weak<Entry>>>,
    /// Changes that concern every application.
    everything: Arc<Entry>,
    /// The server stops: every held request answers.
    stop: Arc<Entry>,
    stopping: AtomicBool,
    metrics: WatchMetrics,
}

/// A generation, bumped by each change, and the requests waiting for the next one.
#[derive(Default)]
struct Entry {
    generation: AtomicU64,
    notify: Notify,
}

impl Entry {
    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.notify.notify_waiters();
    }
}

/// A watch refused because `max` are held already.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TooManyWatches {
    max: usize,
}

impl IntoResponse for TooManyWatches {
    /// 503 with a `Retry-After` of 1 to 3 s at random, so that refused clients do not come back
    /// together.
    fn into_response(self) -> Response {
        let message = format!("the server holds its limit of {} watches (watch.max_watchers); retry shortly", self.max);
        let mut response = ApiError::new(ErrorCode::Overloaded, message).into_response();
        if let Ok(value) = HeaderValue::from_str(&(1 + random() % 3).to_string()) {
            response.headers_mut().insert(RETRY_AFTER, value);
        }
        response
    }
}

/// A held request's place under `watch.max_watchers`, given back when it is dropped.
pub(crate) struct Held {
    hub: Arc<Hub>,
    stream: bool,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.hub.held.fetch_sub(1, Ordering::AcqRel);
        self.hub.metrics.left(self.stream);
    }
}

impl Watch {
    /// Held reads as `config` says, reporting into `metrics`.
    pub(crate) fn new(config: WatchConfig, metrics: WatchMetrics) -> Self {
        let hub = config.enabled.then(|| {
            Arc::new(Hub {
                config,
                held: AtomicUsize::new(0),
                applications: Mutex::new(HashMap::new()),
                everything: Arc::default(),
                stop: Arc::default(),
                stopping: AtomicBool::new(false),
                metrics,
            })
        });
        Self { hub }
    }

    /// Wakes the requests held for what `change` concerns.
    pub(crate) fn changed(&self, change: &SourceChange) {
        let Some(hub) = &self.hub else { return };
        match &change.applications {
            None => hub.everything.bump(),
            Some(names) => {
                let entries: Vec<Arc<Entry>> = {
                    let applications = hub.applications.lock().unwrap_or_else(PoisonError::into_inner);
                    names.iter().filter_map(|name| applications.get(name)?.upgrade()).collect()
                };
                for entry in entries {
                    entry.bump();
                }
            }
        }
    }

    /// Answers every held request (304) and holds no more: the server drains.
    pub(crate) fn stop(&self) {
        if let Some(hub) = &self.hub {
            hub.stopping.store(true, Ordering::Release);
            hub.stop.bump();
        }
    }

    /// How long a request that asks for `seconds` may wait, before jitter, when it is a watch:
    /// `?wait=` with `If-None-Match`, on a server that holds reads and is not stopping.
    pub(crate) fn hold_for(&self, seconds: Option<u64>, headers: &HeaderMap) -> Option<Duration> {
        let hub = self.hub.as_ref()?;
        let seconds = seconds.filter(|s| *s > 0)?;
        if !headers.contains_key(IF_NONE_MATCH) || hub.stopping.load(Ordering::Acquire) {
            return None;
        }
        Some(Duration::from_secs(seconds).min(hub.config.max_wait))
    }

    /// Whether `uri` and `headers` make a watch that the edge must admit as one: no request
    /// slot, no request timeout, a place under `watch.max_watchers`.
    pub(crate) fn is_watch(&self, uri: &Uri, headers: &HeaderMap) -> bool {
        self.hub.is_some() && headers.contains_key(IF_NONE_MATCH) && wait_parameter(uri.query()).is_some()
    }

    /// The longest a watch can take, for the edge's timer: the longest hold with its jitter.
    pub(crate) fn longest(&self) -> Duration {
        self.hub.as_ref().map_or(Duration::ZERO, |hub| hub.config.max_wait + hub.config.max_wait / 16)
    }

    /// A place for a long-poll (or, with `stream`, an event stream), or the refusal over
    /// `watch.max_watchers`.
    pub(crate) fn enter(&self, stream: bool) -> Result<Option<Held>, TooManyWatches> {
        let Some(hub) = &self.hub else { return Ok(None) };
        let held = hub.held.fetch_add(1, Ordering::AcqRel);
        if held >= hub.config.max_watchers {
            hub.held.fetch_sub(1, Ordering::AcqRel);
            hub.metrics.refused();
            return Err(TooManyWatches { max: hub.config.max_watchers });
        }
        hub.metrics.entered(stream);
        Ok(Some(Held { hub: Arc::clone(hub), stream }))
    }

    /// Holds a read: answers with `compute` at once when it is not a 304; otherwise waits for a
    /// change of `applications` (then computes again) until `wait` (plus jitter of up to a
    /// sixteenth of the longest hold) has passed or the server stops, and answers the 304.
    pub(crate) async fn hold<F, Fut>(
        &self,
        applications: &[&str],
        wait: Duration,
        mut compute: F,
    ) -> Result<Response, ApiError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Response, ApiError>>,
    {
        let Some(hub) = &self.hub else { return compute().await };
        let jitter = hub.config.max_wait.as_millis() / 16;
        let jitter = Duration::from_millis(u64::try_from(u128::from(random()) % jitter.max(1)).unwrap_or(0));
        let until = tokio::time::Instant::now() + wait + jitter;
        let mut waiter = Waiter::new(hub, applications);
        let mut woken: Option<Instant> = None;
        loop {
            waiter.mark();
            let response = compute().await?;
            if response.status() != StatusCode::NOT_MODIFIED {
                if let Some(woken) = woken {
                    hub.metrics.delivered(woken.elapsed());
                }
                return Ok(response);
            }
            match waiter.wait(until).await {
                Woke::Changed => {
                    hub.metrics.woken();
                    woken = Some(Instant::now());
                }
                Woke::Timeout | Woke::Stopped => {
                    hub.metrics.timed_out();
                    return Ok(response);
                }
            }
        }
    }

    /// A waiter for changes of `applications`, for a stream; `None` when reads are not held.
    pub(crate) fn waiter(&self, applications: &[&str]) -> Option<Waiter> {
        self.hub.as_ref().map(|hub| Waiter::new(hub, applications))
    }
}

/// Why a [`Waiter`] stopped waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Woke {
    /// Something it waits on changed since [`Waiter::mark`].
    Changed,
    /// The deadline passed.
    Timeout,
    /// The server stops.
    Stopped,
}

/// What one held read or stream waits on: its applications' entries, every-application changes and
/// the stop, with the generations it last saw.
pub(crate) struct Waiter {
    hub: Arc<Hub>,
    entries: Vec<Arc<Entry>>,
    seen: Vec<u64>,
}

impl Waiter {
    fn new(hub: &Arc<Hub>, applications: &[&str]) -> Self {
        let mut entries: Vec<Arc<Entry>> = applications.iter().map(|name| hub.entry(name)).collect();
        entries.extend([Arc::clone(&hub.everything), Arc::clone(&hub.stop)]);
        Self { hub: Arc::clone(hub), seen: vec![0; entries.len()], entries }
    }

    /// Records the generations now: call it before computing an answer, so that a change while
    /// it is computed wakes the next [`wait`](Self::wait) at once.
    pub(crate) fn mark(&mut self) {
        for (seen, entry) in self.seen.iter_mut().zip(&self.entries) {
            *seen = entry.generation.load(Ordering::Acquire);
        }
    }

    /// Waits until something changed since the last [`mark`](Self::mark), `until`, or the stop.
    pub(crate) async fn wait(&self, until: tokio::time::Instant) -> Woke {
        if self.hub.stopping.load(Ordering::Acquire) {
            return Woke::Stopped;
        }
        let mut waits: Vec<Pin<Box<tokio::sync::futures::Notified<'_>>>> =
            self.entries.iter().map(|e| Box::pin(e.notify.notified())).collect();
        for wait in &mut waits {
            wait.as_mut().enable();
        }
        let moved = self.entries.iter().zip(&self.seen).any(|(e, seen)| e.generation.load(Ordering::Acquire) != *seen);
        if !moved {
            let any = std::future::poll_fn(|cx| {
                if waits.iter_mut().any(|wait| wait.as_mut().poll(cx).is_ready()) {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            });
            tokio::select! {
                () = any => {}
                () = tokio::time::sleep_until(until) => return Woke::Timeout,
            }
        }
        if self.hub.stopping.load(Ordering::Acquire) { Woke::Stopped } else { Woke::Changed }
    }

    /// Counts a wake-up that led to a new answer `after` the change.
    pub(crate) fn delivered(&self, after: Duration) {
        self.hub.metrics.woken();
        self.hub.metrics.delivered(after);
    }
}

impl Hub {
    /// The entry of `application`, made when no one waits for it yet.
    fn entry(&self, application: &str) -> Arc<Entry> {
        let mut applications = self.applications.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = applications.get(application).and_then(Weak::upgrade) {
            return entry;
        }
        // Entries of applications no one waits for any more go as new ones come.
        if applications.len() >= 64 && applications.len().is_power_of_two() {
            applications.retain(|_, entry| entry.strong_count() > 0);
        }
        let entry = Arc::new(Entry::default());
        applications.insert(application.to_owned(), Arc::downgrade(&entry));
        entry
    }
}

/// The value of `wait` in a query string, when there is one.
pub(crate) fn wait_parameter(query: Option<&str>) -> Option<&str> {
    query?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == "wait").then_some(value)
    })
}

/// A number that differs from call to call, for jitter: no cryptographic quality needed.
fn random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(Instant::now().elapsed().as_nanos());
    hasher.finish()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_wait_parameter_is_found_among_others() {
        assert_eq!(super::wait_parameter(Some("resolvePlaceholders=false&wait=30")), Some("30"));
        assert_eq!(super::wait_parameter(Some("wait")), Some(""));
        assert_eq!(super::wait_parameter(Some("waiting=3")), None);
        assert_eq!(super::wait_parameter(None), None);
    }
}
