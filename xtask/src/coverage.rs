//! `cargo xtask coverage [--check]`: line coverage of every library crate, measured with
//! cargo-tarpaulin (installed when missing; its ptrace engine needs no `llvm-tools` component).
//!
//! Each crate's own tests (unit, integration, doc tests) run instrumented, default features, and
//! only the lines of that crate's `src/` count for it: a crate is not covered by the tests of the
//! crates above it. The table goes to `<target>/coverage/report.md`; with `--check` (as `cargo
//! xtask ci` runs it) a crate under [`MINIMUM`] fails the run.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::cmd::{Tool, cargo, ensure_tool, target_dir, workspace_root};

/// The library crates measured, and their features: the default set, except for `vortex-metrics`,
/// whose default has no exporter and so nothing the server uses to test.
const CRATES: [(&str, &[&str]); 7] = [
    ("vortex-core", &[]),
    ("vortex-settings", &[]),
    ("vortex-metrics", &["--features", "prometheus"]),
    ("vortex-cache", &[]),
    ("vortex-git", &[]),
    ("vortex-bus", &[]),
    ("vortex-server", &[]),
];
/// Lowest line coverage a library crate may have, in percent.
const MINIMUM: f64 = 80.0;
/// The cargo-tarpaulin version installed when it is missing.
const TARPAULIN_VERSION: &str = "0.37.5";

pub(crate) fn run(args: &[String]) -> Result<()> {
    let check = args.iter().any(|a| a == "--check");
    let root = workspace_root()?;
    ensure_tool(&root, Tool::Cargo { subcommand: "tarpaulin", krate: "cargo-tarpaulin", version: TARPAULIN_VERSION })?;
    let target = target_dir(&root);
    let out = target.join("coverage");
    let mut rows = Vec::new();
    for (krate, features) in CRATES {
        let dir = out.join(krate);
        let _ = std::fs::remove_dir_all(&dir);
        let mut command = cargo(&root, &["tarpaulin", "-p", krate, "--skip-clean", "--engine", "ptrace"]);
        // Every test runs, and the report is written, even if one fails under instrumentation (the
        // timing tests are slower there); the test step of `cargo xtask ci` is what judges tests.
        command.args(["--out", "Json", "--timeout", "300", "--no-fail-fast"]).args(features);
        command.arg("--target-dir").arg(target.join("tarpaulin")).arg("--output-dir").arg(&dir);
        eprintln!("xtask: coverage of {krate}: {command:?}");
        let status = command.status().context("cannot run cargo tarpaulin")?;
        let report = dir.join("tarpaulin-report.json");
        if !report.is_file() {
            bail!("coverage of {krate}: cargo tarpaulin wrote no report ({status})");
        }
        if !status.success() {
            eprintln!("xtask: coverage of {krate}: a test failed under instrumentation ({status}); counted anyway");
        }
        let (covered, coverable) = crate_lines(&report, krate)?;
        rows.push((krate, covered, coverable));
    }
    let report = render(&rows);
    std::fs::write(out.join("report.md"), &report)?;
    eprint!("{report}");
    let under: Vec<String> = rows
        .iter()
        .filter(|(_, covered, coverable)| percent(*covered, *coverable) < MINIMUM)
        .map(|(krate, covered, coverable)| format!("{krate} {:.1} %", percent(*covered, *coverable)))
        .collect();
    if check && !under.is_empty() {
        bail!("line coverage under {MINIMUM} %: {}", under.join(", "));
    }
    Ok(())
}

/// Covered and coverable lines of the files under `crates/<krate>/src` in a tarpaulin report.
fn crate_lines(report: &Path, krate: &str) -> Result<(u64, u64)> {
    let text = std::fs::read_to_string(report).with_context(|| format!("cannot read {}", report.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text).context("the tarpaulin report is not JSON")?;
    let files = json["files"].as_array().context("the tarpaulin report has no files")?;
    let prefix = format!("crates/{krate}/src/");
    let (mut covered, mut coverable) = (0, 0);
    for file in files {
        let path = match &file["path"] {
            serde_json::Value::Array(parts) => parts.iter().filter_map(|p| p.as_str()).collect::<Vec<_>>().join("/"),
            other => other.as_str().unwrap_or_default().to_owned(),
        };
        if path.contains(&prefix) {
            covered += file["covered"].as_u64().unwrap_or(0);
            coverable += file["coverable"].as_u64().unwrap_or(0);
        }
    }
    Ok((covered, coverable))
}

fn percent(covered: u64, coverable: u64) -> f64 {
    if coverable == 0 { 100.0 } else { covered as f64 * 100.0 / coverable as f64 }
}

fn render(rows: &[(&str, u64, u64)]) -> String {
    let mut out = String::from("| crate | lines covered | line coverage |\n|---|---|---|\n");
    for (krate, covered, coverable) in rows {
        let _ = writeln!(out, "| `{krate}` | {covered} / {coverable} | {:.1} % |", percent(*covered, *coverable));
    }
    out
}
