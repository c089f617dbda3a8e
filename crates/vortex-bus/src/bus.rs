//! The bus: replica coherence and Spring's refresh events over one [`Transport`].
//!
//! - A replica that changed what it serves [announces](Bus::announce) it; every peer fetches
//!   (one fetch at a time, bursts coalesced, at most one every `min_fetch_interval`) and
//!   [confirms](Confirm). The announcement returns when every peer known to be alive has
//!   confirmed, or after `peer_timeout`. Only then are Spring clients
//!   [told to refresh](Bus::refresh_clients), so that whichever replica they ask already serves the
//!   new content.
//! - Replicas know each other from [presence](crate::event::Presence) events: a hello when they
//!   connect (answered at once by every peer), a heartbeat, a goodbye when they stop. A peer that
//!   failed to confirm is not waited for again until it is heard from.
//! - Spring clients' acknowledgements are counted per refresh event.
//! - Nothing a message says is trusted beyond "fetch now": a forged change costs a rate-limited
//!   fetch, a forged presence at most `peer_timeout` of waiting.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{Notify, mpsc};
use vortex_core::{BoxFuture, CoreError, SourceChange};

use crate::event::{Ack, Change, Confirm, Envelope, Event, Ignored, Presence, PresenceState};
use crate::transport::{BusError, Incoming, Transport};

/// How many peers are remembered: more are ignored (a flood of forged presences).
const MAX_PEERS: usize = 1024;
/// How many refresh events are remembered for counting acknowledgements.
const MAX_REFRESHES: usize = 256;
/// How many peer change announcements may wait for this replica's next fetch.
const FETCH_QUEUE: usize = 1024;
/// The least time between two answers to hellos: a flood of hellos costs four messages a second.
const HELLO_ANSWER_SPACING: Duration = Duration::from_millis(250);

/// How the bus behaves.
#[derive(Debug, Clone)]
pub struct BusOptions {
    /// This replica's bus id (`originService` of what it sends). Never a pattern.
    pub id: String,
    /// How long an announcement waits for peers before the caller goes on without them.
    pub peer_timeout: Duration,
    /// How often a replica says it is alive; a peer unheard of for three times this is gone.
    pub heartbeat: Duration,
    /// The least time between two fetches asked for by peers.
    pub min_fetch_interval: Duration,
}

impl BusOptions {
    /// Options with the defaults: peers waited for 2 s, a heartbeat every 30 s, at most one fetch
    /// per 100 ms for peers.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            peer_timeout: Duration::from_secs(2),
            heartbeat: Duration::from_secs(30),
            min_fetch_interval: Duration::from_millis(100),
        }
    }
}

/// A bus id for a replica listening on `port`: `vortex:<host name>:<port>:<16 random hex digits>`,
/// unique per replica and never a pattern, in the shape of Spring's `app:port:random` ids.
pub fn default_id(port: u16) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')).collect())
        .filter(|h: &String| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("vortex:{host}:{port}:{}", &random[..16])
}

/// What the bus asks of the replica it runs in.
pub trait Replica: Send + Sync + 'static {
    /// Fetches from the repository now and stops serving anything built from older content, or
    /// from content `change` says changed (what the peers announced; everything after a lost
    /// connection); returns once new requests get what the repository has. `change` only ever
    /// decides what to drop, never what to serve.
    fn refresh<'a>(&'a self, change: &'a SourceChange) -> BoxFuture<'a, Result<(), CoreError>>;
}

/// What happened to a message read from the bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Acted on: a fetch, a confirmation or acknowledgement counted, a peer noted.
    Acted,
    /// Read and ignored, for this reason.
    Ignored(Ignored),
}

impl Outcome {
    /// The metric label of the outcome.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Acted => "acted",
            Self::Ignored(reason) => reason.as_str(),
        }
    }
}

/// What the bus reports as it works (the server turns it into metrics). Every method has an
/// empty default.
pub trait Observer: Send + Sync + 'static {
    /// A message of `kind` was published (`ok`) or could not be.
    fn published(&self, kind: &'static str, ok: bool) {
        let _ = (kind, ok);
    }
    /// A message of `kind` (`unknown` when unreadable) was read, with this outcome.
    fn consumed(&self, kind: &'static str, outcome: Outcome) {
        let _ = (kind, outcome);
    }
    /// An announcement ended.
    fn propagated(&self, propagation: &Propagation) {
        let _ = propagation;
    }
    /// A Spring client acknowledged a refresh event; `acks` is that event's count so far.
    fn acknowledged(&self, acks: u64) {
        let _ = acks;
    }
    /// The connection to the broker came up or went down.
    fn connection(&self, up: bool) {
        let _ = up;
    }
    /// The number of peers known to be alive changed.
    fn peers(&self, alive: usize) {
        let _ = alive;
    }
}

