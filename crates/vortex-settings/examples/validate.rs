//! Loads settings with an injected environment, as a service embedding Vortex's settings would,
//! and prints what validation says: first for a broken environment, then for a good one.
//!
//! `cargo run -p vortex-settings --example validate`

// Printing is what an example is for.
#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::path::Path;

fn environment(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn main() {
    // Never the process environment: the caller decides what the loader sees.
    let broken = environment(&[
        ("VORTEX__SERVER__PORT", "0"),
        ("VORTEX__SERVER__PREFIX", "config/"),
        ("VORTEX__CACHE__TTL_SECONDS", "0"),
        ("VORTEX__BACKENDS__NATIVE__SEARCH_LOCATIONS", "/does/not/exist"),
    ]);
    match vortex_settings::load(None, &broken) {
        Ok(_) => println!("unexpectedly valid"),
        Err(err) => {
            println!("invalid settings:");
            for line in err.lines() {
                println!("  {line}");
            }
        }
    }

    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/sample-repo");
    let good = environment(&[
        ("VORTEX__SERVER__PORT", "9100"),
        ("VORTEX__BACKENDS__NATIVE__SEARCH_LOCATIONS", &sample.display().to_string()),
    ]);
    match vortex_settings::load(None, &good) {
        Ok(loaded) => println!(
            "valid: port {} (from {}), cache ttl {} s (from {})",
            loaded.settings.server.port,
            loaded.origin("server.port"),
            loaded.settings.cache.ttl_seconds,
            loaded.origin("cache.ttl_seconds"),
        ),
        Err(err) => println!("unexpectedly invalid: {err}"),
    }
}
