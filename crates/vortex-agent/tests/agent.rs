//! The agent against a real server over HTTP: files written atomically and the command run once
//! per change; the server stopped and started again while the agent runs.

// Test helpers panic on failure: that is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vortex_server::{ServeOptions, app_from_settings, serve};

/// A server on `addr` (a free port when 0) over the native directory `dir`, stopped by dropping
/// the sender.
async fn server(
    dir: &Path,
    addr: SocketAddr,
) -> (SocketAddr, tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let mut settings = vortex_settings_for(dir);
    settings.watch.max_wait_seconds = 2;
    let app = app_from_settings(&settings).await.unwrap();
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let options = ServeOptions { drain: Duration::ZERO, ..ServeOptions::default() };
    let task = tokio::spawn(async move {
        serve(
            listener,
            app,
            async move {
                let _ = stopped.await;
            },
            options,
        )
        .await
        .unwrap();
    });
    (addr, stop, task)
}

fn vortex_settings_for(dir: &Path) -> vortex_settings::Settings {
    let mut settings = vortex_settings::Settings::default();
    settings.backends.git.enabled = false;
    settings.backends.native.enabled = true;
    settings.backends.native.search_locations = vec![dir.display().to_string()];
    settings.backends.native.watch_interval_seconds = 1;
    settings
}

struct Agent(Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |text| text.lines().count())
}

async fn eventually(what: &str, within: Duration, check: impl Fn() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_keeps_a_file_current_and_runs_its_command_once_per_change() {
    let repo = tempfile::tempdir().unwrap();
    std::fs::write(repo.path().join("orders-prod.yml"), "value: 1\n").unwrap();
    let (addr, stop, task) = server(repo.path(), "127.0.0.1:0".parse().unwrap()).await;
    let work = tempfile::tempdir().unwrap();
    let (out, count): (PathBuf, PathBuf) = (work.path().join("application.properties"), work.path().join("count"));
    let agent = Agent(
        Command::new(env!("CARGO_BIN_EXE_vortex-agent"))
            .args(["--server", &format!("http://{addr}"), "--app", "orders", "--profile", "prod", "--wait", "2"])
            .arg("--out")
            .arg(&out)
            .arg("--exec")
            .arg(format!("echo changed >> {}", count.display()))
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    eventually("the first file", Duration::from_secs(10), || lines(&count) == 1).await;
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "value: 1");

    // A change: the file is replaced and the command runs once.
    std::fs::write(repo.path().join("orders-prod.yml"), "value: 2\n").unwrap();
    eventually("the change", Duration::from_secs(5), || std::fs::read_to_string(&out).unwrap() == "value: 2").await;
    eventually("the command", Duration::from_secs(2), || lines(&count) == 2).await;
    // A change to another application runs nothing.
    std::fs::write(repo.path().join("billing.yml"), "value: 9\n").unwrap();
    tokio::time::sleep(Duration::from_millis(3000)).await;
    assert_eq!(lines(&count), 2, "one run per change of this file");
    // Only the file: no temporary file left beside it.
    let mut names: Vec<String> = std::fs::read_dir(work.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["application.properties", "count"]);

    // The server stops: the agent keeps the file and retries.
    let _ = stop.send(());
    task.await.unwrap();
    std::fs::write(repo.path().join("orders-prod.yml"), "value: 3\n").unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "value: 2", "the last good file stays");
    // It comes back on the same address: the agent catches up on what changed meanwhile.
    let (_, stop, task) = server(repo.path(), addr).await;
    eventually("recovery", Duration::from_secs(15), || std::fs::read_to_string(&out).unwrap() == "value: 3").await;
    eventually("the command", Duration::from_secs(2), || lines(&count) == 3).await;
    drop(agent);
    let _ = stop.send(());
    task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_writes_the_file_and_exits_or_fails_when_the_server_is_away() {
    let repo = tempfile::tempdir().unwrap();
    std::fs::write(repo.path().join("orders-prod.yml"), "value: 1\n").unwrap();
    let (addr, stop, task) = server(repo.path(), "127.0.0.1:0".parse().unwrap()).await;
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("orders.json");
    let spec = format!("orders/prod.json={}", out.display());
    let agent = env!("CARGO_BIN_EXE_vortex-agent");
    let status = tokio::task::spawn_blocking(move || {
        Command::new(agent).args(["--server", &format!("http://{addr}"), "--file", &spec, "--once"]).status().unwrap()
    })
    .await
    .unwrap();
    assert!(status.success());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "{\"value\":1}");
    let _ = stop.send(());
    task.await.unwrap();

    // Nothing listens: it gives up after --once-timeout, with exit status 1.
    let spec = format!("orders/prod.json={}", work.path().join("other.json").display());
    let output = tokio::task::spawn_blocking(move || {
        Command::new(agent)
            .args(["--server", &format!("http://{addr}"), "--file", &spec, "--once", "--once-timeout", "1"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("cannot connect") && log.contains("giving up"), "{log}");
}