/// An [`Observer`] that reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl Observer for NoObserver {}

/// How an announcement went.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Propagation {
    /// The change event's id; empty when nothing was published.
    pub change_id: String,
    /// Whether the change event was published (false: no connection to the broker).
    pub announced: bool,
    /// The peers that fetched and serve the new content.
    pub confirmed: Vec<String>,
    /// The peers that tried and failed to fetch: they still serve the old content.
    pub failed: Vec<String>,
    /// The peers waited for that did not answer within the timeout.
    pub missing: Vec<String>,
    /// From the change being seen to the last confirmation (or the timeout).
    #[serde(skip)]
    pub elapsed: Duration,
}

/// The bus's state for the health endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct BusHealth {
    /// `UP` when connected to the broker, else `DEGRADED` (the replica serves regardless).
    pub status: vortex_core::HealthStatus,
    /// Whether the broker connection is open.
    pub connected: bool,
    /// This replica's bus id.
    pub id: String,
    /// The peers heard from recently, with the seconds since.
    pub peers: Vec<PeerHealth>,
    /// The last refresh events sent, newest first, with their acknowledgement counts.
    pub refreshes: Vec<RefreshHealth>,
}

/// A peer in [`BusHealth`].
#[derive(Debug, Clone, Serialize)]
pub struct PeerHealth {
    /// Its bus id.
    pub id: String,
    /// Seconds since it was last heard from.
    pub seen_seconds_ago: u64,
}

/// A refresh event in [`BusHealth`].
#[derive(Debug, Clone, Serialize)]
pub struct RefreshHealth {
    /// The event's id.
    pub id: String,
    /// Its destination.
    pub destination: String,
    /// Acknowledgements received.
    pub acks: u64,
}

/// A running bus. Cloning it is cheap; [`Bus::close`] stops it, and so does dropping the last
/// clone.
#[derive(Clone)]
pub struct Bus {
    inner: Arc<Inner>,
    tasks: Arc<Tasks>,
}

/// The bus's tasks, stopped when the last [`Bus`] goes: they hold the transport, which then
/// closes its connection.
struct Tasks(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus").field("id", &self.inner.options.id).finish_non_exhaustive()
    }
}

struct Inner {
    options: BusOptions,
    transport: Arc<dyn Transport>,
    observer: Arc<dyn Observer>,
    peers: Mutex<HashMap<String, Peer>>,
    pending: Mutex<HashMap<String, Pending>>,
    refreshes: Mutex<VecDeque<RefreshHealth>>,
    fetches: mpsc::Sender<Fetch>,
    /// Wakes the task that answers hellos.
    hello: Notify,
}

#[derive(Debug, Clone, Copy)]
struct Peer {
    seen: Instant,
    /// Did not confirm the last change it was waited for: not waited for until heard from.
    suspect: bool,
}

struct Pending {
    expected: HashSet<String>,
    confirmed: Vec<String>,
    failed: Vec<String>,
    done: Arc<Notify>,
}

impl Pending {
    fn complete(&self) -> bool {
        self.expected.iter().all(|peer| self.confirmed.contains(peer) || self.failed.contains(peer))
    }
}

