//! The local mirror: a bare repository under `basedir`, fetched with explicit refspecs. Everything
//! here blocks; callers run it on the blocking pool.

use std::collections::{BTreeMap, HashSet};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use gix::remote::Direction;
use gix::remote::fetch::Tags;

use crate::error::redact;
use crate::{Credentials, GitError};

/// Branches and tags are mirrored as they are on the remote; `+` follows force-pushes and moved tags.
const REFSPECS: [&str; 2] = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"];
/// Packs a mirror may hold before a fetch consolidates them (`git repack`), as git's own
/// `gc.autoPackLimit` (50) does: every fetch that receives objects adds a pack, and both lookups
/// and the object database's index slots grow with their number.
const PACK_LIMIT: usize = 32;
/// Index slots of the object database: enough for every pack below [`PACK_LIMIT`] several times
/// over, so that a mirror that cannot be repacked (no `git` installed) still takes about a
/// thousand fetches before a restart. gix's default (32, fixed when the mirror is opened) fails
/// the 33rd fetch of a long-running server.
const INDEX_SLOTS: usize = 1024;
/// Object cache of each thread's repository handle: decoded trees are reused across requests.
const OBJECT_CACHE_BYTES: usize = 4 * 1024 * 1024;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// An opened mirror. `id` tells thread-local handles of different mirrors apart.
pub(crate) struct Mirror {
    pub(crate) id: u64,
    pub(crate) repo: gix::ThreadSafeRepository,
}

/// What the mirror's references point at: commit ids by branch and by tag.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Labels {
    pub(crate) branches: BTreeMap<String, gix::ObjectId>,
    pub(crate) tags: BTreeMap<String, gix::ObjectId>,
}

impl Labels {
    /// Resolves a branch or tag name; a tag wins over a branch of the same name, as in git.
    pub(crate) fn get(&self, name: &str) -> Option<gix::ObjectId> {
        self.tags.get(name).or_else(|| self.branches.get(name)).copied()
    }

    /// Returns the labels whose commit differs between `self` (before) and `after`.
    pub(crate) fn moved(&self, after: &Self) -> Vec<String> {
        let mut moved = Vec::new();
        for (old, new) in [(&self.branches, &after.branches), (&self.tags, &after.tags)] {
            for (name, id) in new {
                if old.get(name) != Some(id) {
                    moved.push(name.clone());
                }
            }
            for name in old.keys() {
                if !new.contains_key(name) {
                    moved.push(name.clone());
                }
            }
        }
        moved.sort();
        moved.dedup();
        moved
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.branches.is_empty() && self.tags.is_empty()
    }
}

/// Opens the mirror at `dir`, or creates an empty one. A directory that is not a usable repository
/// (an interrupted clone, corruption) is removed and created anew; stale lock files are removed.
pub(crate) fn open_or_init(dir: &Path, ssh_command: Option<&str>) -> Result<(Mirror, Labels), GitError> {
    if dir.exists() {
        remove_stale_locks(dir);
        match open(dir, ssh_command).and_then(|mirror| read_labels(&mirror).map(|labels| (mirror, labels))) {
            Ok(opened) => return Ok(opened),
            Err(err) => {
                tracing::warn!(path = %dir.display(), error = %err, "local clone is unusable: creating it anew");
                std::fs::remove_dir_all(dir).map_err(|source| io(dir, source))?;
            }
        }
    }
    std::fs::create_dir_all(dir).map_err(|source| io(dir, source))?;
    gix::init_bare(dir).map_err(GitError::op("init"))?;
    let mirror = open(dir, ssh_command)?;
    Ok((mirror, Labels::default()))
}

