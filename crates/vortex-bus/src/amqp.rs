//! The AMQP 0-9-1 transport (RabbitMQ), with Spring Cloud Stream's topology: a durable topic
//! exchange named after the destination, and for each replica an exclusive, auto-delete queue
//! bound to it with `#`, so that every replica gets every message.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use amqprs::BasicProperties;
use amqprs::channel::{
    BasicConsumeArguments, BasicPublishArguments, Channel, ExchangeDeclareArguments, QueueBindArguments,
    QueueDeclareArguments,
};
use amqprs::connection::{Connection, OpenConnectionArguments};
use tokio::sync::{mpsc, watch};
use vortex_core::BoxFuture;

use crate::transport::{BusError, Incoming, Transport};

/// The longest AMQP short string: exchange, queue, user and virtual host names.
const SHORT_STRING: usize = 255;
/// The AMQP heartbeat asked for: a silent broker is noticed within two of them.
const HEARTBEAT_SECONDS: u16 = 10;
/// Reconnection backoff: first wait, and the cap it doubles up to.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(5));

/// A broker address, `amqp://user:password@host:port/vhost`, with its parts percent-decoded.
/// Neither its [`Debug`] nor its [`Display`](std::fmt::Display) shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct AmqpUri {
    host: String,
    port: u16,
    username: String,
    password: String,
    vhost: String,
}

impl AmqpUri {
    /// Reads `amqp://[user[:password]@]host[:port][/vhost]`. The user and password default to
    /// `guest`, the port to 5672, the virtual host to `/` (which a URI writes `%2f`).
    ///
    /// # Errors
    /// Another scheme (`amqps` is not supported by this build: put the broker on a private network
    /// or use a TLS sidecar), no host, a bad port, a query string, or a name over 255 bytes. The
    /// message never contains the password.
    pub fn parse(uri: &str) -> Result<Self, String> {
        let rest = match uri.split_once("://") {
            Some(("amqp", rest)) => rest,
            Some(("amqps", _)) => {
                return Err("amqps:// is not supported: use amqp:// on a private network, or a TLS sidecar".to_owned());
            }
            _ => return Err("the URI must start with amqp://".to_owned()),
        };
        if rest.contains(['?', '#']) {
            return Err("query parameters and fragments are not supported in the broker URI".to_owned());
        }
        let (authority, vhost) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hostport) = authority.rsplit_once('@').map_or((None, authority), |(u, h)| (Some(u), h));
        let (username, password) = match userinfo {
            Some(info) => {
                let (user, password) = info.split_once(':').unwrap_or((info, ""));
                (decode(user)?, decode(password)?)
            }
            None => ("guest".to_owned(), "guest".to_owned()),
        };
        let (host, port) = split_port(hostport)?;
        if host.is_empty() {
            return Err("the URI names no host".to_owned());
        }
        let vhost = if vhost.is_empty() { "/".to_owned() } else { decode(vhost)? };
        if username.len() > SHORT_STRING || vhost.len() > SHORT_STRING || host.len() > SHORT_STRING {
            return Err(format!("user, host and virtual host names have at most {SHORT_STRING} bytes"));
        }
        Ok(Self { host, port, username, password, vhost })
    }

    /// The same broker with `password` instead of the URI's (a password kept out of the URI:
    /// `bus.amqp.password`, or its file).
    #[must_use]
    pub fn with_password(mut self, password: &str) -> Self {
        password.clone_into(&mut self.password);
        self
    }

    /// The host name or address.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The virtual host.
    pub fn vhost(&self) -> &str {
        &self.vhost
    }
}

impl std::fmt::Display for AmqpUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let vhost = percent_encoding::utf8_percent_encode(&self.vhost, percent_encoding::NON_ALPHANUMERIC);
        write!(f, "amqp://{}:***@{}:{}/{vhost}", self.username, self.host, self.port)
    }
}

impl std::fmt::Debug for AmqpUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AmqpUri({self})")
    }
}

