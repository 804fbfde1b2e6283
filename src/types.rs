//! The small vocabulary every layer shares: node ids, terms, log indexes and roles.

use serde::{Deserialize, Serialize};

/// Identifies a node. The nodes of a new cluster are `0..n`; nodes added later get fresh ids.
pub type NodeId = usize;

/// Addresses at and above this are clients. On the network they sit outside partitions
/// unless put in a group by address, and outside disconnects (the network's drops,
/// delays and duplicates still apply to them). In the trace, address
/// `CLIENT_ADDR_BASE + K` is client K.
pub const CLIENT_ADDR_BASE: NodeId = 1 << 32;

/// Whether an address belongs to a client rather than a node.
pub fn is_client(addr: NodeId) -> bool {
    addr >= CLIENT_ADDR_BASE
}

/// A Raft term (§5.1): a logical clock that only moves forward. 0 means "no term yet".
pub type Term = u64;

/// A log index. Indexes start at 1; 0 means "none" (the empty prefix before the first entry).
pub type Index = u64;

/// The role a node plays in its current term (§5.1, Figure 4; PreCandidate from the
/// dissertation's §9.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Passive: answers leaders and candidates, times out if it hears from neither.
    Follower,
    /// Trying to become leader: has incremented its term and asked for votes.
    Candidate,
    /// Handles every proposal and replicates the log to the others.
    Leader,
    /// PreVote (§9.6): asking whether it *could* win before disturbing anyone's term.
    PreCandidate,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            Role::Follower => "Follower",
            Role::Candidate => "Candidate",
            Role::Leader => "Leader",
            Role::PreCandidate => "PreCandidate",
        };
        f.pad(s)
    }
}
