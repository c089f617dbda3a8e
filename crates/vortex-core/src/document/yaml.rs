//! YAML files: multi-document parsing with saphyr, YAML 1.1 scalar typing as SnakeYAML applies it,
//! and flattening to Spring's dotted keys (see `docs/compatibility.md`).

use std::borrow::Cow;

use indexmap::IndexMap;
use saphyr::{MarkedYaml, ScalarStyle, Tag, YamlData, YamlLoader};
use saphyr_parser::{Event, Parser, ScanError, Span, SpannedEventReceiver};

use super::Document;
use crate::{CoreError, Origin, Property, Value};

/// Upper bound on nodes produced by alias expansion, against "billion laughs" documents.
const ALIAS_LIMIT: usize = 10_000;
/// Upper bound on nesting, so a hostile file cannot exhaust the stack while flattening.
const MAX_DEPTH: usize = 128;

/// Parses a YAML file into its non-empty documents, in file order.
///
/// Scalars are typed with the YAML 1.1 rules Spring Boot (SnakeYAML) uses: plain `yes`/`on`/`true`
/// are booleans, `010` is octal, timestamps stay strings, null becomes `""`. Keys are flattened to
/// `a.b[0].c`; a key written `[a.b]` is appended without a dot.
///
/// # Errors
/// [`CoreError::Parse`] for syntax errors, duplicate keys, unsupported keys or nesting too deep.
pub fn parse_yaml(text: &str, file: &str) -> Result<Vec<Document>, CoreError> {
    let mut loader: YamlLoader<'_, MarkedYaml<'_>> = YamlLoader::default();
    loader.early_parse(false);
    loader.alias_limit(ALIAS_LIMIT);
    let scan_error = |e: &ScanError| CoreError::Parse {
        file: file.to_owned(),
        line: e.marker().line(),
        column: e.marker().col() + 1,
        message: e.info().to_owned(),
    };
    // The events are pulled one at a time rather than pushed by `Parser::load`, which recurses
    // once per nesting level: a few thousand nested `- ` overflow the stack there, before any
    // check of ours could run. The guard refuses a node too deep before the loader builds it, so
    // no tree deeper than `MAX_DEPTH` exists, and none is dropped recursively.
    let mut guard = DepthGuard::default();
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| scan_error(&e))?;
        if let Err(message) = guard.admit(&event) {
            return Err(CoreError::Parse {
                file: file.to_owned(),
                line: span.start.line(),
                column: span.start.col() + 1,
                message: message.to_owned(),
            });
        }
        loader.on_event(event, span);
        if let Some(e) = loader.error() {
            return Err(scan_error(e));
        }
    }
    let mut documents = Vec::new();
    for root in loader.into_documents() {
        let mut flattener = Flattener { file, properties: IndexMap::new() };
        match &root.data {
            // An empty document (`---` followed by nothing) contributes no source, as in SnakeYAML.
            YamlData::Representation(text, ScalarStyle::Plain, None) if is_null(text) => continue,
            YamlData::Mapping(_) | YamlData::Tagged(..) => flattener.node(&root, "", 0)?,
            // A document that is a bare scalar or list is stored under `document`, as Spring does.
            _ => flattener.node(&root, "document", 0)?,
        }
        documents.push(Document { properties: std::sync::Arc::new(flattener.properties) });
    }
    Ok(documents)
}

/// Tracks the nesting of the event stream, aliases included, and refuses what would build a tree
/// deeper than [`MAX_DEPTH`].
///
/// An alias copies its anchor's whole subtree, so it counts as deep as that subtree: an anchor
/// nested 100 levels deep, used 100 levels down, is refused, and a chain of anchors cannot
/// multiply depth either.
#[derive(Default)]
struct DepthGuard {
    /// Open collections: their anchor id (0 for none) and the height of their tallest child.
    open: Vec<(usize, usize)>,
    /// The height of each anchored node: 0 for a scalar, 1 + its tallest child for a collection.
    heights: std::collections::HashMap<usize, usize>,
}

