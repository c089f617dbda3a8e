//! Faults: a remote that disappears, a restart without the remote, a corrupt clone, no clone at all,
//! and a real network protocol (git daemon on loopback).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vortex_core::{ConfigSource, ErrorKind, HealthStatus, Value};
use vortex_git::GitSource;

use crate::support::{Remote, basedir, load, mirror_dir, options, started, value};

#[tokio::test]
async fn a_vanished_remote_leaves_the_last_good_commit_in_service() {
    let remote = Remote::new("main");
    remote.commit(&[("app.yml", "rev: 1\n")], "one");
    let dir = basedir();
    let source = started(options(&remote.uri(), dir.path())).await;
    assert_eq!(source.health().status, HealthStatus::Up);
    let uri = remote.uri();
    drop(remote);
    assert!(source.refresh().await.is_err());
    assert_eq!(value(&source, "app", None, "rev").await, Some(Value::Int(1)));
    let health = source.health();
    assert_eq!(health.status, HealthStatus::Degraded);
    assert!(health.ready);
    assert!(health.details["lastError"].is_string(), "{}", health.details);
    assert_eq!(health.details["uri"], uri);
}

#[tokio::test]
async fn a_restart_with_the_remote_gone_serves_from_the_clone() {
    let remote = Remote::new("main");
    remote.commit(&[("app.yml", "rev: 1\n")], "one");
    let dir = basedir();
    let uri = remote.uri();
    drop(started(options(&uri, dir.path())).await);
    drop(remote);
    let restarted = GitSource::start(options(&uri, dir.path())).await.unwrap();
    assert!(restarted.is_ready(), "an existing clone is served at once");
    assert_eq!(value(&restarted, "app", None, "rev").await, Some(Value::Int(1)));
}

#[tokio::test]
async fn a_corrupt_clone_is_detected_and_cloned_again() {
    let remote = Remote::new("main");
    remote.commit(&[("app.yml", "rev: 1\n")], "one");
    let dir = basedir();
    drop(started(options(&remote.uri(), dir.path())).await);
    let mirror = mirror_dir(dir.path());
    // Leave a stale lock behind and break the repository's metadata.
    std::fs::write(mirror.join("packed-refs.lock"), "").unwrap();
    std::fs::remove_dir_all(mirror.join("objects")).unwrap();
    std::fs::write(mirror.join("HEAD"), "garbage").unwrap();
    let source = started(options(&remote.uri(), dir.path())).await;
    assert_eq!(value(&source, "app", None, "rev").await, Some(Value::Int(1)));
    assert!(!mirror.join("packed-refs.lock").exists());
}

#[tokio::test]
async fn no_clone_and_no_remote_means_unavailable_until_it_appears() {
    let dir = basedir();
    let missing = tempfile::tempdir().unwrap();
    let uri = format!("file://{}/repo", missing.path().display());
    let source = GitSource::start(options(&uri, dir.path())).await.unwrap();
    assert!(source.refresh().await.is_err());
    let err = load(&source, "app", "default", None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(source.health().status, HealthStatus::Down);
    assert!(!source.health().ready);

    // The remote comes up: the next fetch makes the source ready.
    std::fs::create_dir_all(missing.path().join("repo")).unwrap();
    let remote = Remote { dir: missing };
    remote.git(&["-C", "repo", "init", "-q", "-b", "main"]);
    std::fs::write(remote.path().join("repo/app.yml"), "rev: 1\n").unwrap();
    remote.git(&["-C", "repo", "add", "-A"]);
    remote.git(&["-C", "repo", "commit", "-q", "-m", "one"]);
    source.refresh().await.unwrap();
    assert_eq!(value(&source, "app", None, "rev").await, Some(Value::Int(1)));
    assert_eq!(source.health().status, HealthStatus::Up);
}

#[tokio::test]
async fn invalid_uris_are_refused() {
    let dir = basedir();
    for uri in ["", "ftp://host/repo", "https://{application}.example.com/repo"] {
        assert!(GitSource::start(options(uri, dir.path())).await.is_err(), "{uri:?}");
    }
}

/// A `git daemon` serving one directory on a free loopback port; killed on drop.
struct Daemon {
    child: Child,
    port: u16,
}

impl Daemon {
    /// A daemon on a free port. A port found free can be taken by another test before the daemon
    /// binds it, so a daemon that cannot bind is started again on another port.
    fn start(base: &std::path::Path) -> Self {
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            if let Some(daemon) = Self::try_start_on(base, port) {
                return daemon;
            }
        }
        panic!("git daemon did not start on any of five ports");
    }

    fn start_on(base: &std::path::Path, port: u16) -> Self {
        Self::try_start_on(base, port).expect("git daemon did not start")
    }

    /// The daemon once it answers the git protocol on `port`; `None` when it exited first (the
    /// port was taken).
    fn try_start_on(base: &std::path::Path, port: u16) -> Option<Self> {
        // Run git-daemon itself, not through the `git` wrapper, so that killing the child stops it.
        let exec_path = Command::new("git").arg("--exec-path").output().unwrap();
        let exec_path = String::from_utf8(exec_path.stdout).unwrap().trim().to_owned();
        let child = Command::new(format!("{exec_path}/git-daemon"))
            .args(["--reuseaddr", "--export-all", "--listen=127.0.0.1", &format!("--port={port}")])
            .arg(format!("--base-path={}", base.display()))
            .arg(base)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("git daemon");
        let mut daemon = Self { child, port };
        // Ready when a git request gets a packet line back (an `ERR` for this made-up path): a
        // connection alone could reach another test's listener on the same port.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !answers_git(port) {
            if daemon.child.try_wait().unwrap().is_some() || Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(daemon)
    }
}

