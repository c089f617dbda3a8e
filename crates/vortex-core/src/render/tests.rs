use indexmap::IndexMap;

use super::*;
use crate::{Property, PropertySource};

fn source(name: &str, entries: &[(&str, Value)]) -> PropertySource {
    let source: IndexMap<String, Property> =
        entries.iter().map(|(k, v)| ((*k).to_owned(), Property::new(v.clone()))).collect();
    PropertySource::new(name, source)
}

fn env(sources: Vec<PropertySource>) -> Environment {
    Environment {
        name: "foo".to_owned(),
        profiles: vec!["dev".to_owned()],
        label: None,
        version: None,
        state: None,
        property_sources: sources,
    }
}

fn s(v: &str) -> Value {
    Value::from(v)
}

/// A non-trivial environment: nested maps, lists of maps, an overridden array, placeholders,
/// compound keys, typed values and strings that need quoting.
fn rich() -> Environment {
    env(vec![
        source(
            "file:repo/foo-dev.yml",
            &[
                ("server.port", Value::Int(9090)),
                ("servers[0]", s("dev-1.example.com")),
                ("servers[1]", s("dev-2.example.com")),
                ("greeting", s("Hello from ${spring.application.name:unknown} on port ${server.port}")),
                ("org.springframework.cloud", s("ERROR")),
            ],
        ),
        source(
            "file:repo/foo.yml",
            &[
                ("spring.application.name", s("foo")),
                ("server.port", Value::Int(8080)),
                ("servers[0]", s("prod-1.example.com")),
                ("servers[1]", s("prod-2.example.com")),
                ("servers[2]", s("prod-3.example.com")),
                ("users[0].name", s("alice")),
                ("users[0].roles[0]", s("admin")),
                ("users[0].roles[1]", s("dev")),
                ("users[1].name", s("bob")),
                ("users[1].roles[0]", s("ops")),
                ("db.url", s("jdbc:postgresql://${db.host:localhost}:5432/foo")),
                ("db.pool.max", Value::Int(20)),
                ("db.pool.ratio", Value::Float(0.75)),
                ("feature.enabled", Value::Bool(true)),
                ("quoted.number", s("8080")),
                ("quoted.bool", s("yes")),
                ("empty", s("")),
                ("escaped", s("\\${not.resolved}")),
                ("banner", s("line one\nline two\n")),
                ("logging.level.org.springframework", s("WARN")),
                ("map[a.b]", s("bracketed")),
            ],
        ),
        source(
            "file:repo/application.yml",
            &[
                ("spring.profiles", s("dev")),
                ("logging.level.root", s("INFO")),
                ("org.springframework", s("WARN")),
                ("server.port", Value::Int(80)),
            ],
        ),
    ])
}

#[test]
fn merge_keeps_first_position_and_highest_value() {
    let merged = merge(&rich());
    let keys: Vec<&str> = merged.keys().map(String::as_str).collect();
    // `logging.level.root` comes first: the lowest source defined it first.
    assert_eq!(&keys[..3], ["logging.level.root", "org.springframework", "server.port"]);
    assert_eq!(merged["server.port"], Value::Int(9090));
    assert!(!merged.contains_key("spring.profiles"));
    // Arrays are replaced as a whole: foo-dev.yml's two servers, not three.
    assert!(merged.contains_key("servers[1]"));
    assert!(!merged.contains_key("servers[2]"));
    // Array groups come after every plain key.
    let first_array = keys.iter().position(|k| k.contains('[')).unwrap();
    assert!(keys[first_array..].iter().all(|k| k.contains('[')), "{keys:?}");
}

