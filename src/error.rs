//! Errors: expected failures are values, never panics.

use crate::raft::ReconfigError;
use crate::types::NodeId;

pub use crate::raft::NotLeader;

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

/// The core's refusal of a membership change, in the crate's terms.
impl From<ReconfigError> for Error {
    fn from(e: ReconfigError) -> Self {
        let why = match e {
            ReconfigError::NotLeader(nl) => return Error::NotLeader(nl),
            ReconfigError::TermNotCommitted => {
                "the leader has not yet committed an entry of its term (dissertation errata)"
                    .to_string()
            }
            ReconfigError::ChangePending => {
                "another membership change is not yet committed".to_string()
            }
            ReconfigError::AlreadyMember(id) => format!("n{id} is already a member"),
            ReconfigError::NotLearner(id) => format!("n{id} is not a learner"),
            ReconfigError::LastVoter(id) => {
                format!("n{id} is the last voter; a cluster cannot remove its last member")
            }
            ReconfigError::NotMember(id) => format!("n{id} is not a member"),
        };
        Error::Rejected(why)
    }
}
