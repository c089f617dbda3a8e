//! The flat renderers: whatever a YAML file flattens to renders as `.properties`, `.yml` and
//! `.json` (or is refused as a key that fits no tree), and the JSON is valid JSON.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use vortex_core::render::{FlatFormat, render};

fuzz_target!(|text: &str| {
    let Ok(documents) = vortex_core::document::parse_yaml(text, "fuzz.yml") else { return };
    let env = common::environment(&documents, "fuzz.yml");
    for resolve in [false, true] {
        let _ = render(&env, FlatFormat::Properties, resolve);
        let _ = render(&env, FlatFormat::Yaml, resolve);
        if let Ok(json) = render(&env, FlatFormat::Json, resolve) {
            assert!(serde_json::from_str::<serde_json::Value>(&json).is_ok(), "invalid JSON: {json}");
        }
    }
});
