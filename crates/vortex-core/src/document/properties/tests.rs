use super::*;

fn pairs(text: &str) -> Vec<Vec<(String, String)>> {
    parse_properties(text, "t.properties")
        .unwrap()
        .into_iter()
        .map(|d| d.properties.iter().map(|(k, p)| (k.clone(), p.value.to_string())).collect())
        .collect()
}

fn kv(k: &str, v: &str) -> (String, String) {
    (k.to_owned(), v.to_owned())
}

#[test]
fn separators_comments_and_whitespace() {
    let text = "# comment\n! also\na=1\nb: 2\nc 3\n  d   =   4  \ne\nf=\n";
    assert_eq!(
        pairs(text),
        vec![vec![kv("a", "1"), kv("b", "2"), kv("c", "3"), kv("d", "4  "), kv("e", ""), kv("f", "")]]
    );
}

#[test]
fn escapes_and_continuations() {
    let text = "key\\ with\\=odd\\:chars = x\\ty\\u00e9\nlong = one, \\\n       two\nbackslash = a\\\\\nnext = b\n";
    assert_eq!(
        pairs(text),
        vec![vec![kv("key with=odd:chars", "x\tyé"), kv("long", "one, two"), kv("backslash", "a\\"), kv("next", "b"),]]
    );
}

#[test]
fn documents_split_on_hash_dashes() {
    let text = "a=1\n#---\nspring.config.activate.on-profile=dev\na=2\n!---\n";
    assert_eq!(
        pairs(text),
        vec![vec![kv("a", "1")], vec![kv("spring.config.activate.on-profile", "dev"), kv("a", "2")]]
    );
}

#[test]
fn repeated_keys_keep_position_and_last_value() {
    assert_eq!(pairs("a=1\nb=2\na=3\n"), vec![vec![kv("a", "3"), kv("b", "2")]]);
}

#[test]
fn malformed_unicode_escape_names_the_line() {
    let err = parse_properties("a=1\nb=\\u12G4\n", "bad.properties").unwrap_err();
    assert!(matches!(err, CoreError::Parse { line: 2, .. }), "{err:?}");
}

#[test]
fn origin_points_at_the_value() {
    let docs = parse_properties("\nname = value\n", "o.properties").unwrap();
    let origin = docs[0].properties["name"].origin.unwrap();
    assert_eq!((origin.line, origin.column), (2, 8));
}
