//! `cargo xtask hostile`: the release binary, as a process, against hostile input.
//!
//! Nothing a repository or a client sends may abort, freeze or starve the server. Each phase starts
//! the release server on a free loopback port and checks it from outside:
//!
//! 1. **corpus, native**: every file of `tests/hostile` (see its `generate.py`) is asked for as
//!    Environment JSON, `.yml`, `.properties` and `.json`, and its plain-text resources: each
//!    answer is the expected status with a JSON error body, within the request timeout; after each
//!    file a well-formed application is still served, `/health` answers, and memory stays under
//!    [`MEMORY_CEILING_MB`];
//! 2. **corpus, git**: the same files committed, then deleted: asked for at the old commit id, full
//!    and abbreviated;
//! 3. **hostile `application.yml`**: every application answers a clear error, health stays up;
//! 4. **timeout**: placeholder work over `server.request_timeout_seconds` answers 408 at the
//!    timeout, `/health` answers within [`HEALTH_LATENCY`] throughout, and the work stops;
//! 5. **slow bodies**: `max_concurrent_requests` slow `POST /monitor` bodies, unauthenticated and
//!    authenticated, while readers keep getting 200;
//! 6. **watches**: absurd waits, held reads of every hostile file, twice the watch limit at once;
//! 7. **credentials**: a flood of wrong passwords and tokens (each a password hash to verify) and
//!    malformed `Authorization` headers, while a client with remembered credentials keeps reading
//!    and `/health` answers within [`HEALTH_LATENCY`]; new clients files with an alias bomb,
//!    100,000 nested lists or a hash asking for 4 GiB change nothing;
//! 8. **memory**: 200 profile variants of a 4 MB application, default settings: peak resident
//!    memory under [`MEMORY_CEILING_MB`].
//!
//! Every phase ends with SIGTERM and requires exit status 0.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};

use crate::cmd::{cargo, step, target_dir, workspace_root};
use crate::harness::{self, Start, cpu_seconds, get, rss_mb};

/// Resident memory the server must stay under, in MB: `cache.max_bytes` (256 MiB by default) and
/// the transient memory of one parse or render per CPU of files up to 8 MiB.
const MEMORY_CEILING_MB: f64 = 512.0;
/// Longest `/health` may take while the worst input is being refused.
const HEALTH_LATENCY: Duration = Duration::from_millis(100);
/// `server.request_timeout_seconds` in every phase but the timeout one.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The statuses expected of each corpus application: Environment JSON, `.yml`, `.properties`,
/// `.json`.
const EXPECTED: &[(&str, [u16; 4])] = &[
    ("deep-sequence", [500; 4]),
    ("deep-mapping", [500; 4]),
    ("deep-flow", [500; 4]),
    ("deep-flow-mapping", [500; 4]),
    ("alias-depth", [500; 4]),
    ("alias-bomb", [500; 4]),
    ("profile-expression", [500; 4]),
    ("profile-parens", [500; 4]),
    ("not-utf8", [500; 4]),
    // Placeholders are resolved in the flat formats only.
    ("nested-defaults", [200, 500, 500, 500]),
    ("nested-defaults-props", [200, 500, 500, 500]),
    ("nested-keys", [200, 500, 500, 500]),
    ("exponential", [200, 500, 500, 500]),
    ("exponential-empty", [200, 500, 500, 500]),
    // Keys that fit no tree: refused by the tree formats, served flat.
    ("deep-key", [200, 400, 200, 400]),
    ("big-index", [200, 400, 200, 400]),
    ("escapes", [200; 4]),
];

/// Plain-text resources of the corpus and the status each gets (`/{app}/default/master/{file}`).
const RESOURCES: &[(&str, &str, u16)] =
    &[("good", "nested-defaults.txt", 500), ("exponential", "exponential.txt", 500), ("good", "good.txt", 200)];