/// Whether a git daemon answers a request on `port`.
fn answers_git(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let request = "git-upload-pack /readiness-probe\0host=127.0.0.1\0";
    let mut length = [0u8; 4];
    write!(stream, "{:04x}{request}", request.len() + 4).is_ok() && stream.read_exact(&mut length).is_ok()
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn fetches_over_the_git_protocol_on_loopback() {
    let remote = Remote::new("main");
    remote.commit(&[("app.yml", "rev: 1\n")], "one");
    let daemon = Daemon::start(remote.path().parent().unwrap());
    let name = remote.path().file_name().unwrap().to_string_lossy().into_owned();
    let uri = format!("git://127.0.0.1:{}/{name}", daemon.port);
    let dir = basedir();
    let source = started(options(&uri, dir.path())).await;
    let env = load(&source, "app", "default", None).await.unwrap();
    assert_eq!(env.get("rev"), Some(&Value::Int(1)));
    assert_eq!(env.property_sources[0].name, format!("{uri}/app.yml"));
    remote.commit(&[("app.yml", "rev: 2\n")], "two");
    assert_eq!(source.refresh().await.unwrap().moved, ["main"]);
    assert_eq!(value(&source, "app", None, "rev").await, Some(Value::Int(2)));
}

#[cfg(unix)]
#[tokio::test]
async fn fetches_over_ssh_with_the_configured_command() {
    use std::os::unix::fs::PermissionsExt;
    let remote = Remote::new("main");
    remote.commit(&[("app.yml", "rev: 1\n")], "one");
    // A stand-in for ssh: it logs its arguments and runs the remote command locally, which is what
    // sshd would do on the git host.
    let tools = tempfile::tempdir().unwrap();
    let log = tools.path().join("ssh.log");
    let script = tools.path().join("fake-ssh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\nwhile [ $# -gt 0 ]; do\n  case \"$1\" in\n    -G) exit 0 ;;\n    -i|-o|-p|-l) shift 2 ;;\n    -*) shift ;;\n    *) break ;;\n  esac\ndone\nshift\nexec sh -c \"$*\"\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let key = tools.path().join("id_test");
    std::fs::write(&key, "not a real key").unwrap();
    let dir = basedir();
    let mut opts = options(&format!("ssh://localhost{}", remote.path().display()), dir.path());
    opts.ssh_command = Some(format!("{} -i {} -o BatchMode=yes", script.display(), key.display()));
    let source = started(opts).await;
    assert_eq!(value(&source, "app", None, "rev").await, Some(Value::Int(1)));
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains(&format!("-i {}", key.display())), "{logged}");
    assert!(logged.contains("git-upload-pack"), "{logged}");
}

/// A "git daemon" that accepts connections and never answers nor hangs up, until stopped: then it
/// stops listening but keeps every connection it took open, as a host that went silent does.
struct SilentRemote {
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<Vec<std::net::TcpStream>>>,
}

impl SilentRemote {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = std::sync::Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => held.push(stream),
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
            held
        });
        Self { port, stop, thread: Some(thread) }
    }

    /// Stops listening; returns the connections, still open.
    fn stop_listening(mut self) -> Vec<std::net::TcpStream> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap()
    }
}

