//! `cargo xtask load [--seconds N] [--smoke] [--memory]`: the load benchmark.
//!
//! Builds the server (release; the dev build with `--smoke`), generates a configuration repository
//! of realistic size, starts the server pinned to core 0 and drives it with `wrk` pinned to core 1
//! over kept-alive connections. nginx, pinned to the same core, serves the same response bytes from
//! files in the same run, alternating Vortex/nginx/Vortex/nginx, as the ceiling. Also measures the
//! time from process start to the first 200, resident memory idle and with 10,000 cached entries,
//! p99 at half the maximum rate, and throughput and p99 against the connection count (an SVG plot).
//!
//! `wrk` and `nginx` come from Debian's packages, installed with apt-get when missing. Results go
//! to `<target>/load/report.md`; a full run also writes `docs/load-sweep.svg`. `--memory` measures
//! only the resident memory with 10,000 cached entries.

use std::fmt::Write as _;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::cmd::{ensure_tool, workspace_root};
use crate::harness::{
    APPLICATIONS, LOAD_TOOLS, Response, Run, Server, build_server, free_port, generate_repository, get, option, rss_mb,
    start_native, work_dir, wrk,
};

/// Connections for the throughput runs.
const CONNECTIONS: u32 = 64;
/// Connection counts of the sweep.
const SWEEP: &[u32] = &[1, 4, 16, 64, 256];

/// A request shape measured against both servers.
struct Scenario {
    name: &'static str,
    path: &'static str,
    /// Sends `If-None-Match` with the server's own entity tag.
    revalidate: bool,
}

const SCENARIOS: &[Scenario] = &[
    Scenario { name: "JSON Environment hit", path: "/app-0/default", revalidate: false },
    Scenario { name: "`.yml` hit", path: "/app-0-default.yml", revalidate: false },
    Scenario { name: "`.properties` hit", path: "/app-0-default.properties", revalidate: false },
    Scenario { name: "304 revalidation", path: "/app-0/default", revalidate: true },
];

