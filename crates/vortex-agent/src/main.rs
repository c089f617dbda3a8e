//! `vortex-agent`: keeps files current from a Vortex Config server (the consul-template pattern).
//! See `vortex-agent --help`.
//!
//! One thread per file long-polls its representation (`?wait=` with `If-None-Match`); each change
//! is written atomically ([`write`](mod@write)) and followed by the command (`--exec`) or the POST (`--post`).
//! When the server cannot be reached the last good file stays, and the thread retries with
//! exponential backoff (1 s doubling to 60 s) and jitter.

mod cli;
mod write;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::blocking::Client;
use reqwest::header::{AUTHORIZATION, ETAG, IF_NONE_MATCH};

use crate::cli::{Auth, Command, Options, Target};

fn main() -> ExitCode {
    let env = |name: &str| std::env::var(name).ok();
    let options = match cli::parse(std::env::args().skip(1), env) {
        Ok(Command::Run(options)) => options,
        Ok(Command::Help) => return print(cli::USAGE),
        Ok(Command::Version) => return print(&format!("vortex-agent {}\n", env!("CARGO_PKG_VERSION"))),
        Err(message) => {
            eprintln!("vortex-agent: {message}");
            return ExitCode::from(2);
        }
    };
    let client = match Client::builder().timeout(options.wait + Duration::from_secs(15)).build() {
        Ok(client) => client,
        Err(err) => {
            eprintln!("vortex-agent: cannot set up the HTTP client: {err}");
            return ExitCode::FAILURE;
        }
    };
    let agent = Arc::new(Agent { options, client, hooks: Mutex::new(()) });
    let failed = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..agent.options.targets.len())
        .map(|i| {
            let (agent, failed) = (Arc::clone(&agent), Arc::clone(&failed));
            std::thread::spawn(move || {
                if !agent.keep_current(&agent.options.targets[i]) {
                    failed.store(true, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for thread in threads {
        if thread.join().is_err() {
            failed.store(true, Ordering::Relaxed);
        }
    }
    if failed.load(Ordering::Relaxed) { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

fn print(text: &str) -> ExitCode {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}

/// One log line on standard error: seconds since the Unix epoch, then the message.
fn log(message: &str) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    eprintln!("{}.{:03} vortex-agent: {message}", now.as_secs(), now.subsec_millis());
}

struct Agent {
    options: Options,
    client: Client,
    /// One command or POST at a time, whichever file changed.
    hooks: Mutex<()>,
}

/// What one request brought.
enum Polled {
    /// A representation and its entity tag.
    Changed(Vec<u8>, Option<String>),
    /// The same as before.
    Same,
    /// A failure worth a retry, and how long the server asked to wait.
    Failed(String, Option<Duration>),
}

impl Agent {
    /// Keeps `target` current until the process ends, or (`--once`) until it is written once.
    /// Returns false when `--once` could not write it in time.
    fn keep_current(&self, target: &Target) -> bool {
        let url = format!("{}{}", self.options.server, target.path());
        let mut etag: Option<String> = None;
        let mut backoff = Duration::from_secs(1);
        let started = Instant::now();
        loop {
            match self.poll(&url, etag.as_deref()) {
                Polled::Changed(body, tag) => {
                    backoff = Duration::from_secs(1);
                    match write::replace(&target.out, &body) {
                        Ok(true) => {
                            log(&format!("{url}: wrote {} ({} bytes)", target.out.display(), body.len()));
                            // An init container (`--once`) only writes the file.
                            if self.options.once.is_none() {
                                self.after_change(target);
                            }
                        }
                        Ok(false) => log(&format!("{url}: {} is current", target.out.display())),
                        Err(err) => {
                            log(&format!("{url}: cannot write {}: {err}; retrying", target.out.display()));
                            std::thread::sleep(backoff);
                            continue;
                        }
                    }
                    etag = tag;
                    if self.options.once.is_some() {
                        return true;
                    }
                }
                Polled::Same => backoff = Duration::from_secs(1),
                Polled::Failed(why, retry_after) => {
                    if let Some(limit) = self.options.once
                        && started.elapsed() >= limit
                    {
                        log(&format!("{url}: {why}; giving up after {} s (--once-timeout)", limit.as_secs()));
                        return false;
                    }
                    let wait = retry_after.unwrap_or(backoff) + jitter(backoff / 4);
                    log(&format!("{url}: {why}; keeping the last file, retrying in {} ms", wait.as_millis()));
                    std::thread::sleep(wait);
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                }
            }
        }
    }

    fn poll(&self, url: &str, etag: Option<&str>) -> Polled {
        let mut request = match etag {
            Some(etag) => {
                let held = format!("{url}?wait={}", self.options.wait.as_secs());
                self.client.get(held).header(IF_NONE_MATCH, etag)
            }
            None => self.client.get(url),
        };
        request = match &self.options.auth {
            Auth::None => request,
            Auth::Basic { user, password } => request.basic_auth(user, Some(password)),
            Auth::Bearer(token) => request.header(AUTHORIZATION, format!("Bearer {token}")),
        };
        let response = match request.send() {
            Ok(response) => response,
            Err(err) => return Polled::Failed(format!("request failed ({})", short(&err)), None),
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            .map(Duration::from_secs);
        if status == StatusCode::NOT_MODIFIED {
            return Polled::Same;
        }
        if !status.is_success() {
            return Polled::Failed(format!("the server answered {status}"), retry_after);
        }
        let tag = response.headers().get(ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
        match response.bytes() {
            Ok(body) => Polled::Changed(body.to_vec(), tag),
            Err(err) => Polled::Failed(format!("the answer was cut ({})", short(&err)), None),
        }
    }

    /// Runs the command, or POSTs, once for a change of `target`.
    fn after_change(&self, target: &Target) {
        let _one_at_a_time = self.hooks.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(command) = &self.options.exec {
            match std::process::Command::new("sh").arg("-c").arg(command).status() {
                Ok(status) if status.success() => log(&format!("{}: ran {command:?}", target.out.display())),
                Ok(status) => log(&format!("{}: {command:?} failed: {status}", target.out.display())),
                Err(err) => log(&format!("{}: cannot run {command:?}: {err}", target.out.display())),
            }
        }
        if let Some(url) = &self.options.post {
            match self.client.post(url).header("content-type", "application/json").body("{}").send() {
                Ok(response) => log(&format!("{}: POST {url}: {}", target.out.display(), response.status())),
                Err(err) => log(&format!("{}: POST {url} failed ({})", target.out.display(), short(&err))),
            }
        }
    }
}

/// An error without the URL (which is logged beside it) and with its causes.
fn short(err: &reqwest::Error) -> String {
    let mut text = if err.is_timeout() {
        "timed out".to_owned()
    } else if err.is_connect() {
        "cannot connect".to_owned()
    } else {
        "error".to_owned()
    };
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A random duration below `max`, so that agents started together do not retry together.
fn jitter(max: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    let millis = u64::try_from(max.as_millis()).unwrap_or(u64::MAX).max(1);
    Duration::from_millis(hasher.finish() % millis)
}
