//! The native backend against real directories: precedence, label directories, documents, imports
//! and resources, as `docs/compatibility.md` describes them.

use std::fs;
use std::path::Path;

use super::*;
use crate::{ErrorKind, Value};

struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new(files: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let full = dir.path().join(path);
            fs::create_dir_all(full.parent().unwrap()).unwrap();
            fs::write(full, text).unwrap();
        }
        Self { dir }
    }

    fn root(&self) -> String {
        self.dir.path().display().to_string()
    }

    fn source(&self, locations: &[&str]) -> NativeSource {
        let search_locations = locations.iter().map(|l| l.replace("ROOT", &self.root())).collect();
        NativeSource::new(NativeOptions { search_locations, ..NativeOptions::default() }).unwrap()
    }

    fn names(&self, locations: &[&str], app: &str, profiles: &str, label: Option<&str>) -> Vec<String> {
        let env = self.load(locations, app, profiles, label);
        let prefix = format!("file:{}/", self.root());
        env.property_sources.iter().map(|ps| ps.name.replace(&prefix, "")).collect()
    }

    fn load(&self, locations: &[&str], app: &str, profiles: &str, label: Option<&str>) -> Environment {
        let query = ConfigQuery::parse(app, profiles, label).unwrap();
        self.source(locations).load_blocking(&query).unwrap()
    }
}

#[test]
fn profile_specific_files_come_first_last_profile_first() {
    // Spring issue #714: /service1/dev1,dev2.
    let repo = Repo::new(&[
        ("application.properties", "a=app"),
        ("application-dev1.properties", "a=app-dev1"),
        ("service1.properties", "a=svc"),
        ("service1-dev1.properties", "a=svc-dev1"),
        ("service1-dev2.properties", "a=svc-dev2"),
    ]);
    assert_eq!(
        repo.names(&["ROOT"], "service1", "dev1,dev2", None),
        [
            "service1-dev2.properties",
            "service1-dev1.properties",
            "application-dev1.properties",
            "service1.properties",
            "application.properties",
        ]
    );
    let env = repo.load(&["ROOT"], "service1", "dev1,dev2", None);
    assert_eq!(env.get("a"), Some(&Value::from("svc-dev2")));
    assert_eq!(env.profiles, ["dev1,dev2"]);
    assert_eq!(env.label, None);
    assert_eq!(env.version, None);
    assert_eq!(env.state, None);
}

#[test]
fn properties_beat_yml_beat_yaml() {
    let repo = Repo::new(&[("foo.yaml", "a: 1"), ("foo.yml", "a: 2"), ("foo.properties", "a=3")]);
    assert_eq!(repo.names(&["ROOT"], "foo", "default", None), ["foo.properties", "foo.yml", "foo.yaml"]);
}

#[test]
fn documents_are_grouped_per_file_in_reverse_order() {
    let repo = Repo::new(&[
        ("application.yml", "a: base\n---\nspring.config.activate.on-profile: test\na: app-test\n"),
        (
            "service.yml",
            "a: svc\n---\nspring:\n  config:\n    activate:\n      on-profile: test\na: svc-test\n---\nspring.config.activate.on-profile: other\na: no\n",
        ),
    ]);
    assert_eq!(
        repo.names(&["ROOT"], "service", "test", None),
        [
            "service.yml (document #1)",
            "service.yml (document #0)",
            "application.yml (document #1)",
            "application.yml (document #0)",
        ]
    );
}

#[test]
fn profile_expressions_and_legacy_key_activate_documents() {
    let repo = Repo::new(&[(
        "app.yml",
        "x: 0\n---\nspring.config.activate.on-profile: '!prod'\nx: 1\n---\nspring.config.activate.on-profile: dev & cloud\nx: 2\n---\nspring.profiles: dev | qa\nx: 3\n",
    )]);
    let value = |profiles| repo.load(&["ROOT"], "app", profiles, None).get("x").cloned();
    assert_eq!(value("prod"), Some(Value::Int(0)));
    assert_eq!(value("dev"), Some(Value::Int(3)));
    assert_eq!(value("cloud,dev"), Some(Value::Int(3)));
    assert_eq!(value("cloud"), Some(Value::Int(1)));
    assert_eq!(repo.names(&["ROOT"], "app", "cloud,dev", None).len(), 4);
}

