//! A private RabbitMQ for tests and harnesses: Debian's `rabbitmq-server` on free loopback ports,
//! with its own data directory, node name and `epmd`, stopped by process id. Standard library
//! only, so that any test or the xtask can include it with `#[path]`.
//!
//! The broker runs in a process group of its own, which is signalled as a whole; `epmd` is
//! started here, before the broker (which then uses it instead of starting a daemon that would
//! outlive the test), and stopped by its PID.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Where Debian installs the broker's start script.
pub const RABBITMQ_SERVER: &str = "/usr/lib/rabbitmq/bin/rabbitmq-server";
/// The line the broker prints when it accepts connections.
const READY: &str = "Starting broker... completed";

/// A running private broker; dropping it stops it and removes its directory.
pub struct Broker {
    /// The AMQP port on 127.0.0.1.
    pub port: u16,
    dist_port: u16,
    epmd_port: u16,
    dir: PathBuf,
    broker: Option<Child>,
    epmd: Option<Child>,
}

/// A port free now on the loopback interface.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("no free port")
}

/// Whether the broker is installed here.
pub fn installed() -> bool {
    std::path::Path::new(RABBITMQ_SERVER).exists()
}

impl Broker {
    /// Starts a broker and waits until it accepts connections (about 4 s).
    ///
    /// # Panics
    /// When `rabbitmq-server` is not installed (`cargo xtask ci` installs it), or does not start
    /// within 60 s; the broker's log is in the message.
    pub fn start() -> Self {
        let mut broker = Self::prepare();
        broker.launch();
        broker
    }

    /// A broker with its ports and directory chosen, not started yet: [`Broker::uri`] names where
    /// it will listen once [`Broker::launch`] starts it (a replica that starts before its broker).
    ///
    /// # Panics
    /// When `rabbitmq-server` is not installed.
    pub fn prepare() -> Self {
        assert!(
            installed(),
            "{RABBITMQ_SERVER} is missing: install Debian's rabbitmq-server (`cargo xtask ci` does it)"
        );
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("vortex-rabbit-{port}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("log")).expect("broker directory");
        std::fs::write(dir.join("enabled_plugins"), "[].").expect("plugins file");
        Self { port, dist_port: free_port(), epmd_port: free_port(), dir, broker: None, epmd: None }
    }

    /// `amqp://guest:guest@127.0.0.1:PORT/%2f`.
    pub fn uri(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    /// Kills the broker at once (SIGKILL to its process group), as a crash would; `epmd` stays.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.broker.take() {
            signal_group(&child, "KILL");
            let _ = child.wait();
        }
    }

    /// Starts the broker again on the same port and data directory.
    #[allow(dead_code, reason = "not every includer restarts")]
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    /// Starts the broker (see [`Broker::prepare`]) and waits until it accepts connections.
    ///
    /// # Panics
    /// When it does not start within 60 s; the broker's output is in the message.
    pub fn launch(&mut self) {
        if self.epmd.is_none() {
            let epmd = Command::new("epmd")
                .args(["-port", &self.epmd_port.to_string(), "-address", "127.0.0.1"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("epmd (part of Erlang, installed with rabbitmq-server)");
            self.epmd = Some(epmd);
        }
        let dir = &self.dir;
        let mut child = Command::new(RABBITMQ_SERVER)
            .env("RABBITMQ_NODENAME", format!("vx{}@localhost", self.port))
            .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_NODE_PORT", self.port.to_string())
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env("RABBITMQ_MNESIA_BASE", dir.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", dir.join("log"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", dir.join("enabled_plugins"))
            .env("RABBITMQ_CONFIG_FILE", dir.join("none"))
            .env("RABBITMQ_ADVANCED_CONFIG_FILE", dir.join("none-advanced.config"))
            .env("HOME", dir)
            .env("ERL_EPMD_ADDRESS", "127.0.0.1")
            .env("ERL_EPMD_PORT", self.epmd_port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("starting rabbitmq-server");
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        if let Some(stderr) = child.stderr.take() {
            std::thread::spawn(move || for _ in BufReader::new(stderr).lines().map_while(Result::ok) {});
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = Vec::new();
        loop {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) if line.contains(READY) => break,
                Ok(line) => seen.push(line),
                Err(_) => {
                    signal_group(&child, "KILL");
                    let _ = child.wait();
                    panic!("rabbitmq-server did not start within 60 s:\n{}", seen.join("\n"));
                }
            }
        }
        // Keep draining stdout so that the broker never blocks on a full pipe.
        std::thread::spawn(move || while rx.recv().is_ok() {});
        self.broker = Some(child);
    }
}

fn signal_group(child: &Child, signal: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{signal}"), "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut child) = self.broker.take() {
            signal_group(&child, "TERM");
            let deadline = Instant::now() + Duration::from_secs(10);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            signal_group(&child, "KILL");
            let _ = child.wait();
        }
        if let Some(mut epmd) = self.epmd.take() {
            let _ = epmd.kill();
            let _ = epmd.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
