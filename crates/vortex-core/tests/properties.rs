//! Properties that hold for every input, checked with proptest on generated cases (CI runs them on
//! stable; `cargo xtask fuzz` drives the same entry points with coverage-guided fuzzing).
//!
//! - The parsers, the profile expression parser and the query parser are total: any input gives a
//!   value or an error, never a panic.
//! - Flattening keeps document order.
//! - Rendering then re-parsing gives back the same properties: `.yml` and `.json` for every value
//!   (types included), `.properties` for the values Spring's unescaped `key: value` lines can carry.
//! - Profile expressions mean what their syntax says.
//! - An accepted query can never name a path outside the repository.
//! - Every text encrypts and decrypts back to itself; decrypting any text is total.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use indexmap::IndexMap;
use proptest::prelude::*;
use vortex_core::document::{parse_properties, parse_yaml};
use vortex_core::profiles::ProfileExpr;
use vortex_core::render::{FlatFormat, merge, render};
use vortex_core::{ConfigQuery, Environment, Property, PropertySource, Value};

/// An environment of one property source holding `properties`.
fn environment(properties: &[(String, Value)]) -> Environment {
    let source: IndexMap<String, Property> =
        properties.iter().map(|(k, v)| (k.clone(), Property::new(v.clone()))).collect();
    Environment {
        name: "app".to_owned(),
        profiles: vec!["default".to_owned()],
        label: None,
        version: None,
        state: None,
        property_sources: vec![PropertySource { name: "test".to_owned(), source: Arc::new(source) }],
    }
}

/// The flat properties of the first document of a parse.
fn flat(documents: &[vortex_core::document::Document]) -> Vec<(String, Value)> {
    documents.iter().flat_map(|d| d.properties.iter().map(|(k, p)| (k.clone(), p.value.clone()))).collect()
}

/// Dotted keys of lower-case segments, none a prefix of another (`a` and `a.b` cannot both be
/// leaves of one tree), in generation order.
fn keys() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(prop::collection::vec("[a-z][a-z0-9-]{0,6}", 1..4), 1..12).prop_map(|keys| {
        let mut out: Vec<String> = Vec::new();
        for segments in keys {
            let key = segments.join(".");
            let clashes =
                out.iter().any(|k| *k == key || k.starts_with(&format!("{key}.")) || key.starts_with(&format!("{k}.")));
            if !clashes {
                out.push(key);
            }
        }
        out
    })
}

/// Values of every YAML scalar type a flat renderer must keep apart: strings that look like
/// numbers, booleans or nulls, or hold YAML's and JSON's special characters, as well as real ones.
fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        prop_oneof![
            Just("true".to_owned()),
            Just("null".to_owned()),
            Just("~".to_owned()),
            Just("0x1F".to_owned()),
            Just("1e3".to_owned()),
            Just("010".to_owned()),
            Just(String::new()),
            Just("- item".to_owned()),
            Just("a: b".to_owned()),
            Just("#not a comment".to_owned()),
            "[ -~]{0,20}",
            "\\PC{0,12}",
        ]
        .prop_map(Value::String),
    ]
}

fn properties() -> impl Strategy<Value = Vec<(String, Value)>> {
    keys().prop_flat_map(|keys| {
        let n = keys.len();
        (Just(keys), prop::collection::vec(value(), n)).prop_map(|(k, v)| k.into_iter().zip(v).collect())
    })
}

/// A JSON tree back to flat keys.
fn flatten_json(prefix: &str, json: &serde_json::Value, out: &mut Vec<(String, Value)>) {
    let key = |k: &str| if prefix.is_empty() { k.to_owned() } else { format!("{prefix}.{k}") };
    match json {
        serde_json::Value::Object(map) => map.iter().for_each(|(k, v)| flatten_json(&key(k), v, out)),
        serde_json::Value::Bool(b) => out.push((prefix.to_owned(), Value::Bool(*b))),
        serde_json::Value::Number(n) => out.push((prefix.to_owned(), Value::Int(n.as_i64().unwrap()))),
        serde_json::Value::String(s) => out.push((prefix.to_owned(), Value::String(s.clone()))),
        other => panic!("unexpected {other}"),
    }
}

fn sorted(mut properties: Vec<(String, Value)>) -> Vec<(String, Value)> {
    properties.sort_by(|a, b| a.0.cmp(&b.0));
    properties
}

/// A generated profile expression and what it should mean.
#[derive(Debug, Clone)]
enum Expr {
    Name(String),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

impl Expr {
    fn text(&self) -> String {
        match self {
            Self::Name(n) => n.clone(),
            Self::Not(e) => format!("!{}", e.operand()),
            Self::And(a, b) => format!("{} & {}", a.operand(), b.operand()),
            Self::Or(a, b) => format!("{} | {}", a.operand(), b.operand()),
        }
    }

    /// The text as an operand: binary expressions in parentheses (Spring refuses `a & b | c`).
    fn operand(&self) -> String {
        match self {
            Self::And(..) | Self::Or(..) => format!("({})", self.text()),
            _ => self.text(),
        }
    }