pub(crate) fn run(args: &[String]) -> Result<()> {
    let root = workspace_root()?;
    step("build (release)", cargo(&root, &["build", "-p", "vortex-server", "--release"]))?;
    let binary = target_dir(&root).join("release/vortex-server");
    let work = target_dir(&root).join("hostile");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let corpus = root.join("tests/hostile");
    let repo = work.join("repo");
    copy_corpus(&corpus, &repo)?;

    let mut report = String::new();
    let started = Instant::now();
    // `cargo xtask hostile credentials watches` runs those phases only.
    let wanted = |phase: &str| args.is_empty() || args.iter().any(|a| a == phase);
    if wanted("corpus") {
        corpus_native(&binary, &work, &repo, &mut report)?;
        corpus_git(&binary, &work, &repo, &mut report)?;
        hostile_application_yml(&binary, &work, &corpus, &mut report)?;
    }
    if wanted("timeout") {
        timeout(&binary, &work, &repo, &mut report)?;
    }
    if wanted("slow_bodies") {
        slow_bodies(&binary, &work, &repo, &mut report)?;
    }
    if wanted("watches") {
        watches(&binary, &work, &repo, &mut report)?;
    }
    if wanted("credentials") {
        credentials(&binary, &work, &repo, &corpus, &mut report)?;
    }
    if wanted("memory") {
        memory(&binary, &work, &mut report)?;
    }
    eprint!("{report}");
    eprintln!("xtask hostile: every phase passed in {:.0?}", started.elapsed());
    Ok(())
}

/// The corpus, plus a well-formed application and resource to check that they are still served.
fn copy_corpus(corpus: &Path, repo: &Path) -> Result<()> {
    std::fs::create_dir_all(repo)?;
    for entry in std::fs::read_dir(corpus).with_context(|| format!("cannot read {}", corpus.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "yml" || e == "properties" || e == "txt") {
            std::fs::copy(&path, repo.join(path.file_name().context("a file name")?))?;
        }
    }
    std::fs::write(repo.join("good.yml"), "greeting: hello\n")?;
    std::fs::write(repo.join("good.txt"), "greeting is ${greeting}\n")?;
    Ok(())
}

fn corpus_native(binary: &Path, work: &Path, repo: &Path, report: &mut String) -> Result<()> {
    let settings = format!("backends:\n  native:\n    search_locations: [\"{}\"]\n", repo.display());
    let server = Server::start(binary, work, "native", &settings)?;
    let checked = check_corpus(&server, None)?;
    let peak = server.peak_rss();
    server.stop()?;
    writeln!(report, "corpus, native: {checked} answers as expected; peak memory {peak:.0} MB")?;
    Ok(())
}

fn corpus_git(binary: &Path, work: &Path, repo: &Path, report: &mut String) -> Result<()> {
    let remote = work.join("remote");
    std::fs::create_dir_all(&remote)?;
    let git = |args: &[&str]| -> Result<String> {
        let output = Command::new("git")
            .args(["-c", "user.name=hostile", "-c", "user.email=hostile@example.invalid", "-C"])
            .arg(&remote)
            .args(args)
            .output()
            .context("cannot run git")?;
        ensure!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    };
    git(&["init", "-q", "-b", "main"])?;
    for entry in std::fs::read_dir(repo)? {
        let path = entry?.path();
        std::fs::copy(&path, remote.join(path.file_name().context("a file name")?))?;
    }
    git(&["add", "-A"])?;
    git(&["commit", "-q", "-m", "hostile files"])?;
    let old = git(&["rev-parse", "HEAD"])?;
    // The files are deleted: only the old commit id still reaches them.
    for (app, _) in EXPECTED {
        for ext in ["yml", "properties"] {
            let _ = std::fs::remove_file(remote.join(format!("{app}.{ext}")));
        }
    }
    git(&["add", "-A"])?;
    git(&["commit", "-q", "-m", "hostile files deleted"])?;
    let settings = format!(
        "backends:\n  native:\n    enabled: false\n  git:\n    enabled: true\n    uri: file://{}\n    basedir: {}\n",
        remote.display(),
        work.join("clone").display()
    );
    let server = Server::start(binary, work, "git", &settings)?;
    let mut checked = 0;
    for label in [old.as_str(), &old[..7]] {
        checked += check_corpus(&server, Some(label))?;
    }
    // At the default label the files are gone: a clean 200 with no source of them.
    let (status, _) = server.get("/deep-sequence/default")?;
    ensure!(status == 200, "git, main: /deep-sequence/default answered {status}");
    let peak = server.peak_rss();
    server.stop()?;
    writeln!(
        report,
        "corpus, git (old commit id, full and abbreviated): {checked} answers as expected; peak {peak:.0} MB"
    )?;
    Ok(())
}

