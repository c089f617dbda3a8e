//! What the harness tasks share: the release server as a process on a free loopback port, one
//! minimal HTTP/1.1 client, process figures from `/proc`, and the generated repository.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use crate::cmd::Tool;

/// A private RabbitMQ (`crates/vortex-bus/testing/broker.rs`, shared with the bus tests).
#[allow(unreachable_pub, dead_code, reason = "shared with the bus crate's tests")]
#[path = "../../crates/vortex-bus/testing/broker.rs"]
pub(crate) mod broker;

/// The server on the native backend over `repo` with a cache of 20,000 entries, ready when an
/// application of the generated repository answers; pinned to `core` when given.
pub(crate) fn start_native(binary: &Path, work: &Path, repo: &Path, core: Option<u32>) -> Result<Server> {
    let settings = format!(
        "cache:\n  max_capacity: 20000\nlogging:\n  level: warn\n\
         backends:\n  native:\n    enabled: true\n    search_locations: [\"{}\"]\n",
        repo.display()
    );
    Server::start(&Start { binary, work, settings: &settings, ready: "/app-0/default", core })
}

/// The server binary as a process, configured by a settings file; killed when dropped.
pub(crate) struct Server {
    child: Child,
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    /// From the process start to the first 200 of the readiness path.
    pub(crate) ready_after: Duration,
}

/// How to start a [`Server`].
pub(crate) struct Start<'a> {
    pub(crate) binary: &'a Path,
    /// Where the settings file is written.
    pub(crate) work: &'a Path,
    /// The settings, YAML, without `server.host` and `server.port` (added here).
    pub(crate) settings: &'a str,
    /// Polled until it answers 200, for at most 30 s.
    pub(crate) ready: &'a str,
    /// The CPU core the server is pinned to (`taskset`), if any.
    pub(crate) core: Option<u32>,
}

