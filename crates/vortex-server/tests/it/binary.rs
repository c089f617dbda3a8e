//! The `vortex-server` binary: command line, settings errors, signals.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::support::{raw_get, workspace_root};

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vortex-server"));
    command.current_dir(workspace_root()).env_clear();
    command
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn invalid_settings_exit_before_binding_with_one_line_per_problem() {
    let output = binary()
        .env("VORTEX__SERVER__PORT", "0")
        .env("VORTEX__CACHE__TTL_SECONDS", "0")
        .env("VORTEX__LOGGING__FORMAT", "xml")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("logging.format"), "{stderr}");
    assert!(stderr.contains("VORTEX__LOGGING__FORMAT"), "{stderr}");
    let output = binary().env("VORTEX__SERVER__PORT", "0").env("VORTEX__CACHE__MAX_CAPACITY", "0").output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines,
        [
            "error: server.port: must be between 1 and 65535 (got 0) (from environment variable VORTEX__SERVER__PORT)",
            "error: cache.max_capacity: must be greater than 0 (from environment variable VORTEX__CACHE__MAX_CAPACITY)",
        ]
    );
    assert!(output.stdout.is_empty());
}

/// A settings file with an unknown key, a value of the wrong type and three invalid values (one of
/// them from the environment): five lines, each naming the dotted key and where the value really
/// came from, in plain words, and nothing else.
#[test]
fn every_settings_problem_is_one_line_naming_its_key_and_origin() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vortex.yaml");
    std::fs::write(
        &file,
        "server:\n  port: 70000\n  colour: blue\n  max_uri_bytes: 0\nlogging:\n  level: loud\n\
         backends:\n  native:\n    search_locations: [config/sample-repo]\n",
    )
    .unwrap();
    let output = binary()
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .arg("--check-config")
        .arg("--config")
        .arg(&file)
        .env("VORTEX__SERVER__HOST", "two words")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    let from_file = format!("(from file {})", file.display());
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines,
        [
            format!("error: server.colour: unknown setting {from_file}"),
            format!("error: server.port: 70000 is not a whole number from 0 to 65535 {from_file}"),
            "error: server.host: \"two words\" is not a host name or IP address (from environment variable \
             VORTEX__SERVER__HOST)"
                .to_owned(),
            format!("error: server.max_uri_bytes: must be greater than 0 {from_file}"),
            format!("error: logging.level: \"loud\" is not one of trace, debug, info, warn, error {from_file}"),
        ]
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn a_missing_settings_file_is_an_error() {
    let output = binary().args(["--config", "no/such/file.yaml"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(String::from_utf8(output.stderr).unwrap(), "error: settings file no/such/file.yaml does not exist\n");
}

#[test]
fn check_config_prints_effective_settings_with_secrets_redacted() {
    let output = binary()
        .arg("--check-config")
        .env("VORTEX__SECURITY__ADMIN_TOKEN", "a-very-secret-admin-token")
        .env("VORTEX__SECURITY__BASIC_AUTH__USERNAME", "reader")
        .env("VORTEX__SECURITY__BASIC_AUTH__PASSWORD", "hunter2-hunter2")
        .env("VORTEX__SERVER__PORT", "9000")
        .env("VORTEX__ENCRYPT__KEY", "the-encryption-key")
        .env("VORTEX__BACKENDS__GIT__URI", "https://alice:uri-password@git.example/config.git")
        .env("VORTEX__BACKENDS__GIT__REPOS__TEAM__URI", "https://bob:repo-password@git.example/team.git")
        .env("VORTEX__BACKENDS__GIT__REPOS__TEAM__PATTERN", "team-*")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("uri: https://***@git.example/config.git"), "{stdout}");
    for secret in ["a-very-secret-admin-token", "hunter2", "the-encryption-key", "uri-password", "repo-password"] {
        assert!(!stdout.contains(secret), "{secret}: {stdout}");
    }
    insta::assert_snapshot!(stdout);
}

#[test]
fn help_version_and_bad_arguments() {
    let help = binary().arg("--help").output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8(help.stdout).unwrap().contains("--check-config"));
    let version = binary().arg("--version").output().unwrap();
    assert_eq!(String::from_utf8(version.stdout).unwrap(), format!("vortex-server {}\n", env!("CARGO_PKG_VERSION")));
    let bad = binary().arg("--bogus").output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

/// The binary serving on a free loopback port with JSON logs and `env` on top, once it has said it
/// is listening.
pub(crate) struct Running {
    pub(crate) child: std::process::Child,
    lines: std::io::Lines<BufReader<std::process::ChildStderr>>,
    pub(crate) addr: std::net::SocketAddr,
}

impl Running {
    pub(crate) fn start(env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let mut command = binary();
        command
            .env("VORTEX__SERVER__HOST", "127.0.0.1")
            .env("VORTEX__SERVER__PORT", port.to_string())
            .env("VORTEX__LOGGING__FORMAT", "json")
            .env("VORTEX__SERVER__SHUTDOWN__DRAIN_SECONDS", "0")
            .envs(env.iter().copied())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        // Wait for the "listening" log line: the port is bound once it is written.
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let listening = lines.by_ref().map_while(Result::ok).find(|l| l.contains("vortex-server listening"));
        assert!(listening.is_some(), "the server never said it was listening");
        Self { child, lines, addr: format!("127.0.0.1:{port}").parse().unwrap() }
    }

    /// Sends SIGTERM, asserts a clean exit and returns the rest of the log.
    pub(crate) fn terminate(mut self) -> Vec<String> {
        let killed = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(killed.success());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "exit after SIGTERM: {status}");
        self.lines.map_while(Result::ok).collect()
    }
}

