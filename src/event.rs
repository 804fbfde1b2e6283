//! Structured events: what each node, the router and the harness did, and why.
//!
//! The Raft core produces [`EventKind`]s as part of its output; the runtime stamps them
//! with the time, node and term into [`Event`]s, logs them (so the `log` lines and the
//! trace tell the same story) and appends them to the trace.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::types::{Index, NodeId, Role, Term};

/// One thing that happened, stamped with when, where and in which term.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Time since the cluster started, in microseconds.
    pub at_us: u64,
    /// The node it happened on; `None` for the router and the harness.
    pub node: Option<NodeId>,
    /// The node's term after the event (0 for the router and the harness).
    pub term: Term,
    /// The node's role after the event (`None` for the router, the harness and crashed
    /// nodes).
    pub role: Option<Role>,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
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
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.at_us as f64 / 1000.0;
        match (self.node, self.role) {
            (Some(n), Some(r)) => write!(f, "{ms:>9.3}ms n{n} t{} {r:<9} {}", self.term, self.kind),
            (Some(n), None) => write!(f, "{ms:>9.3}ms n{n} t{} (down)    {}", self.term, self.kind),
            (None, _) => write!(f, "{ms:>9.3}ms {:<22} {}", "router", self.kind),
        }
    }
}

/// Why a vote (or pre-vote) was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "why")]
pub enum VoteRefusal {
    /// The candidate's term is below the voter's (§5.1).
    StaleTerm {
        /// The voter's term.
        current_term: Term,
    },
    /// The voter already voted for someone else in this term (§5.2).
    AlreadyVoted {
        /// Who got the vote.
        voted_for: NodeId,
    },
    /// The candidate's log is less up to date than the voter's (§5.4.1).
    LogBehind {
        /// The candidate's last log term.
        candidate_last_term: Term,
        /// The candidate's last log index.
        candidate_last_index: Index,
        /// The voter's last log term.
        own_last_term: Term,
        /// The voter's last log index.
        own_last_index: Index,
    },
    /// The voter heard from a live leader within the minimum election timeout, so the
    /// candidate is probably disruptive (§4.2.3, §9.6).
    LeaderAlive {
        /// The leader the voter heard from.
        leader: NodeId,
    },
    /// The voter leads this term itself.
    IsLeader,
}

impl fmt::Display for VoteRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VoteRefusal::StaleTerm { current_term } => {
                write!(f, "its term is stale (mine is {current_term})")
            }
            VoteRefusal::AlreadyVoted { voted_for } => {
                write!(f, "already voted for n{voted_for} in this term")
            }
            VoteRefusal::LogBehind {
                candidate_last_term,
                candidate_last_index,
                own_last_term,
                own_last_index,
            } => write!(
                f,
                "its log is behind mine (its last entry t{candidate_last_term}@{candidate_last_index}, \
                 mine t{own_last_term}@{own_last_index}; §5.4.1)"
            ),
            VoteRefusal::LeaderAlive { leader } => {
                write!(f, "I heard from leader n{leader} less than an election timeout ago")
            }
            VoteRefusal::IsLeader => write!(f, "I am the leader of this term"),
        }
    }
}

