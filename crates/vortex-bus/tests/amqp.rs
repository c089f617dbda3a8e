//! The bus against a real RabbitMQ (Debian's `rabbitmq-server`, started per test on free loopback
//! ports), seen from a consumer bound as Spring Cloud Stream binds a Spring Boot service.

// Test helpers panic on failure: that is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, unreachable_pub)]

#[path = "../testing/broker.rs"]
mod broker;
#[path = "../testing/spring.rs"]
mod spring;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use broker::Broker;
use spring::SpringClient;
use vortex_bus::{AmqpOptions, AmqpTransport, AmqpUri, Bus, BusOptions, Observer, Outcome, Replica};
use vortex_core::{BoxFuture, CoreError, SourceChange};

const EXCHANGE: &str = spring::EXCHANGE;

/// A replica that counts its fetches, each taking `delay`, and keeps the last change it was told.
struct Counting {
    fetches: AtomicUsize,
    delay: Duration,
    last: std::sync::Mutex<Option<SourceChange>>,
}

impl Counting {
    fn new(delay: Duration) -> Arc<Self> {
        Arc::new(Self { fetches: AtomicUsize::new(0), delay, last: std::sync::Mutex::new(None) })
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

impl Replica for Counting {
    fn refresh<'a>(&'a self, change: &'a SourceChange) -> BoxFuture<'a, Result<(), CoreError>> {
        Box::pin(async move {
            *self.last.lock().unwrap() = Some(change.clone());
            tokio::time::sleep(self.delay).await;
            self.fetches.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
    }
}

/// Counts what the bus reports.
#[derive(Default)]
struct Seen {
    consumed: std::sync::Mutex<Vec<(&'static str, &'static str)>>,
    acks: AtomicUsize,
}

impl Observer for Seen {
    fn consumed(&self, kind: &'static str, outcome: Outcome) {
        self.consumed.lock().unwrap().push((kind, outcome.as_str()));
    }
    fn acknowledged(&self, _acks: u64) {
        self.acks.fetch_add(1, Ordering::SeqCst);
    }
}

impl Seen {
    fn count(&self, kind: &str, outcome: &str) -> usize {
        self.consumed.lock().unwrap().iter().filter(|(k, o)| *k == kind && *o == outcome).count()
    }
}

fn start_bus(uri: &str, id: &str, replica: Arc<dyn Replica>, observer: Arc<dyn Observer>) -> Bus {
    let (transport, incoming) = AmqpTransport::start(AmqpOptions {
        uri: AmqpUri::parse(uri).unwrap(),
        destination: EXCHANGE.to_owned(),
        connection_name: id.to_owned(),
        connect_timeout: Duration::from_secs(2),
    });
    let options = BusOptions { peer_timeout: Duration::from_millis(1500), ..BusOptions::new(id) };
    Bus::start(options, Arc::new(transport), incoming, replica, observer)
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn connected(bus: &Bus) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !bus.health().connected {
        assert!(Instant::now() < deadline, "the bus did not connect");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_events_are_what_a_spring_client_reads_and_its_acks_are_counted() {
    let broker = Broker::start();
    let seen = Arc::new(Seen::default());
    let bus = start_bus(&broker.uri(), "vortex:test:8080:1f2e", Counting::new(Duration::ZERO), seen.clone());
    connected(&bus).await;
    let mut spring = SpringClient::bind(broker.port).await;

    let names = ["foo-local-dev", "foo-local", "foo", "*"];
    let destinations: Vec<String> = names.iter().map(|n| vortex_bus::destination(Some(n)).unwrap()).collect();
    let ids = bus.refresh_clients(&destinations).await.unwrap();
    let mut seen_ids = std::collections::HashSet::new();
    for (expected, id) in ["foo-local-dev:**", "foo-local:**", "foo:**", "*:**"].iter().zip(&ids) {
        let (message, json) = spring.next("RefreshRemoteApplicationEvent").await;
        let deliver = message.deliver.as_ref().unwrap();
        assert_eq!(deliver.routing_key(), EXCHANGE);
        assert_eq!(deliver.exchange(), EXCHANGE);
        let properties = message.basic_properties.as_ref().unwrap();
        assert_eq!(properties.content_type().map(String::as_str), Some("application/json"));
        assert_eq!(properties.delivery_mode(), Some(2));
        // Exactly the fields Spring's Jackson reads, with their types.
        let fields: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(fields, ["type", "timestamp", "originService", "destinationService", "id"]);
        assert!(json["timestamp"].as_u64().unwrap() > 1_700_000_000_000);
        assert_eq!(json["originService"], "vortex:test:8080:1f2e");
        assert_eq!(json["destinationService"], *expected);
        assert_eq!(json["id"], **id);
        assert!(uuid::Uuid::parse_str(json["id"].as_str().unwrap()).is_ok());
        assert!(seen_ids.insert(json["id"].as_str().unwrap().to_owned()), "ids are unique");
    }

    // Two Spring services acknowledge the first event, as `spring.cloud.bus.ack.enabled` makes them.
    for instance in ["foo:8081:aa", "foo:8082:bb"] {
        let ack = serde_json::json!({"type": "AckRemoteApplicationEvent", "timestamp": 1, "originService": instance,
            "destinationService": "**", "id": uuid::Uuid::new_v4().to_string(), "ackId": ids[0],
            "ackDestinationService": "**", "event": "org.springframework.cloud.bus.event.RefreshRemoteApplicationEvent"});
        spring.publish(&serde_json::to_vec(&ack).unwrap()).await;
    }
    eventually("two acknowledgements", || seen.acks.load(Ordering::SeqCst) == 2).await;
    let health = bus.health();
    let first = health.refreshes.iter().find(|r| r.id == ids[0]).unwrap();
    assert_eq!((first.acks, first.destination.as_str()), (2, "foo-local-dev:**"));
    bus.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_is_fetched_by_every_peer_before_the_announcement_returns() {
    let broker = Broker::start();
    let (a_fetches, b_fetches, c_fetches) = (
        Counting::new(Duration::ZERO),
        Counting::new(Duration::from_millis(50)),
        Counting::new(Duration::from_millis(80)),
    );
    let a = start_bus(&broker.uri(), "vortex:a:1:x", a_fetches.clone(), Arc::new(Seen::default()));
    let b = start_bus(&broker.uri(), "vortex:b:1:x", b_fetches.clone(), Arc::new(Seen::default()));
    let c = start_bus(&broker.uri(), "vortex:c:1:x", c_fetches.clone(), Arc::new(Seen::default()));
    for bus in [&a, &b, &c] {
        connected(bus).await;
    }
    // Each hears of the others from their hello and the answers to its own.
    eventually("peers known", || a.peers().len() == 2 && b.peers().len() == 2).await;

    let mut spring = SpringClient::bind(broker.port).await;
    let change = SourceChange::of_labels(vec!["main".to_owned()])
        .with_versions(vec![("main".to_owned(), Some("abc".to_owned()))]);
    let propagation = a.announce(&change, Instant::now()).await;
    assert!(propagation.announced);
    assert_eq!(propagation.confirmed.len(), 2, "{propagation:?}");
    assert!(propagation.missing.is_empty() && propagation.failed.is_empty());
    // Both peers had fetched when the announcement returned; the origin did not fetch again.
    assert_eq!((a_fetches.fetches(), b_fetches.fetches(), c_fetches.fetches()), (0, 1, 1));
    assert_eq!(b_fetches.last.lock().unwrap().as_ref(), Some(&change), "peers learn what changed");
    assert!(propagation.elapsed >= Duration::from_millis(80));

    // What Spring clients see of it: a type they do not know, so they ignore it and send no ack.
    let (_, json) = spring.next("VortexChangeEvent").await;
    assert_eq!(json["labels"], serde_json::json!(["main"]));
    assert_eq!(json["versions"], serde_json::json!({"main": "abc"}));
    assert!(json.get("values").is_none(), "no configuration travels on the bus");

    // A peer that leaves is not waited for.
    c.close().await;
    eventually("c gone", || a.peers().len() == 1).await;
    let propagation = a.announce(&SourceChange::everything(), Instant::now()).await;
    assert_eq!(propagation.confirmed, ["vortex:b:1:x"]);
    for bus in [a, b] {
        bus.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_never_confirms_delays_the_origin_by_the_timeout_only_once() {
    let broker = Broker::start();
    let a = start_bus(&broker.uri(), "vortex:a:1:x", Counting::new(Duration::ZERO), Arc::new(Seen::default()));
    // A peer whose fetch hangs far longer than the timeout.
    let slow =
        start_bus(&broker.uri(), "vortex:slow:1:x", Counting::new(Duration::from_secs(60)), Arc::new(Seen::default()));
    connected(&a).await;
    connected(&slow).await;
    eventually("peer known", || a.peers().len() == 1).await;

    let started = Instant::now();
    let propagation = a.announce(&SourceChange::everything(), started).await;
    assert_eq!(propagation.missing, ["vortex:slow:1:x"]);
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(1500) && waited < Duration::from_secs(5), "{waited:?}");
    // Not waited for again until heard from.
    let started = Instant::now();
    let propagation = a.announce(&SourceChange::everything(), started).await;
    assert!(propagation.missing.is_empty() && propagation.confirmed.is_empty());
    assert!(started.elapsed() < Duration::from_millis(1000));
    for bus in [a, slow] {
        bus.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_foreign_and_own_messages_are_ignored_and_counted() {
    let broker = Broker::start();
    let seen = Arc::new(Seen::default());
    let fetches = Counting::new(Duration::ZERO);
    let bus = start_bus(&broker.uri(), "vortex:a:1:x", fetches.clone(), seen.clone());
    connected(&bus).await;
    let spring = SpringClient::bind(broker.port).await;
    let huge = format!("{{\"type\":\"VortexChangeEvent\",\"originService\":\"x\",\"pad\":\"{}\"}}", "x".repeat(70_000));
    let own = serde_json::json!({"type": "VortexChangeEvent", "originService": "vortex:a:1:x", "id": "1"}).to_string();
    for body in [
        &b"not json at all"[..],
        b"\x00\xff\xfe",
        b"{\"type\":\"RefreshRemoteApplicationEvent\"}",
        b"{\"type\":\"EnvironmentChangeRemoteApplicationEvent\",\"originService\":\"s:1:x\",\"values\":{\"a\":\"b\"}}",
        huge.as_bytes(),
        own.as_bytes(),
        b"",
    ] {
        spring.publish(body).await;
    }
    // The seven messages and this replica's own hello.
    eventually("every message read", || seen.consumed.lock().unwrap().len() >= 8).await;
    assert_eq!(seen.count("unknown", "malformed"), 4, "{:?}", seen.consumed.lock().unwrap());
    assert_eq!(seen.count("unknown", "oversized"), 1);
    assert_eq!(seen.count("foreign", "foreign"), 1);
    assert_eq!(seen.count("change", "own"), 1);
    assert_eq!(fetches.fetches(), 0, "nothing ignored made the replica fetch");
    // Still working.
    assert_eq!(bus.refresh_clients(&["**".to_owned()]).await.map(|ids| ids.len()), Ok(1));
    bus.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_starts_without_its_broker_and_fetches_once_after_each_reconnection() {
    let broker = Broker::prepare();
    let fetches = Counting::new(Duration::ZERO);
    let bus = start_bus(&broker.uri(), "vortex:a:1:x", fetches.clone(), Arc::new(Seen::default()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let health = bus.health();
    assert!(!health.connected);
    assert_eq!(serde_json::to_value(health.status).unwrap(), "DEGRADED");
    // Announcing without a broker returns at once, having told no one.
    let propagation = bus.announce(&SourceChange::everything(), Instant::now()).await;
    assert!(!propagation.announced);
    assert!(bus.refresh_clients(&["**".to_owned()]).await.is_err());

    let mut broker = tokio::task::spawn_blocking(move || {
        let mut broker = broker;
        broker.launch();
        broker
    })
    .await
    .unwrap();
    connected(&bus).await;
    assert_eq!(fetches.fetches(), 0, "the first connection is no reconnection");

    broker.kill();
    eventually("the loss noticed", || !bus.health().connected).await;
    let mut broker = tokio::task::spawn_blocking(move || {
        broker.launch();
        broker
    })
    .await
    .unwrap();
    connected(&bus).await;
    eventually("one fetch after reconnecting", || fetches.fetches() == 1).await;
    let after = fetches.last.lock().unwrap().clone().unwrap();
    assert!(after.everything && after.applications.is_none(), "events may have been missed: everything");
    assert_eq!(bus.refresh_clients(&["**".to_owned()]).await.map(|ids| ids.len()), Ok(1));
    bus.close().await;
    broker.kill();
}
