use super::*;

fn parse(target: &str) -> Result<ReadRequest<'_>, ApiError> {
    let (path, query) = target.split_once('?').map_or((target, None), |(p, q)| (p, Some(q)));
    ReadRequest::parse(path, query)
}

#[test]
fn flat_names_split_at_the_last_hyphen() {
    assert_eq!(flat_parts("foo-bar-foo2-bar2-spam.yml").map(|p| (p.0, p.1)), Some(("foo-bar-foo2-bar2", "spam")));
    assert_eq!(flat_parts("foo-dev,mysql.properties").map(|p| (p.0, p.1)), Some(("foo", "dev,mysql")));
    assert_eq!(flat_parts("my.app-dev.json").map(|p| (p.0, p.1)), Some(("my.app", "dev")));
    assert!(flat_parts("dev.yml").is_none());
    assert!(flat_parts("foo-.yml").is_none());
    assert!(flat_parts("foo-dev.txt").is_none());
}

#[test]
fn booleans_parse_like_spring() {
    assert!(parse_bool("resolvePlaceholders", "").unwrap());
    assert!(!parse_bool("resolvePlaceholders", "FALSE").unwrap());
    assert!(parse_bool("resolvePlaceholders", "maybe").is_err());
}

#[test]
fn every_shape_parses_to_its_target() {
    let request = parse("/orders/dev").unwrap();
    assert_eq!((request.query.application.as_str(), request.query.label), ("orders", None));
    assert_eq!(request.target, Target::Environment);
    assert_eq!(parse("/orders/dev/main").unwrap().query.label.as_deref(), Some("main"));
    assert_eq!(parse("/orders-dev.yml").unwrap().target, Target::Flat(FlatFormat::Yaml));
    assert_eq!(parse("/main/orders-dev.properties").unwrap().query.label.as_deref(), Some("main"));
    assert_eq!(parse("/o/dev/main/a/b.txt").unwrap().target, Target::Resource("a/b.txt".into()));
    let default_label = parse("/o/dev/nginx.conf?useDefaultLabel").unwrap();
    assert_eq!((default_label.target, default_label.query.label), (Target::Resource("nginx.conf".into()), None));
    assert!(!parse("/o-dev.yml?resolvePlaceholders=false").unwrap().options.resolve_placeholders);
}

#[test]
fn what_is_no_read_shape_or_malformed_is_refused() {
    assert_eq!(parse("/foo/dev.yml").unwrap_err().status(), 404);
    assert_eq!(parse("/foo").unwrap_err().status(), 404);
    assert_eq!(parse("/a%ff/dev").unwrap_err().status(), 400);
    assert_eq!(parse("/a%zz/dev").unwrap_err().status(), 400);
    assert_eq!(parse("/a/dev?resolvePlaceholders=maybe").unwrap_err().status(), 400);
    assert_eq!(parse("/%2E%2E/dev").unwrap_err().status(), 400);
}
