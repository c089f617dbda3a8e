//! Project automation, run as `cargo xtask <task>`.
//!
//! Tasks:
//! - `ci`: everything CI checks, in order (fmt, clippy, feature powerset, tests, snapshots, examples,
//!   packaging, benches in test mode, rustdoc, tidy).
//! - `bench [FILTER]`: every Criterion suite of the workspace (all features), optionally filtered.
//! - `load [--seconds N] [--smoke] [--memory]`: the load benchmark against nginx (see `load.rs`).
//! - `examples`: runs every crate's examples and checks their output.
//! - `fuzz [--seconds N] [TARGET...]`: the cargo-fuzz targets of `fuzz/` (nightly), N seconds each.
//! - `hostile [PHASE...]`: the release binary against the hostile corpus, timeouts, slow bodies and memory
//!   (see `hostile.rs`).
//! - `soak [--seconds N] [--smoke]`: traffic while faults happen (remote gone, broken YAML, clone deleted,
//!   a flood of names, SIGTERM).
//! - `propagation [--pushes N] [--smoke]`: three replicas on a private RabbitMQ: from a webhook to
//!   every replica serving the push and to the Spring event; read throughput with the bus on and off.
//! - `watchers [--watchers N] [--streams N] [--smoke]`: many held reads and event streams on one server:
//!   memory per held request, CPU while waiting, the delay after a push, read throughput beside them.
//! - `access [--seconds N] [--smoke]`: cached reads without authentication and with a scoped client,
//!   and the first request of a new credential (its password hash) against the next.
//! - `sizes [--smoke] [--set a,b ...]`: the release binary of representative feature sets (none, each
//!   alone, all but one, all), or of the sets given: size, start-up, idle memory.
//! - `coverage [--check]`: line coverage of every library crate (cargo-tarpaulin); `--check` fails
//!   under 80 %.
//! - `tidy`: the house rules that no compiler checks.

mod access;
mod ci;
mod cmd;
mod coverage;
mod examples;
mod fuzz;
mod harness;
mod hostile;
mod load;
mod propagation;
mod sizes;
mod soak;
mod tidy;
mod watchers;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::run(),
        Some("bench") => bench(&args[1..]),
        Some("load") => load::run(&args[1..]),
        Some("examples") => examples::run(),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("hostile") => hostile::run(&args[1..]),
        Some("sizes") => sizes::run(&args[1..]),
        Some("coverage") => coverage::run(&args[1..]),
        Some("soak") => soak::run(&args[1..]),
        Some("propagation") => propagation::run(&args[1..]),
        Some("watchers") => watchers::run(&args[1..]),
        Some("access") => access::run(&args[1..]),
        Some("tidy") => tidy::run(),
        _ => {
            eprintln!(
                "usage: cargo xtask <ci|bench [FILTER]|load [--seconds N] [--smoke] [--memory]|examples|fuzz [--seconds N] [TARGET...]|hostile [PHASE...]|sizes [--smoke] [--set a,b ...]|soak [--seconds N] [--smoke]|propagation [--pushes N] [--smoke]|watchers [--watchers N] [--streams N] [--smoke]|access [--seconds N] [--smoke]|coverage [--check]|tidy>"
            );
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

/// `cargo xtask bench [FILTER]`: the Criterion suites, release profile, all features.
fn bench(filter: &[String]) -> anyhow::Result<()> {
    let root = cmd::workspace_root()?;
    let mut command = cmd::cargo(&root, &["bench", "--workspace", "--all-features", "--"]);
    command.args(filter);
    cmd::step("criterion suites", command)
}
