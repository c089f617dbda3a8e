use super::*;

fn flat(text: &str) -> Vec<(String, Value)> {
    let docs = parse_yaml(text, "test.yml").unwrap();
    assert_eq!(docs.len(), 1, "{docs:?}");
    docs.into_iter().next().unwrap().properties.iter().map(|(k, p)| (k.clone(), p.value.clone())).collect()
}

fn s(v: &str) -> Value {
    Value::String(v.to_owned())
}

#[test]
fn nested_maps_and_lists_flatten_to_dotted_keys() {
    let text = "info:\n  foo: bar\nlist:\n  - a\n  - b\nusers:\n  - name: x\n    roles: [r1, r2]\nmatrix:\n  - [1, 2]\nempty: []\nnothing: ~\nmap: {}\n";
    assert_eq!(
        flat(text),
        vec![
            ("info.foo".into(), s("bar")),
            ("list[0]".into(), s("a")),
            ("list[1]".into(), s("b")),
            ("users[0].name".into(), s("x")),
            ("users[0].roles[0]".into(), s("r1")),
            ("users[0].roles[1]".into(), s("r2")),
            ("matrix[0][0]".into(), Value::Int(1)),
            ("matrix[0][1]".into(), Value::Int(2)),
            ("empty".into(), s("")),
            ("nothing".into(), s("")),
        ]
    );
}

#[test]
fn bracket_keys_are_appended_without_a_dot() {
    assert_eq!(flat("m:\n  \"[a.b]\": x\n"), vec![("m[a.b]".into(), s("x"))]);
}

#[test]
fn scalars_are_typed_like_snakeyaml() {
    let text = "a: yes\nb: Off\nc: 010\nd: 0x1F\ne: 1_000\nf: 1.5\ng: 1e3\nh: '010'\ni: \"true\"\nj: 2024-01-02\nk: y\nl: 1:30\nm: .inf\nn: -0b101\no: 1.2.3\np: !!str 42\nq: +12\n";
    assert_eq!(
        flat(text),
        vec![
            ("a".into(), Value::Bool(true)),
            ("b".into(), Value::Bool(false)),
            ("c".into(), Value::Int(8)),
            ("d".into(), Value::Int(31)),
            ("e".into(), Value::Int(1000)),
            ("f".into(), Value::Float(1.5)),
            ("g".into(), Value::Float(1000.0)),
            ("h".into(), s("010")),
            ("i".into(), s("true")),
            ("j".into(), s("2024-01-02")),
            ("k".into(), s("y")),
            ("l".into(), Value::Int(90)),
            ("m".into(), Value::Float(f64::INFINITY)),
            ("n".into(), Value::Int(-5)),
            ("o".into(), s("1.2.3")),
            ("p".into(), s("42")),
            ("q".into(), Value::Int(12)),
        ]
    );
}

#[test]
fn boolean_keys_become_their_string_form() {
    assert_eq!(flat("on: 1\n"), vec![("true".into(), Value::Int(1))]);
}

#[test]
fn origins_are_line_and_one_based_column() {
    let docs = parse_yaml("a:\n  b: hello\n", "x.yml").unwrap();
    let origin = docs[0].properties["a.b"].origin.unwrap();
    assert_eq!((origin.line, origin.column), (2, 6));
}

#[test]
fn documents_are_split_and_empty_ones_dropped() {
    let docs = parse_yaml("a: 1\n---\n---\nspring.config.activate.on-profile: dev\na: 2\n", "x.yml").unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[1].properties["a"].value, Value::Int(2));
}

#[test]
fn duplicate_keys_are_reported_with_their_line() {
    let err = parse_yaml("a: 1\nb: 2\na: 3\n", "dup.yml").unwrap_err();
    match err {
        CoreError::Parse { file, line, .. } => {
            assert_eq!(file, "dup.yml");
            assert_eq!(line, 3);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn syntax_errors_name_file_and_line() {
    let err = parse_yaml("a: 1\n b: [unclosed\n", "bad.yml").unwrap_err();
    assert!(matches!(err, CoreError::Parse { ref file, .. } if file == "bad.yml"), "{err}");
    assert!(err.to_string().starts_with("failed to parse bad.yml at line"), "{err}");
}

#[test]
fn merge_keys_and_anchors() {
    let text = "base: &base\n  x: 1\n  y: 2\nderived:\n  <<: *base\n  y: 3\n";
    assert_eq!(
        flat(text),
        vec![
            ("base.x".into(), Value::Int(1)),
            ("base.y".into(), Value::Int(2)),
            ("derived.x".into(), Value::Int(1)),
            ("derived.y".into(), Value::Int(3)),
        ]
    );
}

#[test]
fn alias_bombs_are_refused() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..8 {
        let prev = i - 1;
        text.push_str(&format!("a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"));
    }
    assert!(parse_yaml(&text, "bomb.yml").is_err());
}

#[test]
fn non_map_documents_live_under_document() {
    assert_eq!(flat("- c\n- d\n"), vec![("document[0]".into(), s("c")), ("document[1]".into(), s("d"))]);
}

#[test]
fn block_scalars_keep_newlines() {
    assert_eq!(flat("t: |\n  one\n  two\n"), vec![("t".into(), s("one\ntwo\n"))]);
}
