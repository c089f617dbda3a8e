//! Access policy: who a caller is ([`Access::identify`]) and what it may do ([`Access::permit`]),
//! decided in one place, from the headers and the parsed request, before any backend work.
//!
//! Clients come from `security.clients`, `security.clients_file` (re-read when it changes and on
//! SIGHUP; an invalid file is refused whole and the policy in force stays), and the older
//! `security.basic_auth` (a client that reads everything and may encrypt) and
//! `security.admin_token` (a client with the `admin`, `decrypt` and `health` roles). Without any
//! client that may read, reads (and `/encrypt`) are open to everyone, as before clients existed.
//!
//! Secrets are stored as argon2id hashes. A credential is verified once (on two threads of its
//! own: a verification takes about 19 MiB and tens of milliseconds) and then
//! remembered under an HMAC-SHA256 of what was presented, with a key drawn at start-up, so that a
//! cached read does not pay a password hash and the memory holds no secret. Comparisons of
//! secrets kept as written (the older settings) are in constant time.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::SystemTime;

use argon2::password_hash::PasswordHasher;
use argon2::password_hash::phc::PasswordHash;
use axum::http::header::AUTHORIZATION;
use axum::http::{Extensions, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use vortex_core::ConfigQuery;
use vortex_metrics::{AccessMetrics, ClientRequests, Denial};
use vortex_settings::{ClientSettings, Role};
use wildmatch::WildMatch;

use crate::error::{ApiError, ErrorCode};

/// Every role, for the bits of [`Access::possible`].
const ROLES: [Role; 5] = [Role::Read, Role::Encrypt, Role::Decrypt, Role::Admin, Role::Health];

/// The bit of `role` in [`Access::possible`].
fn bit(role: Role) -> u8 {
    1 << ROLES.iter().position(|r| *r == role).unwrap_or(0)
}

/// Credentials remembered as verified, at most; past it the memory starts again.
const REMEMBERED: usize = 4096;
/// Password hashes verified at once, at most: the threads of [`Verifier`].
const VERIFYING: usize = 2;

/// The access policy of a server and what it remembers of verified credentials.
pub(crate) struct Access {
    policy: RwLock<Arc<Policy>>,
    /// HMAC of a presented credential → the client it proved, for the policy of that generation.
    verified: RwLock<HashMap<[u8; 32], Arc<Client>>>,
    key: [u8; 32],
    verifier: Verifier,
    /// Clients of the older settings, kept across reloads of the clients file.
    fixed: Vec<Arc<Client>>,
    /// Clients of `security.clients`, kept across reloads of the clients file.
    listed: Vec<Arc<Client>>,
    /// `security.clients_file`, re-read by [`Access::reload`].
    file: Option<PathBuf>,
    /// What the file was when last read: modification time and length.
    file_seen: Mutex<Option<(SystemTime, u64)>>,
    protect_metrics: bool,
    /// The label a request without one is checked with.
    default_label: Option<String>,
    generation: AtomicU64,
    metrics: AccessMetrics,
    /// What the read path needs of the policy in force, without its lock: no client may read
    /// (reads are open); clients are configured (health details need a role); which roles some
    /// client has (a bit per [`Role`]).
    open: AtomicBool,
    scoped: AtomicBool,
    possible: AtomicU8,
    /// Requests without a client.
    anonymous: ClientRequests,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access").field("clients", &self.current().clients.len()).finish_non_exhaustive()
    }
}

/// The clients in force, and what follows from them.
struct Policy {
    clients: Vec<Arc<Client>>,
    by_user: HashMap<String, Arc<Client>>,
}

/// A client of the policy.
pub(crate) struct Client {
    /// Its configured name (audit, metrics); never a secret.
    pub(crate) name: Arc<str>,
    credential: Credential,
    applications: Vec<WildMatch>,
    profiles: Vec<WildMatch>,
    labels: Vec<WildMatch>,
    roles: Vec<Role>,
    /// Its requests, registered when it is put in force.
    requests: OnceLock<ClientRequests>,
}

enum Credential {
    Basic {
        username: String,
        secret: Stored,
    },
    Bearer(Stored),
    /// A client certificate valid for this name (a DNS name or an IP address).
    Certificate(String),
}

/// A secret as the settings keep it.
enum Stored {
    /// An argon2id hash (PHC string).
    Hash(String),
    /// The older settings' secrets, kept as written; compared in constant time.
    Plain(Vec<u8>),
}