/// Asks for every corpus application in every form (at `label`, when set); returns the number
/// of answers checked.
fn check_corpus(server: &Server, label: Option<&str>) -> Result<usize> {
    let mut checked = 0;
    for (app, expected) in EXPECTED {
        let paths = match label {
            None => [
                format!("/{app}/default"),
                format!("/{app}-default.yml"),
                format!("/{app}-default.properties"),
                format!("/{app}-default.json"),
            ],
            Some(label) => [
                format!("/{app}/default/{label}"),
                format!("/{label}/{app}-default.yml"),
                format!("/{label}/{app}-default.properties"),
                format!("/{label}/{app}-default.json"),
            ],
        };
        for (path, &want) in paths.iter().zip(expected) {
            server.expect(path, want)?;
            checked += 1;
        }
        server.still_serving(label)?;
    }
    let label = label.unwrap_or("master");
    for (app, file, want) in RESOURCES {
        server.expect(&format!("/{app}/default/{label}/{file}"), *want)?;
        checked += 1;
    }
    server.still_serving(Some(label).filter(|l| *l != "master"))?;
    Ok(checked)
}

fn hostile_application_yml(binary: &Path, work: &Path, corpus: &Path, report: &mut String) -> Result<()> {
    let repo = work.join("shared");
    std::fs::create_dir_all(&repo)?;
    std::fs::copy(corpus.join("deep-sequence.yml"), repo.join("application.yml"))?;
    std::fs::write(repo.join("good.yml"), "greeting: hello\n")?;
    let settings = format!("backends:\n  native:\n    search_locations: [\"{}\"]\n", repo.display());
    let server = Server::start(binary, work, "application.yml", &settings)?;
    for path in ["/good/default", "/good-default.yml", "/other/default"] {
        server.expect(path, 500)?;
    }
    let (status, _) = server.get("/health")?;
    ensure!(status == 200, "application.yml: /health answered {status}");
    server.stop()?;
    writeln!(report, "hostile application.yml: every application answers 500 invalid_config, health up")?;
    Ok(())
}

fn timeout(binary: &Path, work: &Path, repo: &Path, report: &mut String) -> Result<()> {
    // No budget to speak of: the exponential file runs until the request timeout stops it.
    let settings = format!(
        "server:\n  request_timeout_seconds: 1\n  placeholder_budget_bytes: 1099511627776\n\
         backends:\n  native:\n    search_locations: [\"{}\"]\n",
        repo.display()
    );
    let server = Server::start(binary, work, "timeout", &settings)?;
    let health = HealthProbe::start(server.addr);
    let started = Instant::now();
    let (status, body) = server.get("/exponential-default.yml")?;
    let took = started.elapsed();
    ensure!(status == 408, "timeout: answered {status} after {took:?}: {body}");
    ensure!(took < Duration::from_millis(1_500), "timeout: the 408 came after {took:?}, not at 1 s");
    // The work was stopped, not left running: the process uses (almost) no CPU afterwards.
    std::thread::sleep(Duration::from_millis(200));
    let cpu_before = cpu_seconds(server.pid())?;
    std::thread::sleep(Duration::from_secs(1));
    let cpu_used = cpu_seconds(server.pid())? - cpu_before;
    let slowest = health.stop();
    ensure!(cpu_used < 0.2, "timeout: the abandoned work kept running ({cpu_used:.2} s of CPU in 1 s)");
    ensure!(slowest < HEALTH_LATENCY, "timeout: /health took {slowest:?} while the work ran");
    server.stop()?;
    writeln!(
        report,
        "timeout: 408 after {} ms; CPU afterwards {:.0} ms/s; slowest /health {} ms",
        took.as_millis(),
        cpu_used * 1000.0,
        slowest.as_millis()
    )?;
    Ok(())
}

