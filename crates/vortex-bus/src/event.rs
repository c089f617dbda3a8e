//! The messages on the bus, as JSON.
//!
//! Spring Cloud Bus's events are Jackson documents whose `type` is the event's simple class name;
//! every event carries `timestamp` (epoch milliseconds), `originService` (the sender's bus id),
//! `destinationService` (an Ant-style pattern over bus ids, `:` separated) and `id` (a UUID). A
//! Spring client acts on [`RefreshRemoteApplicationEvent`](Event::Refresh) and answers with an
//! [`AckRemoteApplicationEvent`](Event::Ack). It turns a `type` it does not know into an event for
//! nobody and sends no acknowledgement, so the replicas' own events ([`Event::Change`],
//! [`Event::Confirm`], [`Event::Presence`]) travel on the same exchange without a Spring client
//! acting on them.
//!
//! Events never carry configuration: a change event says "fetch now", and what a replica serves
//! always comes from its repository.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The largest message read: a bus message is a few hundred bytes; anything bigger is not ours.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// The Java class Spring names in an acknowledgement's `event` field.
pub const REFRESH_EVENT_CLASS: &str = "org.springframework.cloud.bus.event.RefreshRemoteApplicationEvent";

/// The fields every event has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// When the event was made, in milliseconds since the Unix epoch.
    #[serde(default)]
    pub timestamp: u64,
    /// The sender's bus id.
    pub origin_service: String,
    /// Who the event is for: a pattern over bus ids (`orders:**`), `**` for everyone.
    #[serde(default)]
    pub destination_service: String,
    /// The event's own id, a UUID; Spring tolerates its absence, and so do we.
    #[serde(default)]
    pub id: String,
}

impl Envelope {
    /// A new envelope from `origin` to `destination`, with a fresh id and the current time.
    pub fn new(origin: &str, destination: &str) -> Self {
        Self {
            timestamp: now_millis(),
            origin_service: origin.to_owned(),
            destination_service: destination.to_owned(),
            id: uuid::Uuid::new_v4().to_string(),
        }
    }
}

/// A Spring client's acknowledgement of an event it acted on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ack {
    /// The acknowledgement's own fields.
    #[serde(flatten)]
    pub envelope: Envelope,
    /// The `id` of the event acknowledged.
    #[serde(default)]
    pub ack_id: String,
    /// The destination of the event acknowledged.
    #[serde(default)]
    pub ack_destination_service: String,
    /// The Java class of the event acknowledged.
    #[serde(default)]
    pub event: String,
}

/// A replica's news that it serves new content: peers fetch now, then [confirm](Confirm).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// The change's own fields; the destination is `**`.
    #[serde(flatten)]
    pub envelope: Envelope,
    /// The labels that moved, when the origin knows them (empty: fetch everything).
    #[serde(default)]
    pub labels: Vec<String>,
    /// The commit each moved label is at now, `null` for a deleted label: what the origin serves.
    #[serde(default)]
    pub versions: BTreeMap<String, Option<String>>,
    /// The applications concerned, when only some are (a repository per application, the names
    /// of a webhook).
    #[serde(default)]
    pub applications: Option<Vec<String>>,
    /// Whether anything of the applications concerned may have changed, whatever the label.
    #[serde(default)]
    pub everything: bool,
}

impl Change {
    /// What the change says changed, as a backend would report it.
    pub fn source_change(&self) -> vortex_core::SourceChange {
        let change = if self.everything {
            vortex_core::SourceChange::everything()
        } else {
            vortex_core::SourceChange::of_labels(self.labels.clone())
        };
        let change = change.with_versions(self.versions.iter().map(|(l, v)| (l.clone(), v.clone())).collect());
        match &self.applications {
            Some(names) => change.for_applications(names.clone()),
            None => change,
        }
    }
}

/// A peer's answer to a [`Change`]: it fetched after the change was announced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Confirm {
    /// The confirmation's own fields; the destination is the change's origin.
    #[serde(flatten)]
    pub envelope: Envelope,
    /// The `id` of the change confirmed.
    pub ack_id: String,
    /// Whether the fetch succeeded: `false` means the peer still serves what it had.
    pub fetched: bool,
}

/// What a [`Presence`] event says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PresenceState {
    /// A replica joined (or reconnected): peers answer with [`PresenceState::Alive`] at once.
    Hello,
    /// A replica is here (sent periodically, and in answer to a hello).
    Alive,
    /// A replica is stopping: peers stop waiting for it.
    Goodbye,
}

/// A replica saying it is on the bus, so that origins know which peers to wait for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Presence {
    /// The event's own fields; the destination is `**`.
    #[serde(flatten)]
    pub envelope: Envelope,
    /// Joined, here, or leaving.
    pub state: PresenceState,
}

/// Every message this crate reads or writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Event {
    /// Spring's `RefreshRemoteApplicationEvent`: the destination's services reload their configuration.
    #[serde(rename = "RefreshRemoteApplicationEvent")]
    Refresh(Envelope),
    /// Spring's `AckRemoteApplicationEvent`.
    #[serde(rename = "AckRemoteApplicationEvent")]
    Ack(Ack),
    /// A replica serves new content.
    #[serde(rename = "VortexChangeEvent")]
    Change(Change),
    /// A peer fetched after a change.
    #[serde(rename = "VortexConfirmEvent")]
    Confirm(Confirm),
    /// A replica's presence.
    #[serde(rename = "VortexPresenceEvent")]
    Presence(Presence),
    /// Any other `type` (Spring's other events, custom events): read, counted, ignored.
    #[serde(other)]
    Foreign,
}

