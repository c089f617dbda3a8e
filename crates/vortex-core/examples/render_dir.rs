//! Parses a directory of configuration files as Spring's native backend does and prints one
//! application's merged configuration as `.properties`, placeholders resolved.
//!
//! `cargo run -p vortex-core --example render_dir -- <directory> <application> [profiles]`
//! (defaults: the bundled sample repository, `orders`, `dev`).

// Printing is what an example is for.
#![allow(clippy::print_stdout)]

use std::path::Path;
use std::process::ExitCode;

use vortex_core::native::{NativeOptions, NativeSource};
use vortex_core::render::{FlatFormat, render};
use vortex_core::{ConfigQuery, CoreError};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/sample-repo");
    let directory = args.next().unwrap_or_else(|| sample.display().to_string());
    let application = args.next().unwrap_or_else(|| "orders".to_owned());
    let profiles = args.next().unwrap_or_else(|| "dev".to_owned());
    match run(&directory, &application, &profiles) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(directory: &str, application: &str, profiles: &str) -> Result<(), CoreError> {
    let source =
        NativeSource::new(NativeOptions { search_locations: vec![directory.to_owned()], ..NativeOptions::default() })?;
    let query = ConfigQuery::parse(application, profiles, None)?;
    let env = source.load_blocking(&query)?;
    // The files that made the answer, highest precedence first.
    for ps in &env.property_sources {
        eprintln!("# from {} ({} keys)", ps.name, ps.source.len());
    }
    println!("{}", render(&env, FlatFormat::Properties, true)?);
    Ok(())
}
