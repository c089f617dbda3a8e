//! `cargo xtask soak [--seconds N] [--smoke]`: the server under steady traffic while faults happen.
//!
//! Builds the server (release; dev with `--smoke`), makes a git repository of 40 applications in
//! the target directory and serves it over `file://` with a one-second fetch interval. Client
//! threads read the real applications over kept-alive connections the whole time (retrying once,
//! as HTTP clients do, a request that a closing kept-alive connection never read), while, in turn:
//!
//! 1. a commit changes one application: how long until it is served;
//! 2. the remote disappears: traffic must see no error, and the last good content is served;
//! 3. a commit breaks one application's YAML: it answers 500 `invalid_config` naming the file, every
//!    other application is unaffected; a fix commit restores it;
//! 4. the clone directory is deleted under the server: it clones again, and a later commit is served;
//! 5. distinct random application names (100,000; 5,000 with `--smoke`) flood the cache: memory stays
//!    bounded by `cache.max_capacity`, and latency for the real applications stays flat;
//! 6. SIGTERM under load with a two-second drain (`server.shutdown.drain_seconds`): responses close
//!    their connections, clients reconnect and are served; no request the server read is cut; the
//!    process exits 0.
//!
//! Prints a table per phase (requests, errors, p50/p99, resident memory) and fails on any error.

use std::fmt::Write as _;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::cmd::workspace_root;
use crate::harness::{Connection, ReadError, Server, Start, build_server, get, option, rss_mb, work_dir};

const APPLICATIONS: usize = 40;
/// Cache entries at most: the bound the flood must not push memory past.
const MAX_CAPACITY: u64 = 2_000;
const CLIENTS: usize = 3;

/// What the clients saw in one phase.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    errors: Vec<String>,
    /// Requests a closing kept-alive connection never read, sent again on a new connection.
    retried: u64,
}

struct Shared {
    stop: AtomicBool,
    tally: Mutex<Tally>,
    /// Requests refused at connect after SIGTERM: the listener is closed, nothing was cut.
    refused_after_stop: AtomicU64,
    stopping: AtomicBool,
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    let smoke = args.iter().any(|a| a == "--smoke");
    let phase_seconds: u64 = option(args, "--seconds", if smoke { 2 } else { 10 })?;
    let flood: u64 = if smoke { 5_000 } else { 100_000 };
    let root = workspace_root()?;
    let binary = build_server(&root, smoke)?;
    let work = work_dir(&root, "soak")?;
    let remote = Remote::create(&work.join("remote"))?;
    let clone = work.join("clone");
    let server = start_server(&binary, &work, &remote.dir, &clone)?;
    let addr = server.addr;