    fn eval(&self, active: &[String]) -> bool {
        match self {
            Self::Name(n) => active.contains(n),
            Self::Not(e) => !e.eval(active),
            Self::And(a, b) => a.eval(active) && b.eval(active),
            Self::Or(a, b) => a.eval(active) || b.eval(active),
        }
    }
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = prop::sample::select(vec!["dev", "prod", "db", "cloud"]).prop_map(|n| Expr::Name(n.to_owned()));
    leaf.prop_recursive(4, 16, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| Expr::Not(Box::new(e))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| Expr::Or(Box::new(a), Box::new(b))),
        ]
    })
}

proptest! {
    // No failure files: a failure prints its minimal input, which becomes a regression test.
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn encryption_round_trips_and_decryption_is_total(plain in "\\PC{0,80}", junk in "[0-9a-fA-F{}:]{0,120}|\\PC{0,60}") {
        let encryptor = vortex_core::cipher::TextEncryptor::new("proptest-key", "deadbeef").unwrap();
        let hex = encryptor.encrypt(&plain).unwrap();
        prop_assert_eq!(encryptor.decrypt(&hex).unwrap(), plain);
        let _ = encryptor.decrypt(&junk);
        let _ = vortex_core::cipher::split_prefixes(&junk);
    }

    #[test]
    fn parsers_are_total(text in "\\PC{0,200}|[ -~\\n\\t]{0,200}") {
        let _ = parse_yaml(&text, "fuzz.yml");
        let _ = parse_properties(&text, "fuzz.properties");
        let _ = ProfileExpr::parse(&text);
    }

    #[test]
    fn yaml_flattening_keeps_document_order(keys in keys(), values in prop::collection::vec(any::<i64>(), 12)) {
        // Quoted: a plain `on:` is the boolean key `true` in YAML 1.1, as in Spring (found by this test).
        let text: String = keys.iter().zip(&values).map(|(k, v)| format!("'{k}': {v}\n")).collect();
        let documents = parse_yaml(&text, "order.yml").unwrap();
        let expected: Vec<(String, Value)> = keys.iter().cloned().zip(values.iter().copied().map(Value::Int)).collect();
        prop_assert_eq!(flat(&documents), expected);
    }

    #[test]
    fn yml_rendering_round_trips_with_types(properties in properties()) {
        let env = environment(&properties);
        let yml = render(&env, FlatFormat::Yaml, false).unwrap();
        let parsed = parse_yaml(&yml, "rendered.yml").unwrap_or_else(|e| panic!("{e}\n{yml}"));
        prop_assert_eq!(sorted(flat(&parsed)), sorted(merge(&env).into_iter().collect()), "{}", yml);
    }

    #[test]
    fn json_rendering_round_trips_with_types(properties in properties()) {
        let env = environment(&properties);
        let json = render(&env, FlatFormat::Json, false).unwrap();
        let tree: serde_json::Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}\n{json}"));
        let mut back = Vec::new();
        flatten_json("", &tree, &mut back);
        prop_assert_eq!(sorted(back), sorted(merge(&env).into_iter().collect()));
    }

    #[test]
    fn properties_rendering_round_trips(
        keys in keys(),
        values in prop::collection::vec("[A-Za-z0-9._/@+-][A-Za-z0-9 ._/@+-]{0,20}[A-Za-z0-9._/@+-]|", 12),
    ) {
        // Spring writes `key: value` without escaping: values without leading or trailing blanks,
        // backslashes or line breaks are the ones that survive, and they must survive exactly.
        let properties: Vec<(String, Value)> = keys.into_iter().zip(values.into_iter().map(Value::String)).collect();
        let env = environment(&properties);
        let text = render(&env, FlatFormat::Properties, false).unwrap();
        let parsed = parse_properties(&text, "rendered.properties").unwrap();
        prop_assert_eq!(flat(&parsed), properties);
    }

    #[test]
    fn profile_expressions_mean_what_they_say(
        expr in expr(),
        active in prop::sample::subsequence(vec!["dev", "prod", "db", "cloud"], 0..4),
    ) {
        let active: Vec<String> = active.into_iter().map(str::to_owned).collect();
        let parsed = ProfileExpr::parse(&expr.text()).unwrap_or_else(|e| panic!("{}: {e}", expr.text()));
        prop_assert_eq!(parsed.matches(&active), expr.eval(&active), "{}", expr.text());
    }

    #[test]
    fn an_accepted_query_never_names_a_path_outside(
        application in "[a-z.%/()_\\\\,0-9\\x00]{1,24}",
        profiles in "[a-z.,%/0-9-]{1,16}",
        label in proptest::option::of("[a-z.%/()_\\\\0-9\\x00]{1,24}"),
    ) {
        if let Ok(query) = ConfigQuery::parse(&application, &profiles, label.as_deref()) {
            let names = std::iter::once(query.application.as_str()).chain(query.label.as_deref());
            for name in names.chain(query.profiles.iter().map(String::as_str)) {
                let decoded = percent_encoding::percent_decode_str(name).decode_utf8_lossy();
                for text in [name, &*decoded] {
                    prop_assert!(!text.split(['/', '\\']).any(|s| s == ".." || s == "."), "{:?}", query);
                    prop_assert!(!text.starts_with('/'), "{:?}", query);
                    prop_assert!(!text.contains('\0'), "{:?}", query);
                }
            }
        }
    }
}
