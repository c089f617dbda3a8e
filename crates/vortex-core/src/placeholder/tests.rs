use std::collections::HashMap;

use super::*;

fn resolve(text: &str, pairs: &[(&str, &str)]) -> Result<String, CoreError> {
    let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    resolve_with(text, &|k| map.get(k).cloned())
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
