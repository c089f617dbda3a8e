//! The flat renderers behind `/{app}-{profiles}.{properties,yml,yaml,json}` (see `docs/compatibility.md`):
//! merge the property sources, rebuild a tree, write it, resolve placeholders.

mod tree;
mod yaml;

use std::fmt::Write as _;

use indexmap::IndexMap;

use crate::placeholder::{Budget, name_source, resolve_placeholders, resolve_with};
use crate::{CoreError, Environment, Value};

pub use tree::Node;

/// The output formats of the flat endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlatFormat {
    /// `.properties`: `key: value` lines.
    Properties,
    /// `.yml` and `.yaml`: a YAML tree as SnakeYAML's `dumpAsMap` writes it.
    Yaml,
    /// `.json`: a compact JSON tree.
    Json,
}

impl FlatFormat {
    /// Returns the format for a file extension (`yml`, `yaml`, `properties`, `json`).
    pub fn from_extension(ext: &str) -> Option<Self> {
        match ext {
            "properties" => Some(Self::Properties),
            "yml" | "yaml" => Some(Self::Yaml),
            "json" => Some(Self::Json),
            _ => None,
        }
    }
}

/// Merges the property sources into one ordered flat map (step A of `docs/compatibility.md`).
///
/// Sources are walked from the lowest precedence up: a key keeps the position where it first
/// appeared and takes the value of the highest source. Keys with `[` form groups by their prefix; a
/// source that defines any key of a group replaces the whole group, and all groups come after the
/// plain keys. The key `spring.profiles` is dropped.
pub fn merge(env: &Environment) -> IndexMap<String, Value> {
    merge_borrowed(env).into_iter().map(|(key, value)| (key.to_owned(), value.clone())).collect()
}

/// [`merge`] without copying: keys and values borrowed from the environment, so that what a higher
/// source overrides is never copied at all.
fn merge_borrowed(env: &Environment) -> IndexMap<&str, &Value> {
    let mut plain: IndexMap<&str, &Value> = IndexMap::new();
    let mut groups: IndexMap<&str, IndexMap<&str, &Value>> = IndexMap::new();
    for ps in env.property_sources.iter().rev() {
        let mut here: IndexMap<&str, IndexMap<&str, &Value>> = IndexMap::new();
        for (key, property) in ps.source.iter() {
            match key.find('[') {
                None => {
                    plain.insert(key, &property.value);
                }
                Some(i) => {
                    here.entry(&key[..i]).or_default().insert(key, &property.value);
                }
            }
        }
        groups.extend(here);
    }
    plain.shift_remove("spring.profiles");
    plain.extend(groups.into_values().flatten());
    plain
}

/// Renders `env` in a flat format, resolving placeholders against it when `resolve` is set, within
/// the default placeholder [`Budget`].
///
/// # Errors
/// [`CoreError::InvalidKey`] when a key cannot be placed in a YAML or JSON tree, and
/// [`CoreError::CircularPlaceholder`] or [`CoreError::PlaceholderLimit`] from placeholder resolution.
pub fn render(env: &Environment, format: FlatFormat, resolve: bool) -> Result<String, CoreError> {
    render_within(env, format, resolve, &mut Budget::default())
}

/// [`render`] within `budget` for the whole document.
///
/// # Errors
/// As [`render`], and [`CoreError::Cancelled`] when the budget was cancelled.
pub fn render_within(
    env: &Environment,
    format: FlatFormat,
    resolve: bool,
    budget: &mut Budget,
) -> Result<String, CoreError> {
    let merged = merge_borrowed(env);
    match format {
        FlatFormat::Properties => {
            let mut text = String::with_capacity(merged.iter().map(|(k, _)| k.len() + 16).sum());
            for (i, (key, value)) in merged.iter().enumerate() {
                if i > 0 {
                    text.push('\n');
                }
                // Writing into a String cannot fail.
                let _ = write!(text, "{key}: {value}");
            }
            if resolve && text.contains("${") {
                budget.allow_input(text.len());
                resolve_placeholders(&text, env, budget)
            } else {
                Ok(text)
            }
        }
        FlatFormat::Yaml | FlatFormat::Json => {
            let owned = merged.into_iter().map(|(key, value)| (key.to_owned(), value.clone())).collect();
            let mut tree = tree::build(owned)?;
            if resolve {
                let lookup = |key: &str| env.get(key).map(ToString::to_string);
                tree.try_map_strings(&mut |s| {
                    budget.allow_input(s.len());
                    resolve_with(s, &lookup, budget)
                })
                .map_err(|err| name_source(err, env))?;
            }
            Ok(match format {
                FlatFormat::Json => tree.to_json(),
                _ => yaml::emit_document(&tree),
            })
        }
    }
}

/// Writes a tree as block YAML in the layout of the flat `.yml` endpoint.
pub fn to_yaml(tree: &Node) -> String {
    yaml::emit_document(tree)
}

#[cfg(test)]
mod tests;
