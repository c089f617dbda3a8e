//! Properties that win over every repository: Spring's `spring.cloud.config.server.overrides`.
//!
//! [`OverridingSource`] puts one property source named `overrides` in front of every environment a
//! [`ConfigSource`] loads, so its properties take precedence over every file, in every format, for
//! every application, profile and label. An operator uses it to force a value on the whole fleet
//! without a commit (a log level during an incident, a feature switched off).
//!
//! ```
//! use vortex_core::overrides::{OVERRIDES_SOURCE, overrides_source};
//!
//! let source = overrides_source([("logging.level.root".to_owned(), "WARN".to_owned())]);
//! assert_eq!(source.name, OVERRIDES_SOURCE);
//! ```

use indexmap::IndexMap;

use crate::{BoxFuture, ChangeListener, ConfigQuery, ConfigSource, CoreError, Environment, Property, PropertySource};
use crate::{Resource, SourceHealth, Value};

/// The name of the property source that holds the overrides, as Spring names it.
pub const OVERRIDES_SOURCE: &str = "overrides";

/// The `overrides` property source for `properties`, in their order. `\${` and `\{` in a value
/// become `${` and `{`, as Spring unescapes them (Spring users escape placeholders that the client
/// should resolve, not the server's own settings; the escape is accepted here for the same files).
pub fn overrides_source(properties: impl IntoIterator<Item = (String, String)>) -> PropertySource {
    let map: IndexMap<String, Property> = properties
        .into_iter()
        .map(|(key, value)| (key, Property::new(Value::String(value.replace("\\${", "${").replace("\\{", "{")))))
        .collect();
    PropertySource::new(OVERRIDES_SOURCE, map)
}

/// A [`ConfigSource`] decorator that puts the `overrides` property source first in every
/// environment `inner` loads. The source is built once; each load adds a reference to it.
#[derive(Debug, Clone)]
pub struct OverridingSource<S> {
    inner: S,
    overrides: PropertySource,
}

impl<S: ConfigSource> OverridingSource<S> {
    /// Puts `overrides` (see [`overrides_source`]) in front of what `inner` loads.
    pub fn new(inner: S, overrides: PropertySource) -> Self {
        Self { inner, overrides }
    }
}

impl<S: ConfigSource> ConfigSource for OverridingSource<S> {
    fn load<'a>(&'a self, query: &'a ConfigQuery) -> BoxFuture<'a, Result<Environment, CoreError>> {
        Box::pin(async move {
            let mut env = self.inner.load(query).await?;
            env.property_sources.insert(0, self.overrides.clone());
            Ok(env)
        })
    }

    fn resource<'a>(&'a self, query: &'a ConfigQuery, path: &'a str) -> BoxFuture<'a, Result<Resource, CoreError>> {
        self.inner.resource(query, path)
    }

    fn health(&self) -> SourceHealth {
        self.inner.health()
    }

    fn default_label(&self) -> Option<&str> {
        self.inner.default_label()
    }

    fn refresh(&self) -> BoxFuture<'_, Result<(), CoreError>> {
        self.inner.refresh()
    }

    fn subscribe(&self, listener: ChangeListener) {
        self.inner.subscribe(listener);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_placeholders_are_unescaped() {
        let source = overrides_source([
            ("a".to_owned(), "\\${x}".to_owned()),
            ("b".to_owned(), "\\{cipher}abc".to_owned()),
            ("c".to_owned(), "${kept}".to_owned()),
        ]);
        let values: Vec<_> = source.source.values().map(|p| p.value.to_string()).collect();
        assert_eq!(values, ["${x}", "{cipher}abc", "${kept}"]);
    }
}