/// Held reads aimed at the server: absurd waits, held reads of the hostile files (answered with
/// their error, or their body, at once: their tag differs), a header-sized `Last-Event-ID`, and
/// twice as many watches as the limit: the excess refused with 503, health answering throughout.
fn watches(binary: &Path, work: &Path, repo: &Path, report: &mut String) -> Result<()> {
    let settings = format!(
        "watch:\n  max_wait_seconds: 2\n  max_watchers: 200\n\
         backends:\n  native:\n    search_locations: [\"{}\"]\n",
        repo.display()
    );
    let server = Server::start(binary, work, "watches", &settings)?;
    let health = HealthProbe::start(server.addr);
    let tag = ["If-None-Match: \"x\""];
    for wait in ["99999999999999999999", "-1", "1e9", "%00", &"9".repeat(4000)] {
        let response = get(server.addr, &format!("/good-default.yml?wait={wait}"), &tag, REQUEST_TIMEOUT)?;
        ensure!(response.status == 400, "watches: wait={}: {}", excerpt(wait), response.status);
    }
    let started = Instant::now();
    let mut held_errors = 0;
    for file in std::fs::read_dir(repo)? {
        let name = file?.file_name().to_string_lossy().into_owned();
        let Some((stem, _)) = name.rsplit_once('.').filter(|(stem, _)| stem != &"good") else { continue };
        let path = format!("/{stem}-default.yml?wait=2");
        let response = get(server.addr, &path, &tag, REQUEST_TIMEOUT + Duration::from_secs(3))?;
        held_errors += usize::from(response.status >= 400);
    }
    let long_id = format!("Last-Event-ID: {}", "x".repeat(8000));
    let response = get(server.addr, "/good-default.yml", &["Accept: application/json", &long_id], REQUEST_TIMEOUT)?;
    ensure!(response.status == 200, "watches: a long Last-Event-ID: {}", response.status);
    // Twice the limit, held at once: 200 wait, 200 are refused.
    let etag = get(server.addr, "/good-default.yml", &[], REQUEST_TIMEOUT)?.header("etag").unwrap_or("").to_owned();
    let holders: Vec<_> = (0..400)
        .map(|_| {
            let (addr, etag) = (server.addr, etag.clone());
            std::thread::spawn(move || {
                get(addr, "/good-default.yml?wait=2", &[&format!("If-None-Match: {etag}")], Duration::from_secs(10))
                    .map(|r| r.status)
            })
        })
        .collect();
    let mut refused = 0;
    for holder in holders {
        let status = holder.join().map_err(|_| anyhow::anyhow!("a holder panicked"))??;
        ensure!(status == 304 || status == 503, "watches: a held read answered {status}");
        refused += usize::from(status == 503);
    }
    let slowest = health.stop();
    ensure!(refused >= 150, "watches: only {refused} of 400 refused over a limit of 200");
    ensure!(slowest < HEALTH_LATENCY, "watches: /health took {slowest:?} while reads were held");
    server.still_serving(None)?;
    server.stop()?;
    writeln!(
        report,
        "watches: absurd waits 400; {held_errors} held reads of hostile files answered with their error in {} ms in all; {refused} of 400 watches refused over 200; slowest /health {} ms",
        started.elapsed().as_millis(),
        slowest.as_millis()
    )?;
    Ok(())
}