impl Server {
    /// Starts the server and waits until it is ready.
    pub(crate) fn start(start: &Start<'_>) -> Result<Self> {
        let port = free_port()?;
        // Harness servers stop at once unless the settings ask for a drain.
        let drain = if start.settings.contains("drain_seconds") { "" } else { "  shutdown:\n    drain_seconds: 0\n" };
        let listen = format!("server:\n  host: 127.0.0.1\n  port: {port}\n{drain}");
        let settings = match start.settings.contains("server:\n") {
            true => start.settings.replacen("server:\n", &listen, 1),
            false => format!("{}{listen}", start.settings),
        };
        let file = start.work.join("settings.yaml");
        std::fs::write(&file, settings)?;
        let started = Instant::now();
        let mut command = match start.core {
            Some(core) => {
                let mut taskset = Command::new("taskset");
                taskset.args(["-c", &core.to_string()]).arg(start.binary);
                taskset
            }
            None => Command::new(start.binary),
        };
        let child = command
            .arg("--config")
            .arg(&file)
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", start.binary.display()))?;
        let mut server = Self { child, addr: SocketAddr::from(([127, 0, 0, 1], port)), ready_after: Duration::ZERO };
        loop {
            if get(server.addr, start.ready, &[], Duration::from_secs(5)).is_ok_and(|r| r.status == 200) {
                server.ready_after = started.elapsed();
                return Ok(server);
            }
            if let Some(status) = server.child.try_wait()? {
                bail!("the server exited at start: {status}");
            }
            ensure!(started.elapsed() < Duration::from_secs(30), "the server was not ready within 30 s");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `GET path` on a connection of its own.
    pub(crate) fn get(&self, path: &str, timeout: Duration) -> Result<Response> {
        get(self.addr, path, &[], timeout)
    }

    /// SIGTERM, and the exit status within ten seconds.
    pub(crate) fn terminate(mut self) -> Result<ExitStatus> {
        let killed = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status()?;
        ensure!(killed.success(), "kill -TERM failed");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            ensure!(Instant::now() < deadline, "still running 10 s after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP response.
pub(crate) struct Response {
    pub(crate) status: u16,
    /// Names in lower case.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Response {
    /// The body as text.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The first value of header `name` (lower case).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

/// `GET path` with `headers` (`Name: value`) on a connection of its own, waiting at most `timeout`
/// for the answer.
pub(crate) fn get(addr: SocketAddr, path: &str, headers: &[&str], timeout: Duration) -> Result<Response> {
    let mut connection = Connection::open(addr, timeout)?;
    connection.send(path, headers, true)?;
    Ok(connection.read()?)
}

/// `POST path` with `headers` and a JSON `body` on a connection of its own, waiting at most
/// `timeout` for the answer.
pub(crate) fn post(addr: SocketAddr, path: &str, headers: &[&str], body: &str, timeout: Duration) -> Result<Response> {
    let mut connection = Connection::open(addr, timeout)?;
    let mut request = format!("POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for header in headers {
        let _ = write!(request, "{header}\r\n");
    }
    let _ = write!(request, "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len());
    connection.reader.get_mut().write_all(request.as_bytes())?;
    Ok(connection.read()?)
}

/// Why reading an answer failed: before any byte came (the request may never have been read), or
/// after (the answer was cut).
#[derive(Debug)]
pub(crate) enum ReadError {
    BeforeAnswer(std::io::Error),
    Cut(String),
}

impl std::error::Error for ReadError {}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BeforeAnswer(err) => write!(f, "no answer: {err}"),
            Self::Cut(what) => write!(f, "answer cut: {what}"),
        }
    }
}

/// An HTTP/1.1 connection, kept alive between requests unless asked to close.
pub(crate) struct Connection {
    reader: BufReader<TcpStream>,
}

impl Connection {
    /// Connects (within 2 s); reads wait at most `timeout`.
    pub(crate) fn open(addr: SocketAddr, timeout: Duration) -> std::io::Result<Self> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_nodelay(true)?;
        Ok(Self { reader: BufReader::new(stream) })
    }

    /// Sends `GET path` with `headers`; with `close`, asks the server to close after answering.
    pub(crate) fn send(&mut self, path: &str, headers: &[&str], close: bool) -> Result<(), ReadError> {
        let mut request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n");
        for header in headers {
            let _ = write!(request, "{header}\r\n");
        }
        if close {
            request.push_str("Connection: close\r\n");
        }
        request.push_str("\r\n");
        self.reader.get_mut().write_all(request.as_bytes()).map_err(ReadError::BeforeAnswer)
    }

    /// Reads one answer: by `Content-Length`, or to the end of the stream without one.
    pub(crate) fn read(&mut self) -> Result<Response, ReadError> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => return Err(ReadError::BeforeAnswer(std::io::ErrorKind::UnexpectedEof.into())),
            Ok(_) => {}
            Err(err) => return Err(ReadError::BeforeAnswer(err)),
        }
        let status = line.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| ReadError::Cut(line.clone()))?;
        let mut headers = Vec::new();
        loop {
            let mut header = String::new();
            if self.reader.read_line(&mut header).map_err(|e| ReadError::Cut(e.to_string()))? == 0 {
                return Err(ReadError::Cut("end of stream in the headers".to_owned()));
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let length = headers.iter().find(|(name, _)| name == "content-length").map(|(_, value)| value.parse());
        let mut body = Vec::new();
        match length {
            Some(Ok(length)) => {
                body.resize(length, 0);
                self.reader.read_exact(&mut body).map_err(|e| ReadError::Cut(e.to_string()))?;
            }
            Some(Err(_)) => return Err(ReadError::Cut("a malformed Content-Length".to_owned())),
            None => {
                self.reader.read_to_end(&mut body).map_err(|e| ReadError::Cut(e.to_string()))?;
            }
        }
        Ok(Response { status, headers, body })
    }
}

/// What the load benchmark drives its runs with, from Debian's packages: `wrk`, `nginx` (the
/// ceiling) and `taskset` (pinning).
pub(crate) const LOAD_TOOLS: [Tool; 3] = [
    Tool::Debian { command: "wrk", package: "wrk" },
    Tool::Debian { command: "nginx", package: "nginx" },
    Tool::Debian { command: "taskset", package: "util-linux" },
];

/// Builds the server (release, or the dev profile for a smoke run) and returns the binary's path.
pub(crate) fn build_server(root: &Path, smoke: bool) -> Result<PathBuf> {
    let profile = if smoke { "dev" } else { "release" };
    crate::cmd::step(
        &format!("build ({profile})"),
        crate::cmd::cargo(root, &["build", "-p", "vortex-server", "--profile", profile]),
    )?;
    let directory = if smoke { "debug" } else { "release" };
    Ok(crate::cmd::target_dir(root).join(directory).join("vortex-server"))
}

/// `Authorization: Basic ...` for `user` and `password`.
pub(crate) fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Authorization: Basic {encoded}")
}

/// The hash `vortex-server hash-password` (the binary at `binary`) prints for `secret`.
pub(crate) fn hash_password(binary: &Path, secret: &str) -> Result<String> {
    let mut child = Command::new(binary)
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot run hash-password")?;
    child.stdin.take().context("no stdin")?.write_all(secret.as_bytes())?;
    let output = child.wait_with_output()?;
    ensure!(output.status.success(), "hash-password failed: {}", output.status);
    Ok(String::from_utf8(output.stdout)?.trim().to_owned())
}

/// The value after `flag` in `args`, parsed; `default` without the flag.
pub(crate) fn option<T>(args: &[String], flag: &str, default: T) -> Result<T>
where
    T: std::str::FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    match args.iter().position(|a| a == flag) {
        Some(i) => args.get(i + 1).with_context(|| format!("{flag} needs a value"))?.parse().context(flag.to_owned()),
        None => Ok(default),
    }
}

/// `<target>/<name>`, emptied: where a harness task writes its files and its report.
pub(crate) fn work_dir(root: &Path, name: &str) -> Result<PathBuf> {
    let work = crate::cmd::target_dir(root).join(name);
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    Ok(work)
}

