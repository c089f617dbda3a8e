//! Cold loads from the git backend: an environment built from the object database at a commit, with
//! no response cache in front, from a repository of 1,000 files and 1,000 commits.
//!
//! Run: `cargo bench -p vortex-git --bench cold_load`.

// A benchmark panics when its set-up fails; there is no one to return an error to.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use vortex_core::{ConfigQuery, ConfigSource};
use vortex_git::{GitOptions, GitSource};

const FILES: usize = 1_000;
const COMMITS: usize = 1_000;

/// Builds the repository with `git fast-import`: one commit with every file, then one commit per
/// change to a service file.
fn make_repo(dir: &std::path::Path) {
    let status = Command::new("git").args(["init", "-q", "-b", "main"]).current_dir(dir).status().unwrap();
    assert!(status.success());
    let mut stream = String::new();
    let push_commit = |stream: &mut String, n: usize, files: &[(String, String)]| {
        let message = format!("commit {n}");
        stream.push_str(&format!(
            "commit refs/heads/main\ncommitter Bench <bench@vortex.invalid> {} +0000\ndata {}\n{message}\n",
            1_700_000_000 + n,
            message.len()
        ));
        for (path, text) in files {
            stream.push_str(&format!("M 100644 inline {path}\ndata {}\n{text}\n", text.len()));
        }
    };
    let mut files = vec![
        ("application.yml".to_owned(), "logging:\n  level:\n    root: INFO\nmanagement:\n  port: 9000\n---\nspring.config.activate.on-profile: dev\nlogging.level.root: DEBUG\n".to_owned()),
        ("orders.yml".to_owned(), "server:\n  port: 8081\norders:\n  max-items: 50\n  regions: [eu-west-1, eu-central-1]\n---\nspring.config.activate.on-profile: dev\norders.max-items: 500\n".to_owned()),
        ("orders-dev.yml".to_owned(), "db:\n  host: orders-db.dev\n".to_owned()),
    ];
    for i in files.len()..FILES {
        // 900 files in one directory, the rest spread out, as large configuration repositories are.
        let path = if i < 900 { format!("services/svc-{i}.yml") } else { format!("teams/t{}/svc-{i}.yml", i % 10) };
        files.push((path, format!("service:\n  id: {i}\n  owner: team-{}\n  limits:\n    rps: {}\n", i % 10, i * 3)));
    }
    push_commit(&mut stream, 0, &files);
    for n in 1..COMMITS {
        let i = 3 + n % (FILES - 3);
        let (path, _) = &files[i];
        push_commit(&mut stream, n, &[(path.clone(), format!("service:\n  id: {i}\n  revision: {n}\n"))]);
    }
    let mut child =
        Command::new("git").args(["fast-import", "--quiet"]).current_dir(dir).stdin(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(stream.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
}

fn cold_load(c: &mut Criterion) {
    let remote = tempfile::tempdir().unwrap();
    make_repo(remote.path());
    let basedir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let source = runtime.block_on(async {
        let source = GitSource::start(GitOptions {
            uri: format!("file://{}", remote.path().display()),
            basedir: basedir.path().to_path_buf(),
            default_label: "main".to_owned(),
            try_master_branch: true,
            search_paths: vec!["teams/*".to_owned()],
            refresh_interval: Duration::from_secs(3600),
            timeout: Duration::from_secs(60),
            delete_untracked_branches: false,
            continue_on_multiple_label_failure: false,
            clone_on_start: true,
            credentials: None,
            ssh_command: None,
            metrics: vortex_metrics::GitMetrics::default(),
        })
        .await
        .unwrap();
        source.refresh().await.unwrap();
        source
    });
    let mut group = c.benchmark_group("git");
    let query = ConfigQuery::parse("orders", "dev", None).unwrap();
    group.bench_function("cold_load_orders_dev", |b| {
        b.iter(|| runtime.block_on(source.load(&query)).unwrap());
    });
    let first =
        Command::new("git").args(["rev-list", "--max-parents=0", "main"]).current_dir(remote.path()).output().unwrap();
    let first = String::from_utf8(first.stdout).unwrap().trim().to_owned();
    let by_commit = ConfigQuery::parse("orders", "dev", Some(&first[..12])).unwrap();
    group.bench_function("cold_load_by_abbreviated_commit", |b| {
        b.iter(|| runtime.block_on(source.load(&by_commit)).unwrap());
    });
    let service = ConfigQuery::parse("svc-950", "default", None).unwrap();
    group.bench_function("cold_load_with_wildcard_search_path", |b| {
        b.iter(|| runtime.block_on(source.load(&service)).unwrap());
    });
    group.finish();
}

criterion_group!(benches, cold_load);
criterion_main!(benches);
