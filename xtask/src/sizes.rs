//! `cargo xtask sizes [--smoke]`: what each feature of `vortex-server` costs.
//!
//! Builds the release binary with no optional feature (the native backend alone), with each of
//! `git`, `cache`, `metrics`, `tls` and `bus` alone, with all of them but one, and with all of them
//! (the default): what a feature costs on its own and on top of the others. For each it records the size of the binary as
//! built and stripped, the time from process start to the first 200 (median of several starts)
//! and the resident memory once idle. Every build serves the same generated repository with the
//! native backend, so the figures differ only by what the features link and start.
//!
//! The table goes to `<target>/sizes/report.md` and, in a full run, into the README between the
//! `sizes:start` and `sizes:end` markers. `--smoke` builds only the smallest and the largest set
//! with the dev profile and writes nothing outside the target directory: CI runs it so the harness
//! never rots. `--set a,b` (repeatable) measures only the sets given, and leaves the README alone.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::cmd::{cargo, step, target_dir, workspace_root};
use crate::harness::{generate_repository, rss_mb, start_native};

/// The optional features of `vortex-server`.
const FEATURES: [&str; 5] = ["git", "cache", "metrics", "tls", "bus"];
/// Starts per build; the median start-up time is reported.
const STARTS: usize = 7;
const README_START: &str = "<!-- sizes:start -->";
const README_END: &str = "<!-- sizes:end -->";

/// One build's figures.
struct Figures {
    features: Vec<&'static str>,
    bytes: u64,
    stripped: Option<u64>,
    start: Duration,
    idle_mb: f64,
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    let smoke = args.iter().any(|a| a == "--smoke");
    let root = workspace_root()?;
    let target = target_dir(&root);
    let work = target.join("sizes");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    let repo = generate_repository(&work.join("repo"))?;

