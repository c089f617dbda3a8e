//! `cargo xtask access [--seconds N] [--smoke]`: what the access policy costs on one release server
//! (pinned to core 0) over the generated repository.
//!
//! - Cached read throughput (wrk on core 1, 64 connections) of a server without authentication
//!   against one with `security.clients`, read by a scoped Basic client, in turn: open, scoped,
//!   open, scoped. A remembered credential costs an HMAC and a lookup per request.
//! - The first request of each of eight clients (its argon2id verification, with the parameters
//!   `vortex-server hash-password` uses) against its second (remembered).
//!
//! The hashes come from the binary's own `hash-password`. `--smoke` (CI): the dev build, 1 s
//! runs, two clients. The report goes to standard output and `target/access/report.md`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use crate::cmd::{ensure_tool, workspace_root};
use crate::harness::{
    LOAD_TOOLS, Server, Start, basic, build_server, generate_repository, get, hash_password, latency_table, option,
    work_dir, wrk,
};

/// The key every request reads.
const PATH: &str = "/app-0/default";

pub(crate) fn run(args: &[String]) -> Result<()> {
    let smoke = args.iter().any(|a| a == "--smoke");
    let seconds = option(args, "--seconds", if smoke { 1 } else { 5 })?;
    let clients = if smoke { 2 } else { 8 };
    let root = workspace_root()?;
    for tool in LOAD_TOOLS {
        ensure_tool(&root, tool)?;
    }
    let binary = build_server(&root, smoke)?;
    let work = work_dir(&root, "access")?;
    let repo = generate_repository(&work.join("repo"))?;
    let backend = format!(
        "logging:\n  level: warn\nbackends:\n  native:\n    enabled: true\n    watch_interval_seconds: 0\n    search_locations: [\"{}\"]\n",
        repo.display()
    );
    let mut scoped = format!("{backend}security:\n  clients:\n");
    for i in 0..clients {
        let hash = hash_password(&binary, &format!("password-{i}"))?;
        let _ = write!(
            scoped,
            "    - name: reader-{i}\n      username: reader-{i}\n      password_hash: \"{hash}\"\n      \
             applications: [\"app-*\"]\n      profiles: [\"default\", \"prod\"]\n"
        );
    }
    let start = |name: &str, settings: &str| -> Result<Server> {
        let dir = work.join(name);
        std::fs::create_dir_all(&dir)?;
        Server::start(&Start {
            binary: &binary,
            work: &dir,
            settings,
            ready: "/actuator/health/readiness",
            core: Some(0),
        })
    };
    let open = start("open", &backend)?;
    let guarded = start("scoped", &scoped)?;

    // The first request of each client verifies its password; the second finds it remembered.
    let mut first = Vec::new();
    let mut second = Vec::new();
    for i in 0..clients {
        let header = basic(&format!("reader-{i}"), &format!("password-{i}"));
        for times in [&mut first, &mut second] {
            let started = Instant::now();
            let answer = get(guarded.addr, PATH, &[&header], Duration::from_secs(10))?;
            times.push(started.elapsed());
            ensure!(answer.status == 200, "reader-{i} answered {}", answer.status);
        }
    }
    let refused = get(guarded.addr, PATH, &[], Duration::from_secs(5))?;
    ensure!(refused.status == 401, "a read without credentials answered {}", refused.status);

    eprintln!("xtask access: cached reads, open and scoped in turn");
    let header = basic("reader-0", "password-0");
    let mut runs = Vec::new();
    for round in 0..2 {
        let without = wrk(open.addr, PATH, None, 64, seconds, None)?;
        let with = wrk(guarded.addr, PATH, Some(&header), 64, seconds, None)?;
        runs.push((round, without, with));
    }
    drop(open);
    drop(guarded);

    let mut report = String::new();
    let _ = writeln!(report, "# What the access policy costs, one server on one core\n");
    let _ = writeln!(
        report,
        "| cached `GET {PATH}`, 64 connections, {seconds} s | requests/s | p50 | p99 | errors |\n|---|---|---|---|---|"
    );
    let mut means = [0.0_f64; 2];
    for (round, without, with) in &runs {
        for (i, (what, run)) in [("no authentication", without), ("scoped Basic client", with)].into_iter().enumerate()
        {
            means[i] += run.requests_per_second / runs.len() as f64;
            let _ = writeln!(
                report,
                "| {what} (run {}) | {:.0} | {:.0} µs | {:.0} µs | {} |",
                round + 1,
                run.requests_per_second,
                run.p50_us,
                run.p99_us,
                run.errors
            );
        }
    }
    let _ = writeln!(
        report,
        "\nMeans: {:.0} without authentication, {:.0} with a scoped client ({:+.1} %).\n",
        means[0],
        means[1],
        (means[1] / means[0] - 1.0) * 100.0
    );
    latency_table(
        &mut report,
        &format!("a client's request ({clients} clients)"),
        &mut [("first (argon2id verification)", &mut first), ("second (remembered)", &mut second)],
    );
    let path = work.join("report.md");
    std::fs::write(&path, &report).with_context(|| format!("cannot write {}", path.display()))?;
    std::io::stdout().write_all(report.as_bytes())?;
    eprintln!("xtask access: report written to {}", path.display());
    if runs.iter().any(|(_, a, b)| a.errors > 0 || b.errors > 0) {
        bail!("requests failed");
    }
    Ok(())
}
