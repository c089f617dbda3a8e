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

/// Runs `f` on a thread with half the stack of a tokio blocking thread: any recursion proportional
/// to the input's depth (100,000 levels) overflows it and aborts the test binary.
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new().stack_size(1024 * 1024).spawn(f).unwrap().join().unwrap();
}

fn assert_too_deep(text: String) {
    on_small_stack(move || {
        let err = parse_yaml(&text, "deep.yml").unwrap_err();
        // The scanner refuses deep flow collections itself ("recursion limit exceeded").
        let message = err.to_string();
        assert!(message.contains("nesting is too deep") || message.contains("recursion limit exceeded"), "{err}");
        assert!(err.to_string().starts_with("failed to parse deep.yml at line"), "{err}");
    });
}

#[test]
fn deep_block_sequences_are_refused_while_parsing() {
    for levels in [MAX_DEPTH + 1, 5_000, 100_000] {
        let mut text = String::from("x:\n");
        for i in 0..levels {
            text.push_str(&" ".repeat(i.min(1) * 2));
            text.push_str("- ");
        }
        text.push_str("end\n");
        assert_too_deep(text);
    }
}

#[test]
fn deep_block_mappings_are_refused_while_parsing() {
    let mut text = String::new();
    for i in 0..2_000 {
        text.push_str(&" ".repeat(i));
        text.push_str("k:\n");
    }
    text.push_str(&" ".repeat(2_000));
    text.push_str("v\n");
    assert_too_deep(text);
}

#[test]
fn deep_flow_collections_are_refused_while_parsing() {
    assert_too_deep(format!("x: {}1{}\n", "[".repeat(200_000), "]".repeat(200_000)));
    assert_too_deep(format!("x: {}1{}\n", "{a: ".repeat(50_000), "}".repeat(50_000)));
    // Unclosed: still refused by depth before the syntax error at the end.
    assert_too_deep(format!("x: {}\n", "[".repeat(200_000)));
}

#[test]
fn aliases_cannot_multiply_depth() {
    // Each anchor nests 100 levels and holds the previous one: 100 + 100 is over the limit.
    let mut text = String::new();
    for i in 0..3 {
        text.push_str(&format!("a{i}: &a{i} {}", "[".repeat(100)));
        if i > 0 {
            text.push_str(&format!("*a{}", i - 1));
        } else {
            text.push('1');
        }
        text.push_str(&"]".repeat(100));
        text.push('\n');
    }
    assert_too_deep(text);
    // Within the limit, aliases still work.
    let docs = parse_yaml("a: &x [[1]]\nb: *x\n", "ok.yml").unwrap();
    let keys: Vec<&String> = docs[0].properties.keys().collect();
    assert_eq!(keys, ["a[0][0]", "b[0][0]"]);
}

#[test]
fn nesting_at_the_limit_is_accepted() {
    let levels = MAX_DEPTH - 1;
    let text = format!("x: {}1{}\n", "[".repeat(levels), "]".repeat(levels));
    on_small_stack(move || assert_eq!(parse_yaml(&text, "ok.yml").unwrap()[0].properties.len(), 1));
}