fn credentials(binary: &Path, work: &Path, repo: &Path, corpus: &Path, report: &mut String) -> Result<()> {
    let clients = work.join("clients.yaml");
    let valid = format!(
        "clients:\n  - name: reader\n    username: reader\n    password_hash: \"{}\"\n    applications: [\"good\"]\n\
         \x20 - name: robot\n    token_hash: \"{}\"\n    applications: [\"good\"]\n",
        harness::hash_password(binary, "reader-password")?,
        harness::hash_password(binary, "robot-token-0123456789")?
    );
    std::fs::write(&clients, &valid)?;
    let settings = format!(
        "security:\n  clients_file: \"{}\"\nbackends:\n  native:\n    search_locations: [\"{}\"]\n",
        clients.display(),
        repo.display()
    );
    let server = Server::start(binary, work, "credentials", &settings)?;
    let right = harness::basic("reader", "reader-password");
    server_expects(&server, &right, 200)?;
    let health = HealthProbe::start(server.addr);
    let started = Instant::now();
    // The reader keeps reading throughout: its credential is remembered, it waits for no hash.
    let reading = Arc::new(AtomicBool::new(true));
    let reader = {
        let (addr, reading, right) = (server.addr, Arc::clone(&reading), right.clone());
        std::thread::spawn(move || -> Result<Duration> {
            let mut slowest = Duration::ZERO;
            while reading.load(Ordering::Relaxed) {
                let began = Instant::now();
                let response = get(addr, "/good/default", &[&right], REQUEST_TIMEOUT)?;
                ensure!(response.status == 200, "credentials: the reader got {}", response.status);
                slowest = slowest.max(began.elapsed());
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(slowest)
        })
    };
    // 240 wrong passwords and 60 wrong tokens, from 30 threads: each one a verification.
    let attackers: Vec<_> = (0..30)
        .map(|thread| {
            let addr = server.addr;
            std::thread::spawn(move || -> Result<usize> {
                let mut refused = 0;
                for i in 0..10 {
                    let header = if i < 8 {
                        harness::basic("reader", &format!("guess-{thread}-{i}"))
                    } else {
                        format!("Authorization: Bearer guess-{thread}-{i}")
                    };
                    let response = get(addr, "/good/default", &[&header], Duration::from_secs(60))?;
                    refused += usize::from(response.status == 401);
                }
                Ok(refused)
            })
        })
        .collect();
    let mut refused = 0;
    for attacker in attackers {
        refused += attacker.join().map_err(|_| anyhow::anyhow!("an attacker panicked"))??;
    }
    let flood = started.elapsed();
    for header in [
        format!("Authorization: Basic {}", "A".repeat(12_000)),
        "Authorization: Basic //8=".to_owned(),
        "Authorization: Basic".to_owned(),
        "Authorization: Bearer".to_owned(),
        "Authorization: Digest username=\"reader\"".to_owned(),
    ] {
        let response = get(server.addr, "/good/default", &[&header], REQUEST_TIMEOUT)?;
        ensure!(response.status == 401, "credentials: {}: {}", excerpt(&header), response.status);
    }
    // New clients files an attacker with write access to the secret mount might hand over, each
    // refused whole while the reader keeps its access: an alias bomb, nesting deeper than any
    // parser stack, and a valid-looking hash that asks for 4 GiB per verification (which would
    // take the process down at the first guess were it verified).
    let greedy = valid.replacen("m=19456", "m=4194304", 1);
    let deep = format!("clients:\n  - name: deep\n    applications: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    let bomb = std::fs::read_to_string(corpus.join("alias-bomb.yml"))?;
    for (what, text) in [("an alias bomb", bomb), ("100,000 nested lists", deep), ("a 4 GiB hash", greedy)] {
        std::fs::write(&clients, text)?;
        std::thread::sleep(Duration::from_millis(1500));
        server_expects(&server, &right, 200).with_context(|| format!("credentials: after {what}"))?;
        let guess = harness::basic("reader", "guess-after-rotation");
        server_expects(&server, &guess, 401).with_context(|| format!("credentials: after {what}"))?;
    }
    reading.store(false, Ordering::Relaxed);
    let slowest_read = reader.join().map_err(|_| anyhow::anyhow!("the reader panicked"))??;
    let slowest = health.stop();
    ensure!(refused == 300, "credentials: {refused} of 300 guesses refused");
    ensure!(slowest < HEALTH_LATENCY, "credentials: /health took {slowest:?} during the flood");
    server_expects(&server, &right, 200)?;
    // Two verifications at a time, each in its thread's reused 19 MiB: well under 128 MB (it was
    // 372 MB when verifications allocated their memory on the blocking pool).
    let rss = server.peak_rss();
    ensure!(rss < 128.0, "credentials: {rss:.0} MB resident after the flood");
    server.stop()?;
    writeln!(
        report,
        "credentials: 300 wrong passwords and tokens refused in {} ms (two verifications at a time); slowest remembered read {} ms, slowest /health {} ms; malformed headers 401; clients files with an alias bomb, 100,000 nested lists or a 4 GiB hash changed nothing; peak {rss:.0} MB",
        flood.as_millis(),
        slowest_read.as_millis(),
        slowest.as_millis()
    )?;
    Ok(())
}

/// `server` answers `GET /good/default` with `header` with `status`.
fn server_expects(server: &Server, header: &str, status: u16) -> Result<()> {
    let response = get(server.addr, "/good/default", &[header], REQUEST_TIMEOUT)?;
    ensure!(response.status == status, "{}: /good/default answered {}", server.phase, response.status);
    Ok(())
}

fn slow_bodies(binary: &Path, work: &Path, repo: &Path, report: &mut String) -> Result<()> {
    const SLOTS: usize = 8;
    let token = "hostile-admin-token-0123456789";
    let settings = format!(
        "server:\n  max_concurrent_requests: {SLOTS}\n  body_read_timeout_seconds: 3\n\
         security:\n  admin_token: {token}\nbackends:\n  native:\n    search_locations: [\"{}\"]\n",
        repo.display()
    );
    let server = Server::start(binary, work, "slow bodies", &settings)?;
    let slow = |authorization: &str| -> Result<Vec<TcpStream>> {
        (0..SLOTS * 2)
            .map(|_| {
                let mut stream = TcpStream::connect(server.addr)?;
                write!(
                    stream,
                    "POST /monitor HTTP/1.1\r\nHost: localhost\r\n{authorization}Content-Type: application/json\r\n\
                     Content-Length: 100000\r\n\r\n{{"
                )?;
                Ok(stream)
            })
            .collect()
    };
    // Unauthenticated: refused from the headers, before any body is read.
    let mut refused = 0;
    for mut stream in slow("")? {
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head)?;
        ensure!(
            &head == b"HTTP/1.1 401",
            "slow bodies: an unauthenticated writer got {}",
            String::from_utf8_lossy(&head)
        );
        refused += 1;
    }
    // Authenticated: their bodies arrive slowly, and readers are served meanwhile.
    let held = slow(&format!("Authorization: Bearer {token}\r\n"))?;
    let mut served = 0;
    for _ in 0..50 {
        let (status, body) = server.get("/good/default")?;
        ensure!(status == 200, "slow bodies: a reader got {status}: {body}");
        served += 1;
    }
    let mut timed_out = 0;
    for mut stream in held {
        stream.set_read_timeout(Some(Duration::from_secs(6)))?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head)?;
        ensure!(&head == b"HTTP/1.1 408", "slow bodies: a slow writer got {}", String::from_utf8_lossy(&head));
        timed_out += 1;
    }
    server.stop()?;
    writeln!(
        report,
        "slow bodies ({SLOTS} slots): {refused} unauthenticated refused at once, {served} reads served 200 while \
         {timed_out} authenticated bodies dragged, each 408 after server.body_read_timeout_seconds"
    )?;
    Ok(())
}

