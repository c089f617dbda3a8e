//! A repository per application (`{application}` in the URI): cloned on first use, shared by
//! concurrent first requests, bounded, failures answered 404 and cleaned up, fetched together.

use std::sync::{Arc, Mutex};

use vortex_core::{ConfigQuery, ConfigSource, ErrorKind, SourceChange, Value};
use vortex_git::ApplicationRepos;

use crate::support::{Remote, basedir, options};

/// Remotes reachable as `<parent>/<application>`, each with an `application.yml` naming it.
struct Remotes {
    parent: tempfile::TempDir,
    remotes: Vec<(String, Remote)>,
}

impl Remotes {
    fn new(applications: &[&str]) -> Self {
        let parent = tempfile::tempdir().unwrap();
        let remotes = applications
            .iter()
            .map(|app| {
                let remote = Remote::new("main");
                remote.commit(&[(&format!("{app}.yml"), &format!("from: {app}\n"))], "first");
                std::os::unix::fs::symlink(remote.path(), parent.path().join(app)).unwrap();
                ((*app).to_owned(), remote)
            })
            .collect();
        Self { parent, remotes }
    }

    fn template(&self) -> String {
        format!("file://{}/{{application}}", self.parent.path().display())
    }

    fn remote(&self, app: &str) -> &Remote {
        &self.remotes.iter().find(|(name, _)| name == app).unwrap().1
    }
}

