//! `cargo xtask propagation [--pushes N] [--smoke]`: three release replicas on one git remote and a
//! private RabbitMQ; N pushes, each announced by a webhook to the first replica. For each push it
//! measures, from the webhook being sent:
//!
//! - **all replicas serving the push**: three pollers (one per replica, a request every
//!   millisecond) see the new commit in `GET /orders/default`;
//! - **Spring event published**: `/monitor` answers after the refresh events are published (and
//!   after every peer confirmed), so its answer time bounds the publication from above.
//!
//! Then the steady cached read throughput of one replica with the bus on and off (wrk, as in
//! `cargo xtask load`). The report goes to standard output and `target/propagation/report.md`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use crate::cmd::{ensure_tool, workspace_root};
use crate::harness::broker::Broker;
use crate::harness::{
    LOAD_TOOLS, RABBITMQ, Run, Server, Start, build_server, get, latency_table, millis, option, post, work_dir, wrk,
};

const TOKEN: &str = "propagation-benchmark-admin-token";

pub(crate) fn run(args: &[String]) -> Result<()> {
    let smoke = args.iter().any(|a| a == "--smoke");
    let pushes = option(args, "--pushes", if smoke { 5 } else { 50 })?;
    let root = workspace_root()?;
    for tool in LOAD_TOOLS.into_iter().chain([RABBITMQ]) {
        ensure_tool(&root, tool)?;
    }
    let binary = build_server(&root, smoke)?;
    let work = work_dir(&root, "propagation")?;

    eprintln!("xtask propagation: starting RabbitMQ");
    let broker = Broker::start();
    let remote = work.join("remote");
    std::fs::create_dir_all(&remote)?;
    git(&remote, &["init", "-q", "-b", "main"])?;
    commit(&remote, 0)?;
    let replicas = ["a", "b", "c"]
        .iter()
        .map(|name| replica(&binary, &work, &remote, &broker.uri(), name, true))
        .collect::<Result<Vec<_>>>()?;
    wait_for_cluster(&replicas)?;

    eprintln!("xtask propagation: {pushes} pushes");
    let (mut served, mut published, mut missing) = (Vec::new(), Vec::new(), 0);
    for push in 1..=pushes {
        let head = commit(&remote, push)?;
        let started = Instant::now();
        let pollers: Vec<_> = replicas
            .iter()
            .map(|replica| {
                let (addr, head) = (replica.addr, head.clone());
                std::thread::spawn(move || serves(addr, &head, started))
            })
            .collect();
        let answer = post(
            replicas[0].addr,
            "/monitor",
            &[&format!("Authorization: Bearer {TOKEN}")],
            r#"{"path":["orders.yml"]}"#,
            Duration::from_secs(30),
        )?;
        let answered = started.elapsed();
        ensure!(answer.status == 200, "/monitor answered {}: {}", answer.status, answer.text());
        missing += usize::from(answer.header("x-vortex-bus-missing").is_some());
        let mut all = Duration::ZERO;
        for poller in pollers {
            all = all.max(poller.join().map_err(|_| anyhow::anyhow!("a poller panicked"))??);
        }
        eprintln!(
            "xtask propagation: push {push}: every replica serving after {:.1} ms, /monitor answered after {:.1} ms",
            millis(all),
            millis(answered)
        );
        served.push(all);
        published.push(answered);
        // Peers fetch at most once per 100 ms: pushes closer together would measure the spacing.
        std::thread::sleep(Duration::from_millis(150));
    }

    eprintln!("xtask propagation: read throughput, bus on and off, in turn");
    let seconds = if smoke { 1 } else { 5 };
    // One replica on the bus (its peers stopped, the broker connection open) and one off it, both
    // on core 0, measured in turn twice: the read path never touches the bus.
    let mut replicas = replicas;
    replicas.truncate(1);
    let off_server = replica(&binary, &work, &remote, &broker.uri(), "off", false)?;
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for _ in 0..2 {
        on.push(wrk(replicas[0].addr, "/orders/default", None, 16, seconds, None)?);
        off.push(wrk(off_server.addr, "/orders/default", None, 16, seconds, None)?);
    }
    drop(replicas);
    drop(off_server);

    let mut report = String::new();
    let _ =
        writeln!(report, "# Propagation: three replicas, one git remote (file://), one RabbitMQ, {pushes} pushes\n");
    latency_table(
        &mut report,
        "from the webhook being sent to",
        &mut [
            ("every replica serving the push", &mut served),
            ("the Spring refresh event published (`/monitor` answered)", &mut published),
        ],
    );
    let _ = writeln!(report, "\nPushes where a peer did not confirm in time: {missing}.\n");
    let _ = writeln!(
        report,
        "| cached `GET /orders/default`, 16 connections, {seconds} s, in turn | requests/s | p50 | p99 | errors |\n|---|---|---|---|---|"
    );
    for (i, (on, off)) in on.iter().zip(&off).enumerate() {
        for (what, run) in [("bus on", on), ("bus off", off)] {
            let Run { requests_per_second, p50_us, p99_us, errors, .. } = *run;
            let run = i + 1;
            let _ = writeln!(
                report,
                "| {what}, run {run} | {requests_per_second:.0} | {p50_us:.0} µs | {p99_us:.0} µs | {errors} |"
            );
        }
    }
    let path = work.join("report.md");
    std::fs::write(&path, &report).with_context(|| format!("cannot write {}", path.display()))?;
    std::io::stdout().write_all(report.as_bytes())?;
    eprintln!("xtask propagation: report written to {}", path.display());
    if missing > 0 || on.iter().chain(&off).any(|run| run.errors > 0) {
        bail!("a peer missed a propagation, or requests failed");
    }
    drop(broker);
    Ok(())
}

