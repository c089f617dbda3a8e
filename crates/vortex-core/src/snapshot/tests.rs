use indexmap::IndexMap;

use super::*;
use crate::{Property, PropertySource};

fn env() -> Environment {
    let mut source = IndexMap::new();
    source.insert("a".to_owned(), Property::new("x-${b}"));
    source.insert("b".to_owned(), Property::new("y"));
    Environment {
        name: "app".to_owned(),
        profiles: vec!["dev".to_owned()],
        label: Some("main".to_owned()),
        version: Some("abc".to_owned()),
        state: None,
        property_sources: vec![PropertySource::new("app.yml", source)],
    }
}

#[test]
fn renders_once_and_keeps_the_bytes() {
    let snapshot = Snapshot::new(env());
    let repr = Representation::Flat { format: FlatFormat::Properties, resolve_placeholders: true };
    let first = snapshot.render(repr).unwrap();
    let second = snapshot.render(repr).unwrap();
    assert_eq!(first.body(), "a: x-y\nb: y");
    assert!(std::ptr::eq(first, second), "the second call returns the kept rendering");
    let raw = snapshot.render(Representation::Flat { format: FlatFormat::Properties, resolve_placeholders: false });
    assert_eq!(raw.unwrap().body(), "a: x-${b}\nb: y");
}

#[test]
fn label_is_null_unless_the_request_named_it() {
    let snapshot = Snapshot::new(env());
    let shown = |label_in_request| {
        let body = snapshot.render(Representation::Environment { origins: false, label_in_request }).unwrap().body();
        serde_json::from_slice::<serde_json::Value>(body).unwrap()["label"].clone()
    };
    assert_eq!(shown(false), serde_json::Value::Null);
    assert_eq!(shown(true), "main");
}

#[test]
fn every_representation_has_its_own_slot() {
    let mut seen = std::collections::HashSet::new();
    for origins in [false, true] {
        for label_in_request in [false, true] {
            assert!(seen.insert(Representation::Environment { origins, label_in_request }.index()));
        }
    }
    for format in [FlatFormat::Properties, FlatFormat::Yaml, FlatFormat::Json] {
        for resolve_placeholders in [false, true] {
            assert!(seen.insert(Representation::Flat { format, resolve_placeholders }.index()));
        }
    }
    assert_eq!(seen.len(), Representation::COUNT);
    assert!(seen.iter().all(|&i| i < Representation::COUNT));
}

#[test]
fn entity_tags_are_quoted_stable_and_change_with_the_bytes() {
    let tag = entity_tag(b"hello world");
    assert_eq!(tag.len(), 18);
    assert!(tag.starts_with('"') && tag.ends_with('"'));
    assert_eq!(tag, entity_tag(b"hello world"));
    // Stable across processes and releases: a fixed input has a fixed tag.
    assert_eq!(entity_tag(b"hello world"), "\"ac011c352461e9eb\"");
    let mut seen = std::collections::HashSet::new();
    for i in 0..10_000u32 {
        assert!(seen.insert(entity_tag(format!("key: {i}").as_bytes())), "collision at {i}");
    }
    assert_ne!(entity_tag(b"abcdefgh"), entity_tag(b"abcdefgi"));
    assert_ne!(entity_tag(b"a"), entity_tag(b"a\0"));
}

#[test]
fn estimated_bytes_grow_with_content() {
    let small = Snapshot::new(env()).estimated_bytes();
    let mut big = env();
    std::sync::Arc::make_mut(&mut big.property_sources[0].source)
        .insert("c".to_owned(), Property::new("z".repeat(4096)));
    assert!(Snapshot::new(big).estimated_bytes() > small + 8192);
}
