use axum::http::{HeaderName, HeaderValue};

use super::*;

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
    }
    map
}

const PUSH: &str = r#"{"ref":"refs/heads/main","commits":[
    {"added":["a.yml"],"removed":["b.yml"],"modified":["c.yml","a.yml"]},
    {"added":[],"removed":[],"modified":["config/d-dev.yml"]}]}"#;

fn paths(pairs: &[(&str, &str)], body: &str) -> Option<Vec<String>> {
    changed_paths(&headers(pairs), body.as_bytes()).unwrap()
}

#[test]
fn commit_based_hosts_list_added_removed_modified_without_repeats() {
    let expected = Some(vec!["a.yml".into(), "b.yml".into(), "c.yml".into(), "config/d-dev.yml".into()]);
    assert_eq!(paths(&[("X-GitHub-Event", "push")], PUSH), expected);
    assert_eq!(paths(&[("X-Gitlab-Event", "Push Hook")], PUSH), expected);
    assert_eq!(paths(&[("x-git-oschina-event", "Push Hook")], PUSH), expected);
    assert_eq!(paths(&[("X-Gogs-Event", "push")], PUSH), expected);
    // Other events, or pushes without commits or files, are not recognised.
    assert_eq!(paths(&[("X-GitHub-Event", "ping")], PUSH), None);
    assert_eq!(paths(&[("X-GitHub-Event", "push")], r#"{"commits":[]}"#), None);
    assert_eq!(paths(&[("X-GitHub-Event", "push")], r#"{"commits":[{"added":[]}]}"#), None);
    assert_eq!(paths(&[], PUSH), None);
}

#[test]
fn github_is_tried_before_the_simple_form_and_gitea_broadcasts() {
    let both = r#"{"path":"simple.yml","commits":[{"added":["pushed.yml"]}]}"#;
    assert_eq!(paths(&[("X-GitHub-Event", "push")], both), Some(vec!["pushed.yml".into()]));
    assert_eq!(paths(&[("X-Gitlab-Event", "Push Hook")], both), Some(vec!["simple.yml".into()]));
    assert_eq!(paths(&[("X-Gitea-Event", "push")], PUSH), Some(vec!["application.yml".into()]));
    assert_eq!(paths(&[("X-Gitea-Event", "push")], r#"{"ref":"x"}"#), None);
}

#[test]
fn bitbucket_cloud_and_server_broadcast() {
    let cloud = r#"{"push":{"changes":[{}]}}"#;
    let broadcast = Some(vec!["application.yml".to_owned()]);
    assert_eq!(paths(&[("X-Event-Key", "repo:push"), ("X-Hook-UUID", "u-1")], cloud), broadcast);
    assert_eq!(paths(&[("X-Event-Key", "pullrequest:fulfilled"), ("X-Hook-UUID", "u-1")], cloud), broadcast);
    assert_eq!(paths(&[("X-Event-Key", "repo:push"), ("X-Hook-UUID", "")], cloud), None);
    assert_eq!(paths(&[("X-Event-Key", "repo:push")], cloud), None);
    let server = r#"{"changes":[{"ref":{"id":"refs/heads/main"}}]}"#;
    assert_eq!(paths(&[("X-Event-Key", "repo:refs_changed"), ("X-Request-Id", "r")], server), broadcast);
    assert_eq!(paths(&[("X-Event-Key", "repo:refs_changed")], server), None);
    assert_eq!(paths(&[("X-Event-Key", "pr:merged"), ("X-Request-Id", "r")], "{}"), broadcast);
}

#[test]
fn simple_path_as_json_or_form() {
    assert_eq!(paths(&[], r#"{"path":"foo.yml"}"#), Some(vec!["foo.yml".into()]));
    assert_eq!(paths(&[], r#"{"path":["foo.yml","bar.yml"]}"#), Some(vec!["foo.yml".into(), "bar.yml".into()]));
    assert_eq!(paths(&[], r#"{"path":[]}"#), None);
    assert_eq!(paths(&[], r#"{"other":1}"#), None);
    let form = [("content-type", "application/x-www-form-urlencoded")];
    assert_eq!(
        paths(&form, "path=foo.yml&x=1&path=dir%2Fbar+baz.yml"),
        Some(vec!["foo.yml".into(), "dir/bar baz.yml".into()])
    );
    assert_eq!(paths(&form, "x=1"), None);
}

#[test]
fn a_json_request_needs_a_json_body() {
    assert!(changed_paths(&headers(&[]), b"").is_err());
    assert!(changed_paths(&headers(&[]), b"  \n").is_err());
    assert!(changed_paths(&headers(&[("X-GitHub-Event", "push")]), b"{not json").is_err());
}

#[test]
fn service_names_follow_spring() {
    let names = |paths: &[&str]| service_names(&paths.iter().map(|p| (*p).to_owned()).collect::<Vec<_>>());
    assert_eq!(names(&["foo-local-dev.yml"]), ["foo-local-dev", "foo-local", "foo"]);
    assert_eq!(names(&["application-dev.yml"]), ["application-dev", "*"]);
    assert_eq!(names(&["application.yml"]), ["*"]);
    assert_eq!(names(&["config/foo.yml", "foo-dev.properties"]), ["foo", "foo-dev"]);
    assert_eq!(names(&[r"C:\config\bar.yml"]), ["bar"]);
    assert_eq!(names(&["sub/application.yml"]), ["*"], "directories are ignored");
    assert_eq!(names(&["noext"]), ["noext"]);
}
