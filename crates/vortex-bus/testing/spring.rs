//! A Spring Boot service's view of the bus, for tests: a consumer bound exactly as Spring Cloud
//! Stream binds one (the exchange declared durable, a `springCloudBus.anonymous.<id>` queue,
//! exclusive and auto-delete, bound with `#`), which can also publish as a Spring service does.

use std::time::Duration;

use amqprs::BasicProperties;
use amqprs::channel::{
    BasicConsumeArguments, BasicPublishArguments, Channel, ConsumerMessage, ExchangeDeclareArguments,
    QueueBindArguments, QueueDeclareArguments,
};
use amqprs::connection::{Connection, OpenConnectionArguments};
use serde_json::Value;
use tokio::sync::mpsc::UnboundedReceiver;

/// Spring Cloud Bus's default destination.
pub const EXCHANGE: &str = "springCloudBus";

/// A Spring Boot service's binding: the exchange declared as Spring Cloud Stream declares it, an
/// anonymous exclusive auto-delete queue bound with `#`.
pub struct SpringClient {
    _connection: Connection,
    channel: Channel,
    deliveries: UnboundedReceiver<ConsumerMessage>,
}

impl SpringClient {
    /// Binds to the broker on 127.0.0.1:`port` as `guest`.
    pub async fn bind(port: u16) -> Self {
        let connection =
            Connection::open(&OpenConnectionArguments::new("127.0.0.1", port, "guest", "guest")).await.unwrap();
        let channel = connection.open_channel(None).await.unwrap();
        channel
            .exchange_declare(ExchangeDeclareArguments::new(EXCHANGE, "topic").durable(true).finish())
            .await
            .unwrap();
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let queue = format!("{EXCHANGE}.anonymous.{}-{nanos}", std::process::id());
        let declare = QueueDeclareArguments::new(&queue).exclusive(true).auto_delete(true).finish();
        channel.queue_declare(declare).await.unwrap();
        channel.queue_bind(QueueBindArguments::new(&queue, EXCHANGE, "#")).await.unwrap();
        let (_, deliveries) =
            channel.basic_consume_rx(BasicConsumeArguments::new(&queue, "").auto_ack(true).finish()).await.unwrap();
        Self { _connection: connection, channel, deliveries }
    }

    /// The next message whose JSON `type` is `kind`.
    pub async fn next(&mut self, kind: &str) -> (ConsumerMessage, Value) {
        self.next_where(|json| json["type"] == kind).await
    }

    /// The next message whose JSON passes `wanted`; unreadable messages are skipped.
    pub async fn next_where(&mut self, wanted: impl Fn(&Value) -> bool) -> (ConsumerMessage, Value) {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(10), self.deliveries.recv())
                .await
                .unwrap_or_else(|_| panic!("no message expected within 10 s"))
                .expect("delivery channel open");
            let json: Value =
                serde_json::from_slice(message.content.as_deref().unwrap_or_default()).unwrap_or_default();
            if wanted(&json) {
                return (message, json);
            }
        }
    }

    /// Publishes `body` as a Spring service does.
    pub async fn publish(&self, body: &[u8]) {
        let mut properties = BasicProperties::default();
        properties.with_content_type("application/json").with_delivery_mode(2);
        self.channel
            .basic_publish(properties, body.to_vec(), BasicPublishArguments::new(EXCHANGE, EXCHANGE))
            .await
            .unwrap();
    }
}
