//! Freshness: new commits, force-pushes, deleted branches and moved tags reach clients; concurrent
//! reads stay consistent while fetches run.

use std::time::{Duration, Instant};

use vortex_core::{ErrorKind, Value};

use crate::support::{Remote, basedir, load, options, started, value};

#[tokio::test]
async fn refresh_reports_moved_labels_and_serves_the_new_commit() {
    let remote = Remote::new("main");
    remote.commit(&[("app.yml", "rev: 1\n")], "one");
    let dir = basedir();
    let source = started(options(&remote.uri(), dir.path())).await;
    assert_eq!(value(&source, "app", None, "rev").await, Some(Value::Int(1)));

    let second = remote.commit(&[("app.yml", "rev: 2\n")], "two");
    assert_eq!(value(&source, "app", None, "rev").await, Some(Value::Int(1)), "nothing changes before a fetch");
    let outcome = source.refresh().await.unwrap();
    assert_eq!(outcome.moved, ["main"]);
    let env = load(&source, "app", "default", None).await.unwrap();
    assert_eq!((env.get("rev"), env.version.as_deref()), (Some(&Value::Int(2)), Some(second.as_str())));
    assert!(source.refresh().await.unwrap().moved.is_empty(), "a no-op fetch moves nothing");
}

#[tokio::test]
async fn background_fetch_picks_up_a_push_without_restart() {
    let remote = Remote::new("main");
    remote.commit(&[("app.yml", "rev: 1\n")], "one");
    let dir = basedir();
    let mut opts = options(&remote.uri(), dir.path());
    opts.refresh_interval = Duration::from_millis(100);
    let source = started(opts).await;
    let pushed = remote.commit(&[("app.yml", "rev: 2\n")], "two");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let env = load(&source, "app", "default", None).await.unwrap();
        if env.version.as_deref() == Some(pushed.as_str()) {
            assert_eq!(env.get("rev"), Some(&Value::Int(2)));
            break;
        }
        assert!(Instant::now() < deadline, "the background fetch never brought the new commit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn force_pushes_and_moved_tags_are_followed() {
    let remote = Remote::new("main");
    remote.commit(&[("app.yml", "rev: 1\n")], "one");
    remote.commit(&[("app.yml", "rev: 2\n")], "two");
    remote.git(&["tag", "release"]);
    let dir = basedir();
    let source = started(options(&remote.uri(), dir.path())).await;
    assert_eq!(value(&source, "app", None, "rev").await, Some(Value::Int(2)));

    // Rewrite history: drop "two" and commit something else on top of "one".
    remote.git(&["reset", "-q", "--hard", "HEAD~1"]);
    let rewritten = remote.commit(&[("app.yml", "rev: rewritten\n")], "rewritten");
    remote.git(&["tag", "-f", "release"]);
    let moved = source.refresh().await.unwrap().moved;
    assert_eq!(moved, ["main", "release"]);
    let env = load(&source, "app", "default", None).await.unwrap();
    assert_eq!(env.version.as_deref(), Some(rewritten.as_str()));
    assert_eq!(value(&source, "app", Some("release"), "rev").await, Some(Value::from("rewritten")));
}

#[tokio::test]
async fn deleted_branches_are_kept_unless_pruning_is_on() {
    let remote = Remote::new("main");
    remote.commit(&[("app.yml", "rev: 1\n")], "one");
    remote.git(&["branch", "old"]);
    let (keep_dir, prune_dir) = (basedir(), basedir());
    let keep = started(options(&remote.uri(), keep_dir.path())).await;
    let mut prune_options = options(&remote.uri(), prune_dir.path());
    prune_options.delete_untracked_branches = true;
    let prune = started(prune_options).await;
    remote.git(&["branch", "-D", "old"]);
    keep.refresh().await.unwrap();
    prune.refresh().await.unwrap();
    assert_eq!(value(&keep, "app", Some("old"), "rev").await, Some(Value::Int(1)), "still served by default");
    let err = load(&prune, "app", "default", Some("old")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reads_match_their_version_while_fetches_run() {
    let remote = Remote::new("main");
    let mut commits = std::collections::HashMap::new();
    let first = remote.commit(&[("app.yml", "rev: 0\n")], "rev 0");
    commits.insert(first, 0_i64);
    remote.git(&["branch", "stable"]);
    let dir = basedir();
    let source = started(options(&remote.uri(), dir.path())).await;
    let commits = std::sync::Arc::new(std::sync::Mutex::new(commits));

    let mut readers = Vec::new();
    for task in 0..8 {
        let (source, commits) = (source.clone(), std::sync::Arc::clone(&commits));
        readers.push(tokio::spawn(async move {
            let label = if task % 2 == 0 { None } else { Some("stable") };
            for _ in 0..40 {
                let env = load(&source, "app", "default", label).await.unwrap();
                let version = env.version.clone().unwrap();
                let Some(Value::Int(rev)) = env.get("rev").cloned() else { panic!("no rev in {env:?}") };
                let expected = commits.lock().unwrap().get(&version).copied();
                assert_eq!(expected, Some(rev), "version {version} served with content of rev {rev}");
            }
        }));
    }
    for rev in 1..=10_i64 {
        let id = remote.commit(&[("app.yml", &format!("rev: {rev}\n"))], &format!("rev {rev}"));
        commits.lock().unwrap().insert(id, rev);
        if rev % 3 == 0 {
            remote.git(&["branch", "-f", "stable"]);
        }
        source.refresh().await.unwrap();
    }
    for reader in readers {
        reader.await.unwrap();
    }
    assert_eq!(value(&source, "app", None, "rev").await, Some(Value::Int(10)));
}

#[tokio::test]
async fn subscribers_hear_moved_labels_before_the_fetch_returns() {
    use std::sync::{Arc, Mutex};

    use vortex_core::ConfigSource;

    let remote = Remote::new("master");
    remote.commit(&[("app.yml", "rev: 1\n")], "one");
    let dir = basedir();
    let source = started(options(&remote.uri(), dir.path())).await;
    let heard: Arc<Mutex<Vec<Vec<String>>>> = Arc::default();
    let sink = Arc::clone(&heard);
    source.subscribe(Arc::new(move |change| sink.lock().unwrap().push(change.labels.clone())));

    assert!(source.refresh().await.unwrap().moved.is_empty());
    assert!(heard.lock().unwrap().is_empty(), "a fetch that moved nothing is not announced");
    remote.commit(&[("app.yml", "rev: 2\n")], "two");
    remote.git(&["tag", "v1"]);
    ConfigSource::refresh(&source).await.unwrap();
    // `main` is served from `master` through the fallback, so it moved too.
    assert_eq!(*heard.lock().unwrap(), [vec!["master".to_owned(), "v1".to_owned(), "main".to_owned()]]);
    assert_eq!(source.default_label(), Some("main"));
}