/// Why a message was not acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ignored {
    /// Over [`MAX_MESSAGE_BYTES`].
    Oversized,
    /// Not JSON, or not an event (no `type`, a field of the wrong type, no `originService`).
    Malformed,
    /// An event type this crate does not act on.
    Foreign,
    /// Sent by this replica.
    Own,
    /// For another replica, or about an event this replica does not know.
    NotForUs,
}

impl Ignored {
    /// The metric label of the reason.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Oversized => "oversized",
            Self::Malformed => "malformed",
            Self::Foreign => "foreign",
            Self::Own => "own",
            Self::NotForUs => "not_for_us",
        }
    }
}

impl Event {
    /// Reads a message body.
    ///
    /// # Errors
    /// [`Ignored::Oversized`] or [`Ignored::Malformed`].
    pub fn decode(body: &[u8]) -> Result<Self, Ignored> {
        if body.len() > MAX_MESSAGE_BYTES {
            return Err(Ignored::Oversized);
        }
        serde_json::from_slice(body).map_err(|_| Ignored::Malformed)
    }

    /// The JSON body of the message.
    pub fn encode(&self) -> Vec<u8> {
        // Serializing these types cannot fail: string keys, no non-finite floats.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The envelope, for every event but a foreign one.
    pub fn envelope(&self) -> Option<&Envelope> {
        match self {
            Self::Refresh(envelope) => Some(envelope),
            Self::Ack(ack) => Some(&ack.envelope),
            Self::Change(change) => Some(&change.envelope),
            Self::Confirm(confirm) => Some(&confirm.envelope),
            Self::Presence(presence) => Some(&presence.envelope),
            Self::Foreign => None,
        }
    }

    /// The metric label of the event's type.
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::Refresh(_) => "refresh",
            Self::Ack(_) => "ack",
            Self::Change(_) => "change",
            Self::Confirm(_) => "confirm",
            Self::Presence(_) => "presence",
            Self::Foreign => "foreign",
        }
    }
}

/// Milliseconds since the Unix epoch (0 for a clock before it).
pub(crate) fn now_millis() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refresh_is_springs_json() {
        let event = Event::Refresh(Envelope {
            timestamp: 1_553_496_711_901,
            origin_service: "vortex:a:8080:1f".to_owned(),
            destination_service: "orders:**".to_owned(),
            id: "5571a1db-ef1d-4791-ad42-ad36d60b43df".to_owned(),
        });
        let json: serde_json::Value = serde_json::from_slice(&event.encode()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "RefreshRemoteApplicationEvent", "timestamp": 1_553_496_711_901_u64,
                "originService": "vortex:a:8080:1f", "destinationService": "orders:**",
                "id": "5571a1db-ef1d-4791-ad42-ad36d60b43df"})
        );
        assert_eq!(Event::decode(&event.encode()), Ok(event));
    }

    #[test]
    fn a_spring_ack_is_read() {
        let body = br#"{"type":"AckRemoteApplicationEvent","timestamp":1553496711904,
            "originService":"application:0:48fc","destinationService":"**",
            "id":"cbdda733-8dbd-403a-a8e3-f76016e0d19b","ackId":"5571a1db-ef1d-4791-ad42-ad36d60b43df",
            "ackDestinationService":"**","event":"org.springframework.cloud.bus.event.RefreshRemoteApplicationEvent"}"#;
        let Ok(Event::Ack(ack)) = Event::decode(body) else { panic!("not an ack") };
        assert_eq!(ack.ack_id, "5571a1db-ef1d-4791-ad42-ad36d60b43df");
        assert_eq!(ack.envelope.origin_service, "application:0:48fc");
        assert_eq!(ack.event, REFRESH_EVENT_CLASS);
    }

    #[test]
    fn other_types_are_foreign_and_junk_is_malformed() {
        let env = br#"{"type":"EnvironmentChangeRemoteApplicationEvent","timestamp":1,"originService":"a:1:x",
            "destinationService":"**","id":"f","values":{"key1":"value1"}}"#;
        assert_eq!(Event::decode(env), Ok(Event::Foreign));
        for junk in [&b"not json"[..], b"{}", b"[]", b"{\"type\":\"AckRemoteApplicationEvent\"}", b"\xff\xfe", b"null"]
        {
            assert_eq!(Event::decode(junk), Err(Ignored::Malformed), "{}", String::from_utf8_lossy(junk));
        }
        let big = vec![b' '; MAX_MESSAGE_BYTES + 1];
        assert_eq!(Event::decode(&big), Err(Ignored::Oversized));
        let wrong_type = br#"{"type":"RefreshRemoteApplicationEvent","originService":7}"#;
        assert_eq!(Event::decode(wrong_type), Err(Ignored::Malformed));
    }

    #[test]
    fn a_missing_id_is_tolerated_as_spring_does() {
        let body = br#"{"type":"RefreshRemoteApplicationEvent","timestamp":5,"originService":"a:1:x","destinationService":"**"}"#;
        let Ok(Event::Refresh(envelope)) = Event::decode(body) else { panic!("not read") };
        assert_eq!(envelope.id, "");
    }

    #[test]
    fn envelopes_get_fresh_ids() {
        let (a, b) = (Envelope::new("o", "**"), Envelope::new("o", "**"));
        assert_ne!(a.id, b.id);
        assert_eq!(uuid::Uuid::parse_str(&a.id).map(|u| u.get_version_num()), Ok(4));
        assert!(a.timestamp > 1_700_000_000_000);
    }
}
