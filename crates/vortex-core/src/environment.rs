//! The answer to a query: an [`Environment`] of ordered [`PropertySource`]s.

use std::sync::Arc;

use indexmap::IndexMap;
use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};

use crate::Value;

/// Where a property was defined inside its file: `line:column`, both 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// A property value together with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    /// The value, with its YAML scalar type.
    pub value: Value,
    /// The position in the file, when known.
    pub origin: Option<Origin>,
}

impl Property {
    /// Returns a property with no known origin.
    pub fn new(value: impl Into<Value>) -> Self {
        Self { value: value.into(), origin: None }
    }
}

/// One named, ordered map of properties: a file, or one document of a multi-document file.
#[derive(Debug, Clone, PartialEq)]
pub struct PropertySource {
    /// The name clients see, e.g. `file:config/foo-dev.yml`.
    pub name: String,
    /// The properties in file order. Shared: every environment made from the same file content holds
    /// the same map (see [`DocumentCache`](crate::config_data::DocumentCache)).
    pub source: Arc<IndexMap<String, Property>>,
}

impl PropertySource {
    /// A property source named `name` holding `source`.
    pub fn new(name: impl Into<String>, source: IndexMap<String, Property>) -> Self {
        Self { name: name.into(), source: Arc::new(source) }
    }
}

/// The result of a query, in Spring Cloud Config's `Environment` shape.
///
/// Property sources run from the highest precedence to the lowest: the first source that defines a
/// key wins.
#[derive(Debug, Clone, PartialEq)]
pub struct Environment {
    /// The requested application, with `(_)` already turned into `/`.
    pub name: String,
    /// A one-element list holding the raw profile string, as Spring's composite repository reports it.
    pub profiles: Vec<String>,
    /// The label from the request, or `None` when the request named none.
    pub label: Option<String>,
    /// The backend's version: a commit id for git, the configured version for the native backend.
    pub version: Option<String>,
    /// Backend state; `None` for the native backend.
    pub state: Option<String>,
    /// The property sources, highest precedence first.
    pub property_sources: Vec<PropertySource>,
}

impl Environment {
    /// Returns the value of `key` from the first property source that defines it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.property_sources.iter().find_map(|ps| ps.source.get(key)).map(|p| &p.value)
    }

    /// Returns a serialisable view: the v1 JSON shape, or with `include_origin` the v2 shape in which
    /// every value is `{"value": ..., "origin": "line:col"}`.
    pub fn json(&self, include_origin: bool) -> EnvironmentJson<'_> {
        EnvironmentJson { env: self, include_origin, label: self.label.as_deref() }
    }
}

/// The JSON wire form of an [`Environment`]; see [`Environment::json`].
#[derive(Debug, Clone, Copy)]
pub struct EnvironmentJson<'a> {
    env: &'a Environment,
    include_origin: bool,
    label: Option<&'a str>,
}

impl<'a> EnvironmentJson<'a> {
    /// Shows `label` instead of the environment's own label: `None` for a request that named no
    /// label, although the environment was loaded for the default one.
    pub fn with_label(self, label: Option<&'a str>) -> Self {
        Self { label, ..self }
    }
}

impl Serialize for EnvironmentJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let env = self.env;
        let mut s = serializer.serialize_struct("Environment", 6)?;
        s.serialize_field("name", &env.name)?;
        s.serialize_field("profiles", &env.profiles)?;
        s.serialize_field("label", &self.label)?;
        s.serialize_field("version", &env.version)?;
        s.serialize_field("state", &env.state)?;
        let sources: Vec<_> =
            env.property_sources.iter().map(|ps| SourceJson { ps, include_origin: self.include_origin }).collect();
        s.serialize_field("propertySources", &sources)?;
        s.end()
    }
}

struct SourceJson<'a> {
    ps: &'a PropertySource,
    include_origin: bool,
}

impl Serialize for SourceJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("PropertySource", 2)?;
        s.serialize_field("name", &self.ps.name)?;
        s.serialize_field("source", &SourceMapJson(self))?;
        s.end()
    }
}

struct SourceMapJson<'a>(&'a SourceJson<'a>);

impl Serialize for SourceMapJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let source = &self.0.ps.source;
        let mut map = serializer.serialize_map(Some(source.len()))?;
        for (key, property) in source.iter() {
            if self.0.include_origin {
                map.serialize_entry(key, &WithOrigin(property))?;
            } else {
                map.serialize_entry(key, &property.value)?;
            }
        }
        map.end()
    }
}

struct WithOrigin<'a>(&'a Property);

impl Serialize for WithOrigin<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let len = if self.0.origin.is_some() { 2 } else { 1 };
        let mut map = serializer.serialize_map(Some(len))?;
        map.serialize_entry("value", &self.0.value)?;
        if let Some(origin) = self.0.origin {
            map.serialize_entry("origin", &format!("{}:{}", origin.line, origin.column))?;
        }
        map.end()
    }
}