    // `--set a,b` (repeatable): only those sets, for a quick comparison; the README is left alone.
    let sets: Vec<Vec<&'static str>> = args
        .iter()
        .zip(args.iter().skip(1))
        .filter(|(flag, _)| *flag == "--set")
        .map(|(_, set)| {
            set.split(',')
                .filter(|f| !f.is_empty())
                .map(|f| {
                    FEATURES.iter().copied().find(|known| *known == f).with_context(|| format!("unknown feature {f:?}"))
                })
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<_>>()?;
    let chosen = !sets.is_empty();
    let combinations: Vec<Vec<&'static str>> = if smoke {
        vec![Vec::new(), FEATURES.to_vec()]
    } else if chosen {
        sets
    } else {
        let alone = FEATURES.iter().map(|f| vec![*f]);
        let all_but = FEATURES.iter().map(|left| FEATURES.iter().filter(|f| *f != left).copied().collect());
        std::iter::once(Vec::new()).chain(alone).chain(all_but).chain(std::iter::once(FEATURES.to_vec())).collect()
    };
    let (profile, directory) = if smoke { ("dev", "debug") } else { ("release", "release") };

    let mut rows = Vec::new();
    for features in combinations {
        let list = features.join(",");
        let mut build = cargo(&root, &["build", "-p", "vortex-server", "--profile", profile, "--no-default-features"]);
        if !list.is_empty() {
            build.args(["--features", &list]);
        }
        step(&format!("build [{}]", label(&features)), build)?;
        // Each build overwrites the last: keep a copy under its feature set's name.
        let binary = work.join(format!(
            "vortex-server-{}",
            if list.is_empty() { "none".to_owned() } else { list.replace(',', "-") }
        ));
        std::fs::copy(target.join(directory).join("vortex-server"), &binary)
            .with_context(|| format!("cannot copy the binary to {}", binary.display()))?;
        rows.push(measure(features, &binary, &work, &repo)?);
    }

    let report = render(&rows, smoke);
    let path = work.join("report.md");
    std::fs::write(&path, &report).with_context(|| format!("cannot write {}", path.display()))?;
    std::io::stdout().write_all(report.as_bytes())?;
    if !smoke && !chosen {
        write_readme(&root.join("README.md"), &report)?;
        eprintln!("xtask sizes: table written to README.md and {}", path.display());
    }
    Ok(())
}

fn measure(features: Vec<&'static str>, binary: &Path, work: &Path, repo: &Path) -> Result<Figures> {
    let bytes = std::fs::metadata(binary)?.len();
    let stripped = stripped_size(binary, work)?;
    let mut starts = Vec::with_capacity(STARTS);
    let mut idle_mb = 0.0;
    for i in 0..STARTS {
        let server = start_native(binary, work, repo, Some(0))?;
        starts.push(server.ready_after);
        if i == 0 {
            // Idle: after the first answer, once start-up work has settled (as `xtask load` measures it).
            std::thread::sleep(Duration::from_millis(500));
            idle_mb = rss_mb(server.pid())?;
        }
    }
    starts.sort();
    Ok(Figures { features, bytes, stripped, start: starts[STARTS / 2], idle_mb })
}

/// The size after `strip`, or `None` when binutils is not installed (the column shows a dash).
fn stripped_size(binary: &Path, work: &Path) -> Result<Option<u64>> {
    let out: PathBuf = work.join("stripped");
    let status = Command::new("strip").arg("-o").arg(&out).arg(binary).status();
    match status {
        Ok(status) if status.success() => {
            let size = std::fs::metadata(&out)?.len();
            std::fs::remove_file(&out)?;
            Ok(Some(size))
        }
        Ok(status) => bail!("strip failed on {} ({status})", binary.display()),
        Err(_) => Ok(None),
    }
}

fn label(features: &[&str]) -> String {
    if features.is_empty() { "none: native backend only".to_owned() } else { features.join(", ") }
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn render(rows: &[Figures], smoke: bool) -> String {
    let mut out = String::new();
    let profile = if smoke { "dev profile, smoke run" } else { "release profile" };
    let _ = writeln!(
        out,
        "Measured by `cargo xtask sizes` ({profile}; start-up is the median of {STARTS} starts to the first 200 on the \
         native backend; memory is resident once idle).\n"
    );
    let _ = writeln!(out, "| features | binary | stripped | start to first 200 | idle memory |\n|---|---|---|---|---|");
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.1} ms | {:.1} MB |",
            label(&row.features),
            mb(row.bytes),
            row.stripped.map_or_else(|| "–".to_owned(), mb),
            row.start.as_secs_f64() * 1e3,
            row.idle_mb
        );
    }
    // What each feature adds on its own to the native-only build.
    if let Some(base) = rows.iter().find(|r| r.features.is_empty()) {
        let singles: Vec<&Figures> = rows.iter().filter(|r| r.features.len() == 1).collect();
        if !singles.is_empty() {
            let _ = writeln!(
                out,
                "\n| feature | adds alone: binary | stripped | idle memory | adds to all the others: binary | stripped | idle memory |\n|---|---|---|---|---|---|---|"
            );
            let all = rows.iter().find(|r| r.features.len() == FEATURES.len());
            let delta = |a: u64, b: u64| format!("{:+.1} MB", (a as f64 - b as f64) / 1e6);
            let deltas = |with: &Figures, without: &Figures| {
                let stripped = match (with.stripped, without.stripped) {
                    (Some(a), Some(b)) => delta(a, b),
                    _ => "–".to_owned(),
                };
                format!("{} | {stripped} | {:+.1} MB", delta(with.bytes, without.bytes), with.idle_mb - without.idle_mb)
            };
            for row in singles {
                let feature = row.features[0];
                let on_top = all
                    .zip(rows.iter().find(|r| r.features.len() == FEATURES.len() - 1 && !r.features.contains(&feature)))
                    .map_or_else(|| "– | – | –".to_owned(), |(all, without)| deltas(all, without));
                let _ = writeln!(out, "| `{feature}` | {} | {on_top} |", deltas(row, base));
            }
        }
    }
    out
}

/// Replaces the text between the README's markers with the report.
fn write_readme(path: &Path, report: &str) -> Result<()> {
    let readme = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let (Some(start), Some(end)) = (readme.find(README_START), readme.find(README_END)) else {
        bail!("{} has no `{README_START}` … `{README_END}` markers", path.display());
    };
    let updated = format!("{}{README_START}\n{report}{}", &readme[..start], &readme[end..]);
    std::fs::write(path, updated).with_context(|| format!("cannot write {}", path.display()))
}