/// Opens with no system or user git configuration: the settings alone decide how git behaves.
fn open(dir: &Path, ssh_command: Option<&str>) -> Result<Mirror, GitError> {
    let overrides: Vec<String> = ssh_command.map(|c| format!("core.sshCommand={c}")).into_iter().collect();
    let slots = gix::odb::store::init::Slots::AsNeededByDiskState { multiplier: 2.0, minimum: INDEX_SLOTS };
    let options = gix::open::Options::isolated().config_overrides(overrides).object_store_slots(slots);
    let repo = gix::open_opts(dir, options).map_err(GitError::op("open"))?;
    if !repo.is_bare() {
        return Err(GitError::op_msg("open", "not a bare repository"));
    }
    Ok(Mirror { id: NEXT_ID.fetch_add(1, Ordering::Relaxed), repo: repo.into_sync() })
}

/// Lock files left by a process that died mid-write would block every later fetch.
fn remove_stale_locks(dir: &Path) {
    let mut stack: Vec<PathBuf> = vec![dir.join("refs")];
    let mut locks: Vec<PathBuf> =
        ["packed-refs.lock", "config.lock", "shallow.lock", "HEAD.lock"].iter().map(|f| dir.join(f)).collect();
    while let Some(path) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&path) else { continue };
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "lock") {
                locks.push(p);
            }
        }
    }
    for lock in locks.into_iter().filter(|l| l.exists()) {
        tracing::warn!(path = %lock.display(), "removing stale lock file");
        let _ = std::fs::remove_file(lock);
    }
}

/// Fetches every branch and tag from `url`. With `prune`, local branches and tags that the remote no
/// longer has are deleted. `interrupt` aborts a transfer in progress.
///
/// No read on the network waits longer than `timeout`: `git://` connections are made here with
/// socket timeouts, and HTTP(S) requests carry the timeout, so that a remote that goes silent
/// mid-transfer ends the transfer instead of holding it (and every later fetch) for as long as
/// the socket stays open. `ssh://` gets ssh's own connect and keep-alive timeouts.
pub(crate) fn fetch(
    mirror: &Mirror,
    url: &str,
    prune: bool,
    credentials: Option<&Credentials>,
    timeout: Duration,
    interrupt: &AtomicBool,
) -> Result<(), GitError> {
    let repo = mirror.repo.to_thread_local();
    let remote = repo
        .remote_at(url)
        .map_err(GitError::op("fetch"))?
        .with_refspecs(REFSPECS, Direction::Fetch)
        .map_err(GitError::op("fetch"))?
        .with_fetch_tags(Tags::None);
    let parsed = gix::url::parse(gix::bstr::BStr::new(url.as_bytes())).map_err(GitError::op("fetch"))?;
    let local = parsed.scheme == gix::url::Scheme::File;
    let outcome = match parsed.scheme {
        gix::url::Scheme::Git => {
            let transport = daemon_transport(&parsed, timeout)?;
            receive(remote.to_connection_with_transport(transport), credentials, interrupt)?
        }
        gix::url::Scheme::Http | gix::url::Scheme::Https => {
            let mut connection = remote.connect(Direction::Fetch).map_err(GitError::op("fetch"))?;
            connection.set_transport_options(http_options(timeout));
            receive(connection, credentials, interrupt)?
        }
        _ => receive(remote.connect(Direction::Fetch).map_err(GitError::op("fetch"))?, credentials, interrupt)
            .map_err(|err| if local { with_local_cause(err, &parsed) } else { err })?,
    };
    if matches!(outcome.status, gix::remote::fetch::Status::Change { .. }) {
        consolidate_packs(repo.git_dir());
    }
    if prune {
        let remote_names: HashSet<String> =
            outcome.ref_map.remote_refs.iter().map(|r| r.unpack().0.to_string()).collect();
        for prefix in ["refs/heads/", "refs/tags/"] {
            let refs = repo.references().map_err(GitError::op("prune"))?;
            let local: Vec<gix::Reference<'_>> =
                refs.prefixed(prefix).map_err(GitError::op("prune"))?.filter_map(Result::ok).collect();
            for reference in local {
                let name = reference.name().as_bstr().to_string();
                if !remote_names.contains(&name) {
                    tracing::info!(reference = %name, "deleting a reference the remote no longer has");
                    reference.delete().map_err(GitError::op("prune"))?;
                }
            }
        }
    }
    Ok(())
}