/// A fetch asked for: by a peer's change, or after a reconnection (no one to confirm to).
enum Fetch {
    Peer { change_id: String, origin: String, change: SourceChange },
    Reconnected,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Bus {
    /// Starts the bus over `transport`, reading what it reports from `incoming`. Call it within a
    /// tokio runtime.
    pub fn start(
        options: BusOptions,
        transport: Arc<dyn Transport>,
        incoming: mpsc::Receiver<Incoming>,
        replica: Arc<dyn Replica>,
        observer: Arc<dyn Observer>,
    ) -> Self {
        let (fetches, fetch_rx) = mpsc::channel(FETCH_QUEUE);
        let inner = Arc::new(Inner {
            options,
            transport,
            observer,
            peers: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
            refreshes: Mutex::new(VecDeque::new()),
            fetches,
            hello: Notify::new(),
        });
        let events = tokio::spawn(Arc::clone(&inner).read(incoming));
        let fetcher = tokio::spawn(Arc::clone(&inner).fetch(fetch_rx, replica));
        let answerer = tokio::spawn(Arc::clone(&inner).answer_hellos());
        Self { inner, tasks: Arc::new(Tasks(vec![events, fetcher, answerer])) }
    }

    /// This replica's bus id.
    pub fn id(&self) -> &str {
        &self.inner.options.id
    }

    /// Tells the peers that this replica serves new content (`change`, seen at `seen`), and waits
    /// until every peer known to be alive has fetched, or `peer_timeout`.
    pub async fn announce(&self, change: &SourceChange, seen: Instant) -> Propagation {
        let inner = &self.inner;
        if !inner.transport.is_connected() {
            let propagation = Propagation { elapsed: seen.elapsed(), ..Propagation::default() };
            inner.observer.propagated(&propagation);
            return propagation;
        }
        let expected = inner.alive_peers(false);
        let event = Change {
            envelope: Envelope::new(&inner.options.id, crate::destination::EVERYONE),
            labels: change.labels.clone(),
            versions: change.versions.iter().cloned().collect(),
            applications: change.applications.clone(),
            everything: change.everything,
        };
        let change_id = event.envelope.id.clone();
        let done = Arc::new(Notify::new());
        let pending = Pending {
            expected: expected.iter().cloned().collect(),
            confirmed: Vec::new(),
            failed: Vec::new(),
            done: Arc::clone(&done),
        };
        lock(&inner.pending).insert(change_id.clone(), pending);
        let announced = inner.publish(&Event::Change(event)).await.is_ok();
        if announced && !expected.is_empty() {
            let _ = tokio::time::timeout(inner.options.peer_timeout, done.notified()).await;
        }
        let pending = lock(&inner.pending).remove(&change_id);
        let (confirmed, failed) = pending.map(|p| (p.confirmed, p.failed)).unwrap_or_default();
        let missing: Vec<String> = if announced {
            expected.into_iter().filter(|peer| !confirmed.contains(peer) && !failed.contains(peer)).collect()
        } else {
            Vec::new()
        };
        inner.suspect(&missing);
        let propagation = Propagation { change_id, announced, confirmed, failed, missing, elapsed: seen.elapsed() };
        if !propagation.missing.is_empty() || !propagation.failed.is_empty() {
            tracing::warn!(
                change = %propagation.change_id, missing = ?propagation.missing, failed = ?propagation.failed,
                "bus: not every peer confirmed the change; going on without them"
            );
        }
        inner.observer.propagated(&propagation);
        propagation
    }

    /// Tells the Spring clients of each destination (see [`destination`](crate::destination())) to
    /// refresh, and returns the events' ids.
    ///
    /// # Errors
    /// When the broker cannot be reached: no event was sent after the first failure.
    pub async fn refresh_clients(&self, destinations: &[String]) -> Result<Vec<String>, BusError> {
        let mut ids = Vec::with_capacity(destinations.len());
        for destination in destinations {
            let envelope = Envelope::new(&self.inner.options.id, destination);
            let id = envelope.id.clone();
            self.inner.publish(&Event::Refresh(envelope)).await?;
            let mut refreshes = lock(&self.inner.refreshes);
            if refreshes.len() == MAX_REFRESHES {
                refreshes.pop_back();
            }
            refreshes.push_front(RefreshHealth { id: id.clone(), destination: destination.clone(), acks: 0 });
            ids.push(id);
        }
        Ok(ids)
    }

    /// The bus's state, for the health endpoint.
    pub fn health(&self) -> BusHealth {
        let inner = &self.inner;
        let connected = inner.transport.is_connected();
        let now = Instant::now();
        let mut peers: Vec<PeerHealth> = lock(&inner.peers)
            .iter()
            .map(|(id, peer)| PeerHealth { id: id.clone(), seen_seconds_ago: now.duration_since(peer.seen).as_secs() })
            .collect();
        peers.sort_by(|a, b| a.id.cmp(&b.id));
        BusHealth {
            status: if connected { vortex_core::HealthStatus::Up } else { vortex_core::HealthStatus::Degraded },
            connected,
            id: inner.options.id.clone(),
            peers,
            refreshes: lock(&inner.refreshes).iter().take(10).cloned().collect(),
        }
    }

    /// The peers known to be alive now.
    pub fn peers(&self) -> Vec<String> {
        self.inner.alive_peers(true)
    }

    /// Says goodbye to the peers, so that they stop waiting for this replica, which keeps fetching
    /// when they announce changes until it [closes](Bus::close) (a server that drains).
    pub async fn leave(&self) {
        if self.inner.transport.is_connected() {
            self.inner.presence(PresenceState::Goodbye).await;
        }
    }

    /// Says goodbye to the peers and leaves the broker.
    pub async fn close(&self) {
        self.leave().await;
        let inner = &self.inner;
        inner.transport.close().await;
        for task in &self.tasks.0 {
            task.abort();
        }
    }
}

impl Inner {
    async fn publish(&self, event: &Event) -> Result<(), BusError> {
        let result = self.transport.publish(event.encode()).await;
        self.observer.published(event.kind(), result.is_ok());
        if let Err(err) = &result {
            tracing::warn!(kind = event.kind(), error = %err, "bus: publishing failed");
        }
        result
    }