pub(crate) fn run(args: &[String]) -> Result<()> {
    let smoke = args.iter().any(|a| a == "--smoke");
    let memory_only = args.iter().any(|a| a == "--memory");
    let seconds = option(args, "--seconds", if smoke { 1 } else { 5 })?;
    let root = workspace_root()?;
    for tool in LOAD_TOOLS {
        ensure_tool(&root, tool)?;
    }
    let binary = build_server(&root, smoke)?;
    let work = work_dir(&root, "load")?;
    let repo = generate_repository(&work.join("repo"))?;
    if memory_only {
        // `--memory`: only the figure the memory target names, without the throughput runs.
        let (body_kb, rss) = filled_memory(&binary, &work, &repo, 10_000)?;
        writeln!(
            std::io::stdout(),
            "resident memory with 10000 cached entries (JSON bodies of {body_kb:.1} KB): {rss:.1} MB"
        )?;
        return Ok(());
    }

    let mut report = String::new();
    let _ = writeln!(report, "# Load benchmark\n\n{}\n", machine());
    let _ =
        writeln!(report, "Command: `cargo xtask load --seconds {seconds}{}`\n", if smoke { " --smoke" } else { "" });
    if smoke {
        let _ = writeln!(
            report,
            "**Smoke run: a check that the harness works, not a measurement.** The server is the unoptimised dev \
             build and each run lasts {seconds} s, so the figures below say nothing about Vortex's speed; \
             `cargo xtask load` measures.\n"
        );
    }

    // Start-up and idle memory, on a fresh server.
    let vortex = start_native(&binary, &work, &repo, Some(0))?;
    let _ = writeln!(report, "| measure | value |\n|---|---|");
    let _ =
        writeln!(report, "| start to first 200 (native backend) | {:.1} ms |", vortex.ready_after.as_secs_f64() * 1e3);
    std::thread::sleep(Duration::from_millis(500));
    let _ = writeln!(report, "| resident memory, idle | {:.1} MB |", rss_mb(vortex.pid())?);

    let nginx = Nginx::start(&work, &vortex)?;
    let mut results = Vec::new();
    for scenario in SCENARIOS {
        let tag = |addr| etag(addr, scenario.path);
        let (vortex_tag, nginx_tag) = (tag(vortex.addr)?, tag(nginx.addr)?);
        let header = |t: &str| scenario.revalidate.then(|| format!("If-None-Match: {t}"));
        let (vh, nh) = (header(&vortex_tag), header(&nginx_tag));
        // A/B/A/B: both see the same machine state.
        let mut v = Vec::new();
        let mut n = Vec::new();
        for _ in 0..if smoke { 1 } else { 2 } {
            v.push(wrk(vortex.addr, scenario.path, vh.as_deref(), CONNECTIONS, seconds, None)?);
            n.push(wrk(nginx.addr, scenario.path, nh.as_deref(), CONNECTIONS, seconds, None)?);
        }
        results.push((scenario.name, mean(&v), Some(mean(&n))));
    }
    let cold = wrk(vortex.addr, "/", None, CONNECTIONS, seconds, Some(COLD_MISSES))?;
    results.push(("cold misses (every request a new key)", cold, None));

    let _ = writeln!(
        report,
        "\n{CONNECTIONS} connections, {seconds} s per run, Vortex and nginx alternating (twice in a full run; means shown).\n"
    );
    let _ = writeln!(
        report,
        "| scenario | Vortex req/s | p50 | p99 | p99.9 | nginx req/s | nginx p99 | Vortex / nginx | errors |\n|---|---|---|---|---|---|---|---|---|"
    );
    for (name, v, n) in &results {
        let (n_rps, n_p99, ratio) = match n {
            Some(n) => (
                format!("{:.0}", n.requests_per_second),
                format!("{:.0} µs", n.p99_us),
                format!("{:.0} %", 100.0 * v.requests_per_second / n.requests_per_second),
            ),
            None => ("–".to_owned(), "–".to_owned(), "–".to_owned()),
        };
        let _ = writeln!(
            report,
            "| {name} | {:.0} | {:.0} µs | {:.0} µs | {:.0} µs | {n_rps} | {n_p99} | {ratio} | {} |",
            v.requests_per_second, v.p50_us, v.p99_us, v.p999_us, v.errors
        );
    }

    // p99 at half the maximum rate: wrk's per-connection delay (whole milliseconds) sets the rate.
    let max = results.first().map_or(0.0, |(_, v, _)| v.requests_per_second);
    let connections = ((max / 2.0) / 1000.0).ceil().max(1.0) as u32;
    let paced = wrk(vortex.addr, "/app-0/default", None, connections, seconds, Some(PACED))?;
    let _ = writeln!(
        report,
        "\nJSON hit at about half the maximum rate ({connections} connections, 1 ms apart each): {:.0} req/s, p50 {:.0} µs, p99 {:.0} µs, p99.9 {:.0} µs.",
        paced.requests_per_second, paced.p50_us, paced.p99_us, paced.p999_us
    );

    if !smoke {
        let mut sweep = Vec::new();
        for &connections in SWEEP {
            let v = wrk(vortex.addr, "/app-0/default", None, connections, seconds, None)?;
            let n = wrk(nginx.addr, "/app-0/default", None, connections, seconds, None)?;
            sweep.push((connections, v, n));
        }
        let _ = writeln!(
            report,
            "\n| connections | Vortex req/s | Vortex p99 | nginx req/s | nginx p99 |\n|---|---|---|---|---|"
        );
        for (c, v, n) in &sweep {
            let _ = writeln!(
                report,
                "| {c} | {:.0} | {:.0} µs | {:.0} | {:.0} µs |",
                v.requests_per_second, v.p99_us, n.requests_per_second, n.p99_us
            );
        }
        let svg = plot(&sweep);
        let path = root.join("docs/load-sweep.svg");
        std::fs::write(&path, svg).with_context(|| format!("cannot write {}", path.display()))?;
    }
    drop(nginx);
    drop(vortex);

    // Memory with 10,000 cached entries of about 4 KB, on a fresh server.
    let entries = if smoke { 500 } else { 10_000 };
    let (body_kb, rss) = filled_memory(&binary, &work, &repo, entries)?;
    let _ = writeln!(
        report,
        "\nResident memory with {entries} cached entries (JSON bodies of {body_kb:.1} KB on average): {rss:.1} MB."
    );

    let path = work.join("report.md");
    std::fs::write(&path, &report).with_context(|| format!("cannot write {}", path.display()))?;
    // The report is this command's output.
    std::io::stdout().write_all(report.as_bytes())?;
    eprintln!("xtask load: report written to {}", path.display());
    if results.iter().any(|(_, v, _)| v.errors > 0) {
        bail!("some requests failed; see the errors column");
    }
    Ok(())
}