#[test]
fn array_override_by_a_shorter_array() {
    let e = env(vec![
        source("high", &[("a[0]", s("f")), ("a[1]", s("h"))]),
        source("low", &[("a[0]", s("c")), ("a[1]", s("d")), ("a[2]", s("z"))]),
    ]);
    assert_eq!(render(&e, FlatFormat::Json, true).unwrap(), r#"{"a":["f","h"]}"#);
}

#[test]
fn empty_environment() {
    let e = env(vec![]);
    assert_eq!(render(&e, FlatFormat::Yaml, true).unwrap(), "{}\n");
    assert_eq!(render(&e, FlatFormat::Json, true).unwrap(), "{}");
    assert_eq!(render(&e, FlatFormat::Properties, true).unwrap(), "");
}

#[test]
fn compound_keys_when_a_scalar_is_in_the_way() {
    let e = env(vec![source("x", &[("org.springframework", s("WARN")), ("org.springframework.cloud", s("ERROR"))])]);
    assert_eq!(
        render(&e, FlatFormat::Yaml, true).unwrap(),
        "org:\n  springframework: WARN\n  springframework.cloud: ERROR\n"
    );
}

#[test]
fn missing_indexes_are_padded_with_null() {
    let e = env(vec![source("x", &[("a[2]", s("z"))])]);
    assert_eq!(render(&e, FlatFormat::Json, true).unwrap(), r#"{"a":[null,null,"z"]}"#);
    assert_eq!(render(&e, FlatFormat::Yaml, true).unwrap(), "a:\n- null\n- null\n- z\n");
}

#[test]
fn invalid_keys_are_errors_for_tree_formats_only() {
    for key in ["a..b", ".a", "a[]", "a[0]x"] {
        let e = env(vec![source("x", &[(key, s("v"))])]);
        let err = render(&e, FlatFormat::Yaml, true).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidInput, "{key}");
        assert!(render(&e, FlatFormat::Properties, true).is_ok());
    }
}

/// Found by the `render` and `properties` fuzz targets: a key of 130 segments rendered JSON nested
/// deeper than serde_json (and other clients) will parse.
#[test]
fn keys_nesting_deeper_than_the_limit_are_refused() {
    let at_limit = vec!["a"; tree::MAX_DEPTH].join(".");
    let e = env(vec![source("x", &[(at_limit.as_str(), s("v"))])]);
    let json = render(&e, FlatFormat::Json, false).unwrap();
    assert!(serde_json::from_str::<serde_json::Value>(&json).is_ok());
    let too_deep = vec!["a"; tree::MAX_DEPTH + 1].join(".");
    let e = env(vec![source("x", &[(too_deep.as_str(), s("v"))])]);
    for format in [FlatFormat::Json, FlatFormat::Yaml] {
        let err = render(&e, format, false).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("nests deeper than 64 levels"), "{err}");
    }
    assert!(render(&e, FlatFormat::Properties, false).is_ok(), "flat keys have no depth");
}

#[test]
fn document_is_stripped_in_yaml() {
    let scalar = env(vec![source("x", &[("document", s("blah"))])]);
    assert_eq!(render(&scalar, FlatFormat::Yaml, true).unwrap(), "blah\n");
    let list = env(vec![source("x", &[("document[0]", s("c")), ("document[1]", s("d"))])]);
    assert_eq!(render(&list, FlatFormat::Yaml, true).unwrap(), "- c\n- d\n");
    assert_eq!(render(&list, FlatFormat::Json, true).unwrap(), r#"{"document":["c","d"]}"#);
}

#[test]
fn placeholders_are_optional() {
    let e = env(vec![source("x", &[("a", s("${b}")), ("b", s("1"))])]);
    assert_eq!(render(&e, FlatFormat::Properties, true).unwrap(), "a: 1\nb: 1");
    assert_eq!(render(&e, FlatFormat::Properties, false).unwrap(), "a: ${b}\nb: 1");
    assert_eq!(render(&e, FlatFormat::Json, false).unwrap(), r#"{"a":"${b}","b":"1"}"#);
}

#[test]
fn placeholders_in_properties_resolve_keys_too() {
    let e = env(vec![source("x", &[("key.${name}", s("v")), ("name", s("n"))])]);
    assert_eq!(render(&e, FlatFormat::Properties, true).unwrap(), "key.n: v\nname: n");
}

#[test]
fn snapshot_properties() {
    insta::assert_snapshot!(render(&rich(), FlatFormat::Properties, true).unwrap());
}

#[test]
fn snapshot_yml() {
    insta::assert_snapshot!(render(&rich(), FlatFormat::Yaml, true).unwrap());
}

#[test]
fn snapshot_yaml_equals_yml() {
    // `.yaml` and `.yml` are the same format; snapshot it separately so a divergence shows.
    let yaml = render(&rich(), FlatFormat::from_extension("yaml").unwrap(), true).unwrap();
    assert_eq!(yaml, render(&rich(), FlatFormat::Yaml, true).unwrap());
    insta::assert_snapshot!(yaml);
}

#[test]
fn snapshot_json() {
    insta::assert_snapshot!(render(&rich(), FlatFormat::Json, true).unwrap());
}

#[test]
fn snapshot_unresolved_json() {
    insta::assert_snapshot!(render(&rich(), FlatFormat::Json, false).unwrap());
}