/// The client certificate a TLS handshake verified against `server.tls.client_ca` (DER), put in
/// each request's extensions by the listener.
#[derive(Clone)]
pub(crate) struct PeerCertificate(pub(crate) Arc<[u8]>);

/// Who made a request.
#[derive(Clone)]
pub(crate) enum Caller {
    /// No `Authorization` header.
    Anonymous,
    /// Credentials that no client has.
    Unknown,
    /// A client proved by its credentials.
    Client(Arc<Client>),
}

impl Caller {
    /// The client's name, for logs and audit lines.
    pub(crate) fn name(&self) -> Option<&str> {
        match self {
            Self::Client(client) => Some(&client.name),
            _ => None,
        }
    }
}

/// What a request asks to do.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Need<'a> {
    /// Read what `query` names (every read route, held reads and streams).
    Read(&'a ConfigQuery),
    /// `/encrypt`, `/encrypt/status`, `/key`; with a name and profiles, in that scope.
    Encrypt(Option<(&'a str, &'a str)>),
    /// `/decrypt`; with a name and profiles, in that scope.
    Decrypt(Option<(&'a str, &'a str)>),
    /// The admin API, `/monitor` without a webhook secret, `busrefresh`.
    Admin,
    /// The details of `/health`.
    Details,
    /// `/metrics` and `/actuator/prometheus`.
    Metrics,
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Denied {
    /// A read without credentials, or with credentials no client has: 401, `Basic` challenge.
    Credentials { missing: bool },
    /// An admin need without credentials or with wrong ones: 401, `Bearer` challenge.
    AdminCredentials { missing: bool },
    /// An admin need while no client could ever have it: 403 `admin_disabled`.
    AdminDisabled,
    /// A client outside its scope or without the role: 403 `forbidden`.
    Forbidden,
}

impl Denied {
    /// The reason, as metrics and logs name it.
    pub(crate) fn reason(self) -> Denial {
        match self {
            Self::Credentials { missing: true } | Self::AdminCredentials { missing: true } => {
                Denial::MissingCredentials
            }
            Self::Credentials { missing: false } | Self::AdminCredentials { missing: false } => {
                Denial::WrongCredentials
            }
            Self::AdminDisabled => Denial::AdminDisabled,
            Self::Forbidden => Denial::OutOfScope,
        }
    }
}

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        let code = match self {
            Self::Credentials { .. } => ErrorCode::Unauthorized,
            Self::AdminCredentials { .. } => ErrorCode::AdminUnauthorized,
            Self::AdminDisabled => ErrorCode::AdminDisabled,
            Self::Forbidden => ErrorCode::Forbidden,
        };
        ApiError::of(code).into_response()
    }
}

/// Clients that cannot be used: every problem, each naming its setting. At start-up the server
/// does not start; on a reload the policy in force stays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientsError {
    /// One line per problem: `security.clients[1].password_hash: ...`.
    pub problems: Vec<String>,
}

impl std::fmt::Display for ClientsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.problems.join("; "))
    }
}

impl std::error::Error for ClientsError {}

/// The clients of the settings, compiled: what [`Access::new`] is built from besides the older
/// settings.
#[derive(Default)]
pub(crate) struct Clients {
    listed: Vec<Arc<Client>>,
    file: Option<PathBuf>,
    from_file: Vec<Arc<Client>>,
    file_seen: Option<(SystemTime, u64)>,
}

impl Clients {
    /// Compiles `listed` and reads `file`.
    ///
    /// # Errors
    /// Every problem of both.
    pub(crate) fn new(listed: Vec<ClientSettings>, file: Option<PathBuf>) -> Result<Self, ClientsError> {
        let listed = compile(listed, "security.clients");
        let (from_file, file_seen) = match &file {
            Some(path) => {
                let seen = file_stamp(path);
                (read_clients(path), seen)
            }
            None => (Ok(Vec::new()), None),
        };
        match (listed, from_file) {
            (Ok(listed), Ok(from_file)) => Ok(Self { listed, file, from_file, file_seen }),
            (listed, from_file) => {
                let problems = listed.err().into_iter().chain(from_file.err()).flat_map(|e| e.problems).collect();
                Err(ClientsError { problems })
            }
        }
    }
}

/// The older settings' credentials and what else the policy needs.
#[derive(Default)]
pub(crate) struct AccessConfig {
    /// `security.basic_auth`: user name and password as written.
    pub(crate) basic: Option<(String, Option<String>)>,
    /// `security.admin_token`, as written.
    pub(crate) admin_token: Option<String>,
    /// `security.clients` and `security.clients_file`, compiled.
    pub(crate) clients: Clients,
    /// `security.protect_metrics`.
    pub(crate) protect_metrics: bool,
    /// The label a request without one reads.
    pub(crate) default_label: Option<String>,
}

