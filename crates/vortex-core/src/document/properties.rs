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
                documents.push(Document { properties: std::sync::Arc::new(std::mem::take(&mut current)) });
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
    documents.push(Document { properties: std::sync::Arc::new(current) });
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
mod tests;