    let shared = Arc::new(Shared {
        stop: AtomicBool::new(false),
        tally: Mutex::new(Tally::default()),
        refused_after_stop: AtomicU64::new(0),
        stopping: AtomicBool::new(false),
    });
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || client(addr, i, &shared))
        })
        .collect();
    let phase = Duration::from_secs(phase_seconds);
    let pid = server.pid();
    let mut rows: Vec<(String, Tally, Option<f64>, String)> = Vec::new();
    let mut record = |name: &str, note: String| -> Result<()> {
        let tally = std::mem::take(&mut *shared.tally.lock().map_err(|_| anyhow::anyhow!("poisoned"))?);
        rows.push((name.to_owned(), tally, rss_mb(pid).ok(), note));
        Ok(())
    };

    std::thread::sleep(phase);
    record("steady", String::new())?;

    // 1. A change is served after the next fetch.
    remote.write_commit("app-1.yml", "app:\n  generation: 2\n", "change app-1")?;
    let visible = wait_for(Duration::from_secs(15), || generation(addr, "app-1").is_ok_and(|g| g == 2))?;
    std::thread::sleep(phase);
    record("a commit changes app-1", format!("served {:.1} s after the commit", visible.as_secs_f64()))?;

    // 2. The remote disappears: fetches fail, the last good content stays in service.
    let hidden = remote.dir.with_extension("gone");
    std::fs::rename(&remote.dir, &hidden)?;
    std::thread::sleep(phase.max(Duration::from_secs(3)));
    let still = generation(addr, "app-1")?;
    std::fs::rename(&hidden, &remote.dir)?;
    if still != 2 {
        bail!("with the remote gone app-1 answered generation {still}, not the last good 2");
    }
    record("the remote disappears", "last good content served".to_owned())?;

    // 3. Broken YAML in one application.
    remote.write_commit("app-0.yml", "app: [\n", "break app-0")?;
    wait_for(Duration::from_secs(15), || fetch(addr, "/app-0/default").is_ok_and(|(status, _)| status == 500))?;
    let (_, body) = fetch(addr, "/app-0/default")?;
    if !body.contains("invalid_config") || !body.contains("app-0.yml") {
        bail!("broken YAML answered without naming the file: {body}");
    }
    std::thread::sleep(phase);
    remote.write_commit("app-0.yml", "app:\n  generation: 1\n", "fix app-0")?;
    wait_for(Duration::from_secs(15), || fetch(addr, "/app-0/default").is_ok_and(|(status, _)| status == 200))?;
    record("broken YAML in app-0", "app-0: 500 invalid_config naming app-0.yml; the others unaffected".to_owned())?;

    // 4. The clone directory is deleted under the server.
    std::fs::remove_dir_all(&clone)?;
    std::thread::sleep(Duration::from_secs(2));
    remote.write_commit("app-2.yml", "app:\n  generation: 2\n", "change app-2 after the clone went")?;
    let recovered = wait_for(Duration::from_secs(20), || generation(addr, "app-2").is_ok_and(|g| g == 2))?;
    std::thread::sleep(phase);
    record(
        "the clone is deleted",
        format!("cloned again; a new commit served {:.1} s after it", recovered.as_secs_f64()),
    )?;

    // 5. A flood of distinct application names.
    let before = rss_mb(pid)?;
    let flooded = Instant::now();
    let mut peak = before;
    let mut stream = Connection::open(addr, Duration::from_secs(10))?;
    for i in 0..flood {
        // Distinct names that share no prefix order with the real ones.
        let name = format!("/random-{i:06}-{}/default", i.wrapping_mul(2_654_435_761) % 1_000_003);
        let (status, _) = exchange(&mut stream, &name).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        if status != 200 {
            bail!("a random application name answered {status}");
        }
        if i % 1_000 == 0 {
            peak = peak.max(rss_mb(pid)?);
        }
    }
    let after = rss_mb(pid)?;
    record(
        &format!("{flood} random application names"),
        format!(
            "{:.0} names/s; memory {before:.1} → {after:.1} MB (peak {peak:.1}), cache bound {MAX_CAPACITY} entries",
            flood as f64 / flooded.elapsed().as_secs_f64()
        ),
    )?;

    // 6. SIGTERM under load.
    std::thread::sleep(phase);
    record("before SIGTERM", String::new())?;
    shared.stopping.store(true, Ordering::SeqCst);
    let signalled = Instant::now();
    let exit = server.terminate()?;
    let exited = signalled.elapsed();
    shared.stop.store(true, Ordering::SeqCst);
    for client in clients {
        let _ = client.join();
    }
    record(
        "SIGTERM under load",
        format!(
            "exit {} after {:.0} ms; {} requests refused at connect after the listener closed",
            exit.code().map_or_else(|| "by signal".to_owned(), |c| c.to_string()),
            exited.as_secs_f64() * 1e3,
            shared.refused_after_stop.load(Ordering::SeqCst)
        ),
    )?;

    let report = render(&rows, phase_seconds, smoke);
    let path = work.join("report.md");
    std::fs::write(&path, &report)?;
    std::io::stdout().write_all(report.as_bytes())?;
    let errors: Vec<&String> = rows.iter().flat_map(|(_, t, _, _)| &t.errors).collect();
    if !exit.success() {
        bail!("the server exited with {exit} after SIGTERM");
    }
    if !errors.is_empty() {
        bail!("{} failed requests, first: {}", errors.len(), errors[0]);
    }
    if after > before + 150.0 {
        bail!("memory grew from {before:.1} to {after:.1} MB under the flood: the cache bound does not hold");
    }
    Ok(())
}