impl Access {
    /// The policy of `config`.
    pub(crate) fn new(config: AccessConfig, metrics: AccessMetrics) -> Self {
        let everything = || vec![WildMatch::new("*")];
        let mut fixed = Vec::new();
        if let Some((username, password)) = config.basic {
            // Without a password (settings built in code whose file was never read) no one is let
            // in, rather than everyone: an empty secret matches nothing.
            let secret = Stored::Plain(password.map(String::into_bytes).unwrap_or_default());
            fixed.push(Arc::new(Client {
                name: Arc::from("basic_auth"),
                credential: Credential::Basic { username, secret },
                applications: everything(),
                profiles: everything(),
                labels: everything(),
                roles: vec![Role::Read, Role::Encrypt],
                requests: OnceLock::new(),
            }));
        }
        if let Some(token) = config.admin_token {
            fixed.push(Arc::new(Client {
                name: Arc::from("admin"),
                credential: Credential::Bearer(Stored::Plain(token.into_bytes())),
                applications: everything(),
                profiles: everything(),
                labels: everything(),
                roles: vec![Role::Admin, Role::Decrypt, Role::Health],
                requests: OnceLock::new(),
            }));
        }
        let mut key = [0_u8; 32];
        // Without the system's randomness the key stays fixed: what it keys (the memory of
        // verified credentials) never leaves this process.
        let _ = getrandom::fill(&mut key);
        let Clients { listed, file, from_file, file_seen } = config.clients;
        let access = Self {
            policy: RwLock::new(Arc::new(Policy::empty())),
            verified: RwLock::new(HashMap::new()),
            key,
            verifier: Verifier::default(),
            fixed,
            listed,
            file,
            file_seen: Mutex::new(file_seen),
            protect_metrics: config.protect_metrics,
            default_label: config.default_label,
            generation: AtomicU64::new(0),
            anonymous: metrics.client("anonymous"),
            metrics,
            open: AtomicBool::new(true),
            scoped: AtomicBool::new(false),
            possible: AtomicU8::new(0),
        };
        access.install(from_file);
        access
    }

    /// The clients file, when there is one.
    pub(crate) fn clients_file(&self) -> Option<&std::path::Path> {
        self.file.as_deref()
    }

    /// Re-reads the clients file when it changed since it was last read (or always, with `force`,
    /// for SIGHUP), and puts its clients in force. `Ok(false)` when nothing was re-read.
    ///
    /// # Errors
    /// The problems of a new file that cannot be used: the policy in force stays.
    pub(crate) fn reload(&self, force: bool) -> Result<bool, ClientsError> {
        let Some(path) = &self.file else { return Ok(false) };
        let stamp = file_stamp(path);
        {
            let mut seen = self.file_seen.lock().unwrap_or_else(PoisonError::into_inner);
            if !force && stamp == *seen {
                return Ok(false);
            }
            // A file refused is not read again until it changes.
            *seen = stamp;
        }
        let clients = read_clients(path)?;
        self.install(clients);
        Ok(true)
    }

    /// Puts `from_file` in force beside the clients of the settings, and forgets every verified
    /// credential.
    fn install(&self, from_file: Vec<Arc<Client>>) {
        let scoped = !self.listed.is_empty() || self.file.is_some();
        let clients: Vec<Arc<Client>> = self.fixed.iter().chain(&self.listed).cloned().chain(from_file).collect();
        let by_user = clients
            .iter()
            .filter_map(|client| match &client.credential {
                Credential::Basic { username, .. } => Some((username.clone(), Arc::clone(client))),
                Credential::Bearer(_) | Credential::Certificate(_) => None,
            })
            .collect();
        let mut possible = 0_u8;
        for client in &clients {
            client.requests.get_or_init(|| self.metrics.client(&client.name));
            for role in ROLES {
                if client.may(role) {
                    possible |= bit(role);
                }
            }
        }
        let open = possible & bit(Role::Read) == 0;
        *self.policy.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(Policy { clients, by_user });
        self.open.store(open, Ordering::Release);
        self.scoped.store(scoped, Ordering::Release);
        self.possible.store(possible, Ordering::Release);
        self.verified.write().unwrap_or_else(PoisonError::into_inner).clear();
        self.generation.fetch_add(1, Ordering::Relaxed);
    }