/// Spring's own case (`NativeEnvironmentRepositoryTests.locationAddMultipleLabelLocations`): search
/// location `test/dev/`, label `ignore,applicationxyz`: three sources, the first label's first.
#[test]
fn the_first_of_several_labels_wins_as_in_spring() {
    let repo = Repo::new(&[
        ("test/dev/foo.properties", "foo=dev_bar\n"),
        ("test/dev/ignore/foo.properties", "foo=app\n"),
        ("test/dev/applicationxyz/foo.properties", "foo=default-app\n"),
    ]);
    let env = repo.load(&["ROOT/test/dev/"], "foo", "development", Some("ignore,applicationxyz"));
    let sources: Vec<(String, String)> = env
        .property_sources
        .iter()
        .map(|ps| (ps.name.replace(&format!("file:{}/", repo.root()), ""), ps.source["foo"].value.to_string()))
        .collect();
    assert_eq!(
        sources,
        [
            ("test/dev/ignore/foo.properties".to_owned(), "app".to_owned()),
            ("test/dev/applicationxyz/foo.properties".to_owned(), "default-app".to_owned()),
            ("test/dev/foo.properties".to_owned(), "dev_bar".to_owned()),
        ]
    );
}

/// A `{label}` placeholder in a search location gets the whole label, as Spring passes it.
#[test]
fn a_label_placeholder_gets_the_unsplit_label() {
    let repo = Repo::new(&[("by/v1,v2/foo.yml", "a: both"), ("by/v1/foo.yml", "a: one")]);
    let names = repo.names(&["ROOT/by/{label}"], "foo", "default", Some("v1,v2"));
    assert_eq!(names, ["by/v1,v2/foo.yml"]);
}

#[test]
fn later_locations_and_label_directories_win() {
    let repo = Repo::new(&[
        ("base/foo.yml", "a: base"),
        ("over/foo.yml", "a: over"),
        ("over/master/foo.yml", "a: master"),
        ("over/v1/foo.yml", "a: v1"),
        ("over/v2/foo.yml", "a: v2"),
    ]);
    let locations = ["ROOT/base", "ROOT/over/"];
    assert_eq!(repo.names(&locations, "foo", "default", None), ["over/master/foo.yml", "over/foo.yml", "base/foo.yml"]);
    assert_eq!(repo.load(&locations, "foo", "default", Some("v1")).get("a"), Some(&Value::from("v1")));
    // Several labels: the first one wins, as in Spring's native backend.
    assert_eq!(
        repo.names(&locations, "foo", "default", Some("v1,v2")),
        ["over/v1/foo.yml", "over/v2/foo.yml", "over/foo.yml", "base/foo.yml"]
    );
    // An unknown label directory is not an error for the native backend.
    assert_eq!(repo.names(&locations, "foo", "default", Some("nope")), ["over/foo.yml", "base/foo.yml"]);
}

#[test]
fn placeholders_in_search_locations() {
    // Spring issue #1158: search paths `service/, service/{application}` with profiles `st1,default`.
    let repo = Repo::new(&[
        ("service/application-default.yml", "a: 1"),
        ("service/application-st1.yml", "a: 2"),
        ("service/service1/service1-default.yml", "a: 3"),
        ("service/service1/service1-st1.yml", "a: 4"),
        ("by-profile/st1/foo.yml", "a: 5"),
    ]);
    assert_eq!(
        repo.names(&["ROOT/service/", "ROOT/service/{application}"], "service1", "st1,default", None),
        [
            "service/service1/service1-default.yml",
            "service/application-default.yml",
            "service/service1/service1-st1.yml",
            "service/application-st1.yml",
        ]
    );
    assert_eq!(repo.names(&["ROOT/by-profile/{profile}"], "foo", "st1", None), ["by-profile/st1/foo.yml"]);
}

#[test]
fn several_applications_each_add_their_files() {
    let repo = Repo::new(&[("application.yml", "a: 0"), ("foo.yml", "a: 1"), ("bar.yml", "a: 2")]);
    assert_eq!(repo.names(&["ROOT"], "foo,bar", "default", None), ["bar.yml", "foo.yml", "application.yml"]);
}

#[test]
fn application_itself_is_loaded_once() {
    let repo = Repo::new(&[("application.yml", "a: 0")]);
    assert_eq!(repo.names(&["ROOT"], "application", "default", None), ["application.yml"]);
}

#[test]
fn unknown_application_gets_the_shared_sources() {
    let repo = Repo::new(&[("application.yml", "a: 0"), ("foo.yml", "a: 1")]);
    assert_eq!(repo.names(&["ROOT"], "nobody", "dev", None), ["application.yml"]);
}

