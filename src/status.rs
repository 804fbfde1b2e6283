//! A point-in-time view of one node, published by the node after every step.

use crate::types::{Index, NodeId, Role, Term};

/// A point-in-time view of one node, readable at any moment without blocking the node.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// The node.
    pub id: NodeId,
    /// False while crashed (then the persisted term, vote and log are shown).
    pub alive: bool,
    /// Its role (Follower while crashed).
    pub role: Role,
    /// Its current term.
    pub term: Term,
    /// Who it voted for in `term`.
    pub voted_for: Option<NodeId>,
    /// The leader this node knows of in its current term.
    pub leader: Option<NodeId>,
    /// The highest index it knows to be committed.
    pub commit_index: Index,
    /// The highest index applied to its state machine. Moves past internal entries too:
    /// after a no-op at the log's end commits, `last_applied == commit_index`.
    pub last_applied: Index,
    /// Last index covered by the snapshot, 0 if none.
    pub snapshot_index: Index,
    /// The log holds entries `snapshot_index + 1 ..= last_log_index`.
    pub last_log_index: Index,
    /// The term of the last log entry.
    pub last_log_term: Term,
    /// The voters of the configuration this node currently uses.
    pub members: Vec<NodeId>,
    /// The learners (non-voting members) of that configuration.
    pub learners: Vec<NodeId>,
}

impl Status {
    /// The status of a node nobody knows: not alive, all zero.
    pub fn unknown(id: NodeId) -> Self {
        Status {
            id,
            alive: false,
            role: Role::Follower,
            term: 0,
            voted_for: None,
            leader: None,
            commit_index: 0,
            last_applied: 0,
            snapshot_index: 0,
            last_log_index: 0,
            last_log_term: 0,
            members: Vec::new(),
            learners: Vec::new(),
        }
    }

    /// Whether this node is a live leader that a majority of its voters follow (alive,
    /// in its term, naming it as leader), judged from every node's status `all`.
    pub fn followed_by_majority(&self, all: &[Status]) -> bool {
        if !self.alive || self.role != Role::Leader {
            return false;
        }
        let following = self
            .members
            .iter()
            .filter(|&&m| {
                all.iter().any(|s| {
                    s.id == m
                        && s.alive
                        && s.term == self.term
                        && (s.id == self.id || s.leader == Some(self.id))
                })
            })
            .count();
        following * 2 > self.members.len()
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "n{} {:<12} t{:<3} leader {:<4} vote {:<4} log {}..={} (last term {}) commit {} applied {}",
            self.id,
            if self.alive { self.role.to_string() } else { "CRASHED".into() },
            self.term,
            self.leader.map_or("-".into(), |l| format!("n{l}")),
            self.voted_for.map_or("-".into(), |v| format!("n{v}")),
            self.snapshot_index + 1,
            self.last_log_index,
            self.last_log_term,
            self.commit_index,
            self.last_applied,
        )
    }
}