    fn current(&self) -> Arc<Policy> {
        Arc::clone(&self.policy.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The names of the clients in force, in order.
    pub(crate) fn client_names(&self) -> Vec<Arc<str>> {
        self.current().clients.iter().map(|client| Arc::clone(&client.name)).collect()
    }

    /// Who sent `headers`: the client whose credentials they carry, `Unknown` when no client has
    /// them, `Anonymous` without an `Authorization` header. A credential seen before costs a hash
    /// of it and a lookup; a new one an argon2id verification.
    pub(crate) async fn identify(&self, headers: &HeaderMap, extensions: &Extensions) -> Caller {
        let Some(header) = headers.get(AUTHORIZATION) else {
            return match extensions.get::<PeerCertificate>() {
                Some(certificate) => self.by_certificate(certificate),
                None => Caller::Anonymous,
            };
        };
        // No client at all (every client has a role): nothing to hash or look up. Spring clients
        // often send credentials to a server whose reads are open.
        if self.possible.load(Ordering::Acquire) == 0 {
            return Caller::Unknown;
        }
        let remembered = self.fingerprint(header.as_bytes());
        if let Some(client) = self.verified.read().unwrap_or_else(PoisonError::into_inner).get(&remembered) {
            return Caller::Client(Arc::clone(client));
        }
        let policy = self.current();
        let generation = self.generation.load(Ordering::Relaxed);
        let Some(client) = self.verify(&policy, header).await else { return Caller::Unknown };
        let mut verified = self.verified.write().unwrap_or_else(PoisonError::into_inner);
        // A reload since: the client may be gone; it is checked again next time.
        if self.generation.load(Ordering::Relaxed) == generation {
            if verified.len() >= REMEMBERED {
                verified.clear();
            }
            verified.insert(remembered, Arc::clone(&client));
        }
        Caller::Client(client)
    }

    /// The client a verified certificate names; `Unknown` when none does. The policy's names are
    /// few, and checking one against a certificate costs microseconds: nothing is remembered.
    fn by_certificate(&self, certificate: &PeerCertificate) -> Caller {
        let policy = self.current();
        for client in &policy.clients {
            if let Credential::Certificate(subject) = &client.credential
                && certificate_names(&certificate.0, subject)
            {
                return Caller::Client(Arc::clone(client));
            }
        }
        Caller::Unknown
    }

    /// The client whose credentials `header` carries, checked against the policy.
    async fn verify(&self, policy: &Policy, header: &HeaderValue) -> Option<Arc<Client>> {
        if let Some(given) = credentials(header, "basic") {
            use base64::Engine as _;
            let decoded = base64::engine::general_purpose::STANDARD.decode(given).ok()?;
            let colon = decoded.iter().position(|&b| b == b':')?;
            let (user, password) = (std::str::from_utf8(&decoded[..colon]).ok()?, &decoded[colon + 1..]);
            let client = policy.by_user.get(user)?;
            let Credential::Basic { secret, .. } = &client.credential else { return None };
            return self.matches(secret, password).await.then(|| Arc::clone(client));
        }
        let token = credentials(header, "bearer")?;
        for client in &policy.clients {
            if let Credential::Bearer(secret) = &client.credential
                && self.matches(secret, token).await
            {
                return Some(Arc::clone(client));
            }
        }
        None
    }

    /// Whether `given` is the secret `stored`.
    async fn matches(&self, stored: &Stored, given: &[u8]) -> bool {
        match stored {
            Stored::Plain(expected) => !expected.is_empty() && bool::from(given.ct_eq(expected)),
            Stored::Hash(phc) => self.verifier.verify(phc.clone(), given.to_vec()).await,
        }
    }

    /// The key under which a presented credential is remembered: an HMAC of it.
    fn fingerprint(&self, credential: &[u8]) -> [u8; 32] {
        // HMAC takes keys of any length: `new_from_slice` cannot fail.
        Hmac::<Sha256>::new_from_slice(&self.key)
            .map(|mac| mac.chain_update(credential).finalize().into_bytes().into())
            .unwrap_or_default()
    }

    /// Counts a decision for `caller`: a request by its client, and the refusal if it was one.
    pub(crate) fn count(&self, caller: &Caller, denied: Option<Denied>) {
        let counter = match caller {
            Caller::Client(client) => client.requests.get(),
            Caller::Anonymous | Caller::Unknown => None,
        };
        counter.unwrap_or(&self.anonymous).increment();
        if let Some(denied) = denied {
            self.metrics.denied(denied.reason());
        }
    }

    /// Whether `caller` may do what `need` asks.
    /// Takes no lock: the cached read path asks it on every request.
    pub(crate) fn permit(&self, caller: &Caller, need: Need<'_>) -> Result<(), Denied> {
        let role = match need {
            Need::Read(_) => Role::Read,
            Need::Encrypt(_) => Role::Encrypt,
            Need::Decrypt(_) => Role::Decrypt,
            Need::Admin => Role::Admin,
            Need::Details | Need::Metrics => Role::Health,
        };
        let open = match need {
            Need::Read(_) | Need::Encrypt(_) => self.open.load(Ordering::Acquire),
            Need::Details => !self.scoped.load(Ordering::Acquire),
            Need::Metrics => !self.protect_metrics,
            Need::Decrypt(_) | Need::Admin => false,
        };
        if open {
            return Ok(());
        }
        let admin_like = matches!(need, Need::Decrypt(_) | Need::Admin);
        let possible = self.possible.load(Ordering::Acquire) & bit(role) != 0;
        if admin_like && !possible {
            return Err(Denied::AdminDisabled);
        }
        let client = match caller {
            Caller::Client(client) => client,
            Caller::Anonymous | Caller::Unknown => {
                let missing = matches!(caller, Caller::Anonymous);
                return Err(if admin_like || matches!(need, Need::Details | Need::Metrics) {
                    Denied::AdminCredentials { missing }
                } else {
                    Denied::Credentials { missing }
                });
            }
        };
        if !client.may(role) {
            return Err(Denied::Forbidden);
        }
        let in_scope = match need {
            Need::Read(query) => client.reads(query, self.default_label.as_deref()),
            Need::Encrypt(Some((name, profiles))) | Need::Decrypt(Some((name, profiles))) => {
                client.covers(name, profiles.split(','), None)
            }
            Need::Encrypt(None) | Need::Decrypt(None) | Need::Admin | Need::Details | Need::Metrics => true,
        };
        if in_scope { Ok(()) } else { Err(Denied::Forbidden) }
    }
}

impl Policy {
    fn empty() -> Self {
        Self { clients: Vec::new(), by_user: HashMap::new() }
    }
}

impl Client {
    /// Whether it has `role`; `admin` also gives health details and metrics.
    fn may(&self, role: Role) -> bool {
        self.roles.contains(&role) || (role == Role::Health && self.roles.contains(&Role::Admin))
    }

    /// Whether every application, profile and label of `query` is in its scope.
    fn reads(&self, query: &ConfigQuery, default_label: Option<&str>) -> bool {
        let label = query.label.as_deref().or(default_label).unwrap_or("");
        self.covers(&query.application, query.profiles.iter().map(String::as_str), Some(label))
    }

    fn covers<'a>(
        &self,
        applications: &str,
        profiles: impl IntoIterator<Item = &'a str>,
        labels: Option<&str>,
    ) -> bool {
        let within = |globs: &[WildMatch], value: &str| globs.iter().any(|glob| glob.matches(value));
        applications.split(',').all(|name| within(&self.applications, name))
            && profiles.into_iter().all(|profile| within(&self.profiles, profile))
            && labels.is_none_or(|labels| labels.split(',').all(|label| within(&self.labels, label)))
    }
}

/// How often the clients file is looked at for a change.
const FILE_CHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// Re-reads `security.clients_file` when it changes (its modification time or length, looked at
/// every second: a Kubernetes secret mount swaps a symbolic link, which this sees too) and on
/// SIGHUP, until the server is gone. A file that cannot be used is logged with every problem and
/// changes nothing.
pub(crate) async fn watch_clients_file(shared: std::sync::Weak<crate::state::Shared>) {
    #[cfg(unix)]
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    let mut tick = tokio::time::interval(FILE_CHECK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        #[cfg(unix)]
        let forced = match hangup.as_mut() {
            Some(hangup) => tokio::select! {
                _ = tick.tick() => false,
                _ = hangup.recv() => true,
            },
            None => {
                tick.tick().await;
                false
            }
        };
        #[cfg(not(unix))]
        let forced = {
            tick.tick().await;
            false
        };
        let Some(shared) = shared.upgrade() else { return };
        let access = &shared.access;
        match access.reload(forced) {
            Ok(false) => {}
            Ok(true) => {
                let names: Vec<String> = access.client_names().iter().map(ToString::to_string).collect();
                tracing::info!(clients = ?names, signal = forced, "security.clients_file: new clients in force");
            }
            Err(rejected) => {
                for problem in &rejected.problems {
                    tracing::error!(problem = %problem, "security.clients_file: refused, the clients in force stay");
                }
            }
        }
    }
}

/// The clients of the file at `path`, compiled.
fn read_clients(path: &std::path::Path) -> Result<Vec<Arc<Client>>, ClientsError> {
    let settings = vortex_settings::load_clients(path).map_err(|err| match err {
        vortex_settings::SettingsError::Invalid(problems) => ClientsError {
            problems: problems
                .into_iter()
                .map(|p| format!("security.clients_file ({}): {}: {}", path.display(), p.key, p.message))
                .collect(),
        },
        other => ClientsError { problems: vec![format!("security.clients_file: {other}")] },
    })?;
    compile(settings, "clients")
}

/// Compiles settings' clients; every problem, each naming its key under `prefix`.
fn compile(clients: Vec<ClientSettings>, prefix: &str) -> Result<Vec<Arc<Client>>, ClientsError> {
    let mut problems = Vec::new();
    let mut compiled = Vec::with_capacity(clients.len());
    for (i, settings) in clients.into_iter().enumerate() {
        let settings = settings.with_defaults();
        let stored = |key: &str, value: &vortex_settings::Secret| match usable(value.expose()) {
            Ok(()) => Ok(Stored::Hash(value.expose().to_owned())),
            Err(why) => Err(format!("{prefix}[{i}].{key}: {why}; make one with `vortex-server hash-password`")),
        };
        let credential = match (&settings.username, &settings.password_hash, &settings.token_hash) {
            (Some(username), Some(password), None) => {
                stored("password_hash", password).map(|secret| Credential::Basic { username: username.clone(), secret })
            }
            (None, None, Some(token)) => stored("token_hash", token).map(Credential::Bearer),
            (None, None, None) if settings.certificate_subject.is_some() => {
                Ok(Credential::Certificate(settings.certificate_subject.clone().unwrap_or_default()))
            }
            _ => Err(format!("{prefix}[{i}]: give either username and password_hash, or token_hash")),
        };
        let credential = match credential {
            Ok(credential) => credential,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        };
        let globs = |list: &[String]| list.iter().map(|glob| WildMatch::new(glob)).collect();
        compiled.push(Arc::new(Client {
            name: Arc::from(settings.name.as_str()),
            credential,
            applications: globs(&settings.applications),
            profiles: globs(&settings.profiles),
            labels: globs(&settings.labels),
            roles: settings.roles,
            requests: OnceLock::new(),
        }));
    }
    if problems.is_empty() { Ok(compiled) } else { Err(ClientsError { problems }) }
}

/// Threads of their own that verify password hashes, [`VERIFYING`] of them, started with the
/// first verification, each with the algorithm's memory (19 MiB with the default parameters)
/// made once and reused. With the blocking pool and `argon2`'s own allocation per verification,
/// the allocator kept what each verification freed: a flood of wrong passwords left hundreds of MB
/// resident (`cargo xtask hostile credentials`: 372 MB, still 221 MB on two threads).
#[derive(Default)]
struct Verifier {
    jobs: OnceLock<Option<std::sync::mpsc::Sender<Job>>>,
}

/// A hash to verify, a secret to verify it with, and where the answer goes.
type Job = (String, Vec<u8>, tokio::sync::oneshot::Sender<bool>);

impl Verifier {
    /// Whether `given` hashes to `phc`; false when the threads cannot be had.
    async fn verify(&self, phc: String, given: Vec<u8>) -> bool {
        let jobs = self.jobs.get_or_init(|| {
            let (sender, receiver) = std::sync::mpsc::channel::<Job>();
            let receiver = Arc::new(Mutex::new(receiver));
            let started = (0..VERIFYING).filter(|i| {
                let receiver = Arc::clone(&receiver);
                let spawned = std::thread::Builder::new().name(format!("vortex-verify-{i}")).spawn(move || {
                    // The thread's memory for the algorithm, made once and reused.
                    let mut memory = Vec::new();
                    loop {
                        // The lock is held while waiting for a job only, never while hashing.
                        let job = receiver.lock().unwrap_or_else(PoisonError::into_inner).recv();
                        let Ok((phc, given, answer)) = job else { return };
                        let _ = answer.send(verify_hash(&phc, &given, &mut memory));
                    }
                });
                spawned.is_ok()
            });
            if started.count() == 0 {
                tracing::error!("cannot start the password verification threads: hashed credentials are refused");
                return None;
            }
            Some(sender)
        });
        let Some(jobs) = jobs else { return false };
        let (answer, answered) = tokio::sync::oneshot::channel();
        if jobs.send((phc, given, answer)).is_err() {
            return false;
        }
        answered.await.unwrap_or(false)
    }
}

/// Why the PHC string `phc` cannot be verified here, if it cannot.
fn usable(phc: &str) -> Result<(), &'static str> {
    let hash = PasswordHash::new(phc).map_err(|_| "is not a valid argon2id hash")?;
    if hash.salt.is_none() || hash.hash.is_none() || argon2::Algorithm::try_from(hash.algorithm.as_str()).is_err() {
        return Err("is not a valid argon2id hash");
    }
    let params = argon2::Params::try_from(&hash).map_err(|_| "has parameters argon2 refuses")?;
    if params.block_count() > MAX_BLOCKS {
        return Err("asks for more than 256 MiB per verification");
    }
    Ok(())
}