#[tokio::test]
async fn a_remote_gone_silent_mid_transfer_does_not_block_the_next_fetch() {
    let remote = Remote::new("main");
    remote.commit(&[("app.yml", "rev: 1\n")], "one");
    let name = remote.path().file_name().unwrap().to_string_lossy().into_owned();
    let silent = SilentRemote::start();
    let port = silent.port;
    let dir = basedir();
    let mut opts = options(&format!("git://127.0.0.1:{port}/{name}"), dir.path());
    let timeout = Duration::from_secs(1);
    opts.timeout = timeout;
    let started_at = Instant::now();
    let source = GitSource::start(opts).await.unwrap();
    assert!(started_at.elapsed() < timeout + Duration::from_millis(900), "start waits at most the timeout");
    assert_eq!(load(&source, "app", "default", None).await.unwrap_err().kind(), ErrorKind::Unavailable);

    // The host recovers on the same address; the silent connection stays open (no FIN ever).
    let held = silent.stop_listening();
    assert!(!held.is_empty(), "the first fetch connected");
    let _daemon = Daemon::start_on(remote.path().parent().unwrap(), port);
    let fetch_started = Instant::now();
    source.refresh().await.unwrap();
    let took = fetch_started.elapsed();
    assert!(took < timeout + Duration::from_secs(1), "the next fetch took {took:?}");
    assert_eq!(value(&source, "app", None, "rev").await, Some(Value::Int(1)));
    drop(held);
}

#[tokio::test]
async fn a_clone_deleted_under_the_running_server_is_cloned_again() {
    let remote = Remote::new("main");
    remote.commit(&[("app.yml", "rev: 1\n")], "one");
    let dir = basedir();
    let source = started(options(&remote.uri(), dir.path())).await;
    assert_eq!(value(&source, "app", None, "rev").await, Some(Value::Int(1)));
    std::fs::remove_dir_all(mirror_dir(dir.path())).unwrap();
    remote.commit(&[("app.yml", "rev: 2\n")], "two");
    source.refresh().await.unwrap();
    assert!(mirror_dir(dir.path()).join("objects").is_dir(), "the clone is back");
    assert_eq!(value(&source, "app", None, "rev").await, Some(Value::Int(2)));
}

#[cfg(unix)]
#[tokio::test]
async fn a_remote_git_refuses_to_serve_says_why() {
    // git refuses to serve a repository owned by someone else ("dubious ownership"): the error
    // names that cause, not only that the transfer failed.
    let remote = Remote::new("main");
    remote.commit(&[("app.yml", "rev: 1\n")], "one");
    let owner = Command::new("chown").args(["-R", "65534:65534"]).arg(remote.path()).stderr(Stdio::null()).status();
    if !owner.is_ok_and(|status| status.success()) {
        // Only root can give a repository to someone else; as any other user there is nothing to test.
        eprintln!("skipped: chown needs root");
        return;
    }
    let dir = basedir();
    let source = GitSource::start(options(&remote.uri(), dir.path())).await.unwrap();
    let err = source.refresh().await.unwrap_err().to_string();
    assert!(err.contains("dubious ownership"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_running_mirror_takes_many_fetches_and_keeps_serving() {
    // Every fetch that receives objects adds a pack; gix's default of 32 index slots failed the
    // 33rd such fetch ("too few index slots") of a server that never restarts.
    let remote = Remote::new("main");
    remote.commit(&[("app.yml", "rev: 0\n")], "zero");
    let dir = basedir();
    let source = GitSource::start(options(&remote.uri(), dir.path())).await.unwrap();
    let query = vortex_core::ConfigQuery::parse("app", "default", None).unwrap();
    for rev in 1..=45 {
        let commit = remote.commit(&[("app.yml", &format!("rev: {rev}\n"))], "next");
        source.refresh().await.unwrap();
        let env = source.load(&query).await.unwrap();
        assert_eq!(env.version.as_deref(), Some(commit.as_str()));
        assert_eq!(env.get("rev").map(ToString::to_string), Some(rev.to_string()));
    }
    let count = count_packs(dir.path());
    assert!(count <= 33, "the mirror was consolidated: {count} packs");
}

fn count_packs(dir: &std::path::Path) -> usize {
    let mut count = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        for entry in std::fs::read_dir(&path).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "pack") {
                count += 1;
            }
        }
    }
    count
}
