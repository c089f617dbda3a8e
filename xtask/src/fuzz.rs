//! `cargo xtask fuzz [--seconds N] [TARGET...]`: every cargo-fuzz target of `fuzz/`, N seconds
//! each (default 60), with the nightly toolchain (libFuzzer needs its sanitizer flags).
//!
//! Installs cargo-fuzz when it is missing. Seeds empty corpora from the sample repository, so the
//! parsers start from real files. Prints a table of runs and executions per target and fails
//! when a target crashed, naming the input that crashed it (under `fuzz/artifacts/`): that input
//! becomes a regression test.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::cmd::{Tool, ensure_tool, workspace_root};

/// The targets, in the order they run.
const TARGETS: &[&str] = &["properties", "yaml", "profiles", "paths", "render", "webhook", "hostile", "bus_event"];
/// libFuzzer's limits per input: a unit that runs longer, or a process that grows larger, is a
/// finding (a freeze or an unbounded expansion), not just a slow run.
const UNIT_TIMEOUT_SECONDS: u64 = 10;
const RSS_LIMIT_MB: u64 = 2048;
/// The cargo-fuzz version installed when it is missing.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

pub(crate) fn run(args: &[String]) -> Result<()> {
    let mut seconds = 60u64;
    let mut targets = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--seconds" => {
                seconds = rest.next().context("--seconds needs a value")?.parse().context("--seconds")?;
            }
            name if TARGETS.contains(&name) => targets.push(name),
            other => bail!("unknown argument {other:?}; targets are {}", TARGETS.join(", ")),
        }
    }
    if targets.is_empty() {
        targets = TARGETS.to_vec();
    }
    let root = workspace_root()?;
    let fuzz = root.join("fuzz");
    ensure_toolchain(&root)?;
    seed(&root, &fuzz)?;

    let mut report = "| target | time | runs | runs/s | corpus | result |\n|---|---|---|---|---|---|\n".to_owned();
    let mut crashed = Vec::new();
    for target in &targets {
        eprintln!("xtask fuzz: {target} for {seconds} s");
        let started = Instant::now();
        let output = nightly_cargo(&fuzz, &["fuzz", "run", "-O", target, "--"])
            .arg(format!("-max_total_time={seconds}"))
            .arg(format!("-timeout={UNIT_TIMEOUT_SECONDS}"))
            .arg(format!("-rss_limit_mb={RSS_LIMIT_MB}"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .with_context(|| format!("cannot run the {target} target"))?;
        let log = String::from_utf8_lossy(&output.stderr);
        let took = started.elapsed().as_secs();
        let runs = log.lines().find_map(|l| l.strip_prefix("Done ")?.split(' ').next()?.parse::<u64>().ok());
        let corpus = std::fs::read_dir(fuzz.join("corpus").join(target)).map_or(0, Iterator::count);
        let artifact = log.lines().find_map(|l| l.split("Test unit written to ").nth(1)).map(str::trim);
        let cause = ["deadly signal", "timeout", "out-of-memory", "stack-overflow", "panicked"]
            .into_iter()
            .find(|cause| log.contains(cause))
            .unwrap_or("crash");
        let result = match (output.status.success(), artifact) {
            (true, _) => "no crash".to_owned(),
            (false, Some(path)) => {
                crashed.push(format!("{target} ({cause}): {path}"));
                format!("{cause}: `{path}`")
            }
            (false, None) => {
                eprintln!("{log}");
                bail!("the {target} target failed without a crash artifact ({})", output.status)
            }
        };
        let runs_text = runs.map_or_else(|| "–".to_owned(), |r| r.to_string());
        let rate = runs.map_or_else(|| "–".to_owned(), |r| (r / took.max(1)).to_string());
        let _ = writeln!(report, "| `{target}` | {took} s | {runs_text} | {rate} | {corpus} | {result} |");
    }
    // The report is this command's output.
    std::io::Write::write_all(&mut std::io::stdout(), report.as_bytes())?;
    if !crashed.is_empty() {
        bail!(
            "crashes (reproduce with `cargo +nightly fuzz run -O TARGET PATH` in fuzz/):\n  {}",
            crashed.join("\n  ")
        );
    }
    Ok(())
}

/// `cargo` of the nightly toolchain, through rustup, without the stable cargo's environment.
fn nightly_cargo(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new("rustup");
    command.args(["run", "nightly", "cargo"]).args(args).current_dir(dir);
    command.env_remove("CARGO").env_remove("RUSTUP_TOOLCHAIN").env_remove("CARGO_TARGET_DIR");
    command
}

/// Nightly is required; cargo-fuzz is installed when missing.
fn ensure_toolchain(root: &Path) -> Result<()> {
    let nightly = Command::new("rustup").args(["run", "nightly", "rustc", "--version"]).output();
    if !nightly.is_ok_and(|o| o.status.success()) {
        bail!(
            "fuzzing needs the nightly toolchain (`rustup toolchain install nightly`); the proptest properties run on stable"
        );
    }
    ensure_tool(root, Tool::Cargo { subcommand: "fuzz", krate: "cargo-fuzz", version: CARGO_FUZZ_VERSION })
}

/// Copies the sample repository's files into the empty corpora of the parsers that read them, and
/// gives the structure-aware `hostile` target one input per shape, 5,000 levels deep.
fn seed(root: &Path, fuzz: &Path) -> Result<()> {
    let hostile = fuzz.join("corpus/hostile");
    if !std::fs::read_dir(&hostile).is_ok_and(|mut entries| entries.next().is_some()) {
        std::fs::create_dir_all(&hostile)?;
        for kind in 0u8..9 {
            let [low, high] = 5_000u16.to_le_bytes();
            std::fs::write(hostile.join(format!("shape-{kind}")), [kind, low, high, 0x2a, b'x'])?;
        }
    }
    let sample = root.join("config/sample-repo");
    for (target, extensions) in
        [("properties", &["properties"][..]), ("yaml", &["yml", "yaml"][..]), ("render", &["yml", "yaml"][..])]
    {
        let corpus = fuzz.join("corpus").join(target);
        if std::fs::read_dir(&corpus).is_ok_and(|mut entries| entries.next().is_some()) {
            continue;
        }
        std::fs::create_dir_all(&corpus)?;
        let mut stack = vec![sample.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))? {
                let path = entry?.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| extensions.iter().any(|x| e == *x)) {
                    let name = path.strip_prefix(&sample).unwrap_or(&path).to_string_lossy().replace('/', "_");
                    std::fs::copy(&path, corpus.join(name))?;
                }
            }
        }
    }
    Ok(())
}
