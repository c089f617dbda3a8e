//! Project automation, run as `cargo xtask <task>`.
//!
//! Tasks:
//! - `ci`: everything CI checks, in order (fmt, clippy, feature powerset, tests, snapshots, benches
//!   in test mode, rustdoc, tidy).
//! - `load [--seconds N] [--smoke]`: the load benchmark against nginx (see `load.rs`).
//! - `tidy`: the house rules that no compiler checks.

mod ci;
mod load;
mod tidy;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::run(),
        Some("load") => load::run(&args[1..]),
        Some("tidy") => tidy::run(),
        _ => {
            eprintln!("usage: cargo xtask <ci|load|tidy>");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            ExitCode::FAILURE
        }
    }
}
