//! The `.properties` parser: any text parses or gives an error naming a line, never a panic; what
//! it parses renders in every flat format (`.properties` keys may be anything, even empty, as in
//! Java), and the JSON rendering is valid JSON.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use vortex_core::render::{FlatFormat, render};

fuzz_target!(|text: &str| {
    let Ok(documents) = vortex_core::document::parse_properties(text, "fuzz.properties") else { return };
    let env = common::environment(&documents, "fuzz.properties");
    let _ = render(&env, FlatFormat::Properties, true);
    let _ = render(&env, FlatFormat::Yaml, false);
    if let Ok(json) = render(&env, FlatFormat::Json, false) {
        assert!(serde_json::from_str::<serde_json::Value>(&json).is_ok(), "invalid JSON: {json}");
    }
});
