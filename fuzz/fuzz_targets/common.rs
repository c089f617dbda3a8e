//! What several targets share: an environment made of parsed documents.

use std::sync::Arc;

use vortex_core::document::Document;
use vortex_core::{Environment, PropertySource};

/// An environment whose property sources are `documents`, in order, named `name`.
pub fn environment(documents: &[Document], name: &str) -> Environment {
    Environment {
        name: "fuzz".to_owned(),
        profiles: vec!["default".to_owned()],
        label: None,
        version: None,
        state: None,
        property_sources: documents
            .iter()
            .map(|d| PropertySource { name: name.to_owned(), source: Arc::clone(&d.properties) })
            .collect(),
    }
}
