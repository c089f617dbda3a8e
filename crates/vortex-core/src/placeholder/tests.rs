use std::collections::HashMap;

use super::*;

fn resolve(text: &str, pairs: &[(&str, &str)]) -> Result<String, CoreError> {
    let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    resolve_with(text, &|k| map.get(k).cloned(), &mut Budget::default())
}

#[test]
fn simple_default_and_unresolved() {
    let env = [("a", "1"), ("b", "x${a}y")];
    assert_eq!(resolve("${a}", &env).unwrap(), "1");
    assert_eq!(resolve("<${b}>", &env).unwrap(), "<x1y>");
    assert_eq!(resolve("${missing}", &env).unwrap(), "${missing}");
    assert_eq!(resolve("${missing:spam}", &env).unwrap(), "spam");
    assert_eq!(resolve("${missing:}", &env).unwrap(), "");
    assert_eq!(resolve("${a:spam}", &env).unwrap(), "1");
}

#[test]
fn nesting_in_keys_and_defaults() {
    let env = [("which", "a"), ("a", "A"), ("fallback", "F")];
    assert_eq!(resolve("${${which}}", &env).unwrap(), "A");
    assert_eq!(resolve("${nope:${fallback}}", &env).unwrap(), "F");
    assert_eq!(resolve("${nope:${nada:deep}}", &env).unwrap(), "deep");
    assert_eq!(resolve("url=http://${host:localhost}:${port:80}/x", &env).unwrap(), "url=http://localhost:80/x");
}

#[test]
fn escapes_stay_literal() {
    assert_eq!(resolve("\\${a}", &[("a", "1")]).unwrap(), "${a}");
    assert_eq!(resolve("x \\${a:b} ${a}", &[("a", "1")]).unwrap(), "x ${a:b} 1");
}

#[test]
fn unterminated_placeholders_are_text() {
    assert_eq!(resolve("${a", &[("a", "1")]).unwrap(), "${a");
    assert_eq!(resolve("$ {a} $", &[("a", "1")]).unwrap(), "$ {a} $");
}

#[test]
fn cycles_are_errors() {
    let err = resolve("${a}", &[("a", "${b}"), ("b", "${a}")]).unwrap_err();
    assert!(matches!(err, CoreError::CircularPlaceholder { .. }));
    // The same key twice side by side is not a cycle.
    assert_eq!(resolve("${x}${x}", &[("x", "1")]).unwrap(), "11");
}

#[test]
fn nested_defaults_deeper_than_the_limit_are_refused_without_recursing_further() {
    for levels in [MAX_DEPTH + 1, 5_000, 50_000] {
        let text = format!("{}end{}", "${x:".repeat(levels), "}".repeat(levels));
        let err = resolve(&text, &[]).unwrap_err();
        assert!(matches!(&err, CoreError::PlaceholderLimit { key, .. } if key == "x"), "{err}");
        assert!(err.to_string().contains("nest deeper than 64 levels"), "{err}");
    }
    let ok = format!("{}end{}", "${x:".repeat(MAX_DEPTH - 1), "}".repeat(MAX_DEPTH - 1));
    assert_eq!(resolve(&ok, &[]).unwrap(), "end");
}

#[test]
fn exponential_expansion_is_stopped_by_the_budget() {
    let keys: Vec<(String, String)> =
        (0..30).map(|i| (format!("p{i}"), format!("${{p{}}}${{p{}}}", i + 1, i + 1))).collect();
    let mut pairs: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    pairs.push(("p30", "x"));
    let err = resolve("${p0}", &pairs).unwrap_err();
    assert!(matches!(&err, CoreError::PlaceholderLimit { key, .. } if key == "p0"), "{err}");
    // Empty values cost work too: 2^30 lookups that write nothing are refused as well.
    pairs.pop();
    pairs.push(("p30", ""));
    assert!(matches!(resolve("${p0}", &pairs), Err(CoreError::PlaceholderLimit { .. })));
    // Twelve levels (4,096 lookups) are well within the default budget.
    assert_eq!(resolve("${p18}", &pairs).unwrap(), "");
}

#[test]
fn a_cancelled_budget_stops_resolution() {
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let mut budget = Budget::default().cancelled_by(flag);
    let err = resolve_with("${a}", &|_| Some("1".to_owned()), &mut budget).unwrap_err();
    assert!(matches!(err, CoreError::Cancelled));
}

#[test]
fn the_error_names_the_source_that_defines_the_key() {
    use std::sync::Arc;

    use indexmap::IndexMap;

    use crate::{Property, PropertySource, Value};
    let mut props = IndexMap::new();
    for i in 0..30 {
        let value = Value::String(format!("${{p{}}}${{p{}}}", i + 1, i + 1));
        props.insert(format!("p{i}"), Property { value, origin: None });
    }
    props.insert("p30".to_owned(), Property { value: Value::String("x".to_owned()), origin: None });
    let env = Environment {
        name: "bomb".to_owned(),
        profiles: vec!["default".to_owned()],
        label: None,
        version: None,
        state: None,
        property_sources: vec![PropertySource { name: "file:repo/bomb.yml".to_owned(), source: Arc::new(props) }],
    };
    let err = resolve_placeholders("a: ${p0}", &env, &mut Budget::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "placeholder ${p0} (defined in file:repo/bomb.yml) cannot be resolved: expanding it takes more than the \
         placeholder budget (16777216 bytes beyond four times the text)"
    );
}