/// Repacks the mirror into one pack once it holds more than [`PACK_LIMIT`], with `git repack`
/// (as `git gc --auto` would after a `git fetch`; gix has no repack). Readers are not disturbed:
/// the new pack is complete before the old ones go, and packs already mapped stay readable. Without
/// `git` on the PATH, or when it fails, the packs stay and the mirror keeps working.
fn consolidate_packs(dir: &Path) {
    let packs = std::fs::read_dir(dir.join("objects/pack"))
        .map(|entries| entries.flatten().filter(|e| e.path().extension().is_some_and(|x| x == "pack")).count())
        .unwrap_or(0);
    if packs <= PACK_LIMIT {
        return;
    }
    let started = std::time::Instant::now();
    let repacked = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "pack.threads=1", "repack", "-a", "-d", "-q"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .output();
    match repacked {
        Ok(output) if output.status.success() => {
            tracing::info!(packs, millis = started.elapsed().as_millis(), "git mirror repacked into one pack");
        }
        Ok(output) => tracing::warn!(
            packs, error = %String::from_utf8_lossy(&output.stderr).trim(), "git repack failed; the packs stay"
        ),
        Err(err) => tracing::warn!(packs, error = %err, "cannot run git repack (is git installed?); the packs stay"),
    }
}

/// Negotiates and receives a pack over `connection`, answering credential requests with `credentials`.
fn receive<T: gix::protocol::transport::client::blocking_io::Transport>(
    mut connection: gix::remote::Connection<'_, '_, '_, T>,
    credentials: Option<&Credentials>,
    interrupt: &AtomicBool,
) -> Result<gix::remote::fetch::Outcome, GitError> {
    if let Some(credentials) = credentials.cloned() {
        // Configured credentials answer every request for them; nothing is stored or erased.
        connection.set_credentials(move |action| match action {
            gix::credentials::helper::Action::Get(context) => Ok(Some(gix::credentials::protocol::Outcome {
                identity: gix::sec::identity::Account {
                    username: credentials.username.clone(),
                    password: credentials.password.clone(),
                    oauth_refresh_token: None,
                },
                next: context.into(),
            })),
            _ => Ok(None),
        });
    }
    connection
        .prepare_fetch(gix::progress::Discard, Default::default())
        .map_err(GitError::op("fetch"))?
        .receive(gix::progress::Discard, interrupt)
        .map_err(GitError::op("fetch"))
}