/// Starts a fresh server, fills its cache with `entries` distinct JSON Environments and returns
/// the mean body size in KB and the resident memory in MB.
fn filled_memory(binary: &Path, work: &Path, repo: &Path, entries: usize) -> Result<(f64, f64)> {
    let vortex = start_native(binary, work, repo, Some(0))?;
    let mut body_bytes = 0;
    for i in 0..entries {
        let response = fetch(vortex.addr, &format!("/app-{}/p{}", i % APPLICATIONS, i / APPLICATIONS), None)?;
        if response.status != 200 {
            bail!("filling the cache: status {} for entry {i}", response.status);
        }
        body_bytes += response.body.len();
    }
    std::thread::sleep(Duration::from_millis(500));
    Ok((body_bytes as f64 / entries as f64 / 1024.0, rss_mb(vortex.pid())?))
}

/// wrk script addition: every request a new cache key (a profile never asked for before).
const COLD_MISSES: &str = r#"
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", string.format("/app-%d/cold%d", counter % 200, counter))
end
"#;

/// wrk script addition: each connection waits a millisecond between requests.
const PACED: &str = r#"
delay = function()
  return 1
end
"#;

fn mean(runs: &[Run]) -> Run {
    let n = runs.len().max(1) as f64;
    let sum = |f: fn(&Run) -> f64| runs.iter().map(f).sum::<f64>() / n;
    Run {
        requests_per_second: sum(|r| r.requests_per_second),
        p50_us: sum(|r| r.p50_us),
        p99_us: sum(|r| r.p99_us),
        p999_us: sum(|r| r.p999_us),
        errors: runs.iter().map(|r| r.errors).sum(),
    }
}

/// nginx serving the bytes Vortex answers, from files, pinned to core 0; stopped when dropped.
/// Tuned as a ceiling should be: descriptors of the files kept open (`open_file_cache`), `sendfile`
/// with `tcp_nopush`, no access log, unlimited keep-alive.
struct Nginx {
    child: Child,
    addr: SocketAddr,
}

