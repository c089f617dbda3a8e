//! `cargo xtask tidy`: house rules no compiler checks, and the architecture's invariants
//! (`docs/architecture.md`, "Invariants"):
//!
//! - every member dependency comes from `[workspace.dependencies]` (`foo.workspace = true`);
//! - the workspace crates depend on each other exactly as [`EDGES`] says: no edge more, none less;
//!   so only `vortex-server` depends on `vortex-settings`;
//! - no crate below the server depends on an HTTP stack, and `vortex-core` on no async runtime
//!   ([`FORBIDDEN`]);
//! - no crate below the server names an HTTP status (`StatusCode`) in its source (the agent, a client of the
//!   server's HTTP API, is not below it).

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result, bail};

/// Each crate and exactly the workspace crates it depends on (normal dependencies).
const EDGES: &[(&str, &[&str])] = &[
    ("vortex-core", &[]),
    ("vortex-settings", &[]),
    ("vortex-metrics", &["vortex-core"]),
    ("vortex-cache", &["vortex-core", "vortex-metrics"]),
    ("vortex-git", &["vortex-core", "vortex-metrics"]),
    ("vortex-bus", &["vortex-core"]),
    // A client of the server's HTTP API: none of its crates.
    ("vortex-agent", &[]),
    (
        "vortex-server",
        &["vortex-core", "vortex-settings", "vortex-metrics", "vortex-cache", "vortex-git", "vortex-bus"],
    ),
    ("xtask", &[]),
];

/// External crates a crate must not depend on, and why.
const FORBIDDEN: &[(&str, &[&str], &str)] = &[
    ("vortex-core", &["tokio", "axum", "hyper", "config"], "the domain has no runtime, HTTP or settings loading"),
    ("vortex-settings", &["tokio", "axum", "hyper"], "settings start nothing"),
    ("vortex-metrics", &["axum", "hyper"], "only the server speaks HTTP"),
    ("vortex-cache", &["axum", "hyper"], "only the server speaks HTTP"),
    ("vortex-git", &["axum", "hyper"], "only the server speaks HTTP"),
    ("vortex-bus", &["axum", "hyper"], "only the server speaks HTTP"),
    ("vortex-agent", &["axum", "moka", "gix"], "the agent is a small HTTP client, not a server"),
];

pub(crate) fn run() -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().context("no workspace root")?;
    let mut problems = Vec::new();
    let mut manifests = vec![root.join("xtask/Cargo.toml")];
    for entry in std::fs::read_dir(root.join("crates"))? {
        manifests.push(entry?.path().join("Cargo.toml"));
    }
    for manifest in manifests {
        let text = std::fs::read_to_string(&manifest).with_context(|| format!("cannot read {}", manifest.display()))?;
        let krate = manifest.parent().and_then(Path::file_name).and_then(|n| n.to_str()).unwrap_or("?").to_owned();
        let mut section = String::new();
        let mut edges = BTreeSet::new();
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                section = line.to_owned();
                continue;
            }
            if !section.ends_with("dependencies]") || line.is_empty() || line.starts_with('#') {
                continue;
            }
            let name = line.split(['.', '=', ' ']).next().unwrap_or("");
            if !line.contains("workspace = true") {
                problems.push(format!("{krate}: dependency `{name}` must be `{name}.workspace = true`"));
            }
            if section == "[dependencies]" {
                if name.starts_with("vortex-") {
                    edges.insert(name.to_owned());
                }
                if let Some((_, names, why)) = FORBIDDEN.iter().find(|(k, ..)| *k == krate) {
                    if names.contains(&name) {
                        problems.push(format!("{krate}: may not depend on {name}: {why}"));
                    }
                }
            }
        }
        let expected: BTreeSet<String> = EDGES
            .iter()
            .find(|(k, _)| *k == krate)
            .map(|(_, deps)| deps.iter().map(|d| (*d).to_owned()).collect())
            .unwrap_or_default();
        for extra in edges.difference(&expected) {
            problems.push(format!("{krate}: may not depend on {extra} (see docs/architecture.md, Invariants)"));
        }
        for missing in expected.difference(&edges) {
            problems.push(format!("{krate}: the architecture says it depends on {missing}; update EDGES and the docs"));
        }
        // The server and its HTTP client, the agent, speak HTTP; the crates below the server do not.
        if krate.starts_with("vortex-") && krate != "vortex-server" && krate != "vortex-agent" {
            names_no_status(&manifest.with_file_name("src"), &krate, &mut problems)?;
        }
    }
    if !problems.is_empty() {
        bail!("tidy found problems:\n  {}", problems.join("\n  "));
    }
    eprintln!("xtask tidy: ok");
    Ok(())
}

/// Reports every source file under `dir` that names an HTTP status: below the server, errors are
/// classified by kind (`ErrorKind`), and the server alone maps them to statuses.
fn names_no_status(dir: &Path, krate: &str, problems: &mut Vec<String>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            names_no_status(&path, krate, problems)?;
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let text = std::fs::read_to_string(&path)?;
            if text.contains("StatusCode") {
                problems.push(format!("{krate}: {} names an HTTP status (StatusCode)", path.display()));
            }
        }
    }
    Ok(())
}
