//! What the bus needs from a broker, so that a transport other than AMQP (Kafka: topic
//! `springCloudBus`, the same JSON, a `contentType` header) can be added without touching the
//! [`Bus`](crate::Bus) or the server.

use vortex_core::BoxFuture;

/// What a transport tells the bus, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// Connected, the destination declared and this replica's queue bound. `reconnected` is true
    /// after a connection was lost: events may have been missed meanwhile.
    Up {
        /// Whether this follows a lost connection.
        reconnected: bool,
    },
    /// The broker cannot be reached, or the connection was lost; the transport keeps retrying.
    Down {
        /// Why, without credentials.
        reason: String,
    },
    /// A message from the destination (anyone's, this replica's own included).
    Message(Vec<u8>),
}

/// Why a message could not be published.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusError {
    /// No connection to the broker now.
    #[error("not connected to the message broker")]
    NotConnected,
    /// The broker connection failed while publishing.
    #[error("publishing to the message broker failed: {0}")]
    Publish(String),
}

/// A connection to a message broker that publishes to, and delivers from, one destination.
///
/// Implementations keep themselves connected (reconnecting with backoff) and report each change of
/// state as an [`Incoming`] on the channel given to the [`Bus`](crate::Bus).
pub trait Transport: Send + Sync + 'static {
    /// Publishes `body` (an encoded [`Event`](crate::Event)) to the destination, as Spring Cloud
    /// Bus publishes: JSON content, persistent.
    fn publish(&self, body: Vec<u8>) -> BoxFuture<'_, Result<(), BusError>>;

    /// Whether the transport is connected now.
    fn is_connected(&self) -> bool;

    /// Leaves the broker: no more deliveries, the connection closed cleanly. Publishing afterwards
    /// fails with [`BusError::NotConnected`].
    fn close(&self) -> BoxFuture<'_, ()>;
}