/// Adds what `git upload-pack` says about a local remote to a failed fetch from it. gix runs that
/// process with its standard error not captured, so a refusal such as git's "detected dubious
/// ownership in repository" otherwise reaches the log only as "failed to fill whole buffer".
fn with_local_cause(err: GitError, url: &gix::Url) -> GitError {
    let path = std::path::PathBuf::from(url.path.to_string());
    let probe = std::process::Command::new("git")
        .arg("upload-pack")
        .arg("--advertise-refs")
        .arg(&path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .output();
    let cause = match probe {
        Ok(output) if !output.status.success() => String::from_utf8_lossy(&output.stderr)
            .lines()
            .find(|line| !line.trim().is_empty())
            .map(|line| line.trim().trim_start_matches("fatal: ").to_owned()),
        Ok(_) => None,
        Err(spawn) => Some(format!("cannot run git upload-pack: {spawn}")),
    };
    match (err, cause) {
        (GitError::Operation { operation, message }, Some(cause)) => {
            GitError::Operation { operation, message: format!("{message}: {}", redact(&cause)) }
        }
        (err, _) => err,
    }
}

/// A `git://` connection whose reads and writes time out after `timeout`. gix's own connects with
/// a timeout but reads without one.
fn daemon_transport(
    url: &gix::Url,
    timeout: Duration,
) -> Result<gix::protocol::transport::client::git::blocking_io::Connection<TcpStream, TcpStream>, GitError> {
    use std::net::ToSocketAddrs;
    let host = url.host().ok_or_else(|| GitError::op_msg("fetch", "a git:// URL needs a host"))?;
    let port = url.port.unwrap_or(9418);
    let io = |err: std::io::Error| GitError::op_msg("fetch", format!("cannot connect to {host}:{port}: {err}"));
    let address =
        (host, port).to_socket_addrs().map_err(io)?.next().ok_or_else(|| io(std::io::ErrorKind::NotFound.into()))?;
    let read = TcpStream::connect_timeout(&address, timeout).map_err(io)?;
    read.set_read_timeout(Some(timeout)).map_err(io)?;
    read.set_write_timeout(Some(timeout)).map_err(io)?;
    let write = read.try_clone().map_err(io)?;
    Ok(gix::protocol::transport::client::git::blocking_io::Connection::new(
        read,
        write,
        gix::protocol::transport::Protocol::V2,
        url.path.clone(),
        Some((host.to_owned(), url.port)),
        gix::protocol::transport::client::git::ConnectMode::Daemon,
        false,
    ))
}

/// HTTP options whose every request ends after `timeout`, answered or not.
fn http_options(timeout: Duration) -> Box<dyn std::any::Any> {
    use gix::protocol::transport::client::blocking_io::http;
    let backend = http::reqwest::Options {
        configure_client: Some(Box::new(move |builder| Ok(builder.timeout(timeout).connect_timeout(timeout)))),
        configure_request: None,
    };
    Box::new(http::Options {
        connect_timeout: Some(timeout),
        backend: Some(Arc::new(std::sync::Mutex::new(backend))),
        ..http::Options::default()
    })
}

/// Reads every branch and tag, peeled to the commit it names.
pub(crate) fn read_labels(mirror: &Mirror) -> Result<Labels, GitError> {
    let repo = mirror.repo.to_thread_local();
    let mut labels = Labels::default();
    let platform = repo.references().map_err(GitError::op("read refs"))?;
    for (prefix, map) in [("refs/heads/", &mut labels.branches), ("refs/tags/", &mut labels.tags)] {
        for reference in platform.prefixed(prefix).map_err(GitError::op("read refs"))? {
            let mut reference = reference.map_err(|e| GitError::op_msg("read refs", e))?;
            let name = reference.name().as_bstr().to_string();
            let short = name.strip_prefix(prefix).unwrap_or(&name).to_owned();
            // A tag may name a tree or a blob; only commits are labels.
            if let Ok(commit) = reference.peel_to_commit() {
                map.insert(short, commit.id);
            }
        }
    }
    Ok(labels)
}

/// Runs `f` with this thread's handle on `mirror`, created on first use: creating one costs ~85 µs
/// and starts with an empty object cache, so handles are kept per blocking thread.
pub(crate) fn with_repo<R>(mirror: &Mirror, f: impl FnOnce(&gix::Repository) -> R) -> R {
    thread_local! {
        static LOCAL: std::cell::RefCell<Option<(u64, gix::Repository)>> = const { std::cell::RefCell::new(None) };
    }
    LOCAL.with(|cell| {
        let mut slot = cell.borrow_mut();
        let repo = match slot.take() {
            Some((id, repo)) if id == mirror.id => repo,
            _ => {
                let mut repo = mirror.repo.to_thread_local();
                repo.object_cache_size_if_unset(OBJECT_CACHE_BYTES);
                repo
            }
        };
        let result = f(&repo);
        *slot = Some((mirror.id, repo));
        result
    })
}

fn io(path: &Path, source: std::io::Error) -> GitError {
    GitError::Io { path: path.display().to_string(), source }
}
