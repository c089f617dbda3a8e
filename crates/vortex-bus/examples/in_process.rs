//! Two replicas on an in-process broker: a `Transport` of its own (as a Kafka transport would be),
//! an announcement the peer fetches for, and the Spring refresh event that follows it.
//!
//! `cargo run -p vortex-bus --example in_process`

// An example prints what it shows.
#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use tokio::sync::{broadcast, mpsc};
use vortex_bus::{Bus, BusError, BusOptions, Incoming, NoObserver, Replica, Transport};
use vortex_core::{BoxFuture, CoreError, SourceChange};

/// Every message published reaches every subscriber, the publisher included, as on a topic
/// exchange with a queue per replica bound with `#`.
struct InProcess {
    topic: broadcast::Sender<Vec<u8>>,
}

impl InProcess {
    /// A transport on `topic`, and what it reports to its bus.
    fn join(topic: &broadcast::Sender<Vec<u8>>) -> (Arc<Self>, mpsc::Receiver<Incoming>) {
        let (tx, rx) = mpsc::channel(64);
        let mut messages = topic.subscribe();
        tokio::spawn(async move {
            let _ = tx.send(Incoming::Up { reconnected: false }).await;
            while let Ok(body) = messages.recv().await {
                if tx.send(Incoming::Message(body)).await.is_err() {
                    break;
                }
            }
        });
        (Arc::new(Self { topic: topic.clone() }), rx)
    }
}

impl Transport for InProcess {
    fn publish(&self, body: Vec<u8>) -> BoxFuture<'_, Result<(), BusError>> {
        let sent = self.topic.send(body).map(|_| ()).map_err(|_| BusError::NotConnected);
        Box::pin(std::future::ready(sent))
    }

    fn is_connected(&self) -> bool {
        true
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(std::future::ready(()))
    }
}

/// A replica that only counts the fetches it is asked for.
#[derive(Default)]
struct Fetches(AtomicUsize);

impl Replica for Fetches {
    fn refresh<'a>(&'a self, change: &'a SourceChange) -> BoxFuture<'a, Result<(), CoreError>> {
        println!("peer: fetching, then dropping what changed: labels {:?}", change.labels);
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(std::future::ready(Ok(())))
    }
}

#[tokio::main]
async fn main() {
    let (topic, mut spring) = broadcast::channel(64);
    let start = |id: &str, replica: Arc<Fetches>| {
        let (transport, incoming) = InProcess::join(&topic);
        Bus::start(BusOptions::new(id), transport, incoming, replica, Arc::new(NoObserver))
    };
    let (a_fetches, b_fetches) = (Arc::new(Fetches::default()), Arc::new(Fetches::default()));
    let a = start("vortex:a:8080:1f", Arc::clone(&a_fetches));
    let b = start("vortex:b:8080:2e", Arc::clone(&b_fetches));
    while a.peers().is_empty() {
        tokio::task::yield_now().await;
    }
    println!("a knows its peers: {:?}", a.peers());

    // A fetched a new commit of `main`: B fetches first, then Spring services hear of it.
    let change = SourceChange::of_labels(vec!["main".to_owned()])
        .with_versions(vec![("main".to_owned(), Some("3f9c2e1".to_owned()))]);
    let propagation = a.announce(&change, Instant::now()).await;
    println!("confirmed by: {:?}", propagation.confirmed);
    let destination = vortex_bus::destination(Some("orders")).unwrap_or_default();
    let ids = a.refresh_clients(&[destination]).await.unwrap_or_default();
    println!("refresh events sent: {}", ids.len());
    println!("fetches: a {}, b {}", a_fetches.0.load(Ordering::SeqCst), b_fetches.0.load(Ordering::SeqCst));

    // What a Spring service reads: the refresh event, in Spring Cloud Bus's JSON.
    while let Ok(body) = spring.recv().await {
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        if json["type"] == "RefreshRemoteApplicationEvent" {
            println!("a Spring service reads: type {}, destination {}", json["type"], json["destinationService"]);
            break;
        }
    }
    a.close().await;
    b.close().await;
}
