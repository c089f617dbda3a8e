//! The YAML flattener: any text flattens or gives an error; flat keys are never empty, and
//! profile activation expressions in the documents parse or fail cleanly.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(documents) = vortex_core::document::parse_yaml(text, "fuzz.yml") {
        for document in &documents {
            let _ = document.activation("fuzz.yml");
            let _ = document.imports();
        }
    }
});