/// The nearest-rank `p`th percentile of `sorted`.
pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A report table of latencies: `first` names the row column; each row its median, p99 and max.
pub(crate) fn latency_table(report: &mut String, first: &str, rows: &mut [(&str, &mut Vec<Duration>)]) {
    use std::fmt::Write as _;
    let _ = writeln!(report, "| {first} | median | p99 | max |\n|---|---|---|---|");
    for (what, figures) in rows.iter_mut() {
        figures.sort();
        let _ = writeln!(
            report,
            "| {what} | {:.1} ms | {:.1} ms | {:.1} ms |",
            millis(percentile(figures, 50.0)),
            millis(percentile(figures, 99.0)),
            millis(figures.last().copied().unwrap_or_default())
        );
    }
}

/// Milliseconds, for reports.
pub(crate) fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Debian's RabbitMQ, for the bus tests and the propagation benchmark (a private broker each:
/// the system service is never used).
pub(crate) const RABBITMQ: Tool =
    Tool::Debian { command: "/usr/lib/rabbitmq/bin/rabbitmq-server", package: "rabbitmq-server" };

/// A free port on loopback.
pub(crate) fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Resident memory of process `pid`, in MB.
pub(crate) fn rss_mb(pid: u32) -> Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .context("no VmRSS")?;
    Ok(kb / 1024.0)
}

/// User and system CPU time of process `pid`, in seconds.
pub(crate) fn cpu_seconds(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat.rsplit_once(')').context("malformed stat")?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11..13).context("short stat")?.iter().map(|f| f.parse::<f64>().unwrap_or(0.0)).sum();
    Ok(ticks / 100.0)
}

/// Applications in the generated repository, and properties per application file: a JSON
/// Environment of about 4 KB, the entry size the memory target names.
pub(crate) const APPLICATIONS: usize = 200;
const PROPERTIES: usize = 55;

/// `application.yml`, and per application a file of about 4 KB and a `prod` profile file.
pub(crate) fn generate_repository(dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let mut shared = String::from("management:\n  endpoints: health,info\nlogging:\n  level: INFO\n");
    for i in 0..20 {
        let _ = writeln!(shared, "shared-{i}: value-{i}");
    }
    std::fs::write(dir.join("application.yml"), shared)?;
    for app in 0..APPLICATIONS {
        let mut text = format!("server:\n  port: {}\napp:\n", 8000 + app);
        for p in 0..PROPERTIES {
            let _ = writeln!(text, "  setting-{p:03}: \"value {p} of application {app}, with some text\"");
        }
        std::fs::write(dir.join(format!("app-{app}.yml")), text)?;
        std::fs::write(dir.join(format!("app-{app}-prod.yml")), "server:\n  port: 443\n")?;
    }
    Ok(dir.to_path_buf())
}

/// What one wrk run reported.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Run {
    pub(crate) requests_per_second: f64,
    pub(crate) p50_us: f64,
    pub(crate) p99_us: f64,
    pub(crate) p999_us: f64,
    pub(crate) errors: u64,
}

/// wrk script: print the figures as one JSON line when done.
const REPORT: &str = r#"
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    'VORTEX-LOAD {"rps":%f,"p50":%f,"p99":%f,"p999":%f,"errors":%d}\n',
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), errors))
end
"#;

/// wrk on core 1 for `seconds` with `connections` connections against `path`, one `header` and
/// an optional Lua `script` prepended to the reporting one.
pub(crate) fn wrk(
    addr: SocketAddr,
    path: &str,
    header: Option<&str>,
    connections: u32,
    seconds: u64,
    script: Option<&str>,
) -> Result<Run> {
    let dir = std::env::temp_dir().join(format!("vortex-wrk-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("script.lua");
    std::fs::write(&file, format!("{}\n{REPORT}", script.unwrap_or("")))?;
    let mut command = Command::new("taskset");
    command.args(["-c", "1", "wrk", "-t1", "--timeout", "2s"]);
    command.arg(format!("-c{connections}")).arg(format!("-d{seconds}s")).arg("-s").arg(&file);
    if let Some(header) = header {
        command.args(["-H", header]);
    }
    command.arg(format!("http://{addr}{path}"));
    let output = command.output().context("cannot run wrk")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!("wrk failed: {}\n{stdout}{}", output.status, String::from_utf8_lossy(&output.stderr));
    }
    let line = stdout.lines().find_map(|l| l.strip_prefix("VORTEX-LOAD ")).context("wrk printed no figures")?;
    let field = |name: &str| -> Result<f64> {
        let start = line.find(&format!("\"{name}\":")).context("missing field")? + name.len() + 3;
        let rest = &line[start..];
        let end = rest.find([',', '}']).unwrap_or(rest.len());
        rest[..end].parse::<f64>().with_context(|| format!("bad {name} in {line}"))
    };
    Ok(Run {
        requests_per_second: field("rps")?,
        p50_us: field("p50")?,
        p99_us: field("p99")?,
        p999_us: field("p999")?,
        errors: field("errors")? as u64,
    })
}
