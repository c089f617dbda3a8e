//! The `overrides` section: properties served first in every response, written as YAML.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

/// One node of the `overrides` tree. Scalars are kept as the text a client will see (`8080`,
/// `true`), since Spring serves override values as strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OverrideValue {
    /// A scalar, as text; YAML `null` is the empty string.
    Text(String),
    /// A list: its items become `key[0]`, `key[1]`, ...
    List(Vec<OverrideValue>),
    /// A nested map: its keys are joined to the parent's with `.`.
    Table(BTreeMap<String, OverrideValue>),
}

/// Flattens the `overrides` tree into Spring's dotted keys, in key order: `{logging: {level: {root:
/// WARN}}}` gives `logging.level.root = WARN`, a list `hosts: [a, b]` gives `hosts[0]`, `hosts[1]`.
pub fn flatten_overrides(tree: &BTreeMap<String, OverrideValue>) -> Vec<(String, String)> {
    fn walk(prefix: &str, value: &OverrideValue, out: &mut Vec<(String, String)>) {
        match value {
            OverrideValue::Text(text) => out.push((prefix.to_owned(), text.clone())),
            OverrideValue::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(&format!("{prefix}[{i}]"), item, out);
                }
            }
            OverrideValue::Table(table) => {
                for (key, item) in table {
                    let key = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                    walk(&key, item, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    for (key, value) in tree {
        walk(key, value, &mut out);
    }
    out
}

impl Serialize for OverrideValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Text(text) => serializer.serialize_str(text),
            Self::List(items) => serializer.collect_seq(items),
            Self::Table(table) => serializer.collect_map(table),
        }
    }
}

impl<'de> Deserialize<'de> for OverrideValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(OverrideVisitor)
    }
}

struct OverrideVisitor;

impl<'de> Visitor<'de> for OverrideVisitor {
    type Value = OverrideValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value, a list or a map of override properties")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<OverrideValue, E> {
        Ok(OverrideValue::Text(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<OverrideValue, E> {
        Ok(OverrideValue::Text(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<OverrideValue, E> {
        Ok(OverrideValue::Text(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<OverrideValue, E> {
        Ok(OverrideValue::Text(v.to_string()))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<OverrideValue, E> {
        Ok(OverrideValue::Text(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<OverrideValue, E> {
        Ok(OverrideValue::Text(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<OverrideValue, E> {
        Ok(OverrideValue::Text(String::new()))
    }

    fn visit_none<E: de::Error>(self) -> Result<OverrideValue, E> {
        Ok(OverrideValue::Text(String::new()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OverrideValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(OverrideValue::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OverrideValue, A::Error> {
        let mut table = BTreeMap::new();
        while let Some((key, value)) = map.next_entry::<String, OverrideValue>()? {
            table.insert(key, value);
        }
        Ok(OverrideValue::Table(table))
    }
}