/// The most memory a hash may ask for, in 1 KiB blocks: 256 MiB, far above the default 19 MiB.
const MAX_BLOCKS: usize = 256 * 1024;

/// Whether `given` hashes to `phc` (with its algorithm, version and parameters), computed in
/// `memory`, grown once to what the hash asks for; false for a hash that cannot be read or asks
/// for more than [`MAX_BLOCKS`]. The outputs are compared in constant time.
fn verify_hash(phc: &str, given: &[u8], memory: &mut Vec<argon2::Block>) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else { return false };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else { return false };
    let (Ok(algorithm), Ok(params)) =
        (argon2::Algorithm::try_from(hash.algorithm.as_str()), argon2::Params::try_from(&hash))
    else {
        return false;
    };
    let version = match hash.version.map(argon2::Version::try_from) {
        None => argon2::Version::default(),
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    let blocks = params.block_count();
    if blocks > MAX_BLOCKS {
        return false;
    }
    if memory.len() < blocks {
        memory.resize(blocks, argon2::Block::default());
    }
    let mut out = vec![0_u8; expected.len()];
    let argon = argon2::Argon2::new(algorithm, version, params);
    let computed = argon.hash_password_into_with_memory(given, salt, &mut out, &mut memory[..blocks]);
    computed.is_ok() && bool::from(out.as_slice().ct_eq(expected.as_bytes()))
}