/// The router's fate for one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event")]
pub enum EventKind {
    /// The node's election timer fired and it starts an election (or a pre-vote).
    ElectionStarted {
        /// The term it campaigns in.
        term: Term,
        /// A PreVote round (the term is not yet incremented).
        pre_vote: bool,
        /// Why: which leader it stopped hearing from, a split vote, a transfer.
        reason: String,
    },
    /// The node granted its vote.
    VoteGranted {
        /// The candidate.
        candidate: NodeId,
        /// The election's term.
        term: Term,
        /// A pre-vote.
        pre_vote: bool,
    },
    /// The node refused its vote, and why.
    VoteRefused {
        /// The candidate.
        candidate: NodeId,
        /// The term the candidate asked in.
        term: Term,
        /// A pre-vote.
        pre_vote: bool,
        /// Why.
        reason: VoteRefusal,
    },
    /// A candidate counted a reply.
    VoteReceived {
        /// The voter.
        from: NodeId,
        /// Granted or not.
        granted: bool,
        /// A pre-vote.
        pre_vote: bool,
    },
    /// The node's role changed.
    RoleChanged {
        /// The old role.
        from: Role,
        /// The new role.
        to: Role,
        /// The node's term right after the change: for `to: Leader`, the term it won.
        /// The runtime stamps a step's events with the term at the end of the step,
        /// which differs when a leader steps down to a higher term within the same step.
        term: Term,
        /// Why, in words.
        reason: String,
    },
    /// The node adopted a higher term it saw in a message (§5.1).
    TermChanged {
        /// The old term.
        from: Term,
        /// The new term.
        to: Term,
        /// The node whose message carried it.
        seen_from: NodeId,
    },
    /// The leader accepted a client command at this index.
    Proposed {
        /// Where the command sits in the log.
        index: Index,
    },
    /// A follower stored entries from the leader (or confirmed it already had them).
    AppendAccepted {
        /// The leader.
        leader: NodeId,
        /// The request's prev_log_index.
        prev_log_index: Index,
        /// How many entries it carried.
        entries: usize,
        /// The last index now known to match the leader's log.
        match_index: Index,
    },
    /// A follower rejected AppendEntries.
    AppendRejected {
        /// The leader (or would-be leader).
        leader: NodeId,
        /// The request's prev_log_index.
        prev_log_index: Index,
        /// Why, with the hint sent back.
        reason: String,
    },
    /// The leader moved a follower's next_index back after a rejection.
    NextIndexBackedUp {
        /// The follower.
        follower: NodeId,
        /// The rejected prev_log_index.
        rejected: Index,
        /// The new next_index.
        next_index: Index,
    },
    /// A follower deleted conflicting entries (§5.3, AppendEntries rule 3).
    Truncated {
        /// The first index removed.
        from: Index,
        /// The last index removed.
        to: Index,
        /// The terms of the removed entries, oldest first, deduplicated.
        terms: Vec<Term>,
        /// The leader whose entries replace them.
        leader: NodeId,
    },
    /// The node's commit index advanced.
    Committed {
        /// The old commit index.
        from: Index,
        /// The new commit index.
        to: Index,
    },
    /// The node applied entries to its state machine.
    Applied {
        /// The first index applied.
        from: Index,
        /// The last index applied.
        to: Index,
    },
    /// The node compacted its log into a snapshot.
    SnapshotTaken {
        /// The last index covered.
        last_index: Index,
        /// Its term.
        last_term: Term,
    },
    /// The node installed a snapshot from the leader.
    SnapshotInstalled {
        /// The leader.
        leader: NodeId,
        /// The last index covered.
        last_index: Index,
        /// Its term.
        last_term: Term,
    },
    /// The leader sent a snapshot to a follower whose next entry was compacted.
    SnapshotSent {
        /// The follower.
        to: NodeId,
        /// The last index covered.
        last_index: Index,
    },
    /// The node's configuration changed (an entry reached its log or was truncated).
    MembershipChanged {
        /// The voters.
        voters: Vec<NodeId>,
        /// The learners.
        learners: Vec<NodeId>,
    },
    /// The leader started handing leadership to another node (§3.10).
    TransferStarted {
        /// The target.
        to: NodeId,
    },
    /// A leadership transfer ended without the target winning.
    TransferAborted {
        /// The target.
        to: NodeId,
        /// Why.
        reason: String,
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
        node: NodeId,
    },
    /// The harness restored the links of a node.
    Connected {
        /// The node.
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
        /// The sender.
        from: NodeId,
        /// The receiver.
        to: NodeId,
        /// The message type.
        kind: &'static str,
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
}

impl EventKind {
    /// The log level a human wants this at: `info` tells the story, `debug` the details.
    pub fn level(&self) -> log::Level {
        use EventKind::*;
        match self {
            AppendAccepted { .. } | Message { .. } | Proposed { .. } | Applied { .. } => {
                log::Level::Debug
            }
            VoteReceived { .. } | NextIndexBackedUp { .. } => log::Level::Debug,
            // ElectionStarted already tells this story at info.
            RoleChanged {
                to: Role::Candidate | Role::PreCandidate,
                ..
            } => log::Level::Debug,
            Violation { .. } => log::Level::Error,
            _ => log::Level::Info,
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use EventKind::*;
        let pv = |p: bool| if p { "pre-vote" } else { "vote" };
        match self {
            ElectionStarted {
                term,
                pre_vote,
                reason,
            } => {
                if *pre_vote {
                    write!(f, "starts a pre-vote for term {term}: {reason}")
                } else {
                    write!(f, "starts an election for term {term}: {reason}")
                }
            }
            VoteGranted {
                candidate,
                term,
                pre_vote,
            } => write!(f, "grants its {} to n{candidate} for term {term}", pv(*pre_vote)),
            VoteRefused {
                candidate,
                term,
                pre_vote,
                reason,
            } => write!(
                f,
                "refuses its {} to n{candidate} for term {term}: {reason}",
                pv(*pre_vote)
            ),
            VoteReceived {
                from,
                granted,
                pre_vote,
            } => write!(
                f,
                "{} {} from n{from}",
                if *granted { "got" } else { "was refused" },
                pv(*pre_vote)
            ),
            RoleChanged {
                from, to, reason, ..
            } => write!(f, "{from} -> {to}: {reason}"),
            TermChanged {
                from,
                to,
                seen_from,
            } => write!(f, "term {from} -> {to}: seen in a message from n{seen_from}"),
            Proposed { index } => write!(f, "accepted a client command at index {index}"),
            AppendAccepted {
                leader,
                prev_log_index,
                entries,
                match_index,
            } => write!(
                f,
                "accepted AppendEntries from n{leader} (prev {prev_log_index}, {entries} entries); matches up to {match_index}"
            ),
            AppendRejected {
                leader,
                prev_log_index,
                reason,
            } => write!(
                f,
                "rejected AppendEntries from n{leader} at prev {prev_log_index}: {reason}"
            ),
            NextIndexBackedUp {
                follower,
                rejected,
                next_index,
            } => write!(
                f,
                "n{follower} rejected prev {rejected}; next_index[{follower}] = {next_index}"
            ),
            Truncated {
                from,
                to,
                terms,
                leader,
            } => write!(
                f,
                "deleted conflicting entries {from}..={to} (terms {terms:?}) to follow leader n{leader}"
            ),
            Committed { from, to } => write!(f, "commit index {from} -> {to}"),
            Applied { from, to } => write!(f, "applied {from}..={to}"),
            SnapshotTaken {
                last_index,
                last_term,
            } => write!(f, "took a snapshot through t{last_term}@{last_index}"),
            SnapshotInstalled {
                leader,
                last_index,
                last_term,
            } => write!(
                f,
                "installed n{leader}'s snapshot through t{last_term}@{last_index}"
            ),
            SnapshotSent { to, last_index } => {
                write!(f, "sends its snapshot through {last_index} to n{to}")
            }
            MembershipChanged { voters, learners } => {
                write!(f, "configuration is now voters {voters:?} learners {learners:?}")
            }
            TransferStarted { to } => write!(f, "hands leadership to n{to}"),
            TransferAborted { to, reason } => {
                write!(f, "leadership transfer to n{to} aborted: {reason}")
            }
            Crashed => write!(f, "CRASHED"),
            Restarted { last_log_index } => {
                write!(f, "restarted from persisted state (log ends at {last_log_index})")
            }
            Disconnected { node } => write!(f, "n{node} disconnected"),
            Connected { node } => write!(f, "n{node} connected"),
            Partitioned { groups } => write!(f, "network partitioned into {groups:?}"),
            Healed => write!(f, "network healed"),
            NetChanged { net } => write!(f, "network now {net}"),
            Message {
                from,
                to,
                kind,
                msg_term,
                entries,
                fate,
            } => {
                write!(f, "n{from} -> n{to} {kind} t{msg_term}")?;
                if *entries > 0 {
                    write!(f, " ({entries} entries)")?;
                }
                write!(f, ": {fate:?}")
            }
            Violation { description } => write!(f, "SAFETY VIOLATION: {description}"),
        }
    }
}
