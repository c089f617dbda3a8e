//! A "remote" repository driven with the git command line, and a source over it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use vortex_core::{ConfigQuery, ConfigSource, CoreError, Environment, Value};
use vortex_git::{GitOptions, GitSource};

/// A non-bare repository standing in for the remote; commits are made in its working tree.
pub(crate) struct Remote {
    pub(crate) dir: tempfile::TempDir,
}

impl Remote {
    pub(crate) fn new(branch: &str) -> Self {
        let remote = Self { dir: tempfile::tempdir().unwrap() };
        remote.git(&["init", "-q", "-b", branch]);
        remote
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn uri(&self) -> String {
        format!("file://{}", self.path().display())
    }

    pub(crate) fn git(&self, args: &[&str]) -> String {
        let output = Command::new("git")
            .args([
                "-c",
                "user.name=Vortex Test",
                "-c",
                "user.email=test@vortex.invalid",
                "-c",
                "commit.gpgsign=false",
                "-c",
                "tag.gpgsign=false",
            ])
            .args(args)
            .current_dir(self.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.path())
            .output()
            .unwrap();
        assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    }

    /// Writes `files` and commits them; returns the commit id.
    pub(crate) fn commit(&self, files: &[(&str, &str)], message: &str) -> String {
        for (path, text) in files {
            let full = self.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, text).unwrap();
        }
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }
}

pub(crate) fn options(uri: &str, basedir: &Path) -> GitOptions {
    GitOptions {
        uri: uri.to_owned(),
        basedir: basedir.to_path_buf(),
        default_label: "main".to_owned(),
        try_master_branch: true,
        search_paths: Vec::new(),
        // Tests fetch explicitly with `refresh()`; the background task stays out of the way.
        refresh_interval: Duration::from_secs(3600),
        timeout: Duration::from_secs(10),
        delete_untracked_branches: false,
        continue_on_multiple_label_failure: false,
        clone_on_start: true,
        credentials: None,
        ssh_command: None,
        metrics: vortex_metrics::GitMetrics::default(),
    }
}

/// Starts a source and waits for its first fetch.
pub(crate) async fn started(options: GitOptions) -> GitSource {
    let source = GitSource::start(options).await.unwrap();
    source.refresh().await.unwrap();
    source
}

pub(crate) async fn load(
    source: &GitSource,
    app: &str,
    profiles: &str,
    label: Option<&str>,
) -> Result<Environment, CoreError> {
    source.load(&ConfigQuery::parse(app, profiles, label).unwrap()).await
}

/// The value of `key` in the answer for `app`/`default`/`label`.
pub(crate) async fn value(source: &GitSource, app: &str, label: Option<&str>, key: &str) -> Option<Value> {
    load(source, app, "default", label).await.unwrap().get(key).cloned()
}

pub(crate) fn basedir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// The mirror directory inside `basedir` (there is one per remote).
pub(crate) fn mirror_dir(basedir: &Path) -> PathBuf {
    std::fs::read_dir(basedir).unwrap().next().unwrap().unwrap().path()
}
