//! Properties that win over every repository: Spring's `spring.cloud.config.server.overrides`.
//!
//! [`Processed`](crate::process::Processed) puts one property source named `overrides` in front of
//! every environment a [`ConfigSource`](crate::ConfigSource) loads, so its properties take precedence over every file, in every format, for
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

use crate::{Property, PropertySource, Value};

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
