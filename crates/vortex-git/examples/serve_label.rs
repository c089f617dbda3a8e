//! Serves one label of a git repository: mirrors it, resolves the label and answers a query from
//! the object database, with no checkout, then shows what a label that does not exist answers.
//!
//! `cargo run -p vortex-git --example serve_label -- <repository> [application] [profiles] [label]`
//!
//! Without a repository it makes one: the bundled sample repository committed on branch `main`
//! in a temporary directory (needs the `git` command).

// Printing is what an example is for.
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use vortex_core::{ConfigQuery, ConfigSource};
use vortex_git::{GitOptions, GitSource};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let scratch = std::env::temp_dir().join(format!("vortex-git-example-{}", std::process::id()));
    let repository = match args.next() {
        Some(repository) => repository,
        None => match sample_repository(&scratch.join("remote")) {
            Ok(path) => path.display().to_string(),
            Err(err) => return fail(&scratch, &err),
        },
    };
    let application = args.next().unwrap_or_else(|| "orders".to_owned());
    let profiles = args.next().unwrap_or_else(|| "dev".to_owned());
    let label = args.next().unwrap_or_else(|| "main".to_owned());
    let result = serve(&repository, &scratch.join("mirror"), &application, &profiles, &label).await;
    let _ = std::fs::remove_dir_all(&scratch);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => fail(&scratch, &err),
    }
}

async fn serve(repository: &str, basedir: &Path, application: &str, profiles: &str, label: &str) -> Result<(), String> {
    let source = GitSource::start(GitOptions {
        uri: repository.to_owned(),
        basedir: basedir.to_owned(),
        default_label: label.to_owned(),
        try_master_branch: true,
        search_paths: Vec::new(),
        refresh_interval: Duration::from_secs(30),
        timeout: Duration::from_secs(30),
        delete_untracked_branches: false,
        continue_on_multiple_label_failure: false,
        clone_on_start: true,
        credentials: None,
        ssh_command: None,
        metrics: vortex_metrics::GitMetrics::default(),
    })
    .await
    .map_err(|e| e.to_string())?;
    let query = ConfigQuery::parse(application, profiles, Some(label)).map_err(|e| e.to_string())?;
    let env = source.load(&query).await.map_err(|e| e.to_string())?;
    println!("{application}/{profiles} at {label}: commit {}", env.version.as_deref().unwrap_or("?"));
    for ps in &env.property_sources {
        println!("  {} ({} keys)", ps.name, ps.source.len());
    }
    if let Some(port) = env.get("server.port") {
        println!("server.port = {port}");
    }
    let missing = ConfigQuery::parse(application, profiles, Some("no-such-label")).map_err(|e| e.to_string())?;
    match source.load(&missing).await {
        Ok(_) => println!("no-such-label: unexpectedly found"),
        Err(err) => println!("no-such-label: {err}"),
    }
    Ok(())
}

/// Commits the bundled sample repository on branch `main` of a new repository at `dir`.
fn sample_repository(dir: &Path) -> Result<PathBuf, String> {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/sample-repo");
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let git = |args: &[&str]| -> Result<(), String> {
        let status = Command::new("git")
            .args(["-c", "user.name=Example", "-c", "user.email=example@vortex.invalid"])
            .args(args)
            .current_dir(dir)
            .status()
            .map_err(|e| format!("cannot run git: {e}"))?;
        if status.success() { Ok(()) } else { Err(format!("git {args:?} failed: {status}")) }
    };
    git(&["init", "-q", "-b", "main"])?;
    // The sample's top-level files; its label directories are the native backend's business.
    for entry in std::fs::read_dir(&sample).map_err(|e| format!("cannot read {}: {e}", sample.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        if entry.path().is_file() {
            std::fs::copy(entry.path(), dir.join(entry.file_name())).map_err(|e| e.to_string())?;
        }
    }
    git(&["add", "-A"])?;
    git(&["commit", "-q", "-m", "sample configuration"])?;
    Ok(dir.to_owned())
}

fn fail(scratch: &Path, err: &str) -> ExitCode {
    let _ = std::fs::remove_dir_all(scratch);
    eprintln!("error: {err}");
    ExitCode::FAILURE
}
