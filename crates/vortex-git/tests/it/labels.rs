//! Labels: branches, tags, commit ids, the default label and its fallback, several labels, search paths.

use vortex_core::{ErrorKind, Value};
use vortex_git::GitOptions;

use crate::support::{Remote, basedir, load, options, started, value};

#[tokio::test]
async fn branches_tags_and_commits() {
    let remote = Remote::new("main");
    let first = remote.commit(&[("app.yml", "rev: 1\n")], "one");
    remote.git(&["tag", "v1"]);
    remote.git(&["tag", "-a", "v1-annotated", "-m", "annotated"]);
    remote.git(&["checkout", "-q", "-b", "feature/x"]);
    let feature = remote.commit(&[("app.yml", "rev: feature\n")], "feature");
    remote.git(&["checkout", "-q", "main"]);
    let second = remote.commit(&[("app.yml", "rev: 2\n")], "two");
    let dir = basedir();
    let source = started(options(&remote.uri(), dir.path())).await;

    let env = load(&source, "app", "default", None).await.unwrap();
    assert_eq!(env.get("rev"), Some(&Value::Int(2)));
    assert_eq!(env.version.as_deref(), Some(second.as_str()), "version is the commit id");
    assert_eq!(env.label, None);
    assert_eq!(env.state.as_deref(), Some(""));
    assert_eq!(env.property_sources[0].name, format!("{}/app.yml", remote.uri()));

    assert_eq!(value(&source, "app", Some("v1"), "rev").await, Some(Value::Int(1)));
    assert_eq!(value(&source, "app", Some("v1-annotated"), "rev").await, Some(Value::Int(1)));
    assert_eq!(value(&source, "app", Some("feature(_)x"), "rev").await, Some(Value::from("feature")));
    assert_eq!(value(&source, "app", Some(&first), "rev").await, Some(Value::Int(1)));
    assert_eq!(value(&source, "app", Some(&first[..8]), "rev").await, Some(Value::Int(1)));
    let env = load(&source, "app", "default", Some(&feature)).await.unwrap();
    assert_eq!(env.version.as_deref(), Some(feature.as_str()));
    assert_eq!(env.label.as_deref(), Some(feature.as_str()));

    let err = load(&source, "app", "default", Some("nope")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = load(&source, "app", "default", Some("deadbeef")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

/// Serving `main` from `master` fetches nothing on the request path: a commit pushed since the
/// last fetch shows after the next fetch, not on a request (which used to fetch for the missing
/// `main` on every cache miss, at most every five seconds).
#[tokio::test]
async fn serving_main_from_master_fetches_nothing_on_the_request_path() {
    let remote = Remote::new("master");
    remote.commit(&[("application.yml", "from: one\n")], "one");
    let dir = basedir();
    let source = started(options(&remote.uri(), dir.path())).await;
    remote.commit(&[("application.yml", "from: two\n")], "two");
    assert_eq!(value(&source, "app", None, "from").await, Some(Value::from("one")));
    assert_eq!(value(&source, "app", Some("main"), "from").await, Some(Value::from("one")));
    source.refresh().await.unwrap();
    assert_eq!(value(&source, "app", None, "from").await, Some(Value::from("two")));
    // A `main` created later is found by the next fetch, and then wins.
    remote.git(&["branch", "main"]);
    remote.git(&["checkout", "-q", "main"]);
    remote.commit(&[("application.yml", "from: main\n")], "main");
    source.refresh().await.unwrap();
    assert_eq!(value(&source, "app", None, "from").await, Some(Value::from("main")));
}

#[tokio::test]
async fn main_falls_back_to_master() {
    let remote = Remote::new("master");
    remote.commit(&[("application.yml", "from: master\n")], "one");
    let dir = basedir();
    let source = started(options(&remote.uri(), dir.path())).await;
    assert_eq!(value(&source, "app", None, "from").await, Some(Value::from("master")));
    assert_eq!(value(&source, "app", Some("master"), "from").await, Some(Value::from("master")));
    // An explicit default label falls back too, as in Spring (the label equals the default label),
    // so that it and a missing label are one request and one cache entry.
    assert_eq!(value(&source, "app", Some("main"), "from").await, Some(Value::from("master")));

    let dir = basedir();
    let mut strict = options(&remote.uri(), dir.path());
    strict.try_master_branch = false;
    let source = started(strict).await;
    assert_eq!(load(&source, "app", "default", None).await.unwrap_err().kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn several_labels_last_one_wins() {
    let remote = Remote::new("main");
    let base = remote.commit(&[("app.yml", "a: base\nonly-base: 1\n")], "base");
    remote.git(&["checkout", "-q", "-b", "overlay"]);
    let overlay = remote.commit(&[("app.yml", "a: overlay\n")], "overlay");
    let dir = basedir();
    let source = started(options(&remote.uri(), dir.path())).await;
    let env = load(&source, "app", "default", Some("main,overlay")).await.unwrap();
    assert_eq!(env.get("a"), Some(&Value::from("overlay")));
    assert_eq!(env.get("only-base"), Some(&Value::Int(1)));
    assert_eq!(env.version, Some(format!("{base},{overlay}")));
    assert_eq!(env.property_sources.len(), 2);
    assert_eq!(load(&source, "app", "default", Some("main,nope")).await.unwrap_err().kind(), ErrorKind::NotFound);
}

/// Spring's `continue-on-multiple-label-failure`: off, a missing label of several is a 404; on, it
/// is skipped; one label, or none found, is a 404 either way.
#[tokio::test]
async fn a_missing_label_of_several_is_skipped_only_when_asked() {
    let remote = Remote::new("main");
    let base = remote.commit(&[("app.yml", "a: base\n")], "base");
    let dir = basedir();
    let strict = started(options(&remote.uri(), dir.path())).await;
    let err = load(&strict, "app", "default", Some("main,nope")).await.unwrap_err();
    assert_eq!((err.kind(), err.to_string().contains("nope")), (ErrorKind::NotFound, true), "{err}");

    let lenient_dir = basedir();
    let lenient =
        started(GitOptions { continue_on_multiple_label_failure: true, ..options(&remote.uri(), lenient_dir.path()) })
            .await;
    let env = load(&lenient, "app", "default", Some("main,nope")).await.unwrap();
    assert_eq!((env.get("a"), env.version.as_deref()), (Some(&Value::from("base")), Some(base.as_str())));
    assert_eq!(env.property_sources.len(), 1);
    for labels in ["nope", "nope,gone"] {
        let err = load(&lenient, "app", "default", Some(labels)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{labels}");
    }
}

#[tokio::test]
async fn search_paths_with_placeholders_and_wildcards() {
    let remote = Remote::new("main");
    remote.commit(
        &[
            ("application.yml", "level: root\n"),
            ("services/orders/orders.yml", "level: app-dir\n"),
            ("profiles/dev/orders.yml", "dev: true\n"),
            ("config-a/orders.yml", "wild: a\n"),
            ("config-b/extra/orders.yml", "deep: true\n"),
        ],
        "layout",
    );
    let dir = basedir();
    let mut opts = options(&remote.uri(), dir.path());
    opts.search_paths = vec![
        "services/{application}".to_owned(),
        "profiles/{profile}".to_owned(),
        "config-*".to_owned(),
        "config-b/**".to_owned(),
    ];
    let source = started(opts).await;
    let env = load(&source, "orders", "dev", None).await.unwrap();
    let names: Vec<String> =
        env.property_sources.iter().map(|p| p.name.trim_start_matches(&remote.uri()).to_owned()).collect();
    assert_eq!(
        names,
        [
            "/config-b/extra/orders.yml",
            "/config-a/orders.yml",
            "/profiles/dev/orders.yml",
            "/services/orders/orders.yml",
            "/application.yml",
        ]
    );
    assert_eq!(env.get("level"), Some(&Value::from("app-dir")), "search paths win over the root");
}

#[tokio::test]
async fn resources_are_read_at_the_label() {
    let remote = Remote::new("main");
    remote.commit(&[("nginx.conf", "v1 ${port}"), ("app.yml", "port: 80\n")], "one");
    remote.git(&["tag", "v1"]);
    remote.commit(&[("nginx.conf", "v2"), ("nginx-prod.conf", "prod")], "two");
    let dir = basedir();
    let source = started(options(&remote.uri(), dir.path())).await;
    let query = |profile: &str, label: Option<&str>| vortex_core::ConfigQuery::parse("app", profile, label).unwrap();
    use vortex_core::ConfigSource;
    let read = |bytes: Vec<u8>| String::from_utf8(bytes).unwrap();
    assert_eq!(read(source.resource(&query("dev", Some("v1")), "nginx.conf").await.unwrap().bytes), "v1 ${port}");
    assert_eq!(read(source.resource(&query("dev", None), "nginx.conf").await.unwrap().bytes), "v2");
    assert_eq!(read(source.resource(&query("prod", None), "nginx.conf").await.unwrap().bytes), "prod");
    let missing = source.resource(&query("dev", Some("v1")), "nginx-prod.conf").await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    let traversal = source.resource(&query("dev", None), "../nginx.conf").await.unwrap_err();
    assert_eq!(traversal.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn broken_yaml_in_the_repository_names_the_file() {
    let remote = Remote::new("main");
    remote.commit(&[("bad.yml", "a: [\n"), ("good.yml", "b: 1\n")], "one");
    let dir = basedir();
    let source = started(options(&remote.uri(), dir.path())).await;
    let err = load(&source, "bad", "default", None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidDocument);
    assert!(err.to_string().contains("bad.yml"), "{err}");
    assert!(!err.to_string().contains(&dir.path().display().to_string()), "{err}");
    assert!(load(&source, "good", "default", None).await.is_ok());
}

/// A link committed to the repository is never followed: not as a configuration file, not as a
/// resource, not as a search path, even when its target exists on the server's disk.
#[cfg(unix)]
#[tokio::test]
async fn committed_symlinks_are_never_followed() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.yml"), "password: hunter2\n").unwrap();
    let remote = Remote::new("main");
    remote.commit(&[("application.yml", "shared: 1\n"), ("real/app.yml", "level: real\n")], "files");
    let link = |target: &std::path::Path, name: &str| {
        std::os::unix::fs::symlink(target, remote.path().join(name)).unwrap();
    };
    link(&outside.path().join("secret.yml"), "orders.yml");
    link(&outside.path().join("secret.yml"), "notes.txt");
    link(outside.path(), "linked");
    link(std::path::Path::new("real"), "alias");
    remote.commit(&[], "links");
    let dir = basedir();
    let mut opts = options(&remote.uri(), dir.path());
    opts.search_paths = vec!["linked".to_owned(), "alias".to_owned()];
    let source = started(opts).await;

    let env = load(&source, "orders", "default", None).await.unwrap();
    let names: Vec<&str> = env.property_sources.iter().map(|s| s.name.as_str()).collect();
    assert!(names.iter().all(|n| n.ends_with("/application.yml")), "{names:?}");
    assert_eq!(env.get("password"), None);
    let env = load(&source, "app", "default", None).await.unwrap();
    assert_eq!(env.get("level"), None, "a link to a directory inside is not a search path either");

    use vortex_core::ConfigSource;
    let query = vortex_core::ConfigQuery::parse("orders", "default", None).unwrap();
    let refused = source.resource(&query, "notes.txt").await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::NotFound);
}
