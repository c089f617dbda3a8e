//! `cargo xtask tidy`: house rules no compiler checks.
//!
//! - every member dependency comes from `[workspace.dependencies]` (`foo.workspace = true`);
//! - crates depend only on crates to their left in the layering
//!   core <- settings <- metrics <- {cache, git} <- server.

use std::path::Path;

use anyhow::{Context, Result, bail};

/// Each crate and the workspace crates it may depend on.
const ALLOWED_EDGES: &[(&str, &[&str])] = &[
    ("vortex-core", &[]),
    ("vortex-settings", &["vortex-core"]),
    ("vortex-metrics", &["vortex-core", "vortex-settings"]),
    ("vortex-cache", &["vortex-core", "vortex-settings", "vortex-metrics"]),
    ("vortex-git", &["vortex-core", "vortex-settings", "vortex-metrics"]),
    ("vortex-server", &["vortex-core", "vortex-settings", "vortex-metrics", "vortex-cache", "vortex-git"]),
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
        let mut in_deps = false;
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                in_deps = line.ends_with("dependencies]");
                continue;
            }
            if !in_deps || line.is_empty() || line.starts_with('#') {
                continue;
            }
            let name = line.split(['.', '=', ' ']).next().unwrap_or("");
            if !line.contains("workspace = true") {
                problems.push(format!("{krate}: dependency `{name}` must be `{name}.workspace = true`"));
            }
            if name.starts_with("vortex-") {
                let allowed = ALLOWED_EDGES.iter().find(|(k, _)| *k == krate).map_or(&[][..], |(_, a)| *a);
                if !allowed.contains(&name) {
                    problems.push(format!("{krate}: may not depend on {name} (see docs/architecture.md, Layering)"));
                }
            }
        }
    }
    if !problems.is_empty() {
        bail!("tidy found problems:\n  {}", problems.join("\n  "));
    }
    eprintln!("xtask tidy: ok");
    Ok(())
}
