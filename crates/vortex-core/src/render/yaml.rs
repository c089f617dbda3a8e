//! A YAML writer that follows SnakeYAML's `dumpAsMap` layout: block style, two-space indent,
//! sequence items not indented under their key, quoting for strings that would read as another type.

use indexmap::IndexMap;

use super::Node;
use crate::Value;
use crate::document::yaml_resolve_plain;
use crate::value::java_double;

/// Writes the flat-endpoint YAML for a tree, applying Spring's `strip-document-from-yaml`.
pub(super) fn emit_document(tree: &Node) -> String {
    let mut out = String::new();
    match tree {
        Node::Map(map) if map.is_empty() => out.push_str("{}\n"),
        // A lone `document` key is a non-map file: write just its value.
        Node::Map(map) if map.len() == 1 && map.contains_key("document") => match &map["document"] {
            Node::Map(inner) if !inner.is_empty() => emit_map(&mut out, inner, 0, false),
            Node::List(list) if !list.is_empty() => emit_list(&mut out, list, 0, false),
            other => {
                out.push_str(&inline(other, 0));
                out.push('\n');
            }
        },
        Node::Map(map) => emit_map(&mut out, map, 0, false),
        other => {
            out.push_str(&inline(other, 0));
            out.push('\n');
        }
    }
    out
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

/// Writes a non-empty map; with `inline_first`, the first key continues the current line (`- a: 1`).
fn emit_map(out: &mut String, map: &IndexMap<String, Node>, indent: usize, inline_first: bool) {
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 || !inline_first {
            pad(out, indent);
        }
        out.push_str(&string_scalar(key, indent, true));
        out.push(':');
        match value {
            Node::Map(inner) if !inner.is_empty() => {
                out.push('\n');
                emit_map(out, inner, indent + 2, false);
            }
            Node::List(list) if !list.is_empty() => {
                out.push('\n');
                emit_list(out, list, indent, false);
            }
            other => {
                out.push(' ');
                out.push_str(&inline(other, indent + 2));
                out.push('\n');
            }
        }
    }
}

/// Writes a non-empty list with its dashes at `indent`.
fn emit_list(out: &mut String, list: &[Node], indent: usize, inline_first: bool) {
    for (i, item) in list.iter().enumerate() {
        if i > 0 || !inline_first {
            pad(out, indent);
        }
        out.push_str("- ");
        match item {
            Node::Map(inner) if !inner.is_empty() => emit_map(out, inner, indent + 2, true),
            Node::List(inner) if !inner.is_empty() => emit_list(out, inner, indent + 2, true),
            other => {
                out.push_str(&inline(other, indent + 2));
                out.push('\n');
            }
        }
    }
}

/// Writes a scalar, an empty map or an empty list on the current line. Block scalars continue on
/// the following lines at `indent`.
fn inline(node: &Node, indent: usize) -> String {
    match node {
        Node::Null => "null".to_owned(),
        Node::Map(_) => "{}".to_owned(),
        Node::List(_) => "[]".to_owned(),
        Node::Scalar(Value::Bool(b)) => b.to_string(),
        Node::Scalar(Value::Int(i)) => i.to_string(),
        Node::Scalar(Value::Float(x)) if x.is_nan() => ".NaN".to_owned(),
        Node::Scalar(Value::Float(x)) if x.is_infinite() => if *x > 0.0 { ".inf" } else { "-.inf" }.to_owned(),
        Node::Scalar(Value::Float(x)) => java_double(*x),
        Node::Scalar(Value::String(s)) => string_scalar(s, indent, false),
    }
}

/// Chooses the style for a string as SnakeYAML would: plain when it reads back as the same string,
/// a literal block for multi-line text, single quotes otherwise, double quotes for control characters.
fn string_scalar(s: &str, indent: usize, is_key: bool) -> String {
    if s.chars().any(|c| (c.is_control() && c != '\n') || c == '\u{feff}') {
        return double_quoted(s);
    }
    if s.contains('\n') {
        return if is_key || !block_allowed(s) { double_quoted(s) } else { literal_block(s, indent) };
    }
    if plain_allowed(s) { s.to_owned() } else { format!("'{}'", s.replace('\'', "''")) }
}

