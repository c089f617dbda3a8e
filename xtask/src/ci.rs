//! `cargo xtask ci`: sequences the checks; each step is one process, no shell.
//!
//! fmt, clippy (all features), clippy for every feature combination and tests for representative
//! ones (cargo-hack), pending snapshots, examples with their output checked, `cargo package` of every
//! crate, benches in test mode, smoke runs of the load benchmark, the soak test, the propagation and
//! watchers benchmarks and the sizes harness, the hostile-input checks of the release binary, line coverage of
//! every library crate (at least 80 %), rustdoc, tidy.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::cmd::{Tool, cargo, ensure_tool, step, target_dir, workspace_root};
use crate::harness::{LOAD_TOOLS, RABBITMQ};

/// The cargo-hack version installed when it is missing.
const CARGO_HACK_VERSION: &str = "0.6.46";

/// Runs every CI step in order and stops at the first failure.
pub(crate) fn run() -> Result<()> {
    let root = workspace_root()?;
    let started = Instant::now();
    // Every tool a later step needs, installed (or its absence explained) before anything runs: a
    // contributor without one learns it now, not after ten minutes of other steps.
    let cargo_hack = Tool::Cargo { subcommand: "hack", krate: "cargo-hack", version: CARGO_HACK_VERSION };
    let tools = [Tool::Debian { command: "git", package: "git" }, cargo_hack, RABBITMQ].into_iter().chain(LOAD_TOOLS);
    for tool in tools {
        ensure_tool(&root, tool)?;
    }
    step("fmt", cargo(&root, &["fmt", "--all", "--", "--check"]))?;
    step(
        "clippy",
        cargo(&root, &["clippy", "--workspace", "--all-targets", "--all-features", "--", "-D", "warnings"]),
    )?;
    step(
        "feature powerset (clippy)",
        cargo(&root, &["hack", "--feature-powerset", "--workspace", "clippy", "--all-targets", "--", "-D", "warnings"]),
    )?;
    // The tests on representative feature sets: none, each alone, the default (every feature of
    // the server). The powerset is for clippy: 32 full test runs would not fit the time budget.
    let mut test = cargo(&root, &["hack", "--each-feature", "--exclude-all-features", "--workspace", "test"]);
    // Snapshots are checked, never written, in CI.
    test.env("INSTA_UPDATE", "no");
    step("tests", test)?;
    check_snapshots(&root)?;
    crate::examples::run()?;
    // A publish dry run of every library crate, in dependency order, each built from its package.
    forget_packaged_builds(&target_dir(&root))?;
    step(
        "package (publish dry run)",
        cargo(&root, &["package", "--workspace", "--exclude", "xtask", "--allow-dirty", "--quiet"]),
    )?;
    step("benches (test mode)", cargo(&root, &["test", "--workspace", "--benches", "--all-features"]))?;
    // The load benchmark's harness, for a few seconds, so it never rots; no figure is checked.
    eprintln!("xtask ci: load benchmark (smoke)");
    crate::load::run(&["--smoke".to_owned()])?;
    // Hostile input against the release binary: nothing aborts, freezes or starves the server.
    eprintln!("xtask ci: hostile input (release binary)");
    crate::hostile::run(&[])?;
    // Faults under traffic, in short: no failed request, memory bounded, a clean stop.
    eprintln!("xtask ci: soak (smoke)");
    crate::soak::run(&["--smoke".to_owned()])?;
    // Three replicas on a private RabbitMQ, five pushes: the propagation benchmark never rots.
    eprintln!("xtask ci: propagation (smoke)");
    crate::propagation::run(&["--smoke".to_owned()])?;
    // Held reads and streams on one server, and one push: the watchers benchmark never rots.
    eprintln!("xtask ci: watchers (smoke)");
    crate::watchers::run(&["--smoke".to_owned()])?;
    // Scoped clients on the read path, and a password hash per new credential.
    eprintln!("xtask ci: access (smoke)");
    crate::access::run(&["--smoke".to_owned()])?;
    // The sizes harness on the smallest and largest feature sets (dev profile); no figure is checked.
    eprintln!("xtask ci: sizes (smoke)");
    crate::sizes::run(&["--smoke".to_owned()])?;
    // Line coverage of every library crate, default features, once; under 80 % fails.
    eprintln!("xtask ci: coverage");
    crate::coverage::run(&["--check".to_owned()])?;
    let mut doc = cargo(&root, &["doc", "--workspace", "--no-deps", "--all-features"]);
    doc.env("RUSTDOCFLAGS", "-D warnings");
    step("rustdoc", doc)?;
    crate::tidy::run()?;
    eprintln!("xtask ci: all steps passed in {:.0?}", started.elapsed());
    Ok(())
}

/// Forgets what earlier `cargo package --workspace` runs built. Cargo verifies each package against
/// the others served from a local registry overlay, and treats registry crates as immutable: a
/// crate whose version did not change is neither extracted again
/// (`$CARGO_HOME/registry/src/-<hash>/vortex-core-0.1.0`) nor rebuilt (its fingerprint under
/// `<target>/debug/.fingerprint`). Without this, the second run on a machine would verify against
/// the first run's code.
fn forget_packaged_builds(target: &Path) -> Result<()> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
        .context("neither CARGO_HOME nor HOME is set")?;
    let is_ours = |path: &Path| path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("vortex"));
    if let Ok(registries) = std::fs::read_dir(home.join("registry/src")) {
        for registry in registries {
            let registry = registry?.path();
            // Overlay registries have no name: their directories start with `-`.
            if !registry.file_name().is_some_and(|n| n.to_string_lossy().starts_with('-')) {
                continue;
            }
            for entry in std::fs::read_dir(&registry)? {
                let path = entry?.path();
                if is_ours(&path) {
                    std::fs::remove_dir_all(&path).with_context(|| format!("cannot remove {}", path.display()))?;
                }
            }
        }
    }
    // Builds of our crates from the overlay: their dep-info names a source under `registry/src/-`.
    let (deps, fingerprints) = (target.join("debug/deps"), target.join("debug/.fingerprint"));
    let Ok(entries) = std::fs::read_dir(&deps) else { return Ok(()) };
    for entry in entries {
        let path = entry?.path();
        if !is_ours(&path) || path.extension().is_none_or(|e| e != "d") {
            continue;
        }
        let from_overlay = std::fs::read_to_string(&path).is_ok_and(|info| info.contains("registry/src/-"));
        let hash =
            path.file_stem().and_then(|s| s.to_str()).and_then(|s| s.rsplit_once('-')).map(|(_, h)| h.to_owned());
        if let (true, Some(hash)) = (from_overlay, hash) {
            for fingerprint in std::fs::read_dir(&fingerprints)? {
                let dir = fingerprint?.path();
                if dir.file_name().is_some_and(|n| n.to_string_lossy().ends_with(&format!("-{hash}"))) {
                    std::fs::remove_dir_all(&dir).with_context(|| format!("cannot remove {}", dir.display()))?;
                }
            }
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// Fails when insta left pending snapshots: a changed output must be reviewed and committed.
fn check_snapshots(root: &Path) -> Result<()> {
    let mut pending = Vec::new();
    find_pending(&root.join("crates"), &mut pending)?;
    if !pending.is_empty() {
        let list: Vec<String> = pending.iter().map(|p| p.display().to_string()).collect();
        bail!("pending snapshots (review with `cargo insta review`, then commit):\n  {}", list.join("\n  "));
    }
    eprintln!("xtask ci: snapshots: none pending");
    Ok(())
}

fn find_pending(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            find_pending(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "new" || e == "pending-snap") {
            out.push(path);
        }
    }
    Ok(())
}
