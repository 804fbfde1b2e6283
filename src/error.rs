//! Errors: expected failures are values, never panics.

use crate::types::NodeId;

/// The answer to a proposal sent to a node that is not the leader.
///
/// `leader` is a redirect hint: the leader this node knows of in its current term,
/// `None` while it knows none (or the node is crashed or unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotLeader {
    /// The leader the node believes in, if any.
    pub leader: Option<NodeId>,
}

impl std::fmt::Display for NotLeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.leader {
            Some(l) => write!(f, "not the leader; try node {l}"),
            None => write!(f, "not the leader; no leader known"),
        }
    }
}

impl std::error::Error for NotLeader {}

/// The crate's error type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The operation did not finish in time; its outcome is unknown.
    Timeout,
    /// A `Config` or `NetConfig` that cannot work; the text says which field and why.
    InvalidConfig(String),
    /// No node with this id was ever started (or it was removed).
    UnknownNode(NodeId),
    /// The node is crashed.
    NodeCrashed(NodeId),
    /// The node asked is not the leader.
    NotLeader(NotLeader),
    /// The request cannot be carried out in the cluster's current state
    /// (e.g. removing the last member); the text says why.
    Rejected(String),
    /// The request needs what this cluster does not have (e.g. holding messages needs
    /// the simulated runtime); the text says what.
    Unsupported(String),
    /// The key/value client's session expired (dissertation §6.3): the cluster keeps
    /// only the most recently active `Config::max_client_sessions` sessions, and with
    /// this one it forgot which of the client's writes it had applied. The write was
    /// not applied again; whether an earlier attempt of it was is unknown. Read back
    /// what it should have changed, then call `kv::Client::register` to go on.
    SessionExpired,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Timeout => write!(f, "timed out; the outcome is unknown"),
            Error::InvalidConfig(why) => write!(f, "invalid configuration: {why}"),
            Error::UnknownNode(id) => write!(f, "unknown node {id}"),
            Error::NodeCrashed(id) => write!(f, "node {id} is crashed"),
            Error::NotLeader(nl) => write!(f, "{nl}"),
            Error::Rejected(why) => write!(f, "rejected: {why}"),
            Error::Unsupported(what) => write!(f, "unsupported: {what}"),
            Error::SessionExpired => write!(
                f,
                "client session expired (the cluster keeps only the most recently active \
                 sessions, Config::max_client_sessions): the write was not applied again, \
                 and whether an earlier attempt of it was is unknown; read back what it \
                 should have changed, then call register() for a new session"
            ),
        }
    }
}

impl std::error::Error for Error {}

impl From<NotLeader> for Error {
    fn from(nl: NotLeader) -> Self {
        Error::NotLeader(nl)
    }
}
