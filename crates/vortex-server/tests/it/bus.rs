//! Replicas on Spring Cloud Bus: three servers over HTTP on loopback, one git remote, one real
//! RabbitMQ (Debian's `rabbitmq-server`, private to the test), and a consumer bound as a Spring
//! Boot service binds. What a Spring service sees is checked from the consumer's side: when its
//! refresh event arrives, every replica already serves the new commit.

#[allow(unreachable_pub, dead_code, reason = "shared with the bus crate's tests")]
#[path = "../../../vortex-bus/testing/broker.rs"]
mod broker;
#[allow(unreachable_pub, dead_code, reason = "shared with the bus crate's tests")]
#[path = "../../../vortex-bus/testing/spring.rs"]
mod spring;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use broker::Broker;
use serde_json::Value;
use spring::SpringClient;
use vortex_server::app_from_settings;
use vortex_settings::Secret;

use crate::support::{Remote, Server, git_settings, python_tools, raw_get, raw_request};

const TOKEN: &str = "bus-test-admin-token-0123456789";

struct Replica {
    server: Server,
    id: String,
    _basedir: tempfile::TempDir,
}

impl Replica {
    async fn start(remote: &Remote, broker: &str, name: &str, refresh_interval_seconds: u64) -> Self {
        let basedir = tempfile::tempdir().unwrap();
        let mut settings = git_settings(&remote.uri(), basedir.path());
        settings.backends.git.refresh_interval_seconds = refresh_interval_seconds;
        settings.security.admin_token = Some(Secret::new(TOKEN));
        let id = format!("vortex:{name}:0:test");
        settings.bus.enabled = true;
        settings.bus.amqp.uri = broker.to_owned();
        settings.bus.id = Some(id.clone());
        settings.bus.peer_timeout_ms = 3000;
        let app = app_from_settings(&settings).await.unwrap();
        Self { server: Server::start(app).await, id, _basedir: basedir }
    }

    fn addr(&self) -> SocketAddr {
        self.server.addr
    }
}

