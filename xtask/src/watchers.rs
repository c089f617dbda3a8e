//! `cargo xtask watchers [--watchers N] [--streams N] [--smoke]`: many clients waiting for a change
//! on one release server (pinned to core 0), on one key:
//!
//! - the extra resident memory per held request, and the CPU the server uses while they wait;
//! - cached read throughput (wrk on core 1) with the watchers held, against the same without them;
//! - after one push (the file edited, then `POST /monitor`), the delay until each held long-poll
//!   has the first byte of its answer, and each stream its event: median, p99, max.
//!
//! 10,000 long-polls and 1,000 streams by default; `--smoke` (CI) 300 and 30 on the dev build.
//! The client is this process: non-blocking sockets swept in turn by one thread, so its timestamps
//! are good to one sweep of them all, a few milliseconds. The report goes to standard output and
//! `target/watchers/report.md`.

use std::fmt::Write as _;
use std::io::{Read, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use crate::cmd::{ensure_tool, workspace_root};
use crate::harness::{
    LOAD_TOOLS, Server, Start, build_server, cpu_seconds, generate_repository, get, latency_table, option, post,
    rss_mb, work_dir, wrk,
};

const TOKEN: &str = "watchers-benchmark-admin-token";
/// The key every client waits on.
const PATH: &str = "/app-0/prod";

pub(crate) fn run(args: &[String]) -> Result<()> {
    let smoke = args.iter().any(|a| a == "--smoke");
    let watchers: usize = option(args, "--watchers", if smoke { 300 } else { 10_000 })?;
    let streams: usize = option(args, "--streams", if smoke { 30 } else { 1_000 })?;
    let root = workspace_root()?;
    for tool in LOAD_TOOLS {
        ensure_tool(&root, tool)?;
    }
    let binary = build_server(&root, smoke)?;
    let work = work_dir(&root, "watchers")?;
    let repo = generate_repository(&work.join("repo"))?;
    let settings = format!(
        "logging:\n  level: warn\nsecurity:\n  admin_token: \"{TOKEN}\"\n\
         server:\n  max_connections: {}\nwatch:\n  max_watchers: {}\n\
         backends:\n  native:\n    enabled: true\n    watch_interval_seconds: 0\n    search_locations: [\"{}\"]\n",
        watchers + streams + 1000,
        watchers + streams + 100,
        repo.display()
    );
    let server =
        Server::start(&Start { binary: &binary, work: &work, settings: &settings, ready: PATH, core: Some(0) })?;
    let first = get(server.addr, PATH, &[], Duration::from_secs(5))?;
    let etag = first.header("etag").context("no ETag")?.to_owned();
    let seconds = if smoke { 1 } else { 5 };
    let without = wrk(server.addr, PATH, None, 16, seconds, None)?;
    std::thread::sleep(Duration::from_millis(500));
    let rss_before = rss_mb(server.pid())?;

    eprintln!("xtask watchers: holding {watchers} long-polls and {streams} streams");
    let mut clients = Vec::with_capacity(watchers + streams);
    for i in 0..watchers + streams {
        let stream = i >= watchers;
        let head =
            if stream { "Accept: text/event-stream\r\n".to_owned() } else { format!("If-None-Match: {etag}\r\n") };
        let path = if stream { PATH.to_owned() } else { format!("{PATH}?wait=55") };
        let mut socket = TcpStream::connect(server.addr).with_context(|| format!("connection {i}"))?;
        socket.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n{head}\r\n").as_bytes())?;
        socket.set_nonblocking(true)?;
        clients.push(Client { socket, stream, seen: Vec::new(), answered: None });
    }
    // Every long-poll held, and every stream has sent its first event.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        for client in &mut clients {
            client.read();
        }
        let opened = clients.iter().filter(|c| c.stream && c.events() >= 1).count();
        let metrics = get(server.addr, "/metrics", &[], Duration::from_secs(5))?.text();
        let held = gauge(&metrics, "vortex_watch_watchers{kind=\"long_poll\"}");
        if held == watchers && opened == streams {
            break;
        }
        ensure!(Instant::now() < deadline, "only {held} long-polls held and {opened} streams open after 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(1));
    let rss_held = rss_mb(server.pid())?;
    let cpu_before = cpu_seconds(server.pid())?;
    let idle = Duration::from_secs(if smoke { 1 } else { 5 });
    std::thread::sleep(idle);
    let cpu_idle = cpu_seconds(server.pid())? - cpu_before;
    let with = wrk(server.addr, PATH, None, 16, seconds, None)?;
    ensure!(clients.iter().all(|c| c.answered.is_none() && c.events() <= 1), "a watcher was answered before the push");

    eprintln!("xtask watchers: one push");
    let file = repo.join("app-0-prod.yml");
    std::fs::write(&file, "server:\n  port: 8443\n")?;
    let pushed = Instant::now();
    let answer = post(
        server.addr,
        "/monitor",
        &[&format!("Authorization: Bearer {TOKEN}")],
        r#"{"path":["app-0-prod.yml"]}"#,
        Duration::from_secs(30),
    )?;
    ensure!(answer.status == 200, "/monitor answered {}", answer.status);
    let deadline = pushed + Duration::from_secs(30);
    let mut done = 0;
    while done < clients.len() {
        let mut progressed = false;
        for client in clients.iter_mut().filter(|c| c.answered.is_none()) {
            if client.read() {
                progressed = true;
            }
            let complete = if client.stream { client.events() >= 2 } else { client.has_head() };
            if complete {
                client.answered = Some(pushed.elapsed());
                done += 1;
            }
        }
        ensure!(Instant::now() < deadline, "{done} of {} answered 30 s after the push", clients.len());
        if !progressed {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    let statuses: Vec<u16> = clients.iter().filter(|c| !c.stream).filter_map(Client::status).collect();
    ensure!(statuses.iter().all(|s| *s == 200), "a long-poll was not answered 200");
    let mut polls: Vec<Duration> = clients.iter().filter(|c| !c.stream).filter_map(|c| c.answered).collect();
    let mut events: Vec<Duration> = clients.iter().filter(|c| c.stream).filter_map(|c| c.answered).collect();
    drop(clients);
    drop(server);

    let held_mb = rss_held - rss_before;
    let per_watcher_kb = held_mb * 1024.0 / (watchers + streams) as f64;
    let mut report = String::new();
    let _ =
        writeln!(report, "# {watchers} long-polls and {streams} event streams on one key, one server on one core\n");
    let _ = writeln!(
        report,
        "Resident memory: {rss_before:.1} MB before, {rss_held:.1} MB with them held: {per_watcher_kb:.2} KB per held request."
    );
    let _ = writeln!(
        report,
        "Server CPU while they wait: {:.3} s in {} s ({:.2} % of a core).\n",
        cpu_idle,
        idle.as_secs(),
        cpu_idle / idle.as_secs_f64() * 100.0
    );
    latency_table(
        &mut report,
        "after one push, until",
        &mut [("each long-poll has its answer", &mut polls), ("each stream has its event", &mut events)],
    );
    let _ = writeln!(
        report,
        "\n| cached `GET {PATH}`, 16 connections, {seconds} s | requests/s | p50 | p99 | errors |\n|---|---|---|---|---|"
    );
    for (what, run) in [("without watchers", &without), ("with the watchers held", &with)] {
        let _ = writeln!(
            report,
            "| {what} | {:.0} | {:.0} µs | {:.0} µs | {} |",
            run.requests_per_second, run.p50_us, run.p99_us, run.errors
        );
    }
    let path = work.join("report.md");
    std::fs::write(&path, &report).with_context(|| format!("cannot write {}", path.display()))?;
    std::io::stdout().write_all(report.as_bytes())?;
    eprintln!("xtask watchers: report written to {}", path.display());
    if without.errors > 0 || with.errors > 0 {
        bail!("requests failed");
    }
    Ok(())
}

/// One waiting client.
struct Client {
    socket: TcpStream,
    stream: bool,
    seen: Vec<u8>,
    answered: Option<Duration>,
}

impl Client {
    /// Reads what has arrived; true when something did.
    fn read(&mut self) -> bool {
        let mut buffer = [0_u8; 4096];
        let mut any = false;
        loop {
            match self.socket.read(&mut buffer) {
                Ok(0) => return any,
                Ok(n) => {
                    self.seen.extend_from_slice(&buffer[..n]);
                    any = true;
                }
                Err(_) => return any,
            }
        }
    }

    fn has_head(&self) -> bool {
        self.seen.windows(4).any(|w| w == b"\r\n\r\n")
    }

    fn status(&self) -> Option<u16> {
        std::str::from_utf8(self.seen.get(9..12)?).ok()?.parse().ok()
    }

    /// Events received so far.
    fn events(&self) -> usize {
        self.seen.windows(14).filter(|w| w == b"event: change\n").count()
    }
}

/// The value of the gauge `series` in a Prometheus exposition.
fn gauge(text: &str, series: &str) -> usize {
    text.lines().find_map(|line| line.strip_prefix(series)?.trim().parse::<f64>().ok()).map_or(0, |v| v as usize)
}