fn render(rows: &[(String, Tally, Option<f64>, String)], phase_seconds: u64, smoke: bool) -> String {
    let mut out = format!(
        "Measured by `cargo xtask soak{}` ({CLIENTS} client threads on kept-alive connections over {APPLICATIONS} \
         applications, {phase_seconds} s per phase, git backend over `file://` fetching every second).\n\n\
         | phase | requests | errors | retried | p50 | p99 | memory | note |\n|---|---|---|---|---|---|---|---|\n",
        if smoke { " --smoke" } else { "" }
    );
    for (name, tally, rss, note) in rows {
        let mut sorted = tally.latencies_us.clone();
        sorted.sort_unstable();
        let pick = |q: f64| sorted.get(((sorted.len() as f64 - 1.0) * q) as usize).copied().unwrap_or(0);
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} µs | {} µs | {} | {note} |",
            sorted.len(),
            tally.errors.len(),
            tally.retried,
            pick(0.5),
            pick(0.99),
            rss.map_or_else(|| "exited".to_owned(), |mb| format!("{mb:.1} MB"))
        );
    }
    out
}

/// One client thread: real applications in turn (not app-0, whose YAML a phase breaks).
fn client(addr: SocketAddr, index: usize, shared: &Shared) {
    let mut connection: Option<Connection> = None;
    let mut n = index;
    while !shared.stop.load(Ordering::SeqCst) {
        n += 1;
        let path = format!("/app-{}/default", 1 + n % (APPLICATIONS - 1));
        let started = Instant::now();
        let outcome = request(addr, &mut connection, &path, shared);
        let mut tally = match shared.tally.lock() {
            Ok(tally) => tally,
            Err(_) => return,
        };
        match outcome {
            Outcome::Ok { retried } => {
                tally.latencies_us.push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
                tally.retried += u64::from(retried);
            }
            Outcome::RefusedAfterStop => {
                shared.refused_after_stop.fetch_add(1, Ordering::SeqCst);
                drop(tally);
                std::thread::sleep(Duration::from_millis(10));
            }
            Outcome::Failed(error) => tally.errors.push(format!("{path}: {error}")),
        }
    }
}

enum Outcome {
    Ok { retried: bool },
    RefusedAfterStop,
    Failed(String),
}

/// One request on the thread's kept-alive connection. A reused connection that fails before any
/// byte of an answer was closed by the server between requests (idle timeout, shutdown): the
/// request was never read, and is sent once more on a new connection, as HTTP clients do.
fn request(addr: SocketAddr, connection: &mut Option<Connection>, path: &str, shared: &Shared) -> Outcome {
    for attempt in 0..2 {
        let reused = connection.is_some();
        let conn = match connection.take() {
            Some(conn) => conn,
            None => match Connection::open(addr, Duration::from_secs(10)) {
                Ok(conn) => conn,
                Err(_) if shared.stopping.load(Ordering::SeqCst) => return Outcome::RefusedAfterStop,
                Err(err) => return Outcome::Failed(format!("connect: {err}")),
            },
        };
        let mut conn = conn;
        match conn.send(path, &[], false).and_then(|()| conn.read()) {
            Ok(response) if response.status == 200 => {
                // A server that is draining says `Connection: close`: the next request goes on a
                // new connection, as HTTP clients do.
                if response.header("connection") != Some("close") {
                    *connection = Some(conn);
                }
                return Outcome::Ok { retried: attempt > 0 };
            }
            Ok(response) => return Outcome::Failed(format!("{}: {}", response.status, response.text())),
            Err(ReadError::BeforeAnswer(_)) if reused => continue,
            Err(ReadError::BeforeAnswer(_)) if shared.stopping.load(Ordering::SeqCst) => {
                return Outcome::RefusedAfterStop;
            }
            Err(err) => return Outcome::Failed(err.to_string()),
        }
    }
    Outcome::Failed("failed twice".to_owned())
}