fn memory(binary: &Path, work: &Path, report: &mut String) -> Result<()> {
    const VARIANTS: usize = 200;
    let repo = work.join("big");
    std::fs::create_dir_all(&repo)?;
    let mut text = String::new();
    let mut group = 0;
    while text.len() < 4 << 20 {
        writeln!(text, "group{group}:")?;
        for key in 0..50 {
            writeln!(text, "  key{key}: value-{group}-{key}-{}", "x".repeat(40))?;
        }
        group += 1;
    }
    std::fs::write(repo.join("big.yml"), &text)?;
    let settings = format!("backends:\n  native:\n    search_locations: [\"{}\"]\n", repo.display());
    let server = Server::start(binary, work, "memory", &settings)?;
    let errors = Mutex::new(Vec::new());
    let next = AtomicU64::new(0);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= VARIANTS as u64 {
                        break;
                    }
                    for path in [format!("/big/p{i}"), format!("/big-p{i}.yml")] {
                        match server.get(&path) {
                            Ok((200, _)) => {}
                            Ok((status, body)) => errors
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .push(format!("{path}: {status} {body}")),
                            Err(err) => errors.lock().unwrap_or_else(|e| e.into_inner()).push(format!("{path}: {err}")),
                        }
                    }
                }
            });
        }
    });
    let errors = errors.into_inner().unwrap_or_else(|e| e.into_inner());
    ensure!(errors.is_empty(), "memory: {} failed requests, first {:?}", errors.len(), errors.first());
    let peak = server.peak_rss();
    server.stop()?;
    ensure!(peak < MEMORY_CEILING_MB, "memory: peak {peak:.0} MB, over the {MEMORY_CEILING_MB} MB ceiling");
    writeln!(
        report,
        "memory: {VARIANTS} variants of a 4 MB application (JSON and .yml), default settings: peak {peak:.0} MB"
    )?;
    Ok(())
}

/// The release server of one phase ([`harness::Server`]), with `settings` (YAML) and the phase's
/// request timeout unless they set one, its resident memory sampled every 10 ms.
struct Server {
    server: harness::Server,
    addr: SocketAddr,
    phase: &'static str,
    sampler: Sampler,
}

/// The peak resident memory, sampled on a thread of its own until dropped.
struct Sampler {
    peak_rss: Arc<Mutex<f64>>,
    sampling: Arc<AtomicBool>,
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.sampling.store(false, Ordering::Relaxed);
    }
}