fn plain_allowed(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    // A string that would read back as another type (number, boolean, null, timestamp) is quoted.
    if !matches!(yaml_resolve_plain(s), Some(Value::String(_))) || looks_like_timestamp(s) {
        return false;
    }
    if s.starts_with(' ') || s.ends_with(' ') || s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    let followed_by_space = |i: usize| s[i..].chars().nth(1).is_none_or(|c| c == ' ');
    if "#,[]{}&*!|>'\"%@`".contains(first) {
        return false;
    }
    if matches!(first, '-' | '?' | ':') && followed_by_space(0) {
        return false;
    }
    let mut previous = first;
    for (i, c) in s.char_indices().skip(1) {
        if c == ':' && followed_by_space(i) {
            return false;
        }
        if c == '#' && previous == ' ' {
            return false;
        }
        previous = c;
    }
    true
}

/// SnakeYAML resolves `yyyy-mm-dd...` as a timestamp, so such strings are quoted when written.
fn looks_like_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 8
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && s[5..].split('-').take(2).all(|p| {
            let digits = p.bytes().take_while(u8::is_ascii_digit).count();
            (1..=2).contains(&digits)
        })
}

fn block_allowed(s: &str) -> bool {
    !s.starts_with([' ', '\n']) && s.lines().all(|l| !l.ends_with(' ') && !l.contains('\t'))
}

fn literal_block(s: &str, indent: usize) -> String {
    let body = s.trim_end_matches('\n');
    let trailing = s.len() - body.len();
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let mut out = format!("|{chomp}");
    let lines: Vec<&str> = body.split('\n').collect();
    for line in lines.iter().copied().chain(std::iter::repeat_n("", trailing.saturating_sub(1))) {
        out.push('\n');
        if !line.is_empty() {
            out.extend(std::iter::repeat_n(' ', indent));
            out.push_str(line);
        }
    }
    out
}

fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() || c == '\u{feff}' => {
                let code = u32::from(c);
                if code <= 0xff {
                    out.push_str(&format!("\\x{code:02X}"));
                } else {
                    out.push_str(&format!("\\u{code:04X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(s: &str) -> String {
        string_scalar(s, 2, false)
    }

    #[test]
    fn strings_that_read_as_other_types_are_quoted() {
        assert_eq!(scalar("8080"), "'8080'");
        assert_eq!(scalar("true"), "'true'");
        assert_eq!(scalar("on"), "'on'");
        assert_eq!(scalar("1.5"), "'1.5'");
        assert_eq!(scalar(""), "''");
        assert_eq!(scalar("~"), "'~'");
        assert_eq!(scalar("2024-01-02"), "'2024-01-02'");
        assert_eq!(scalar("it's"), "it's");
        assert_eq!(scalar("plain text"), "plain text");
        assert_eq!(scalar("http://x:80/y"), "http://x:80/y");
    }

    #[test]
    fn indicators_force_quotes() {
        assert_eq!(scalar("- item"), "'- item'");
        assert_eq!(scalar("-Xmx1g"), "-Xmx1g");
        assert_eq!(scalar("a: b"), "'a: b'");
        assert_eq!(scalar("a #b"), "'a #b'");
        assert_eq!(scalar("*star"), "'*star'");
        assert_eq!(scalar("{x}"), "'{x}'");
        assert_eq!(scalar("${x}"), "${x}");
        assert_eq!(scalar(" lead"), "' lead'");
        assert_eq!(scalar("don't: x"), "'don''t: x'");
    }

    #[test]
    fn multi_line_strings_use_literal_blocks() {
        assert_eq!(scalar("a\nb\n"), "|\n  a\n  b");
        assert_eq!(scalar("a\nb"), "|-\n  a\n  b");
        assert_eq!(scalar("a\n\nb\n\n"), "|+\n  a\n\n  b\n");
        assert_eq!(scalar("trailing \nspace"), "\"trailing \\nspace\"");
    }

    #[test]
    fn control_characters_use_double_quotes() {
        assert_eq!(scalar("a\tb"), "\"a\\tb\"");
        assert_eq!(scalar("bell\u{7}"), "\"bell\\x07\"");
    }
}