/// One request on a connection kept alive.
fn exchange(connection: &mut Connection, path: &str) -> Result<(u16, String), ReadError> {
    connection.send(path, &[], false)?;
    let response = connection.read()?;
    Ok((response.status, response.text()))
}

fn fetch(addr: SocketAddr, path: &str) -> Result<(u16, String)> {
    let response = get(addr, path, &[], Duration::from_secs(10)).with_context(|| path.to_owned())?;
    Ok((response.status, response.text()))
}

/// The `app.generation` an application is served with.
fn generation(addr: SocketAddr, app: &str) -> Result<i64> {
    let (status, body) = fetch(addr, &format!("/{app}/default"))?;
    if status != 200 {
        bail!("{app}: {status}");
    }
    let marker = "\"app.generation\":";
    let at = body.find(marker).context("no app.generation")? + marker.len();
    let digits: String = body[at..].chars().take_while(char::is_ascii_digit).collect();
    Ok(digits.parse()?)
}

/// Polls `done` every 50 ms; returns how long it took.
fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) -> Result<Duration> {
    let started = Instant::now();
    while !done() {
        if started.elapsed() > limit {
            bail!("not done within {} s", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(started.elapsed())
}

/// The git repository the server fetches from.
struct Remote {
    dir: PathBuf,
}

impl Remote {
    fn create(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let remote = Self { dir: dir.to_path_buf() };
        remote.git(&["init", "-q", "-b", "main"])?;
        std::fs::write(dir.join("application.yml"), "shared:\n  timeout: 30\n")?;
        for app in 0..APPLICATIONS {
            let mut text = String::from("app:\n  generation: 1\n");
            for p in 0..30 {
                let _ = writeln!(text, "  setting-{p:02}: value {p} of app {app}");
            }
            std::fs::write(dir.join(format!("app-{app}.yml")), text)?;
        }
        remote.git(&["add", "-A"])?;
        remote.git(&["commit", "-q", "-m", "initial"])?;
        Ok(remote)
    }

    fn write_commit(&self, file: &str, text: &str, message: &str) -> Result<()> {
        std::fs::write(self.dir.join(file), text)?;
        self.git(&["commit", "-q", "-am", message])
    }

    fn git(&self, args: &[&str]) -> Result<()> {
        let status = Command::new("git")
            .args(["-c", "user.name=soak", "-c", "user.email=soak@example.invalid", "-c", "commit.gpgsign=false"])
            .args(args)
            .current_dir(&self.dir)
            .stdout(Stdio::null())
            .status()
            .context("cannot run git")?;
        if !status.success() {
            bail!("git {args:?} failed");
        }
        Ok(())
    }
}

/// The server under test on the git remote; killed when dropped if still running.
fn start_server(binary: &Path, work: &Path, remote: &Path, clone: &Path) -> Result<Server> {
    let settings = format!(
        "server:\n  shutdown_grace_seconds: 10\n  shutdown:\n    drain_seconds: 2\ncache:\n  max_capacity: {MAX_CAPACITY}\nlogging:\n  level: error\n\
         backends:\n  native:\n    enabled: false\n  git:\n    enabled: true\n    uri: file://{}\n    \
         basedir: {}\n    refresh_interval_seconds: 1\n    timeout_seconds: 5\n",
        remote.display(),
        clone.display()
    );
    Server::start(&Start { binary, work, settings: &settings, ready: "/app-1/default", core: None })
}
