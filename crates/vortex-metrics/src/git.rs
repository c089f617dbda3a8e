//! The git backend's handles.

use std::time::{SystemTime, UNIX_EPOCH};

use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Key, Label, Recorder};

use crate::names;
use crate::registry::{METADATA, Metrics};

/// The git backend's handles; see [`Metrics::git`].
#[derive(Clone)]
pub struct GitMetrics {
    ok: Counter,
    failed: Counter,
    seconds: Histogram,
    last_success: Gauge,
    labels_moved: Counter,
}

impl Default for GitMetrics {
    fn default() -> Self {
        Metrics::disabled().git()
    }
}

impl std::fmt::Debug for GitMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GitMetrics")
    }
}

impl GitMetrics {
    /// Records a fetch that took `took` and moved `moved` labels (`None` when it failed).
    pub fn fetched(&self, took: Duration, moved: Option<usize>) {
        self.seconds.record(took);
        match moved {
            Some(moved) => {
                self.ok.increment(1);
                self.labels_moved.increment(u64::try_from(moved).unwrap_or(u64::MAX));
                let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
                self.last_success.set(now.as_secs_f64());
            }
            None => self.failed.increment(1),
        }
    }
}

impl Metrics {
    /// The git backend's handles, for its only (or its default) repository: the same as
    /// [`git_repository`](Self::git_repository) with [`names::DEFAULT_REPOSITORY`].
    pub fn git(&self) -> GitMetrics {
        self.git_repository(names::DEFAULT_REPOSITORY)
    }

    /// The handles of one repository of the git backend, labelled `repository` with its name (a
    /// pattern repository's name from the settings: a small set an operator chose, never a value
    /// a client sends).
    pub fn git_repository(&self, repository: &str) -> GitMetrics {
        let Some(recorder) = &self.recorder else {
            return GitMetrics {
                ok: Counter::noop(),
                failed: Counter::noop(),
                seconds: Histogram::noop(),
                last_success: Gauge::noop(),
                labels_moved: Counter::noop(),
            };
        };
        let key = |name: &'static str, result: Option<&'static str>| {
            let mut labels = vec![Label::new("repository", repository.to_owned())];
            labels.extend(result.map(|result| Label::from_static_parts("result", result)));
            Key::from_parts(name, labels)
        };
        GitMetrics {
            ok: recorder.register_counter(&key(names::GIT_FETCHES, Some("ok")), &METADATA),
            failed: recorder.register_counter(&key(names::GIT_FETCHES, Some("error")), &METADATA),
            seconds: recorder.register_histogram(&key(names::GIT_FETCH_DURATION, None), &METADATA),
            last_success: recorder.register_gauge(&key(names::GIT_LAST_SUCCESS, None), &METADATA),
            labels_moved: recorder.register_counter(&key(names::GIT_LABELS_MOVED, None), &METADATA),
        }
    }
}