/// The argon2id hash of `secret` (default parameters: 19 MiB, 2 passes), as a PHC string: what
/// `vortex-server hash-password` prints.
///
/// # Errors
/// When the system's randomness (for the salt) is not available.
pub fn hash_secret(secret: &[u8]) -> Result<String, String> {
    argon2::Argon2::default().hash_password(secret).map(|hash| hash.to_string()).map_err(|err| err.to_string())
}

/// Whether the certificate `der` (already verified by the handshake) is valid for `subject`.
#[cfg(feature = "tls")]
fn certificate_names(der: &[u8], subject: &str) -> bool {
    let der = rustls_pki_types::CertificateDer::from(der);
    let (Ok(certificate), Ok(name)) =
        (webpki::EndEntityCert::try_from(&der), rustls_pki_types::ServerName::try_from(subject))
    else {
        return false;
    };
    certificate.verify_is_valid_for_subject_name(&name).is_ok()
}

/// Without TLS there are no client certificates.
#[cfg(not(feature = "tls"))]
fn certificate_names(_: &[u8], _: &str) -> bool {
    false
}

/// The modification time and length of `path`, when it can be read.
fn file_stamp(path: &std::path::Path) -> Option<(SystemTime, u64)> {
    let metadata = std::fs::metadata(path).ok()?;
    Some((metadata.modified().ok()?, metadata.len()))
}