async fn get_json(addr: SocketAddr, path: &str) -> (u16, Value) {
    let (status, _, body) = raw_get(addr, path, "").await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// The commit `orders` is served from by the replica at `addr`.
async fn version(addr: SocketAddr) -> String {
    let (status, json) = get_json(addr, "/orders/default").await;
    assert_eq!(status, 200, "{json}");
    json["version"].as_str().unwrap_or_default().to_owned()
}

async fn post(addr: SocketAddr, path: &str, body: &str) -> (u16, Vec<(String, String)>, Value) {
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let (status, headers, body) = raw_request(addr, &request).await;
    (status, headers, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

fn head(remote: &Remote) -> String {
    let out =
        std::process::Command::new("git").args(["rev-parse", "HEAD"]).current_dir(remote.dir.path()).output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Waits until every replica is connected and knows the others.
async fn cluster_formed(replicas: &[&Replica]) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut formed = true;
        for replica in replicas {
            let (_, health) = get_json(replica.addr(), "/health").await;
            let peers = health["bus"]["peers"].as_array().map_or(0, Vec::len);
            formed &= health["bus"]["connected"] == true && peers == replicas.len() - 1;
        }
        if formed {
            return;
        }
        assert!(Instant::now() < deadline, "the replicas did not find each other");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_webhook_or_busrefresh_on_one_replica_reaches_every_replica_before_spring_services() {
    let broker = Broker::start();
    let remote = Remote::new();
    let [a, b, c] = [
        Replica::start(&remote, &broker.uri(), "a", 3600).await,
        Replica::start(&remote, &broker.uri(), "b", 3600).await,
        Replica::start(&remote, &broker.uri(), "c", 3600).await,
    ];
    cluster_formed(&[&a, &b, &c]).await;
    let mut spring = SpringClient::bind(broker.port).await;
    let first = head(&remote);
    for replica in [&a, &b, &c] {
        assert_eq!(version(replica.addr()).await, first);
    }

    // A push, and the git host's webhook to A only.
    remote.commit("orders.yml", "value: 2\n");
    let pushed = head(&remote);
    let (status, headers, names) = post(a.addr(), "/monitor", r#"{"path": ["orders.yml"]}"#).await;
    assert_eq!(status, 200);
    assert_eq!(names, serde_json::json!(["orders"]), "Spring's body: the service names");
    let peers = header(&headers, "x-vortex-bus-peers").unwrap();
    assert!(peers.contains(&b.id) && peers.contains(&c.id), "{peers}");
    assert!(header(&headers, "x-vortex-bus-missing").is_none());

    // The Spring service's view: when the refresh event arrives, B and C already serve the push.
    let (message, event) = spring.next("RefreshRemoteApplicationEvent").await;
    assert_eq!(event["originService"], a.id.as_str());
    assert_eq!(event["destinationService"], "orders:**");
    assert_eq!(message.deliver.as_ref().unwrap().routing_key(), "springCloudBus");
    for replica in [&b, &c] {
        assert_eq!(version(replica.addr()).await, pushed, "{} serves the push before Spring services hear", replica.id);
    }
    let (_, served) = get_json(c.addr(), "/orders/default").await;
    assert_eq!(served["propertySources"][0]["source"]["value"], 2);

    // Spring services acknowledge; the origin counts it.
    let ack = serde_json::json!({"type": "AckRemoteApplicationEvent", "timestamp": 1, "originService": "orders:8080:x1",
        "destinationService": "**", "id": "ack-1", "ackId": event["id"], "ackDestinationService": "orders:**",
        "event": "org.springframework.cloud.bus.event.RefreshRemoteApplicationEvent"});
    spring.publish(&serde_json::to_vec(&ack).unwrap()).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = String::from_utf8_lossy(&metrics_body(a.addr()).await).into_owned();
        if text.lines().any(|l| l == "vortex_bus_acks_total 1") {
            assert!(text.lines().any(|l| l.starts_with("vortex_bus_propagation_duration_seconds_count 1")), "{text}");
            assert!(text.contains("vortex_bus_propagation_peers_total{result=\"confirmed\"} 2"), "{text}");
            assert!(text.contains("vortex_bus_connected 1"), "{text}");
            break;
        }
        assert!(Instant::now() < deadline, "the acknowledgement was not counted:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Spring's endpoint on B, for everyone: A and C fetch before the event.
    remote.commit("orders.yml", "value: 3\n");
    let pushed = head(&remote);
    let (status, _, answer) = post(b.addr(), "/actuator/busrefresh", "").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["destination"], "**");
    let mut confirmed: Vec<&str> =
        answer["peers"]["confirmed"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    confirmed.sort_unstable();
    assert_eq!(confirmed, [a.id.as_str(), c.id.as_str()]);
    let (_, event) = spring
        .next_where(|e| e["type"] == "RefreshRemoteApplicationEvent" && e["originService"] == b.id.as_str())
        .await;
    assert_eq!(event["destinationService"], "**");
    assert_eq!(answer["events"], serde_json::json!([event["id"]]));
    for replica in [&a, &b, &c] {
        assert_eq!(version(replica.addr()).await, pushed);
    }

    // For one destination, as Spring's `/actuator/busrefresh/{destination}`.
    let (status, _, answer) = post(c.addr(), "/actuator/busrefresh/orders:dev", "").await;
    assert_eq!((status, answer["destination"].as_str()), (200, Some("orders:dev:**")));
    let (status, _, answer) = post(c.addr(), "/actuator/busrefresh/a%20b", "").await;
    assert_eq!((status, answer["code"].as_str()), (400, Some("invalid_request")));
    // Admin only, refused before anything happens.
    let (status, _, _) = raw_request(
        c.addr(),
        "POST /actuator/busrefresh HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
    )
    .await;
    assert_eq!(status, 401);
    // GET keeps reading the application `actuator`, as before the bus.
    let (status, json) = get_json(a.addr(), "/actuator/busrefresh").await;
    assert_eq!((status, json["name"].as_str()), (200, Some("actuator")));

    for replica in [a, b, c] {
        replica.server.stop().await.unwrap();
    }
}

async fn metrics_body(addr: SocketAddr) -> Vec<u8> {
    raw_get(addr, "/metrics", "").await.2
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_background_fetch_on_one_replica_propagates_to_the_others_first() {
    let broker = Broker::start();
    let remote = Remote::new();
    // Only C fetches by itself, every second; A and B would not for an hour.
    let [a, b, c] = [
        Replica::start(&remote, &broker.uri(), "a", 3600).await,
        Replica::start(&remote, &broker.uri(), "b", 3600).await,
        Replica::start(&remote, &broker.uri(), "c", 1).await,
    ];
    cluster_formed(&[&a, &b, &c]).await;
    let mut spring = SpringClient::bind(broker.port).await;
    remote.commit("orders.yml", "value: 2\n");
    let pushed = head(&remote);
    let (_, change) =
        spring.next_where(|e| e["type"] == "VortexChangeEvent" && e["originService"] == c.id.as_str()).await;
    // `main`, the default label, is served from `master` (Spring's `try_master_branch`).
    assert_eq!(change["labels"], serde_json::json!(["master", "main"]));
    assert_eq!(
        change["versions"],
        serde_json::json!({"master": pushed, "main": pushed}),
        "the change names the commit"
    );
    let (_, event) = spring
        .next_where(|e| e["type"] == "RefreshRemoteApplicationEvent" && e["originService"] == c.id.as_str())
        .await;
    assert_eq!(event["destinationService"], "**", "which files changed is not known: every service");
    for replica in [&a, &b] {
        assert_eq!(version(replica.addr()).await, pushed, "{} fetched before the event", replica.id);
    }
    for replica in [a, b, c] {
        replica.server.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_serves_without_its_broker_and_joins_when_it_comes() {
    let broker = Broker::prepare();
    let remote = Remote::new();
    let a = Replica::start(&remote, &broker.uri(), "a", 3600).await;
    let (status, health) = get_json(a.addr(), "/health").await;
    assert_eq!(status, 200, "a replica without its broker is not down");
    assert_eq!(health["status"], "DEGRADED");
    assert_eq!(health["bus"]["status"], "DEGRADED");
    assert_eq!(health["bus"]["connected"], false);
    assert_eq!(version(a.addr()).await, head(&remote));
    let (status, headers, answer) = post(a.addr(), "/actuator/busrefresh", "").await;
    assert_eq!((status, answer["code"].as_str()), (503, Some("bus_unavailable")));
    assert_eq!(header(&headers, "retry-after"), Some("5"));
    // The webhook still fetches and answers as Spring does.
    remote.commit("orders.yml", "value: 2\n");
    let (status, _, names) = post(a.addr(), "/monitor", r#"{"path": ["orders.yml"]}"#).await;
    assert_eq!((status, names), (200, serde_json::json!(["orders"])));
    assert_eq!(version(a.addr()).await, head(&remote));

    let broker = tokio::task::spawn_blocking(move || {
        let mut broker = broker;
        broker.launch();
        broker
    })
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while get_json(a.addr(), "/health").await.1["status"] != "UP" {
        assert!(Instant::now() < deadline, "the replica did not connect");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, _, _) = post(a.addr(), "/actuator/busrefresh", "").await;
    assert_eq!(status, 200);
    a.server.stop().await.unwrap();
    drop(broker);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_broker_restarting_under_reads_fails_no_read_and_the_cluster_converges() {
    let mut broker = Broker::start();
    let remote = Remote::new();
    let (a, b) = (
        Replica::start(&remote, &broker.uri(), "a", 3600).await,
        Replica::start(&remote, &broker.uri(), "b", 3600).await,
    );
    cluster_formed(&[&a, &b]).await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (reads, failures) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut readers = Vec::new();
    for addr in [a.addr(), b.addr()] {
        let (stop, reads, failures) = (Arc::clone(&stop), Arc::clone(&reads), Arc::clone(&failures));
        readers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let (status, _, _) = raw_get(addr, "/orders/default", "").await;
                reads.fetch_add(1, Ordering::Relaxed);
                if status != 200 {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    broker.kill();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Meanwhile a push reaches A by its webhook; B cannot hear of it.
    remote.commit("orders.yml", "value: 2\n");
    let (status, _, _) = post(a.addr(), "/monitor", r#"{"path": ["orders.yml"]}"#).await;
    assert_eq!(status, 200);
    let mut broker = tokio::task::spawn_blocking(move || {
        broker.launch();
        broker
    })
    .await
    .unwrap();
    // Having missed events, each replica fetches once it is back: B converges without a webhook.
    let pushed = head(&remote);
    let deadline = Instant::now() + Duration::from_secs(30);
    while version(b.addr()).await != pushed {
        assert!(Instant::now() < deadline, "B did not converge after the broker came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cluster_formed(&[&a, &b]).await;
    // And propagation works again.
    let mut spring = SpringClient::bind(broker.port).await;
    remote.commit("orders.yml", "value: 3\n");
    let (status, headers, _) = post(a.addr(), "/monitor", r#"{"path": ["orders.yml"]}"#).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "x-vortex-bus-peers"), Some(b.id.as_str()));
    spring.next("RefreshRemoteApplicationEvent").await;
    assert_eq!(version(b.addr()).await, head(&remote));

    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        reader.await.unwrap();
    }
    assert!(reads.load(Ordering::Relaxed) > 50, "reads ran throughout");
    assert_eq!(failures.load(Ordering::Relaxed), 0, "no read failed while the broker restarted");
    for replica in [a, b] {
        replica.server.stop().await.unwrap();
    }
    broker.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_peer_killed_mid_propagation_delays_spring_services_by_the_timeout_only() {
    let broker = Broker::start();
    let remote = Remote::new();
    let a = Replica::start(&remote, &broker.uri(), "a", 3600).await;
    // C is a process: killed with SIGKILL, it says no goodbye.
    let basedir = tempfile::tempdir().unwrap();
    let broker_uri = broker.uri();
    let basedir_path = basedir.path().display().to_string();
    let remote_uri = remote.uri();
    let mut c = crate::binary::Running::start(&[
        ("VORTEX__BACKENDS__GIT__URI", remote_uri.as_str()),
        ("VORTEX__BACKENDS__GIT__BASEDIR", basedir_path.as_str()),
        ("VORTEX__BUS__ENABLED", "true"),
        ("VORTEX__BUS__AMQP__URI", broker_uri.as_str()),
        ("VORTEX__BUS__ID", "vortex:c:0:killed"),
    ]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while get_json(a.addr(), "/health").await.1["bus"]["peers"].as_array().map_or(0, Vec::len) != 1 {
        assert!(Instant::now() < deadline, "A never heard of C");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut spring = SpringClient::bind(broker.port).await;
    std::process::Command::new("kill").args(["-KILL", &c.child.id().to_string()]).status().unwrap();
    c.child.wait().unwrap();

    remote.commit("orders.yml", "value: 2\n");
    let started = Instant::now();
    let (status, headers, _) = post(a.addr(), "/monitor", r#"{"path": ["orders.yml"]}"#).await;
    let waited = started.elapsed();
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "x-vortex-bus-missing"), Some("vortex:c:0:killed"));
    assert!(waited >= Duration::from_secs(3) && waited < Duration::from_secs(6), "{waited:?}");
    let (_, event) = spring.next("RefreshRemoteApplicationEvent").await;
    assert_eq!(event["destinationService"], "orders:**", "Spring services are told anyway");
    // The next propagation does not wait for the dead peer again.
    remote.commit("orders.yml", "value: 3\n");
    let started = Instant::now();
    let (status, _, _) = post(a.addr(), "/monitor", r#"{"path": ["orders.yml"]}"#).await;
    assert_eq!(status, 200);
    assert!(started.elapsed() < Duration::from_secs(2));
    a.server.stop().await.unwrap();
}

/// A consumer that is not ours: pika, RabbitMQ's Python client, bound as Spring Cloud Stream binds a
/// Spring Boot service. It prints the first refresh event with its AMQP properties, then
/// acknowledges it as a Spring service does.
const PIKA_SERVICE: &str = r##"
import json, sys, time, pika
connection = pika.BlockingConnection(pika.ConnectionParameters(
    "127.0.0.1", int(sys.argv[1]), "/", pika.PlainCredentials("guest", "guest")))
channel = connection.channel()
channel.exchange_declare("springCloudBus", exchange_type="topic", durable=True, auto_delete=False)
queue = "springCloudBus.anonymous.pika"
channel.queue_declare(queue, exclusive=True, auto_delete=True)
channel.queue_bind(queue, "springCloudBus", "#")
print("ready", flush=True)
for method, properties, body in channel.consume(queue, auto_ack=True, inactivity_timeout=20):
    if method is None:
        print(json.dumps({"error": "no refresh event within 20 s"}), flush=True)
        break
    event = json.loads(body)
    if event.get("type") != "RefreshRemoteApplicationEvent":
        continue
    print(json.dumps({"exchange": method.exchange, "routing_key": method.routing_key,
                      "content_type": properties.content_type, "delivery_mode": properties.delivery_mode,
                      "event": event}), flush=True)
    ack = {"type": "AckRemoteApplicationEvent", "timestamp": int(time.time() * 1000),
           "originService": "orders:8080:pika", "destinationService": "**", "id": "pika-ack-1",
           "ackId": event["id"], "ackDestinationService": event["destinationService"],
           "event": "org.springframework.cloud.bus.event.RefreshRemoteApplicationEvent"}
    channel.basic_publish("springCloudBus", "springCloudBus", json.dumps(ack),
                          pika.BasicProperties(content_type="application/json", delivery_mode=2))
    break
connection.close()
"##;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_third_party_amqp_client_reads_springs_event_and_its_ack_is_counted() {
    use std::io::{BufRead, BufReader};

    let python = python_tools();
    let broker = Broker::start();
    let remote = Remote::new();
    let a = Replica::start(&remote, &broker.uri(), "a", 3600).await;
    let script = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(script.path(), PIKA_SERVICE).unwrap();
    let mut service = std::process::Command::new(python)
        .arg(script.path())
        .arg(broker.port.to_string())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(service.stdout.take().unwrap()).lines();
    let ready = tokio::task::spawn_blocking(move || {
        let first = lines.next().and_then(Result::ok);
        (first, lines)
    });
    let (first, mut lines) = ready.await.unwrap();
    assert_eq!(first.as_deref(), Some("ready"));

    let (status, _, answer) = post(a.addr(), "/actuator/busrefresh/orders", "").await;
    assert_eq!(status, 200, "{answer}");
    let line = tokio::task::spawn_blocking(move || lines.next().and_then(Result::ok)).await.unwrap().unwrap();
    let seen: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(seen["exchange"], "springCloudBus", "{seen}");
    assert_eq!(seen["routing_key"], "springCloudBus");
    assert_eq!(seen["content_type"], "application/json");
    assert_eq!(seen["delivery_mode"], 2);
    let event = &seen["event"];
    assert_eq!(event["type"], "RefreshRemoteApplicationEvent");
    assert_eq!(event["originService"], a.id.as_str());
    assert_eq!(event["destinationService"], "orders:**");
    assert!(event["timestamp"].as_u64().unwrap() > 1_700_000_000_000);
    assert_eq!(answer["events"], serde_json::json!([event["id"]]));
    assert!(service.wait().unwrap().success());

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = String::from_utf8_lossy(&metrics_body(a.addr()).await).into_owned();
        if text.lines().any(|l| l == "vortex_bus_acks_total 1") {
            assert!(text.contains("vortex_bus_last_refresh_acks 1"), "{text}");
            break;
        }
        assert!(Instant::now() < deadline, "pika's acknowledgement was not counted:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, health) = get_json(a.addr(), "/health").await;
    assert_eq!(health["bus"]["refreshes"][0]["acks"], 1);
    a.server.stop().await.unwrap();
}

/// A native replica on the bus: its settings over a shared directory, its watcher every `watch`
/// seconds, and a cache that keeps answers for an hour.
async fn native_replica(dir: &std::path::Path, broker: &str, name: &str, watch: u64) -> Replica {
    let mut settings = vortex_settings::Settings::default();
    settings.backends.git.enabled = false;
    settings.backends.native.enabled = true;
    settings.backends.native.search_locations = vec![dir.display().to_string()];
    settings.backends.native.watch_interval_seconds = watch;
    settings.cache.ttl_seconds = 3600;
    settings.bus.enabled = true;
    settings.bus.amqp.uri = broker.to_owned();
    let id = format!("vortex:{name}:0:native");
    settings.bus.id = Some(id.clone());
    let app = app_from_settings(&settings).await.unwrap();
    Replica { server: Server::start(app).await, id, _basedir: tempfile::tempdir().unwrap() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_native_file_change_seen_by_one_replica_is_dropped_from_every_cache_before_spring_hears() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("orders.yml"), "value: 1\n").unwrap();
    // Only A watches the files; B would keep its cached answer for an hour.
    let a = native_replica(dir.path(), &broker.uri(), "a", 1).await;
    let b = native_replica(dir.path(), &broker.uri(), "b", 0).await;
    cluster_formed(&[&a, &b]).await;
    for replica in [&a, &b] {
        let (_, json) = get_json(replica.addr(), "/orders/default").await;
        assert_eq!(json["propertySources"][0]["source"]["value"], 1, "cached now");
    }
    let mut spring = SpringClient::bind(broker.port).await;
    std::fs::write(dir.path().join("orders.yml"), "value: 2\n").unwrap();
    let (_, event) = spring
        .next_where(|e| e["type"] == "RefreshRemoteApplicationEvent" && e["originService"] == a.id.as_str())
        .await;
    assert_eq!(event["destinationService"], "**");
    let (_, json) = get_json(b.addr(), "/orders/default").await;
    assert_eq!(json["propertySources"][0]["source"]["value"], 2, "B dropped its cached answer before the event");
    for replica in [a, b] {
        replica.server.stop().await.unwrap();
    }
}