async fn from(source: &ApplicationRepos, app: &str) -> Result<Option<Value>, ErrorKind> {
    let query = ConfigQuery::parse(app, "default", None).unwrap();
    match source.load(&query).await {
        Ok(env) => Ok(env.get("from").cloned()),
        Err(err) => Err(err.kind()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_application_is_served_from_its_own_repository() {
    let remotes = Remotes::new(&["orders", "payments"]);
    let dir = basedir();
    let source = ApplicationRepos::new(options(&remotes.template(), dir.path()), 10).unwrap();
    assert!(source.applications().is_empty(), "nothing is cloned before it is asked for");
    assert_eq!(from(&source, "orders").await, Ok(Some(Value::from("orders"))));
    assert_eq!(from(&source, "payments").await, Ok(Some(Value::from("payments"))));
    assert_eq!(source.applications(), ["orders", "payments"]);
    let query = ConfigQuery::parse("orders", "default", None).unwrap();
    let env = source.load(&query).await.unwrap();
    assert_eq!(env.version.as_deref(), Some(remotes.remote("orders").git(&["rev-parse", "HEAD"]).as_str()));

    // A list of applications has no one repository.
    let both = ConfigQuery::parse("orders,payments", "default", None).unwrap();
    assert_eq!(source.load(&both).await.unwrap_err().kind(), ErrorKind::InvalidInput);

    let health = source.health();
    assert!(health.ready);
    assert_eq!(health.details["repositories"]["orders"]["status"], "UP", "{}", health.details);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_requests_share_one_clone() {
    let remotes = Remotes::new(&["orders"]);
    let dir = basedir();
    let source = ApplicationRepos::new(options(&remotes.template(), dir.path()), 10).unwrap();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let source = source.clone();
        tasks.push(tokio::spawn(async move { from(&source, "orders").await }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), Ok(Some(Value::from("orders"))));
    }
    let mirrors = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(mirrors, 1, "one mirror");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_without_a_repository_is_not_found_and_leaves_nothing() {
    let remotes = Remotes::new(&["orders"]);
    let dir = basedir();
    let source = ApplicationRepos::new(options(&remotes.template(), dir.path()), 10).unwrap();
    assert_eq!(from(&source, "nobody").await, Err(ErrorKind::NotFound));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no mirror is left behind");
    // The repository appears, but a failure is remembered for 30 seconds: no new clone attempt
    // for every request that names a missing application.
    let late = Remote::new("main");
    late.commit(&[("nobody.yml", "from: nobody\n")], "first");
    std::os::unix::fs::symlink(late.path(), remotes.parent.path().join("nobody")).unwrap();
    assert_eq!(from(&source, "nobody").await, Err(ErrorKind::NotFound));
    let fresh = ApplicationRepos::new(options(&remotes.template(), dir.path()), 10).unwrap();
    assert_eq!(from(&fresh, "nobody").await, Ok(Some(Value::from("nobody"))), "a new source clones it");
    assert!(source.applications().is_empty());
    assert_eq!(from(&source, "orders").await, Ok(Some(Value::from("orders"))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_number_of_repositories_is_bounded() {
    let remotes = Remotes::new(&["a", "b", "c"]);
    let dir = basedir();
    let source = ApplicationRepos::new(options(&remotes.template(), dir.path()), 2).unwrap();
    assert_eq!(from(&source, "a").await, Ok(Some(Value::from("a"))));
    assert_eq!(from(&source, "b").await, Ok(Some(Value::from("b"))));
    assert_eq!(from(&source, "c").await, Err(ErrorKind::Unavailable), "past the bound");
    assert_eq!(from(&source, "a").await, Ok(Some(Value::from("a"))), "open ones still serve");
    // Failed clones do not use up the bound.
    let dir = basedir();
    let source = ApplicationRepos::new(options(&remotes.template(), dir.path()), 1).unwrap();
    assert_eq!(from(&source, "missing").await, Err(ErrorKind::NotFound));
    assert_eq!(from(&source, "c").await, Ok(Some(Value::from("c"))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_fetches_every_open_repository_and_tells_the_listeners() {
    let remotes = Remotes::new(&["orders", "payments"]);
    let dir = basedir();
    let source = ApplicationRepos::new(options(&remotes.template(), dir.path()), 10).unwrap();
    let heard: Arc<Mutex<Vec<SourceChange>>> = Arc::default();
    let sink = Arc::clone(&heard);
    // Subscribed before any repository is open: repositories opened later tell it too.
    source.subscribe(Arc::new(move |change| sink.lock().unwrap().push(change.clone())));
    assert_eq!(from(&source, "orders").await, Ok(Some(Value::from("orders"))));
    assert_eq!(from(&source, "payments").await, Ok(Some(Value::from("payments"))));
    remotes.remote("orders").commit(&[("orders.yml", "from: orders, again\n")], "second");
    remotes.remote("payments").commit(&[("payments.yml", "from: payments, again\n")], "second");
    source.refresh().await.unwrap();
    assert_eq!(from(&source, "orders").await, Ok(Some(Value::from("orders, again"))));
    assert_eq!(from(&source, "payments").await, Ok(Some(Value::from("payments, again"))));
    let heard = heard.lock().unwrap();
    assert_eq!(heard.len(), 2, "{heard:?}");
    assert!(heard.iter().all(|change| change.labels.contains(&"main".to_owned())), "{heard:?}");
    // Each change names the one application whose repository moved.
    let mut applications: Vec<_> = heard.iter().map(|change| change.applications.clone()).collect();
    applications.sort();
    assert_eq!(applications, [Some(vec!["orders".to_owned()]), Some(vec!["payments".to_owned()])]);
}

#[test]
fn a_uri_needs_the_placeholder_and_no_other() {
    let dir = basedir();
    for uri in ["file:///srv/config", "file:///srv/{profile}/{application}", "file:///srv/{label}"] {
        assert!(ApplicationRepos::new(options(uri, dir.path()), 10).is_err(), "{uri}");
    }
    assert!(ApplicationRepos::new(options("https://git.example/{application}-config", dir.path()), 10).is_ok());
}

/// First clones run four at a time: while four hang on a remote that never answers, a fifth new
/// application is answered 503 at once instead of opening a fifth connection. A clone that timed
/// out keeps its slot while its transfer still waits on the host; the slots come back when the
/// transfers end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_clones_run_four_at_a_time() {
    // A git:// "host" that accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let dir = basedir();
    let mut template = options(&format!("git://127.0.0.1:{port}/{{application}}"), dir.path());
    template.timeout = std::time::Duration::from_secs(2);
    let source = ApplicationRepos::new(template, 10).unwrap();
    let hanging: Vec<_> = ["a", "b", "c", "d"]
        .into_iter()
        .map(|app| {
            let source = source.clone();
            tokio::spawn(async move { from(&source, app).await })
        })
        .collect();
    // The four clones are under way once the host has their four connections.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while accepted.load(std::sync::atomic::Ordering::SeqCst) < 4 {
        assert!(std::time::Instant::now() < deadline, "the clones never connected");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let started = std::time::Instant::now();
    assert_eq!(from(&source, "e").await, Err(ErrorKind::Unavailable));
    assert!(started.elapsed() < std::time::Duration::from_secs(1), "answered at once");
    for task in hanging {
        assert_eq!(task.await.unwrap(), Err(ErrorKind::NotFound), "timed out: no repository");
    }
    // The host keeps every connection open and says nothing, yet the abandoned transfers end on
    // their own (their reads time out), the slots come back, and a clone is tried (and fails).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while from(&source, "e").await == Err(ErrorKind::Unavailable) {
        assert!(std::time::Instant::now() < deadline, "the slots never came back");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(from(&source, "e").await, Err(ErrorKind::NotFound));
    assert!(!held.is_finished(), "the host held its connections throughout");
    held.abort();
}