impl Nginx {
    fn start(work: &Path, vortex: &Server) -> Result<Self> {
        let prefix = work.join("nginx");
        let www = prefix.join("www");
        for scenario in SCENARIOS {
            let body = fetch(vortex.addr, scenario.path, None)?.body;
            let file = www.join(scenario.path.trim_start_matches('/'));
            if let Some(parent) = file.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&file, body)?;
        }
        std::fs::create_dir_all(prefix.join("logs"))?;
        let port = free_port()?;
        let conf = prefix.join("nginx.conf");
        std::fs::write(
            &conf,
            format!(
                "user root;\nworker_processes 1;\ndaemon off;\npid {prefix}/nginx.pid;\nerror_log {prefix}/logs/error.log;\n\
                 events {{ worker_connections 4096; }}\n\
                 http {{\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n  tcp_nodelay on;\n  keepalive_requests 100000000;\n  keepalive_timeout 120;\n\
                 open_file_cache max=64 inactive=600s;\n  open_file_cache_valid 600s;\n\
                 client_body_temp_path {prefix}/tmp;\n  proxy_temp_path {prefix}/tmp;\n  fastcgi_temp_path {prefix}/tmp;\n\
                 uwsgi_temp_path {prefix}/tmp;\n  scgi_temp_path {prefix}/tmp;\n\
                 types {{ text/plain yml properties; }}\n  default_type application/json;\n\
                 server {{ listen 127.0.0.1:{port}; root {www}; }}\n}}\n",
                prefix = prefix.display(),
                www = www.display()
            ),
        )?;
        let child = Command::new("taskset")
            .args(["-c", "0", "nginx", "-p"])
            .arg(&prefix)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start nginx")?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let started = Instant::now();
        let mut nginx = Self { child, addr };
        loop {
            if fetch(addr, SCENARIOS[0].path, None).is_ok_and(|r| r.status == 200) {
                return Ok(nginx);
            }
            if let Some(status) = nginx.child.try_wait()? {
                bail!("nginx exited: {status}; see {}/logs/error.log", prefix.display());
            }
            if started.elapsed() > Duration::from_secs(10) {
                bail!("nginx did not answer within 10 s");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM: the master stops its worker too (SIGKILL would leave the worker running).
        let stopped = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        if !stopped.is_ok_and(|s| s.success()) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The server's entity tag for `path`.
fn etag(addr: SocketAddr, path: &str) -> Result<String> {
    fetch(addr, path, None)?.header("etag").map(str::to_owned).context("no ETag")
}

/// `GET path` with an optional header, on a connection of its own.
fn fetch(addr: SocketAddr, path: &str, header: Option<&str>) -> Result<Response> {
    get(addr, path, header.as_slice(), Duration::from_secs(10))
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned()))
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    format!("Machine: {cpu}, {cores} cores. Server (Vortex or nginx) pinned to core 0, wrk (one thread) to core 1.")
}

/// Throughput and p99 against connections, Vortex and nginx, as an SVG of two panels.
fn plot(sweep: &[(u32, Run, Run)]) -> String {
    const W: f64 = 900.0;
    const H: f64 = 360.0;
    const PANEL: f64 = 400.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    type Figure = fn(&Run) -> f64;
    let panels: [(&str, Figure); 2] =
        [("throughput (requests/s)", |r| r.requests_per_second), ("p99 latency (µs)", |r| r.p99_us)];
    for (index, (title, value)) in panels.iter().enumerate() {
        let left = 60.0 + index as f64 * (PANEL + 60.0);
        let (top, bottom) = (40.0, H - 50.0);
        let max = sweep.iter().flat_map(|(_, v, n)| [value(v), value(n)]).fold(1.0_f64, f64::max) * 1.1;
        let x = |i: usize| left + (i as f64 + 0.5) * PANEL / sweep.len() as f64;
        let y = |v: f64| bottom - (v / max) * (bottom - top);
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"24\" text-anchor=\"middle\" font-size=\"14\">{title}</text>",
            left + PANEL / 2.0
        );
        let _ = writeln!(
            svg,
            "<line x1=\"{left}\" y1=\"{bottom}\" x2=\"{}\" y2=\"{bottom}\" stroke=\"black\"/>",
            left + PANEL
        );
        let _ = writeln!(svg, "<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{bottom}\" stroke=\"black\"/>");
        for tick in 0..=4 {
            let v = max * f64::from(tick) / 4.0;
            let _ = writeln!(
                svg,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{v:.0}</text><line x1=\"{left}\" y1=\"{1}\" x2=\"{}\" y2=\"{1}\" stroke=\"#ddd\"/>",
                left - 6.0,
                y(v),
                left + PANEL
            );
        }
        for (i, (connections, ..)) in sweep.iter().enumerate() {
            let _ = writeln!(
                svg,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{connections}</text>",
                x(i),
                bottom + 16.0
            );
        }
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">connections</text>",
            left + PANEL / 2.0,
            bottom + 34.0
        );
        for (series, color, pick) in [("Vortex", "#d62728", 0_usize), ("nginx", "#1f77b4", 1)] {
            let points: Vec<String> = sweep
                .iter()
                .enumerate()
                .map(|(i, (_, v, n))| format!("{:.1},{:.1}", x(i), y(value(if pick == 0 { v } else { n }))))
                .collect();
            let _ = writeln!(
                svg,
                "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>",
                points.join(" ")
            );
            let ly = top + 10.0 + pick as f64 * 16.0;
            let _ = writeln!(
                svg,
                "<line x1=\"{}\" y1=\"{ly}\" x2=\"{}\" y2=\"{ly}\" stroke=\"{color}\" stroke-width=\"2\"/><text x=\"{}\" y=\"{}\">{series}</text>",
                left + 12.0,
                left + 32.0,
                left + 38.0,
                ly + 4.0
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}
