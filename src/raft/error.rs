//! The core's errors: what a request to the core can fail with, as data. The crate's
//! `Error` converts from these at the edge (`crate::error`).

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

/// Why the core refused a membership change ([`Raft::propose_config`](super::Raft::propose_config)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReconfigError {
    /// Only the leader changes the configuration.
    NotLeader(NotLeader),
    /// The leader has not yet committed an entry of its own term (the dissertation's
    /// errata for single-server changes).
    TermNotCommitted,
    /// Another membership change is not yet committed (§4.1: one at a time).
    ChangePending,
    /// The node to add is already a member.
    AlreadyMember(NodeId),
    /// The node to promote is not a learner.
    NotLearner(NodeId),
    /// The node to remove is the last voter.
    LastVoter(NodeId),
    /// The node to remove is not a member.
    NotMember(NodeId),
}

impl From<NotLeader> for ReconfigError {
    fn from(nl: NotLeader) -> Self {
        ReconfigError::NotLeader(nl)
    }
}