#[test]
fn default_profile_files_load_only_for_default() {
    let repo = Repo::new(&[("foo-default.yml", "a: 1"), ("foo.yml", "a: 0")]);
    assert_eq!(repo.names(&["ROOT"], "foo", "dev", None), ["foo.yml"]);
    assert_eq!(repo.names(&["ROOT"], "foo", "default", None), ["foo-default.yml", "foo.yml"]);
}

#[test]
fn imports_come_before_the_importing_document_last_first() {
    let repo = Repo::new(&[
        ("import.yml", "spring.config.import: import/foo.yml, bar.yml, optional:missing.yml\nfoo: importing\n"),
        ("import/foo.yml", "foo: imported\n"),
        ("bar.yml", "bar: 1\n"),
    ]);
    assert_eq!(repo.names(&["ROOT"], "import", "default", None), ["bar.yml", "import/foo.yml", "import.yml"]);
    assert_eq!(repo.load(&["ROOT"], "import", "default", None).get("foo"), Some(&Value::from("imported")));
}

#[test]
fn bad_imports_are_errors() {
    for import in ["missing.yml", "../escape.yml", "/etc/passwd.yml", "file:/x.yml"] {
        let repo = Repo::new(&[("foo.yml", &format!("spring.config.import: {import}\n"))]);
        let query = ConfigQuery::parse("foo", "default", None).unwrap();
        let err = repo.source(&["ROOT"]).load_blocking(&query).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidDocument, "{import}: {err}");
    }
}

#[test]
fn profile_activation_keys_are_refused_in_profile_files() {
    let repo = Repo::new(&[("foo-dev.yml", "spring.profiles.include: db\n")]);
    let query = ConfigQuery::parse("foo", "dev", None).unwrap();
    let err = repo.source(&["ROOT"]).load_blocking(&query).unwrap_err();
    assert!(err.to_string().contains("foo-dev.yml"), "{err}");
}

#[test]
fn broken_yaml_names_the_file_relative_to_the_repository() {
    let repo = Repo::new(&[("master/foo.yml", "a: [\n"), ("bar.yml", "b: 1")]);
    let source = repo.source(&["ROOT"]);
    let err = source.load_blocking(&ConfigQuery::parse("foo", "default", None).unwrap()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidDocument);
    let message = err.to_string();
    assert!(message.contains("master/foo.yml"), "{message}");
    assert!(!message.contains(&repo.root()), "{message}");
    // Other applications are still served.
    assert!(source.load_blocking(&ConfigQuery::parse("bar", "default", None).unwrap()).is_ok());
}

#[test]
fn version_is_reported_as_configured() {
    let repo = Repo::new(&[("foo.yml", "a: 1")]);
    let options = NativeOptions {
        search_locations: vec![format!("file:{}", repo.root())],
        version: Some("v42".to_owned()),
        ..NativeOptions::default()
    };
    let env = NativeSource::new(options)
        .unwrap()
        .load_blocking(&ConfigQuery::parse("foo", "default", None).unwrap())
        .unwrap();
    assert_eq!(env.version.as_deref(), Some("v42"));
    assert_eq!(env.property_sources[0].name, format!("file:{}/foo.yml", repo.root()));
}

#[test]
fn unsupported_locations_are_rejected() {
    for location in ["classpath:/config", "http://example.com/x", "", "optional:"] {
        let options = NativeOptions { search_locations: vec![location.to_owned()], ..NativeOptions::default() };
        assert!(NativeSource::new(options).is_err(), "{location}");
    }
    let options = NativeOptions { search_locations: vec!["file:///srv/config".to_owned()], ..NativeOptions::default() };
    assert_eq!(NativeSource::new(options).unwrap().locations[0].text, "/srv/config/");
}

fn resource(repo: &Repo, profiles: &str, label: Option<&str>, path: &str) -> Result<String, CoreError> {
    let query = ConfigQuery::parse("foo", profiles, label)?;
    let found = repo.source(&["ROOT"]).resource_blocking(&query, path)?;
    Ok(String::from_utf8(found.bytes).unwrap())
}

#[test]
fn resources_prefer_profile_variants() {
    let repo = Repo::new(&[
        ("logback.xml", "plain"),
        ("logback-development.xml", "dev"),
        ("nested/dir/nginx.conf", "nginx"),
        ("v1/only-in-label.txt", "label"),
    ]);
    assert_eq!(resource(&repo, "development", None, "logback.xml").unwrap(), "dev");
    assert_eq!(resource(&repo, "prod", None, "logback.xml").unwrap(), "plain");
    assert_eq!(resource(&repo, "default", None, "logback.xml").unwrap(), "plain");
    assert_eq!(resource(&repo, "dev", None, "nested/dir/nginx.conf").unwrap(), "nginx");
    assert_eq!(resource(&repo, "dev", Some("v1"), "only-in-label.txt").unwrap(), "label");
}

