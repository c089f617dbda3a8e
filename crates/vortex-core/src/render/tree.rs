//! Rebuilding a tree from flat keys: `.` opens a map level, `[n]` a list index.

use indexmap::IndexMap;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::{CoreError, Value};

/// Upper bound on a list index in a flat key, so `a[999999999]` cannot allocate a huge list.
const MAX_INDEX: usize = 100_000;

/// A node of a rebuilt configuration tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A gap in a list (`a[0]` and `a[2]` without `a[1]`), written as `null`.
    Null,
    /// A scalar value.
    Scalar(Value),
    /// A map in key order.
    Map(IndexMap<String, Node>),
    /// A list.
    List(Vec<Node>),
}

impl Node {
    /// Applies `f` to every string scalar in the tree; keys are left alone.
    pub(crate) fn try_map_strings(
        &mut self,
        f: &mut dyn FnMut(&str) -> Result<String, CoreError>,
    ) -> Result<(), CoreError> {
        match self {
            Self::Scalar(Value::String(s)) => *s = f(s)?,
            Self::Map(map) => map.values_mut().try_for_each(|n| n.try_map_strings(f))?,
            Self::List(list) => list.iter_mut().try_for_each(|n| n.try_map_strings(f))?,
            Self::Null | Self::Scalar(_) => {}
        }
        Ok(())
    }

