//! Property documents: YAML and `.properties` files parsed into ordered flat maps.

mod properties;
mod yaml;

use std::sync::Arc;

use indexmap::IndexMap;

use crate::profiles::ProfileExpr;
use crate::{CoreError, Property};

pub use properties::parse_properties;
pub use yaml::parse_yaml;
pub(crate) use yaml::resolve_plain as yaml_resolve_plain;

/// The key that activates a document for some profiles (Spring Boot 2.4 and later).
pub const ON_PROFILE_KEY: &str = "spring.config.activate.on-profile";
/// The legacy activation key of Spring Boot before 2.4, accepted as an alias.
pub const LEGACY_PROFILES_KEY: &str = "spring.profiles";
/// The key listing further files to import.
pub const IMPORT_KEY: &str = "spring.config.import";

/// The file formats a configuration file can have, by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.yml` or `.yaml`.
    Yaml,
    /// `.properties`.
    Properties,
}

impl Format {
    /// Returns the format of a file name, from its extension.
    pub fn of(file: &str) -> Option<Self> {
        let (_, ext) = file.rsplit_once('.')?;
        match ext {
            "yml" | "yaml" => Some(Self::Yaml),
            "properties" => Some(Self::Properties),
            _ => None,
        }
    }
}

/// One document of a configuration file: an ordered map of flat keys.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Document {
    /// Flat keys (`a.b[0].c`) in file order; shared with the property sources made from it.
    pub properties: Arc<IndexMap<String, Property>>,
}

impl Document {
    /// Returns the profile condition that activates this document, if it has one.
    ///
    /// # Errors
    /// [`CoreError::Parse`] when the expression is malformed; `file` names the file in the message.
    pub fn activation(&self, file: &str) -> Result<Option<ProfileExpr>, CoreError> {
        let mut alternatives = Vec::new();
        for key in [ON_PROFILE_KEY, LEGACY_PROFILES_KEY] {
            for (k, property) in self.list_entries(key) {
                let text = property.value.to_string();
                let expr = ProfileExpr::parse(&text).map_err(|message| CoreError::Parse {
                    file: file.to_owned(),
                    line: property.origin.map_or(1, |o| o.line),
                    column: property.origin.map_or(1, |o| o.column),
                    message: format!("invalid profile expression in {k}: {message}"),
                })?;
                alternatives.push(expr);
            }
            if !alternatives.is_empty() {
                break;
            }
        }
        Ok(match alternatives.len() {
            0 => None,
            1 => alternatives.pop(),
            _ => Some(ProfileExpr::Any(alternatives)),
        })
    }

    /// Returns the files listed by `spring.config.import`, comma lists and YAML lists alike.
    pub fn imports(&self) -> Vec<String> {
        self.list_entries(IMPORT_KEY)
            .flat_map(|(_, p)| p.value.to_string().split(',').map(|s| s.trim().to_owned()).collect::<Vec<_>>())
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// Returns the entries `key` and `key[n]`, in file order.
    fn list_entries<'a>(&'a self, key: &'a str) -> impl Iterator<Item = (&'a String, &'a Property)> + 'a {
        self.properties.iter().filter(move |(k, _)| {
            k.as_str() == key
                || k.strip_prefix(key)
                    .and_then(|rest| rest.strip_prefix('['))
                    .and_then(|rest| rest.strip_suffix(']'))
                    .is_some_and(|index| index.bytes().all(|b| b.is_ascii_digit()))
        })
    }
}

/// Parses `text` as a file of the given format.
///
/// `file` is the name used in error messages: relative to its search location, never an absolute path.
///
/// # Errors
/// [`CoreError::Parse`] with the line and column of a syntax error or duplicate key.
pub fn parse(format: Format, text: &str, file: &str) -> Result<Vec<Document>, CoreError> {
    match format {
        Format::Yaml => parse_yaml(text, file),
        Format::Properties => parse_properties(text, file),
    }
}