#[test]
fn resource_paths_are_checked() {
    let repo = Repo::new(&[("a.txt", "a")]);
    let kind = |path: &str| resource(&repo, "dev", None, path).unwrap_err().kind();
    assert_eq!(kind("../a.txt"), ErrorKind::InvalidInput);
    assert_eq!(kind("x/../../a.txt"), ErrorKind::InvalidInput);
    assert_eq!(kind("%2e%2e/a.txt"), ErrorKind::InvalidInput);
    assert_eq!(kind("..\\a.txt"), ErrorKind::InvalidInput);
    assert_eq!(kind("WEB-INF/web.xml"), ErrorKind::NotFound);
    assert_eq!(kind("file:/etc/passwd"), ErrorKind::NotFound);
    assert_eq!(kind("missing.txt"), ErrorKind::NotFound);
    // Found by the `paths` fuzz target: `.` segments name no file.
    assert_eq!(kind("."), ErrorKind::NotFound);
    assert_eq!(kind("./a.txt"), ErrorKind::NotFound);
    assert_eq!(kind("%2e/a.txt"), ErrorKind::NotFound);
}

#[cfg(unix)]
#[test]
fn resources_do_not_follow_links_out_of_the_repository() {
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("secret.txt"), "secret").unwrap();
    let repo = Repo::new(&[("a.txt", "a")]);
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), repo.dir.path().join("link.txt")).unwrap();
    assert_eq!(resource(&repo, "dev", None, "link.txt").unwrap_err().kind(), ErrorKind::NotFound);
    assert!(Path::new(&repo.root()).join("a.txt").exists());
}

#[test]
fn resource_candidates_follow_the_contract() {
    let profiles = |p: &[&str]| p.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        crate::resource::candidates("a/b.txt", &profiles(&["dev", "db"])),
        ["a/b-dev.txt", "a/b-db.txt", "a/b.txt"]
    );
    assert_eq!(crate::resource::candidates("README", &profiles(&["default"])), ["README"]);
    assert_eq!(crate::resource::candidates(".env", &profiles(&["dev"])), [".env-dev", ".env"]);
}

#[test]
fn unchanged_files_are_parsed_once_and_shared_between_environments() {
    let repo = Repo::new(&[("application.yml", "shared: 1\n"), ("orders.yml", "a: 1\n")]);
    let source = repo.source(&["ROOT"]);
    let load = |profiles: &str| source.load_blocking(&ConfigQuery::parse("orders", profiles, None).unwrap()).unwrap();
    let (dev, prod) = (load("dev"), load("prod"));
    assert_eq!(dev.property_sources.len(), 2);
    for (a, b) in dev.property_sources.iter().zip(&prod.property_sources) {
        assert!(std::sync::Arc::ptr_eq(&a.source, &b.source), "{} is shared", a.name);
    }
    assert_eq!(source.documents.len(), 2, "one entry per file");

    // A changed file is parsed again; the other stays shared.
    fs::write(repo.dir.path().join("orders.yml"), "a: 2\n").unwrap();
    let changed = load("dev");
    assert_eq!(changed.get("a"), Some(&Value::Int(2)));
    assert!(!std::sync::Arc::ptr_eq(&changed.property_sources[0].source, &dev.property_sources[0].source));
    assert!(std::sync::Arc::ptr_eq(&changed.property_sources[1].source, &dev.property_sources[1].source));
    assert_eq!(dev.get("a"), Some(&Value::Int(1)), "an environment already made keeps its content");
}

#[test]
fn a_file_broken_after_being_parsed_is_an_error_not_the_old_content() {
    let repo = Repo::new(&[("orders.yml", "a: 1\n")]);
    let source = repo.source(&["ROOT"]);
    let query = ConfigQuery::parse("orders", "dev", None).unwrap();
    assert!(source.load_blocking(&query).is_ok());
    fs::write(repo.dir.path().join("orders.yml"), "a: [1\n").unwrap();
    assert_eq!(source.load_blocking(&query).unwrap_err().kind(), ErrorKind::InvalidDocument);
}