impl DepthGuard {
    fn admit(&mut self, event: &Event<'_>) -> Result<(), &'static str> {
        match event {
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if self.open.len() >= MAX_DEPTH {
                    return Err("nesting is too deep");
                }
                self.open.push((*anchor, 0));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((anchor, tallest)) = self.open.pop() {
                    self.closed(anchor, tallest + 1);
                }
            }
            Event::Scalar(_, _, anchor, _) => self.closed(*anchor, 0),
            Event::Alias(anchor) => {
                let height = self.heights.get(anchor).copied().unwrap_or(0);
                if self.open.len() + height > MAX_DEPTH {
                    return Err("nesting is too deep (through an alias)");
                }
                self.closed(0, height);
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentStart(_) | Event::DocumentEnd => {}
        }
        Ok(())
    }

    /// Records a complete node of `height` in its parent, and under its anchor.
    fn closed(&mut self, anchor: usize, height: usize) {
        if anchor > 0 {
            self.heights.insert(anchor, height);
        }
        if let Some((_, tallest)) = self.open.last_mut() {
            *tallest = (*tallest).max(height);
        }
    }
}

struct Flattener<'f> {
    file: &'f str,
    properties: IndexMap<String, Property>,
}

impl Flattener<'_> {
    fn node(&mut self, node: &MarkedYaml<'_>, path: &str, depth: usize) -> Result<(), CoreError> {
        if depth > MAX_DEPTH {
            return Err(self.error(node.span, "nesting is too deep"));
        }
        match &node.data {
            YamlData::Mapping(mapping) => {
                let explicit: Vec<String> =
                    mapping.keys().filter(|k| !is_merge_key(k)).map(|k| self.key(k)).collect::<Result<_, _>>()?;
                for (key, value) in mapping {
                    if is_merge_key(key) {
                        self.merge(value, path, &explicit, depth)?;
                    } else {
                        let key = self.key(key)?;
                        self.node(value, &join(path, &key), depth + 1)?;
                    }
                }
            }
            YamlData::Sequence(items) => {
                if items.is_empty() {
                    self.insert(path, Value::String(String::new()), node.span);
                }
                for (i, item) in items.iter().enumerate() {
                    self.node(item, &format!("{path}[{i}]"), depth + 1)?;
                }
            }
            YamlData::Tagged(_, inner) => self.node(inner, path, depth + 1)?,
            YamlData::Representation(text, style, tag) => {
                let value = scalar(text, *style, tag.as_ref()).unwrap_or_else(|| Value::String(String::new()));
                self.insert(path, value, node.span);
            }
            YamlData::Value(_) | YamlData::Alias(_) | YamlData::BadValue => {
                return Err(self.error(node.span, "unsupported YAML node"));
            }
        }
        Ok(())
    }

    /// Applies a `<<: *anchor` merge key: entries of the merged map(s) the mapping does not set itself.
    fn merge(
        &mut self,
        value: &MarkedYaml<'_>,
        path: &str,
        explicit: &[String],
        depth: usize,
    ) -> Result<(), CoreError> {
        let sources: Vec<&MarkedYaml<'_>> = match &value.data {
            YamlData::Mapping(_) => vec![value],
            YamlData::Sequence(items) => items.iter().collect(),
            _ => return Err(self.error(value.span, "a merge key needs a mapping or a list of mappings")),
        };
        for source in sources {
            let YamlData::Mapping(mapping) = &source.data else {
                return Err(self.error(source.span, "a merge key needs a mapping or a list of mappings"));
            };
            for (key, value) in mapping {
                let key = self.key(key)?;
                if !explicit.contains(&key) {
                    self.node(value, &join(path, &key), depth + 1)?;
                }
            }
        }
        Ok(())
    }

    fn key(&self, key: &MarkedYaml<'_>) -> Result<String, CoreError> {
        match &key.data {
            YamlData::Representation(text, style, tag) => Ok(match scalar(text, *style, tag.as_ref()) {
                Some(value) => value.to_string(),
                None => "null".to_owned(),
            }),
            YamlData::Tagged(_, inner) => self.key(inner),
            _ => Err(self.error(key.span, "only scalar keys are supported")),
        }
    }

    fn insert(&mut self, path: &str, value: Value, span: Span) {
        let origin = Origin { line: span.start.line(), column: span.start.col() + 1 };
        self.properties.insert(path.to_owned(), Property { value, origin: Some(origin) });
    }

    fn error(&self, span: Span, message: &str) -> CoreError {
        CoreError::Parse {
            file: self.file.to_owned(),
            line: span.start.line(),
            column: span.start.col() + 1,
            message: message.to_owned(),
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else if key.starts_with('[') {
        format!("{path}{key}")
    } else {
        format!("{path}.{key}")
    }
}

fn is_merge_key(node: &MarkedYaml<'_>) -> bool {
    matches!(&node.data, YamlData::Representation(text, ScalarStyle::Plain, None) if text == "<<")
}

/// Types a scalar as SnakeYAML's YAML 1.1 resolver does; `None` is null.
fn scalar(text: &str, style: ScalarStyle, tag: Option<&Cow<'_, Tag>>) -> Option<Value> {
    if let Some(tag) = tag {
        let core = tag.is_yaml_core_schema() || tag.handle == "!!";
        return match (core, tag.suffix.as_str()) {
            (true, "str") => Some(Value::String(text.to_string())),
            (true, "null") => None,
            (true, "bool" | "int" | "float") => {
                Some(resolve_plain(text).unwrap_or_else(|| Value::String(String::new())))
            }
            _ => Some(Value::String(text.to_string())),
        };
    }
    match style {
        ScalarStyle::Plain => resolve_plain(text),
        _ => Some(Value::String(text.to_string())),
    }
}

fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

/// Resolves a plain scalar with YAML 1.1 rules (SnakeYAML's `Resolver`, timestamps disabled).
pub(crate) fn resolve_plain(text: &str) -> Option<Value> {
    if is_null(text) {
        return None;
    }
    Some(match text {
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Value::Bool(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => Value::Bool(false),
        _ => {
            if let Some(i) = parse_int(text) {
                Value::Int(i)
            } else if let Some(f) = parse_float(text) {
                Value::Float(f)
            } else {
                Value::String(text.to_owned())
            }
        }
    })
}

/// Parses a YAML 1.1 integer: decimal, `0b` binary, `0` octal, `0x` hex, `:`-sexagesimal, `_` separators.
fn parse_int(text: &str) -> Option<i64> {
    let (negative, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let first = *body.as_bytes().first()?;
    if !first.is_ascii_digit() {
        return None;
    }
    let digits = |s: &str, radix: u32| -> Option<i64> {
        let cleaned: String = s.chars().filter(|&c| c != '_').collect();
        if cleaned.is_empty() || !s.starts_with(|c: char| c.is_digit(radix)) && !s.starts_with('_') {
            return None;
        }
        i64::from_str_radix(&cleaned, radix).ok()
    };
    let magnitude = if let Some(bin) = body.strip_prefix("0b") {
        digits(bin, 2)?
    } else if let Some(hex) = body.strip_prefix("0x") {
        digits(hex, 16)?
    } else if body.contains(':') {
        // Sexagesimal: `1:30` is 90. The first part must not start with 0.
        let mut parts = body.split(':');
        let head = parts.next()?;
        if head.starts_with('0') {
            return None;
        }
        let mut total = digits(head, 10)?;
        for part in parts {
            if part.is_empty()
                || part.len() > 2
                || !part.bytes().all(|b| b.is_ascii_digit())
                || part > "59" && part.len() == 2
            {
                return None;
            }
            total = total.checked_mul(60)?.checked_add(part.parse::<i64>().ok()?)?;
        }
        total
    } else if body.len() > 1 && body.starts_with('0') {
        digits(&body[1..], 8)?
    } else {
        if !body.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
            return None;
        }
        digits(body, 10)?
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// Parses a YAML 1.1 float: `1.5`, `.5`, `1e3`, `1_000.5`, `.inf`, `-.Inf`, `.nan`.
fn parse_float(text: &str) -> Option<f64> {
    match text {
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        _ => {}
    }
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        // `.5` needs digits after the dot; `1.` and `1._5` are fine in YAML 1.1.
        Some(("", frac)) => !frac.is_empty() && frac.bytes().all(|b| b.is_ascii_digit()),
        Some((int, frac)) => {
            int.bytes().all(|b| b.is_ascii_digit() || b == b'_')
                && frac.bytes().all(|b| b.is_ascii_digit() || b == b'_')
        }
        None => !mantissa.is_empty() && mantissa.bytes().all(|b| b.is_ascii_digit() || b == b'_'),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    if !mantissa_ok || !exponent_ok || !mantissa.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    text.replace('_', "").parse().ok()
}

#[cfg(test)]
mod tests;
