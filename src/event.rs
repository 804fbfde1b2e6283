//! Structured events: what each node, the router and the harness did, and why.
//!
//! A node's Raft core says what it did in its own vocabulary, [`raft::Event`]; the
//! runtime wraps each one, with the time, the node and the role and term the node had
//! when it acted, into an [`Event`] whose [`EventKind`] also covers the node runtime
//! (`Applied`), the router (`Message`), the harness (crashes, partitions) and the safety
//! checker (`Violation`). The runtime logs every event (so the `log` lines and the trace
//! tell the same story) and appends it to the trace. Words are made here, at the edge
//! (`Display`, in `words`), never in the core.
//!
//! The JSON form of an event (the trace, `Event::to_json`) is one flat object per line
//! with no repeated key, and reads back into an equal `Event`; docs/trace.md lists every
//! field and kind.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::raft;
use crate::types::{Index, NodeId, Role, Term};

mod words;

/// One thing that happened, stamped with when, where, and the role and term of the node
/// that acted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "Line", from = "Line")]
pub struct Event {
    /// Time since the cluster started, in microseconds.
    pub at_us: u64,
    /// The node it happened on; `None` for the router and the harness's network events.
    pub node: Option<NodeId>,
    /// The node's term when it acted (0 for the router and the harness's network
    /// events).
    pub term: Term,
    /// The node's role when it acted: for a core event, the role it had as the core
    /// emitted it (a pre-candidate counting a pre-vote is a `PreCandidate`, even if the
    /// same step makes it a candidate). `None` for the router, the harness's network
    /// events and crashed nodes.
    pub role: Option<Role>,
    /// What happened.
    pub kind: EventKind,
}

/// An [`Event`] as one JSON object: the node's fields only when there is a node, then
/// the kind's fields beside its `event` tag.
#[derive(Serialize, Deserialize)]
struct Line {
    at_us: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    node: Option<NodeId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    term: Option<Term>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<Role>,
    #[serde(flatten)]
    kind: EventKind,
}

impl From<Event> for Line {
    fn from(e: Event) -> Self {
        Line {
            at_us: e.at_us,
            node: e.node,
            term: e.node.map(|_| e.term),
            role: e.role,
            kind: e.kind,
        }
    }
}

impl From<Line> for Event {
    fn from(l: Line) -> Self {
        Event {
            at_us: l.at_us,
            node: l.node,
            term: l.term.unwrap_or(0),
            role: l.role,
            kind: l.kind,
        }
    }
}

impl Event {
    /// The time since the cluster started.
    pub fn at(&self) -> Duration {
        Duration::from_micros(self.at_us)
    }

    /// One line of JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("events always serialize")
    }

    /// Reads back one line of JSON written by [`Event::to_json`].
    pub fn from_json(line: &str) -> Result<Event, serde_json::Error> {
        serde_json::from_str(line)
    }

    /// The core's event, if this is one.
    pub fn raft(&self) -> Option<&raft::Event> {
        match &self.kind {
            EventKind::Raft(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.at_us as f64 / 1000.0;
        // The role column fits the widest role, PreCandidate.
        match (self.node, self.role) {
            (Some(n), Some(r)) => {
                write!(f, "{ms:>9.3}ms n{n} t{} {r:<12} {}", self.term, self.kind)
            }
            (Some(n), None) => write!(
                f,
                "{ms:>9.3}ms n{n} t{} (down)       {}",
                self.term, self.kind
            ),
            (None, _) => write!(f, "{ms:>9.3}ms {:<25} {}", "router", self.kind),
        }
    }
}

/// The router's fate for one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fate {
    /// Handed to the receiver's inbox.
    Delivered,
    /// Lost by the lossy network (`drop_rate`).
    Dropped,
    /// Will be delivered later (delay or long reordering).
    Delayed {
        /// The delay, in microseconds.
        delay_us: u64,
    },
    /// Will be delivered twice (`duplicate_rate`).
    Duplicated,
    /// Not delivered: the sender and receiver are in different partition groups.
    BlockedByPartition,
    /// Not delivered: the sender or receiver is disconnected.
    BlockedDisconnected,
    /// Not delivered: the receiver (or the sender) is crashed.
    BlockedCrashed,
}

