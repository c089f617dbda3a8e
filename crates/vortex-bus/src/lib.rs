//! Spring Cloud Bus on RabbitMQ for Vortex Config: a push refreshes every replica first, and then
//! every Spring client.
//!
//! - [`event`]: the messages, in Spring Cloud Bus's JSON (`RefreshRemoteApplicationEvent`,
//!   `AckRemoteApplicationEvent`) and the replicas' own types, which Spring clients ignore;
//! - [`destination()`]: service names to Spring destinations (`orders` → `orders:**`);
//! - [`Transport`]: what the bus needs from a broker; [`AmqpTransport`] is RabbitMQ with Spring
//!   Cloud Stream's topology (a durable topic exchange named after the destination, an exclusive
//!   auto-delete queue per replica bound with `#`);
//! - [`Bus`]: announces changes to the peers and waits for them to fetch, sends Spring's refresh
//!   events, counts acknowledgements, and fetches when a peer announces a change.
//!
//! Bus messages never carry configuration: they say "fetch now", and what a replica serves always
//! comes from its repository.
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::{Duration, Instant};
//! use vortex_bus::{AmqpOptions, AmqpTransport, AmqpUri, Bus, BusOptions, NoObserver, Replica};
//! use vortex_core::{BoxFuture, CoreError, SourceChange};
//!
//! struct Fetcher;
//! impl Replica for Fetcher {
//!     fn refresh<'a>(&'a self, change: &'a SourceChange) -> BoxFuture<'a, Result<(), CoreError>> {
//!         Box::pin(async { Ok(()) }) // fetch from git, drop what `change` made stale
//!     }
//! }
//!
//! # async fn demo() -> Result<(), String> {
//! let (transport, incoming) = AmqpTransport::start(AmqpOptions {
//!     uri: AmqpUri::parse("amqp://guest:guest@127.0.0.1:5672/%2f")?,
//!     destination: "springCloudBus".to_owned(),
//!     connection_name: "vortex:host:8080:1f2e".to_owned(),
//!     connect_timeout: Duration::from_secs(5),
//! });
//! let bus = Bus::start(BusOptions::new("vortex:host:8080:1f2e"), Arc::new(transport), incoming,
//!     Arc::new(Fetcher), Arc::new(NoObserver));
//! // This replica fetched a new commit: the peers first, then the Spring clients.
//! let propagation = bus.announce(&SourceChange::everything(), Instant::now()).await;
//! println!("peers confirmed: {:?}", propagation.confirmed);
//! bus.refresh_clients(&[vortex_bus::destination(Some("orders"))?]).await.map_err(|e| e.to_string())?;
//! bus.close().await;
//! # Ok(()) }
//! ```
//!
//! # Features
//!
//! | feature | adds | default |
//! |---|---|---|
//! | (none) | this crate has no cargo features | |

mod amqp;
mod bus;
mod destination;
pub mod event;
mod transport;

pub use amqp::{AmqpOptions, AmqpTransport, AmqpUri};
pub use bus::{
    Bus, BusHealth, BusOptions, NoObserver, Observer, Outcome, PeerHealth, Propagation, RefreshHealth, Replica,
    default_id,
};
pub use destination::{EVERYONE, destination};
pub use event::Event;
pub use transport::{BusError, Incoming, Transport};