fn decode(part: &str) -> Result<String, String> {
    percent_encoding::percent_decode_str(part)
        .decode_utf8()
        .map(std::borrow::Cow::into_owned)
        .map_err(|_| "a percent-encoded part of the URI is not UTF-8".to_owned())
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`.
fn split_port(hostport: &str) -> Result<(String, u16), String> {
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(|| "an IPv6 host lacks its `]`".to_owned())?;
        (host, after.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        }
    };
    let port = match port {
        None => 5672,
        Some(port) => port
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| "the port is not a number from 1 to 65535".to_owned())?,
    };
    Ok((host.to_owned(), port))
}

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct AmqpOptions {
    /// The broker.
    pub uri: AmqpUri,
    /// The exchange (Spring's `spring.cloud.bus.destination`, `springCloudBus`).
    pub destination: String,
    /// The connection's name in the broker's management UI: the replica's bus id.
    pub connection_name: String,
    /// How long one connection attempt may take.
    pub connect_timeout: Duration,
}

/// The AMQP [`Transport`]: a background task keeps one connection and one channel open,
/// reconnecting with backoff (100 ms doubling to 5 s) whenever the broker is unreachable.
pub struct AmqpTransport {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for AmqpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpTransport").field("connected", &self.is_connected()).finish_non_exhaustive()
    }
}

struct Shared {
    options: AmqpOptions,
    channel: RwLock<Option<Channel>>,
    connected: AtomicBool,
}

impl Shared {
    fn channel(&self) -> Option<Channel> {
        self.channel.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    fn set_channel(&self, channel: Option<Channel>) {
        self.connected.store(channel.is_some(), Ordering::Release);
        *self.channel.write().unwrap_or_else(std::sync::PoisonError::into_inner) = channel;
    }
}

impl AmqpTransport {
    /// Starts connecting in the background and returns the transport and what it reports. Call it
    /// within a tokio runtime.
    pub fn start(options: AmqpOptions) -> (Self, mpsc::Receiver<Incoming>) {
        let (tx, rx) = mpsc::channel(1024);
        let (stop, stopped) = watch::channel(false);
        let shared = Arc::new(Shared { options, channel: RwLock::new(None), connected: AtomicBool::new(false) });
        let task = tokio::spawn(supervise(Arc::clone(&shared), tx, stopped));
        (Self { shared, stop, task: std::sync::Mutex::new(Some(task)) }, rx)
    }
}

impl Transport for AmqpTransport {
    fn publish(&self, body: Vec<u8>) -> BoxFuture<'_, Result<(), BusError>> {
        Box::pin(async move {
            let destination = &self.shared.options.destination;
            if destination.len() > SHORT_STRING {
                return Err(BusError::Publish(format!("the destination has more than {SHORT_STRING} bytes")));
            }
            let channel = self.shared.channel().ok_or(BusError::NotConnected)?;
            let mut properties = BasicProperties::default();
            properties.with_content_type("application/json").with_delivery_mode(2);
            channel
                .basic_publish(properties, body, BasicPublishArguments::new(destination, destination))
                .await
                .map_err(|err| BusError::Publish(err.to_string()))
        })
    }

    fn is_connected(&self) -> bool {
        self.shared.connected.load(Ordering::Acquire)
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let _ = self.stop.send(true);
            let task = self.task.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
            if let Some(task) = task {
                let _ = task.await;
            }
        })
    }
}

/// Why a session ended.
enum Ended {
    /// Asked to stop.
    Stopped,
    /// The connection was lost.
    Lost(String),
}

/// Connects, serves the session until it ends, waits, and again, until asked to stop.
async fn supervise(shared: Arc<Shared>, tx: mpsc::Sender<Incoming>, mut stop: watch::Receiver<bool>) {
    let options = &shared.options;
    let mut wait = BACKOFF.0;
    let mut was_up = false;
    let mut reported_down = false;
    loop {
        let attempt = tokio::select! {
            attempt = tokio::time::timeout(options.connect_timeout, connect(options)) => attempt,
            _ = stop.changed() => return,
        };
        let failure = match attempt {
            Ok(Ok(mut session)) => {
                wait = BACKOFF.0;
                reported_down = false;
                shared.set_channel(Some(session.channel.clone()));
                tracing::info!(broker = %options.uri, exchange = %options.destination, "bus: connected");
                if tx.send(Incoming::Up { reconnected: was_up }).await.is_err() {
                    return;
                }
                was_up = true;
                let ended = session.serve(&tx, &mut stop).await;
                shared.set_channel(None);
                match ended {
                    Ended::Stopped => {
                        session.close().await;
                        return;
                    }
                    Ended::Lost(reason) => reason,
                }
            }
            Ok(Err(err)) => err,
            Err(_) => format!("no answer within {} ms", options.connect_timeout.as_millis()),
        };
        if !reported_down {
            tracing::warn!(broker = %options.uri, reason = %failure, "bus: broker unreachable; retrying with backoff");
            reported_down = true;
            if tx.send(Incoming::Down { reason: failure }).await.is_err() {
                return;
            }
        } else {
            tracing::debug!(broker = %options.uri, reason = %failure, "bus: still unreachable");
        }
        let jittered = wait + Duration::from_millis(u64::from(uuid::Uuid::new_v4().as_bytes()[0]) % 64);
        tokio::select! {
            () = tokio::time::sleep(jittered) => {}
            _ = stop.changed() => return,
        }
        wait = (wait * 2).min(BACKOFF.1);
    }
}

/// An open connection with its channel and consumer.
struct Session {
    connection: Connection,
    channel: Channel,
    deliveries: mpsc::UnboundedReceiver<amqprs::channel::ConsumerMessage>,
}

async fn connect(options: &AmqpOptions) -> Result<Session, String> {
    // amqprs panics on a name over an AMQP short string.
    if options.destination.is_empty() || options.destination.len() > SHORT_STRING {
        return Err(format!("the destination must have 1 to {SHORT_STRING} bytes"));
    }
    let uri = &options.uri;
    let mut arguments = OpenConnectionArguments::new(&uri.host, uri.port, &uri.username, &uri.password);
    let name: String = options.connection_name.chars().take(SHORT_STRING / 4).collect();
    arguments.virtual_host(&uri.vhost).connection_name(&name).heartbeat(HEARTBEAT_SECONDS);
    let connection = Connection::open(&arguments).await.map_err(|err| err.to_string())?;
    let declared = declare(&connection, &options.destination).await;
    match declared {
        Ok((channel, deliveries)) => Ok(Session { connection, channel, deliveries }),
        Err(err) => {
            let _ = connection.close().await;
            Err(err)
        }
    }
}

/// Declares the exchange exactly as Spring Cloud Stream does (a declaration with other arguments
/// than an existing exchange's would close the channel), and this replica's queue.
async fn declare(
    connection: &Connection,
    destination: &str,
) -> Result<(Channel, mpsc::UnboundedReceiver<amqprs::channel::ConsumerMessage>), String> {
    let channel = connection.open_channel(None).await.map_err(|err| err.to_string())?;
    let exchange = ExchangeDeclareArguments::new(destination, "topic").durable(true).auto_delete(false).finish();
    channel.exchange_declare(exchange).await.map_err(|err| format!("declaring exchange `{destination}`: {err}"))?;
    let name = format!("{destination}.vortex.{}", uuid::Uuid::new_v4().simple());
    let queue = QueueDeclareArguments::new(&name).exclusive(true).auto_delete(true).finish();
    let (queue, _, _) = channel
        .queue_declare(queue)
        .await
        .map_err(|err| format!("declaring the queue: {err}"))?
        .ok_or_else(|| "the broker did not confirm the queue".to_owned())?;
    channel.queue_bind(QueueBindArguments::new(&queue, destination, "#")).await.map_err(|err| err.to_string())?;
    let consume = BasicConsumeArguments::new(&queue, "").auto_ack(true).exclusive(true).finish();
    let (_, deliveries) = channel.basic_consume_rx(consume).await.map_err(|err| err.to_string())?;
    Ok((channel, deliveries))
}

impl Session {
    /// Forwards deliveries until the connection is lost or the transport is stopped.
    async fn serve(&mut self, tx: &mpsc::Sender<Incoming>, stop: &mut watch::Receiver<bool>) -> Ended {
        let connection = self.connection.clone();
        let lost = connection.listen_network_io_failure();
        tokio::pin!(lost);
        loop {
            tokio::select! {
                delivery = self.deliveries.recv() => match delivery {
                    Some(message) => {
                        let body = message.content.unwrap_or_default();
                        if tx.send(Incoming::Message(body)).await.is_err() {
                            return Ended::Stopped;
                        }
                    }
                    None => return Ended::Lost("the broker closed the channel".to_owned()),
                },
                _ = &mut lost => return Ended::Lost("the connection to the broker was lost".to_owned()),
                _ = stop.changed() => return Ended::Stopped,
            }
        }
    }

    async fn close(self) {
        let _ = self.channel.close().await;
        let _ = self.connection.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::AmqpUri;

    #[test]
    fn uris_are_read_with_springs_defaults() {
        let uri = AmqpUri::parse("amqp://user:p%40ss@rabbit.internal:5673/prod%2Fa").unwrap();
        assert_eq!((uri.host(), uri.port(), uri.vhost()), ("rabbit.internal", 5673, "prod/a"));
        assert_eq!(uri.password, "p@ss");
        let uri = AmqpUri::parse("amqp://127.0.0.1").unwrap();
        assert_eq!(
            (uri.username.as_str(), uri.password.as_str(), uri.port(), uri.vhost()),
            ("guest", "guest", 5672, "/")
        );
        assert_eq!(AmqpUri::parse("amqp://guest:guest@127.0.0.1:1/%2f").unwrap().vhost(), "/");
        assert_eq!(AmqpUri::parse("amqp://[::1]:5000/").unwrap().host(), "::1");
    }

    #[test]
    fn the_password_is_never_shown() {
        let uri = AmqpUri::parse("amqp://user:hunter2@h/v").unwrap();
        for shown in [uri.to_string(), format!("{uri:?}")] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("amqp://user:***@h:5672/v"), "{shown}");
        }
    }

    #[test]
    fn bad_uris_are_named_without_the_password() {
        for bad in [
            "http://h",
            "amqps://u:secret@h",
            "amqp://u:secret@h:99999",
            "amqp://u:secret/v",
            "amqp://u:secret@h:0",
            "amqp://u:secret@",
            "amqp://u:secret@h/v?heartbeat",
            "amqp://u:secret@[::1",
            "amqp://u:secret@h/%ff",
            "rabbit",
        ] {
            let err = AmqpUri::parse(bad).unwrap_err();
            assert!(!err.contains("secret"), "{bad}: {err}");
        }
        let long = format!("amqp://h/{}", "v".repeat(256));
        assert!(AmqpUri::parse(&long).is_err());
    }
}