    async fn presence(&self, state: PresenceState) {
        let presence = Presence { envelope: Envelope::new(&self.options.id, "**"), state };
        let _ = self.publish(&Event::Presence(presence)).await;
    }

    /// Peers heard from within three heartbeats; without the suspects unless `all`.
    fn alive_peers(&self, all: bool) -> Vec<String> {
        let horizon = self.options.heartbeat * 3;
        let mut peers = lock(&self.peers);
        let before = peers.len();
        peers.retain(|_, peer| peer.seen.elapsed() <= horizon);
        if peers.len() != before {
            self.observer.peers(peers.len());
        }
        let mut alive: Vec<String> =
            peers.iter().filter(|(_, peer)| all || !peer.suspect).map(|(id, _)| id.clone()).collect();
        alive.sort();
        alive
    }

    fn saw(&self, id: &str) {
        let mut peers = lock(&self.peers);
        let known = peers.len();
        match peers.get_mut(id) {
            Some(peer) => *peer = Peer { seen: Instant::now(), suspect: false },
            None if known < MAX_PEERS => {
                peers.insert(id.to_owned(), Peer { seen: Instant::now(), suspect: false });
                tracing::info!(peer = id, "bus: peer joined");
                self.observer.peers(peers.len());
            }
            None => {}
        }
    }

    fn left(&self, id: &str) {
        let removed = lock(&self.peers).remove(id).is_some();
        if removed {
            tracing::info!(peer = id, "bus: peer left");
            self.observer.peers(lock(&self.peers).len());
        }
        // Whoever waits for it stops waiting.
        for pending in lock(&self.pending).values_mut() {
            if pending.expected.remove(id) && pending.complete() {
                pending.done.notify_one();
            }
        }
    }

    fn suspect(&self, missing: &[String]) {
        let mut peers = lock(&self.peers);
        for id in missing {
            if let Some(peer) = peers.get_mut(id) {
                peer.suspect = true;
            }
        }
    }

    /// Reads what the transport reports until it stops; says it is alive every heartbeat.
    async fn read(self: Arc<Self>, mut incoming: mpsc::Receiver<Incoming>) {
        let mut heartbeat = tokio::time::interval(self.options.heartbeat);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        heartbeat.tick().await;
        loop {
            tokio::select! {
                report = incoming.recv() => match report {
                    None => return,
                    Some(Incoming::Up { reconnected }) => {
                        self.observer.connection(true);
                        self.presence(PresenceState::Hello).await;
                        if reconnected {
                            // Changes may have been announced while the connection was down.
                            let _ = self.fetches.try_send(Fetch::Reconnected);
                        }
                    }
                    Some(Incoming::Down { .. }) => self.observer.connection(false),
                    Some(Incoming::Message(body)) => self.handle(&body).await,
                },
                _ = heartbeat.tick() => {
                    if self.transport.is_connected() {
                        self.presence(PresenceState::Alive).await;
                    }
                    let _ = self.alive_peers(true);
                }
            }
        }
    }

    async fn handle(&self, body: &[u8]) {
        let event = match Event::decode(body) {
            Ok(event) => event,
            Err(reason) => {
                tracing::debug!(reason = reason.as_str(), bytes = body.len(), "bus: message ignored");
                self.observer.consumed("unknown", Outcome::Ignored(reason));
                return;
            }
        };
        let kind = event.kind();
        let outcome = self.act(event).await;
        self.observer.consumed(kind, outcome);
    }

