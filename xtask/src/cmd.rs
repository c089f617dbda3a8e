//! Running things: the workspace root, cargo, one named step, the target directory, and the one
//! way a missing tool is installed. Task modules use this and [`crate::harness`], never each other.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

/// The workspace root (the parent of `xtask/`).
pub(crate) fn workspace_root() -> Result<PathBuf> {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").context("run through `cargo xtask`")?;
    Path::new(&manifest).parent().map(Path::to_path_buf).context("xtask has no parent directory")
}

/// `cargo <args>` in `root`, with the cargo that runs xtask, without incremental compilation: the
/// checks build every feature combination once, and their incremental state would only fill the
/// disk (26 GB for one `cargo xtask ci`).
pub(crate) fn cargo(root: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    command.args(args).current_dir(root).env("CARGO_INCREMENTAL", "0");
    command
}

/// Runs `command` as the step `name`, saying what runs and how long it took; fails when it does.
pub(crate) fn step(name: &str, mut command: Command) -> Result<()> {
    eprintln!("xtask: {name}: {command:?}");
    let started = Instant::now();
    let status = command.status().with_context(|| format!("cannot run {name}"))?;
    if !status.success() {
        bail!("{name} failed ({status})");
    }
    eprintln!("xtask: {name}: ok in {:.0?}", started.elapsed());
    Ok(())
}

/// The cargo target directory.
pub(crate) fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// A tool a task needs, and where it comes from when it is missing.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Tool {
    /// A cargo subcommand (`cargo <name> --version` finds it), installed with `cargo install`.
    Cargo { subcommand: &'static str, krate: &'static str, version: &'static str },
    /// A command from a Debian package, installed with apt-get (through `sudo` when not root).
    Debian { command: &'static str, package: &'static str },
}

/// Installs `tool` when it is missing, saying so; a clear error when it cannot be installed.
pub(crate) fn ensure_tool(root: &Path, tool: Tool) -> Result<()> {
    match tool {
        Tool::Cargo { subcommand, krate, version } => {
            if cargo(root, &[subcommand, "--version"]).output().is_ok_and(|o| o.status.success()) {
                return Ok(());
            }
            eprintln!("xtask: {krate} is missing; installing {krate} {version} (about a minute)");
            step(&format!("install {krate}"), cargo(root, &["install", "--locked", krate, "--version", version]))
        }
        Tool::Debian { command, package } => {
            let probe = Command::new("sh").args(["-c", &format!("command -v {command}")]).output();
            if probe.is_ok_and(|o| o.status.success()) {
                return Ok(());
            }
            eprintln!("xtask: {command} is missing; installing Debian's {package}");
            let apt = |args: &[&str]| -> Result<bool> {
                let mut command = if is_root() {
                    Command::new("apt-get")
                } else {
                    let mut sudo = Command::new("sudo");
                    sudo.args(["-n", "apt-get"]);
                    sudo
                };
                command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
                Ok(command.status().context("cannot run apt-get")?.success())
            };
            let install = ["install", "-y", "-qq", "--no-install-recommends", package];
            if apt(&install)? || (apt(&["update", "-qq"])? && apt(&install)?) {
                return Ok(());
            }
            bail!(
                "cannot install {package} with apt-get{}; install it (`apt-get install {package}`) and run again",
                if is_root() { "" } else { " through `sudo -n` (no password-less sudo?)" }
            )
        }
    }
}

/// Whether this process runs as root.
fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}