impl Server {
    fn start(binary: &Path, work: &Path, phase: &'static str, settings: &str) -> Result<Self> {
        let mut text = format!("logging:\n  level: error\n{settings}");
        if !text.contains("server:\n") {
            text.push_str("server:\n");
        }
        if !text.contains("request_timeout_seconds") {
            let timeout = format!("server:\n  request_timeout_seconds: {}\n", REQUEST_TIMEOUT.as_secs());
            text = text.replacen("server:\n", &timeout, 1);
        }
        let start = Start { binary, work, settings: &text, ready: "/health", core: None };
        let server = harness::Server::start(&start).with_context(|| format!("{phase}: cannot start the server"))?;
        let (peak_rss, sampling) = (Arc::new(Mutex::new(0.0_f64)), Arc::new(AtomicBool::new(true)));
        let (pid, peak, sampled) = (server.pid(), Arc::clone(&peak_rss), Arc::clone(&sampling));
        std::thread::spawn(move || {
            while sampled.load(Ordering::Relaxed) {
                if let Ok(rss) = rss_mb(pid) {
                    let mut peak = peak.lock().unwrap_or_else(|e| e.into_inner());
                    *peak = peak.max(rss);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        Ok(Self { addr: server.addr, server, phase, sampler: Sampler { peak_rss, sampling } })
    }

    fn pid(&self) -> u32 {
        self.server.pid()
    }

    fn peak_rss(&self) -> f64 {
        *self.sampler.peak_rss.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self, path: &str) -> Result<(u16, String)> {
        let response = self.server.get(path, REQUEST_TIMEOUT + Duration::from_secs(1))?;
        Ok((response.status, response.text()))
    }
    /// `path` answers `status` within the request timeout, an error with a JSON `code` and `message`.
    fn expect(&self, path: &str, status: u16) -> Result<()> {
        let phase = self.phase;
        let started = Instant::now();
        let (got, body) =
            self.get(path).with_context(|| format!("{phase}: {path}: no answer (is the server alive?)"))?;
        ensure!(got == status, "{phase}: {path}: expected {status}, got {got}: {}", excerpt(&body));
        ensure!(started.elapsed() <= REQUEST_TIMEOUT, "{phase}: {path}: answered after {:?}", started.elapsed());
        if status >= 400 {
            ensure!(
                body.starts_with("{\"code\":\"") && body.contains("\"message\":\""),
                "{phase}: {path}: not a JSON error: {}",
                excerpt(&body)
            );
        }
        let rss = rss_mb(self.pid())?;
        ensure!(rss < MEMORY_CEILING_MB, "{phase}: {path}: {rss:.0} MB resident, over {MEMORY_CEILING_MB} MB");
        Ok(())
    }

    /// The well-formed application and `/health` still answer 200.
    fn still_serving(&self, label: Option<&str>) -> Result<()> {
        let good = match label {
            Some(label) => format!("/good/default/{label}"),
            None => "/good/default".to_owned(),
        };
        for path in [good.as_str(), "/health"] {
            let (status, body) = self.get(path)?;
            ensure!(status == 200, "{}: {path} answered {status}: {}", self.phase, excerpt(&body));
        }
        Ok(())
    }

    /// SIGTERM; the process must exit 0 within ten seconds.
    fn stop(self) -> Result<()> {
        drop(self.sampler);
        let phase = self.phase;
        let status = self.server.terminate().with_context(|| format!("{phase}: stopping"))?;
        ensure!(status.success(), "{phase}: exit after SIGTERM: {status}");
        Ok(())
    }
}

/// Polls `/health` every 20 ms on its own thread and keeps the slowest answer.
struct HealthProbe {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Duration>,
}

impl HealthProbe {
    fn start(addr: SocketAddr) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut slowest = Duration::ZERO;
            while !stopped.load(Ordering::Relaxed) {
                let started = Instant::now();
                let ok = get(addr, "/health", &[], Duration::from_secs(5)).is_ok_and(|r| r.status == 200);
                slowest = slowest.max(if ok { started.elapsed() } else { Duration::MAX });
                std::thread::sleep(Duration::from_millis(20));
            }
            slowest
        });
        Self { stop, thread }
    }

    fn stop(self) -> Duration {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or(Duration::MAX)
    }
}

fn excerpt(body: &str) -> String {
    body.chars().take(200).collect()
}