/// What happened: an event of a node's Raft core, of the node's runtime, of the router,
/// of the harness or of the safety checker.
///
/// In JSON the variant is the `event` key and its fields sit beside it on the same
/// object; a core event appears under its own name (`"event":"VoteGranted"`), exactly as
/// [`raft::Event`] writes it. The schema is in docs/trace.md.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event")]
pub enum EventKind {
    /// The node applied entries to its state machine.
    Applied {
        /// The first index applied.
        #[serde(rename = "first_index")]
        from: Index,
        /// The last index applied.
        #[serde(rename = "last_index")]
        to: Index,
    },
    /// The harness crashed the node.
    Crashed,
    /// The harness restarted the node from its persisted state.
    Restarted {
        /// The persisted log's last index.
        last_log_index: Index,
    },
    /// The harness cut every link of a node.
    Disconnected {
        /// The node.
        #[serde(rename = "link_node")]
        node: NodeId,
    },
    /// The harness restored the links of a node.
    Connected {
        /// The node.
        #[serde(rename = "link_node")]
        node: NodeId,
    },
    /// The harness partitioned the network.
    Partitioned {
        /// The groups; only nodes in the same group can talk.
        groups: Vec<Vec<NodeId>>,
    },
    /// The harness removed every partition and reconnected every node.
    Healed,
    /// The harness changed the network's fault settings.
    NetChanged {
        /// The new settings, in words.
        net: String,
    },
    /// The router's fate for one message.
    Message {
        /// The sender: a node, or a client (an address from `types::CLIENT_ADDR_BASE` on).
        #[serde(with = "addr")]
        from: NodeId,
        /// The receiver: a node or a client.
        #[serde(with = "addr")]
        to: NodeId,
        /// The message type.
        #[serde(rename = "message", deserialize_with = "message_kind")]
        kind: raft::event::MessageName,
        /// The sender's term in the message.
        msg_term: Term,
        /// Entries carried.
        entries: usize,
        /// What the router did with it.
        fate: Fate,
    },
    /// A safety property was violated (see `Cluster::violations`).
    Violation {
        /// Which property and how.
        description: String,
    },
    /// What a node's Raft core did (its own vocabulary, [`raft::Event`]).
    #[serde(untagged)]
    Raft(raft::Event),
}

impl From<raft::Event> for EventKind {
    fn from(e: raft::Event) -> Self {
        EventKind::Raft(e)
    }
}

/// Every message type the network carries: Raft's, the clients' and the echo router's.
const MESSAGE_KINDS: [&str; 6] = [
    "ClientRequest",
    "ClientReply",
    "Request",
    "Batch",
    "Ack",
    "Reply",
];

/// Reads a message type back as the `&'static str` the runtime names it with.
fn message_kind<'de, De: serde::Deserializer<'de>>(
    d: De,
) -> Result<raft::event::MessageName, De::Error> {
    let name = String::deserialize(d)?;
    raft::event::MESSAGE_KINDS
        .iter()
        .chain(MESSAGE_KINDS.iter())
        .find(|k| **k == name)
        .copied()
        .ok_or_else(|| serde::de::Error::unknown_variant(&name, &MESSAGE_KINDS))
}

/// A network address in JSON: `{"node":N}` for a node, `{"client":K}` for the client
/// at `types::CLIENT_ADDR_BASE + K`.
mod addr {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::types::NodeId;
    use crate::types::{is_client, CLIENT_ADDR_BASE};

    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Addr {
        Node(NodeId),
        Client(NodeId),
    }

    pub(super) fn serialize<S: Serializer>(a: &NodeId, s: S) -> Result<S::Ok, S::Error> {
        if is_client(*a) {
            Addr::Client(a - CLIENT_ADDR_BASE).serialize(s)
        } else {
            Addr::Node(*a).serialize(s)
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NodeId, D::Error> {
        Ok(match Addr::deserialize(d)? {
            Addr::Node(n) => n,
            Addr::Client(c) => CLIENT_ADDR_BASE + c,
        })
    }
}