#[cfg(unix)]
#[test]
fn configuration_files_do_not_follow_links_out_of_the_location() {
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("secret.properties"), "password=hunter2\n").unwrap();
    fs::write(outside.path().join("application.yml"), "from: outside\n").unwrap();
    fs::create_dir(outside.path().join("master")).unwrap();
    fs::write(outside.path().join("master/orders.yml"), "from: outside\n").unwrap();
    let repo = Repo::new(&[("application.yml", "shared: 1\n"), ("inside.yml", "kept: yes\n")]);
    let link = |target: &Path, name: &str| std::os::unix::fs::symlink(target, repo.dir.path().join(name)).unwrap();
    link(&outside.path().join("secret.properties"), "orders.properties");
    link(outside.path(), "payments");
    // A link that stays inside the location is followed.
    link(&repo.dir.path().join("inside.yml"), "billing.yml");
    assert_eq!(repo.names(&["ROOT"], "orders", "default", None), ["application.yml"], "a linked file leads outside");
    assert_eq!(repo.names(&["ROOT"], "billing", "default", None), ["billing.yml", "application.yml"]);
    // `{application}` expanding to a directory that is a link out of the repository.
    assert!(repo.names(&["ROOT/{application}"], "payments", "default", None).is_empty());
    // A label directory that is a link out of the location.
    link(&outside.path().join("master"), "master");
    assert_eq!(repo.names(&["ROOT"], "orders", "default", Some("master")), ["application.yml"]);
}

#[test]
fn overlong_file_names_read_as_absent_not_as_errors() {
    let repo = Repo::new(&[("application.yml", "shared: 1\n")]);
    let query = ConfigQuery::parse(&"a".repeat(100), &"b".repeat(100), Some(&"c".repeat(100))).unwrap();
    let env = repo.source(&["ROOT/{label}/{application}", "ROOT"]).load_blocking(&query);
    assert!(env.is_ok(), "{env:?}");
}

#[test]
fn the_fingerprint_changes_with_every_file_a_load_could_read() {
    let repo = Repo::new(&[("orders.yml", "a: 1\n"), ("v2/orders.yml", "a: 2\n"), ("apps/orders/x.yml", "b: 1\n")]);
    let plain = repo.source(&["ROOT"]);
    let placeholder = repo.source(&["ROOT/apps/{application}"]);
    let prints = || (plain.fingerprint_blocking(), placeholder.fingerprint_blocking());
    let first = prints();
    assert_eq!(prints(), first, "nothing changed");

    let mut last = first;
    let mut changed = |what: &str, change: &dyn Fn(&Path)| {
        change(repo.dir.path());
        let now = prints();
        assert_ne!(now, last, "{what}: the fingerprint did not change");
        last = now;
    };
    changed("a value edited, same size", &|root| fs::write(root.join("orders.yml"), "a: 3\n").unwrap());
    changed("a label directory's file", &|root| fs::write(root.join("v2/orders.yml"), "a: 22\n").unwrap());
    changed("a file added", &|root| fs::write(root.join("payments.yml"), "c: 1\n").unwrap());
    changed("a file removed", &|root| fs::remove_file(root.join("payments.yml")).unwrap());
    changed("under a placeholder", &|root| fs::write(root.join("apps/orders/x.yml"), "b: 22\n").unwrap());

    let under = placeholder.fingerprint_blocking();
    fs::write(repo.dir.path().join("apps/orders/x.yml"), "b: 333\n").unwrap();
    assert_ne!(placeholder.fingerprint_blocking(), under, "the part before the placeholder is watched");

    let before = prints();
    fs::create_dir_all(repo.dir.path().join(".git/objects")).unwrap();
    fs::write(repo.dir.path().join(".git/objects/x"), "ignored").unwrap();
    assert_eq!(prints(), before, "hidden entries are not configuration");
}

#[test]
fn files_larger_than_the_limit_are_refused_before_parsing() {
    let big = format!("a: {}\n", "x".repeat(crate::config_data::MAX_FILE_BYTES));
    let repo = Repo::new(&[("foo.yml", &big), ("bar.yml", "b: 1\n")]);
    let query = ConfigQuery::parse("foo", "default", None).unwrap();
    let err = repo.source(&["ROOT"]).load_blocking(&query).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidDocument);
    assert_eq!(err.to_string(), "invalid configuration file foo.yml: the file is larger than 8 MiB");
    assert_eq!(repo.load(&["ROOT"], "bar", "default", None).get("b"), Some(&Value::Int(1)));
}