/// A replica named `name` on the git remote, with the bus on or off.
fn replica(binary: &Path, work: &Path, remote: &Path, broker: &str, name: &str, bus: bool) -> Result<Server> {
    let dir = work.join(name);
    std::fs::create_dir_all(&dir)?;
    let settings = format!(
        "logging:\n  level: warn\nsecurity:\n  admin_token: \"{TOKEN}\"\n\
         backends:\n  native:\n    enabled: false\n  git:\n    enabled: true\n    uri: \"file://{}\"\n    basedir: \"{}\"\n    refresh_interval_seconds: 3600\n\
         bus:\n  enabled: {bus}\n  amqp:\n    uri: \"{broker}\"\n  id: \"vortex:bench-{name}:0:x\"\n",
        remote.display(),
        dir.join("mirror").display()
    );
    Server::start(&Start { binary, work: &dir, settings: &settings, ready: "/orders/default", core: Some(0) })
}

/// Waits until every replica knows the two others.
fn wait_for_cluster(replicas: &[Server]) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut formed = true;
        for replica in replicas {
            let health: serde_json::Value =
                serde_json::from_slice(&replica.get("/health", Duration::from_secs(5))?.body)?;
            formed &= health["bus"]["peers"].as_array().map_or(0, Vec::len) == replicas.len() - 1;
        }
        if formed {
            return Ok(());
        }
        ensure!(Instant::now() < deadline, "the replicas did not find each other within 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Polls `addr` every millisecond until it serves `head`; the time since `started`.
fn serves(addr: SocketAddr, head: &str, started: Instant) -> Result<Duration> {
    loop {
        let response = get(addr, "/orders/default", &[], Duration::from_secs(5))?;
        let json: serde_json::Value = serde_json::from_slice(&response.body).unwrap_or_default();
        if json["version"].as_str() == Some(head) {
            return Ok(started.elapsed());
        }
        ensure!(
            started.elapsed() < Duration::from_secs(30),
            "{addr} did not serve {head} within 30 s: it serves {}",
            json["version"]
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let output = Command::new("git")
        .args(["-c", "user.name=bench", "-c", "user.email=bench@example.invalid"])
        .args(args)
        .current_dir(dir)
        .output()
        .context("cannot run git")?;
    ensure!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Commits `orders.yml` with value `n`; returns the commit id.
fn commit(dir: &Path, n: usize) -> Result<String> {
    std::fs::write(dir.join("orders.yml"), format!("value: {n}\n"))?;
    git(dir, &["add", "-A"])?;
    git(dir, &["commit", "-q", "-m", &format!("push {n}")])?;
    git(dir, &["rev-parse", "HEAD"])
}