#[tokio::test]
async fn serves_then_stops_cleanly_on_sigterm() {
    let server = Running::start(&[]);
    let (status, _, body) = raw_get(server.addr, "/orders/dev", "").await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let rest = server.terminate();
    assert!(rest.iter().any(|l| l.contains("received SIGTERM")), "{rest:#?}");
}

#[tokio::test]
async fn refused_admin_requests_are_logged_without_the_token() {
    let token = "configured-admin-token-0123456789";
    let server = Running::start(&[("VORTEX__SECURITY__ADMIN_TOKEN", token)]);
    let guess = "Authorization: Bearer configured-admin-token-0123456788\r\n";
    let (status, _, _) = raw_get(server.addr, "/cache", guess).await;
    assert_eq!(status, 401);
    let log = server.terminate();
    let refused: Vec<&String> = log.iter().filter(|l| l.contains("admin API: request refused")).collect();
    assert_eq!(refused.len(), 1, "{log:#?}");
    assert!(refused[0].contains(r#""credentials":"wrong""#), "{refused:?}");
    for line in &log {
        assert!(!line.contains("0123456788") && !line.contains(token), "a token in the log: {line}");
    }
}

#[tokio::test]
async fn hangup_and_user_signals_are_logged_and_ignored() {
    let server = Running::start(&[]);
    for signal in ["-HUP", "-USR1", "-USR2"] {
        let sent = Command::new("kill").args([signal, &server.child.id().to_string()]).status().unwrap();
        assert!(sent.success());
        // Served after each: the signal did not end the process.
        let (status, _, _) = raw_get(server.addr, "/orders/dev", "").await;
        assert_eq!(status, 200, "after {signal}");
    }
    let rest = server.terminate();
    for name in ["SIGHUP", "SIGUSR1", "SIGUSR2"] {
        assert!(rest.iter().any(|l| l.contains("nothing to do: ignored") && l.contains(name)), "{name}: {rest:#?}");
    }
}

#[tokio::test]
async fn a_connection_limit_over_the_open_files_limit_is_lowered_at_start() {
    // Under `ulimit -n 128`, the default 10,000 connections cannot be served: the server says so
    // once and serves at most 64, closing the rest at accept instead of failing every accept.
    struct Killed(std::process::Child);
    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let port = free_port();
    let mut child = Command::new("bash")
        .args(["-c", "ulimit -n 128 && exec \"$0\"", env!("CARGO_BIN_EXE_vortex-server")])
        .current_dir(workspace_root())
        .env_clear()
        .env("VORTEX__SERVER__HOST", "127.0.0.1")
        .env("VORTEX__SERVER__PORT", port.to_string())
        .env("VORTEX__LOGGING__FORMAT", "json")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut child = Killed(child);
    let mut lines = BufReader::new(stderr).lines().map_while(Result::ok);
    let mut warning = None;
    for line in lines.by_ref() {
        if line.contains("open-files limit") {
            warning = Some(line);
        } else if line.contains("vortex-server listening") {
            break;
        }
    }
    let warning = warning.expect("a warning about the open-files limit before listening");
    assert!(warning.contains(r#""allowed":64"#), "{warning}");
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    // More connections than descriptors: the extra ones are closed, the process goes on.
    let held: Vec<_> = (0..150).filter_map(|_| std::net::TcpStream::connect(addr).ok()).collect();
    assert!(held.len() > 64, "{} connections", held.len());
    drop(held);
    // Served again once the server has seen those connections close (polled, bounded).
    let served = |_| {
        use std::io::{Read, Write};
        let Ok(mut stream) = std::net::TcpStream::connect(addr) else { return false };
        let _ = stream.write_all(b"GET /orders/dev HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).is_ok() && &head == b"HTTP/1.1 200" || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            false
        }
    };
    assert!((0..250).any(served), "not served after the connections closed");
    let killed = Command::new("kill").args(["-TERM", &child.0.id().to_string()]).status().unwrap();
    assert!(killed.success());
    assert!(child.0.wait().unwrap().success());
    let rest: Vec<String> = lines.collect();
    let accept_errors = rest.iter().filter(|l| l.contains("cannot accept a connection")).count();
    assert!(accept_errors <= 1, "{rest:#?}");
}

#[test]
fn an_alias_bomb_in_the_settings_file_is_refused_before_it_expands() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("settings.yaml");
    let mut text = String::from("l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..12 {
        let p = i - 1;
        text.push_str(&format!("l{i}: &l{i} [*l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}]\n"));
    }
    std::fs::write(&file, text).unwrap();
    let started = std::time::Instant::now();
    let output = binary().arg("--check-config").arg("--config").arg(&file).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("aliases expand to more than 10000 nodes at line 5"), "{stderr}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "took {:?}", started.elapsed());
}

/// What one request of the rolling-restart test came to.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// A complete 200.
    Answered { close: bool },
    /// No connection: refused, or reset before any byte on a connection the server never
    /// accepted (after it closed its listener). The request was never read; a client or load
    /// balancer sends it elsewhere.
    NotConnected,
    /// A request the server had, without a complete answer: what must never happen.
    Failed(String),
}

/// One `GET /orders/dev` on `stream`, reading the whole answer.
fn exchange(stream: &mut std::net::TcpStream, fresh: bool) -> Outcome {
    use std::io::{Read, Write};
    if let Err(err) = stream.write_all(b"GET /orders/dev HTTP/1.1\r\nHost: localhost\r\n\r\n") {
        return if fresh { Outcome::NotConnected } else { Outcome::Failed(format!("write: {err}")) };
    }
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            Ok(_) | Err(_) if head.is_empty() && fresh => return Outcome::NotConnected,
            Ok(_) => return Outcome::Failed(format!("end of stream after {} bytes of the head", head.len())),
            Err(err) => return Outcome::Failed(format!("read after {} bytes: {err}", head.len())),
        }
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    if let Err(err) = stream.read_exact(&mut body) {
        return Outcome::Failed(format!("body: {err}"));
    }
    if !head.starts_with("http/1.1 200") {
        return Outcome::Failed(head.lines().next().unwrap_or_default().to_owned());
    }
    Outcome::Answered { close: head.contains("connection: close") }
}

/// A rolling restart: SIGTERM while sixteen clients send requests, half on a fresh connection
/// each time, half on kept-alive connections. With a two-second drain, no request the server
/// received goes without a complete answer; readiness is 503 while reads still answer 200; the
/// process exits 0.
#[test]
fn sigterm_under_load_loses_no_request() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    let server = Running::start(&[("VORTEX__SERVER__SHUTDOWN__DRAIN_SECONDS", "2")]);
    let addr = server.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let clients: Vec<_> = (0..16)
        .map(|i| {
            let (stop, outcomes) = (Arc::clone(&stop), Arc::clone(&outcomes));
            std::thread::spawn(move || {
                let keep_alive = i % 2 == 0;
                let mut connection: Option<std::net::TcpStream> = None;
                while !stop.load(Ordering::Relaxed) {
                    let (mut stream, fresh) = match connection.take() {
                        Some(stream) => (stream, false),
                        None => match std::net::TcpStream::connect(addr) {
                            Ok(stream) => (stream, true),
                            Err(_) => {
                                outcomes.lock().unwrap().push(Outcome::NotConnected);
                                std::thread::sleep(Duration::from_millis(5));
                                continue;
                            }
                        },
                    };
                    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                    let outcome = exchange(&mut stream, fresh);
                    if keep_alive && outcome == (Outcome::Answered { close: false }) {
                        connection = Some(stream);
                    }
                    outcomes.lock().unwrap().push(outcome);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    let pid = server.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    // Within the drain: out of rotation, still serving.
    let signalled = Instant::now();
    let readiness = loop {
        let answer = std::net::TcpStream::connect(addr).map(|mut s| {
            use std::io::{Read, Write};
            s.write_all(b"GET /actuator/health/readiness HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut text = String::new();
            let _ = s.read_to_string(&mut text);
            text
        });
        match answer {
            Ok(text) if text.starts_with("HTTP/1.1 503") => break text,
            _ if signalled.elapsed() > Duration::from_secs(1) => panic!("readiness still not 503: {answer:?}"),
            _ => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    assert!(readiness.contains("OUT_OF_SERVICE"), "{readiness}");
    let mut fresh = std::net::TcpStream::connect(addr).unwrap();
    assert_eq!(exchange(&mut fresh, true), Outcome::Answered { close: true }, "reads answer 200 while draining");
    let mut child = server.child;
    let status = child.wait().unwrap();
    let stopped = signalled.elapsed();
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().unwrap();
    }
    assert!(status.success(), "exit after SIGTERM: {status}");
    assert!(stopped >= Duration::from_secs(2), "stopped after {stopped:?}, before the drain ended");
    let outcomes = outcomes.lock().unwrap();
    let failed: Vec<_> = outcomes.iter().filter(|o| matches!(o, Outcome::Failed(_))).collect();
    let answered = outcomes.iter().filter(|o| matches!(o, Outcome::Answered { .. })).count();
    assert!(failed.is_empty(), "{} of {} requests without a complete answer: {failed:?}", failed.len(), outcomes.len());
    assert!(answered > 100, "only {answered} answers");
}