    /// Writes the tree as compact JSON, as Jackson does.
    pub(crate) fn to_json(&self) -> String {
        // Serialising plain data to a String cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl From<&serde_json::Value> for Node {
    /// Converts JSON data (for example, serialised settings) into a tree; objects keep their order.
    fn from(value: &serde_json::Value) -> Self {
        use serde_json::Value as Json;
        match value {
            Json::Null => Self::Null,
            Json::Bool(b) => Self::Scalar(Value::Bool(*b)),
            Json::Number(n) => match n.as_i64() {
                Some(i) => Self::Scalar(Value::Int(i)),
                None => Self::Scalar(n.as_f64().map_or_else(|| Value::String(n.to_string()), Value::Float)),
            },
            Json::String(s) => Self::Scalar(Value::String(s.clone())),
            Json::Array(items) => Self::List(items.iter().map(Self::from).collect()),
            Json::Object(map) => Self::Map(map.iter().map(|(k, v)| (k.clone(), Self::from(v))).collect()),
        }
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Null => serializer.serialize_unit(),
            Self::Scalar(v) => v.serialize(serializer),
            Self::Map(map) => {
                let mut m = serializer.serialize_map(Some(map.len()))?;
                for (k, v) in map {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
            Self::List(list) => {
                let mut s = serializer.serialize_seq(Some(list.len()))?;
                for v in list {
                    s.serialize_element(v)?;
                }
                s.end()
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// Builds a tree from merged flat properties (the root is always a map).
/// Deepest tree a key may make, in segments (`a.b[0]` is three). Deeper trees are refused: JSON
/// parsers have nesting limits (serde_json's is 128, found by the `render` and `properties` fuzz
/// targets), and the writers recurse once per level.
pub(crate) const MAX_DEPTH: usize = 64;

pub(crate) fn build(flat: IndexMap<String, Value>) -> Result<Node, CoreError> {
    let mut root = IndexMap::new();
    for (key, value) in flat {
        let segments = segments(&key)?;
        if segments.len() > MAX_DEPTH {
            return Err(invalid(&key, "nests deeper than 64 levels"));
        }
        insert_map(&mut root, &segments, value);
    }
    Ok(Node::Map(root))
}

fn invalid(key: &str, reason: &'static str) -> CoreError {
    CoreError::InvalidKey { key: key.to_owned(), reason }
}

/// Splits `a.b[0].c` into `[Key(a), Key(b), Index(0), Key(c)]`; `b[x]` with a non-number stays a key.
fn segments(key: &str) -> Result<Vec<Segment>, CoreError> {
    let mut out = Vec::new();
    let mut name = String::new();
    let mut after_index = false;
    let mut chars = key.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '.' => {
                if name.is_empty() && !after_index {
                    return Err(invalid(key, "empty key segment"));
                }
                if !name.is_empty() {
                    out.push(Segment::Key(std::mem::take(&mut name)));
                }
                after_index = false;
                if chars.peek().is_none() {
                    return Err(invalid(key, "key ends with '.'"));
                }
            }
            '[' => {
                let close = key[i..].find(']').map(|c| i + c).ok_or_else(|| invalid(key, "unclosed '['"))?;
                let inner = &key[i + 1..close];
                if inner.is_empty() {
                    return Err(invalid(key, "empty index"));
                }
                // Skip the bracket contents.
                while chars.peek().is_some_and(|&(j, _)| j <= close) {
                    chars.next();
                }
                if inner.bytes().all(|b| b.is_ascii_digit()) {
                    if name.is_empty() && out.is_empty() {
                        return Err(invalid(key, "key starts with an index"));
                    }
                    if !name.is_empty() {
                        out.push(Segment::Key(std::mem::take(&mut name)));
                    }
                    let index: usize = inner.parse().map_err(|_| invalid(key, "index too large"))?;
                    if index > MAX_INDEX {
                        return Err(invalid(key, "index too large"));
                    }
                    out.push(Segment::Index(index));
                    after_index = true;
                    if let Some(&(_, next)) = chars.peek() {
                        if next != '.' && next != '[' {
                            return Err(invalid(key, "text after an index"));
                        }
                    }
                } else {
                    if after_index && name.is_empty() {
                        return Err(invalid(key, "non-numeric index after an index"));
                    }
                    name.push_str(&key[i..=close]);
                }
            }
            c => {
                name.push(c);
                after_index = false;
            }
        }
    }
    if !name.is_empty() {
        out.push(Segment::Key(name));
    }
    if out.is_empty() {
        return Err(invalid(key, "empty key"));
    }
    Ok(out)
}

/// Writes segments back as a flat key (used for compound keys).
fn join(segments: &[Segment]) -> String {
    let mut out = String::new();
    for segment in segments {
        match segment {
            Segment::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn container_for(next: &Segment) -> Node {
    match next {
        Segment::Key(_) => Node::Map(IndexMap::new()),
        Segment::Index(_) => Node::List(Vec::new()),
    }
}

fn insert_map(map: &mut IndexMap<String, Node>, segments: &[Segment], value: Value) {
    let (Segment::Key(key), rest) = (&segments[0], &segments[1..]) else {
        // `segments` always starts with a key here: checked by `segments`.
        return;
    };
    if rest.is_empty() {
        map.insert(key.clone(), Node::Scalar(value));
        return;
    }
    match map.get_mut(key) {
        // A scalar is already there (`a.b=x`, then `a.b.c=y`): keep the rest as a compound key.
        Some(Node::Scalar(_) | Node::Null) => {
            map.insert(join(segments), Node::Scalar(value));
        }
        Some(node) => insert_node(node, rest, value),
        None => {
            let mut node = container_for(&rest[0]);
            insert_node(&mut node, rest, value);
            map.insert(key.clone(), node);
        }
    }
}

fn insert_node(node: &mut Node, segments: &[Segment], value: Value) {
    match (&segments[0], node) {
        (Segment::Key(_), Node::Map(map)) => insert_map(map, segments, value),
        (Segment::Index(i), Node::List(list)) => {
            if list.len() <= *i {
                list.resize(*i + 1, Node::Null);
            }
            let rest = &segments[1..];
            if rest.is_empty() {
                list[*i] = Node::Scalar(value);
            } else {
                if !matches!(
                    (&rest[0], &list[*i]),
                    (Segment::Key(_), Node::Map(_)) | (Segment::Index(_), Node::List(_))
                ) {
                    list[*i] = container_for(&rest[0]);
                }
                insert_node(&mut list[*i], rest, value);
            }
        }
        // A map where a list is expected, or the reverse: the later key replaces the shape.
        (segment, node) => {
            *node = container_for(segment);
            insert_node(node, segments, value);
        }
    }
}

#[cfg(test)]
mod tests;