    async fn act(&self, event: Event) -> Outcome {
        let Some(origin) = event.envelope().map(|e| e.origin_service.clone()) else {
            return Outcome::Ignored(Ignored::Foreign);
        };
        if origin == self.options.id {
            return Outcome::Ignored(Ignored::Own);
        }
        match event {
            Event::Change(change) => {
                self.saw(&origin);
                let fetch = Fetch::Peer {
                    change: change.source_change(),
                    change_id: change.envelope.id,
                    origin: origin.clone(),
                };
                if self.fetches.try_send(fetch).is_err() {
                    tracing::warn!(peer = %origin, "bus: too many changes waiting for a fetch; one dropped");
                    return Outcome::Ignored(Ignored::NotForUs);
                }
                Outcome::Acted
            }
            Event::Confirm(confirm) => {
                self.saw(&origin);
                if confirm.envelope.destination_service != self.options.id {
                    return Outcome::Ignored(Ignored::NotForUs);
                }
                self.confirmed(&origin, &confirm)
            }
            Event::Presence(presence) => {
                match presence.state {
                    PresenceState::Hello => {
                        self.saw(&origin);
                        self.hello.notify_one();
                    }
                    PresenceState::Alive => self.saw(&origin),
                    PresenceState::Goodbye => self.left(&origin),
                }
                Outcome::Acted
            }
            Event::Ack(ack) => self.acknowledged(&ack),
            // Spring's refresh events are for Spring services; a replica fetches on changes.
            Event::Refresh(_) => Outcome::Ignored(Ignored::NotForUs),
            Event::Foreign => Outcome::Ignored(Ignored::Foreign),
        }
    }

    fn confirmed(&self, peer: &str, confirm: &Confirm) -> Outcome {
        let mut pending = lock(&self.pending);
        let Some(waiting) = pending.get_mut(&confirm.ack_id) else {
            return Outcome::Ignored(Ignored::NotForUs);
        };
        let list = if confirm.fetched { &mut waiting.confirmed } else { &mut waiting.failed };
        if !list.iter().any(|p| p == peer) {
            list.push(peer.to_owned());
        }
        if waiting.complete() {
            waiting.done.notify_one();
        }
        Outcome::Acted
    }

    fn acknowledged(&self, ack: &Ack) -> Outcome {
        let mut refreshes = lock(&self.refreshes);
        let Some(refresh) = refreshes.iter_mut().find(|r| r.id == ack.ack_id) else {
            return Outcome::Ignored(Ignored::NotForUs);
        };
        refresh.acks += 1;
        self.observer.acknowledged(refresh.acks);
        Outcome::Acted
    }

    /// Answers hellos with one "alive", at most one per [`HELLO_ANSWER_SPACING`]: hellos that
    /// arrive meanwhile share the next answer.
    async fn answer_hellos(self: Arc<Self>) {
        loop {
            self.hello.notified().await;
            self.presence(PresenceState::Alive).await;
            tokio::time::sleep(HELLO_ANSWER_SPACING).await;
        }
    }

    /// Fetches for peers: one fetch at a time, every announcement that arrived before it started
    /// answered by it, at most one per `min_fetch_interval`.
    async fn fetch(self: Arc<Self>, mut fetches: mpsc::Receiver<Fetch>, replica: Arc<dyn Replica>) {
        while let Some(first) = fetches.recv().await {
            let mut batch = vec![first];
            while let Ok(more) = fetches.try_recv() {
                batch.push(more);
            }
            let change = batch
                .iter()
                .map(|fetch| match fetch {
                    Fetch::Peer { change, .. } => change.clone(),
                    Fetch::Reconnected => SourceChange::everything(),
                })
                .reduce(|all, change| all.merge(&change))
                .unwrap_or_else(SourceChange::everything);
            let fetched = match replica.refresh(&change).await {
                Ok(()) => true,
                Err(err) => {
                    tracing::warn!(error = %vortex_core::error_chain(&err), "bus: fetch asked for by a peer failed");
                    false
                }
            };
            for fetch in batch {
                match fetch {
                    Fetch::Peer { change_id, origin, .. } => {
                        let confirm =
                            Confirm { envelope: Envelope::new(&self.options.id, &origin), ack_id: change_id, fetched };
                        let _ = self.publish(&Event::Confirm(confirm)).await;
                    }
                    Fetch::Reconnected => tracing::info!(fetched, "bus: fetched after reconnecting"),
                }
            }
            tokio::time::sleep(self.options.min_fetch_interval).await;
        }
    }
}