/// The credentials of an `Authorization` header in `scheme`, which is matched without regard to
/// case (RFC 9110, 11.1: `basic` and `BEARER` are `Basic` and `Bearer`); `None` for another scheme.
pub(crate) fn credentials<'h>(header: &'h HeaderValue, scheme: &str) -> Option<&'h [u8]> {
    let value = header.as_bytes();
    let space = value.iter().position(|&b| b == b' ')?;
    let (given, rest) = value.split_at(space);
    given.eq_ignore_ascii_case(scheme.as_bytes()).then(|| rest.trim_ascii_start())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn client(applications: &[&str], profiles: &[&str], labels: &[&str]) -> Client {
        let globs = |list: &[&str]| list.iter().map(|glob| WildMatch::new(glob)).collect();
        Client {
            name: Arc::from("c"),
            credential: Credential::Bearer(Stored::Plain(b"t".to_vec())),
            applications: globs(applications),
            profiles: globs(profiles),
            labels: globs(labels),
            roles: vec![Role::Read],
            requests: OnceLock::new(),
        }
    }

    fn query(application: &str, profiles: &str, label: Option<&str>) -> ConfigQuery {
        ConfigQuery::parse(application, profiles, label).unwrap_or_else(|err| panic!("{err}"))
    }

    #[test]
    fn every_application_profile_and_label_must_be_in_scope() {
        let orders = client(&["orders", "orders-*"], &["prod", "default"], &["main", "release/*"]);
        assert!(orders.reads(&query("orders", "prod", Some("main")), None));
        assert!(orders.reads(&query("orders-worker", "prod,default", Some("release/1.2")), None));
        assert!(!orders.reads(&query("orders,payments", "prod", Some("main")), None));
        assert!(!orders.reads(&query("orders", "prod,dev", Some("main")), None));
        assert!(!orders.reads(&query("orders", "prod", Some("main,dev")), None));
        assert!(!orders.reads(&query("ordersx", "prod", Some("main")), None));
        // Without a label, the backend's default label is checked; without one, only `*` passes.
        assert!(orders.reads(&query("orders", "prod", None), Some("main")));
        assert!(!orders.reads(&query("orders", "prod", None), Some("master")));
        assert!(!orders.reads(&query("orders", "prod", None), None));
        assert!(client(&["*"], &["*"], &["*"]).reads(&query("orders", "prod", None), None));
    }

    #[test]
    fn only_hashes_that_can_be_verified_here_are_taken() {
        let hash = hash_secret(b"x").unwrap_or_default();
        assert_eq!(usable(&hash), Ok(()));
        let huge = hash.replace("m=19456", "m=4000000");
        assert_eq!(usable(&huge), Err("asks for more than 256 MiB per verification"));
        assert!(usable("$argon2id$v=19$m=19456,t=2,p=1").is_err(), "no salt, no hash");
        assert!(usable("$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW").is_err(), "bcrypt");
        let mut memory = Vec::new();
        assert!(verify_hash(&hash, b"x", &mut memory) && !verify_hash(&hash, b"y", &mut memory));
        assert_eq!(memory.len(), 19456, "the memory is made once, to the hash's size");
        assert!(!verify_hash(&huge, b"x", &mut memory));
    }

    #[test]
    fn schemes_match_without_regard_to_case() {
        for header in ["Bearer t0ken", "bearer t0ken", "BEARER t0ken", "Bearer  t0ken"] {
            assert_eq!(credentials(&HeaderValue::from_static(header), "bearer"), Some(&b"t0ken"[..]), "{header}");
        }
        for header in ["Basic t0ken", "Bearert0ken", "t0ken"] {
            assert_eq!(credentials(&HeaderValue::from_static(header), "bearer"), None, "{header}");
        }
    }

    #[tokio::test]
    async fn a_credential_is_verified_once_and_then_remembered_until_a_reload() {
        let hash = hash_secret(b"s3cret").unwrap_or_default();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        let settings = ClientSettings {
            name: "reader".to_owned(),
            username: Some("reader".to_owned()),
            password_hash: Some(vortex_settings::Secret::new(hash)),
            applications: vec!["*".to_owned()],
            ..ClientSettings::default()
        };
        let clients = Clients::new(vec![settings], None).unwrap_or_default();
        let access = Access::new(AccessConfig { clients, ..AccessConfig::default() }, AccessMetrics::default());
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Basic cmVhZGVyOnMzY3JldA=="));
        let extensions = Extensions::new();
        assert_eq!(access.identify(&headers, &extensions).await.name(), Some("reader"));
        assert_eq!(access.verified.read().map(|map| map.len()).unwrap_or(0), 1);
        assert_eq!(access.identify(&headers, &extensions).await.name(), Some("reader"));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Basic cmVhZGVyOnMzY3JldA"));
        assert!(matches!(access.identify(&headers, &extensions).await, Caller::Unknown));
        assert!(matches!(access.identify(&HeaderMap::new(), &extensions).await, Caller::Anonymous));
        access.install(Vec::new());
        assert_eq!(access.verified.read().map(|map| map.len()).unwrap_or(1), 0, "a reload forgets");
        let query = query("orders", "prod", None);
        assert_eq!(access.permit(&Caller::Anonymous, Need::Read(&query)), Err(Denied::Credentials { missing: true }));
        assert_eq!(access.permit(&Caller::Anonymous, Need::Admin), Err(Denied::AdminDisabled));
    }
}
