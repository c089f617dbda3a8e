//! `.properties` files with the full `java.util.Properties` syntax and Boot's `#---` documents.

use indexmap::IndexMap;

use super::Document;
use crate::{CoreError, Origin, Property, Value};

/// Parses a `.properties` file into its non-empty documents, in file order.
///
/// Supports `=`, `:` and whitespace separators, `\` line continuations, `\uXXXX` and the other
/// escapes, `#` and `!` comments, and `#---` / `!---` document separators. Every value is a string;
/// a key repeated in one document keeps its first position and its last value, as
/// `java.util.Properties` does.
///
/// # Errors
/// [`CoreError::Parse`] for a malformed `\u` escape, with its line and column.
pub fn parse_properties(text: &str, file: &str) -> Result<Vec<Document>, CoreError> {
    let mut documents = Vec::new();
    let mut current: IndexMap<String, Property> = IndexMap::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line_no = i + 1;
        let line = lines[i];
        let trimmed = line.trim_start_matches([' ', '\t', '\x0c']);
        i += 1;
        if trimmed.is_empty() {
            continue;
        }
        if trimmed.starts_with('#') || trimmed.starts_with('!') {
            if matches!(trimmed.trim_end(), "#---" | "!---") {
                documents.push(Document { properties: std::mem::take(&mut current) });
            }
            continue;
        }
        // Join continuation lines: a line ending in an odd number of backslashes continues.
        let start_col = line.len() - trimmed.len();
        let mut logical = vec![(trimmed, line_no, start_col)];
        let mut last = trimmed;
        while ends_with_odd_backslashes(last) && i < lines.len() {
            let next = lines[i];
            let next_trimmed = next.trim_start_matches([' ', '\t', '\x0c']);
            logical.push((next_trimmed, i + 1, next.len() - next_trimmed.len()));
            last = next_trimmed;
            i += 1;
        }
        let (key, value, origin) = parse_logical_line(&logical, file)?;
        current.insert(key, Property { value: Value::String(value), origin: Some(origin) });
    }
    documents.push(Document { properties: current });
    documents.retain(|d| !d.properties.is_empty());
    Ok(documents)
}

fn ends_with_odd_backslashes(s: &str) -> bool {
    s.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1
}

/// A character of a logical line with the position it came from.
struct Positioned {
    ch: char,
    line: usize,
    column: usize,
}

/// Splits one logical line (possibly several physical ones) into key, value and the value's origin.
fn parse_logical_line(parts: &[(&str, usize, usize)], file: &str) -> Result<(String, String, Origin), CoreError> {
    let mut chars = Vec::new();
    for (index, (text, line, col)) in parts.iter().enumerate() {
        let mut text: &str = text;
        if index + 1 < parts.len() {
            // Drop the continuation backslash.
            text = &text[..text.len() - 1];
        }
        for (offset, ch) in text.chars().enumerate() {
            chars.push(Positioned { ch, line: *line, column: col + offset + 1 });
        }
    }
    let mut pos = 0;
    let mut key = String::new();
    // Key: up to the first unescaped separator.
    while pos < chars.len() {
        let c = chars[pos].ch;
        if c == '\\' {
            pos = unescape(&chars, pos, &mut key, file)?;
            continue;
        }
        if c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\x0c' {
            break;
        }
        key.push(c);
        pos += 1;
    }
    // Separator: whitespace, then at most one `=` or `:`, then whitespace.
    while pos < chars.len() && matches!(chars[pos].ch, ' ' | '\t' | '\x0c') {
        pos += 1;
    }
    if pos < chars.len() && matches!(chars[pos].ch, '=' | ':') {
        pos += 1;
    }
    while pos < chars.len() && matches!(chars[pos].ch, ' ' | '\t' | '\x0c') {
        pos += 1;
    }
    let origin = chars
        .get(pos)
        .or_else(|| chars.last())
        .map_or(Origin { line: parts[0].1, column: 1 }, |p| Origin { line: p.line, column: p.column });
    let mut value = String::new();
    while pos < chars.len() {
        if chars[pos].ch == '\\' {
            pos = unescape(&chars, pos, &mut value, file)?;
        } else {
            value.push(chars[pos].ch);
            pos += 1;
        }
    }
    Ok((key, value, origin))
}

/// Decodes the escape starting at `chars[pos]` (a backslash) into `out`; returns the next position.
fn unescape(chars: &[Positioned], pos: usize, out: &mut String, file: &str) -> Result<usize, CoreError> {
    let Some(next) = chars.get(pos + 1) else {
        return Ok(pos + 1);
    };
    match next.ch {
        't' => out.push('\t'),
        'n' => out.push('\n'),
        'r' => out.push('\r'),
        'f' => out.push('\x0c'),
        'u' => {
            let hex: String = chars.iter().skip(pos + 2).take(4).map(|p| p.ch).collect();
            let code = (hex.len() == 4).then(|| u32::from_str_radix(&hex, 16).ok()).flatten();
            let Some(code) = code else {
                return Err(CoreError::Parse {
                    file: file.to_owned(),
                    line: chars[pos].line,
                    column: chars[pos].column,
                    message: "malformed \\uXXXX encoding".to_owned(),
                });
            };
            // Surrogate halves cannot stand alone in a Rust string; keep the replacement character.
            out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
            return Ok(pos + 6);
        }
        other => out.push(other),
    }
    Ok(pos + 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<Vec<(String, String)>> {
        parse_properties(text, "t.properties")
            .unwrap()
            .into_iter()
            .map(|d| d.properties.into_iter().map(|(k, p)| (k, p.value.to_string())).collect())
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
            vec![vec![
                kv("key with=odd:chars", "x\tyé"),
                kv("long", "one, two"),
                kv("backslash", "a\\"),
                kv("next", "b"),
            ]]
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
}
