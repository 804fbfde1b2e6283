//! The messages Raft servers exchange (Figure 2, §7, dissertation §3.10 and §9.6).

use crate::entries::Entries;
use crate::log::Snapshot;
use crate::types::{Index, NodeId, Term};

/// Why a follower rejected AppendEntries, and where the leader should look next
/// (the accelerated log backtracking of §5.3, as in the 6.824 labs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ConflictHint {
    /// The follower's log ends before `prev_log_index`: retry after its last index.
    LogTooShort {
        /// The follower's last log index.
        last_index: Index,
    },
    /// The follower has an entry of another term at `prev_log_index`.
    TermMismatch {
        /// The term of the follower's entry at `prev_log_index`.
        conflict_term: Term,
        /// The first index the follower holds with `conflict_term`.
        first_index: Index,
    },
}

/// A Raft message. Every message carries its sender's term; a receiver with a smaller
/// term adopts it and becomes follower, one with a larger term rejects it (§5.1).
#[derive(Debug, Clone, PartialEq)]
pub enum Message<C, D> {
    /// Invoked by candidates to gather votes (§5.2), or by pre-candidates to ask whether
    /// they could win (PreVote, §9.6).
    RequestVote {
        /// The candidate's term; for a pre-vote, the term it would campaign in.
        term: Term,
        /// The candidate requesting the vote.
        candidate_id: NodeId,
        /// Index of the candidate's last log entry (§5.4.1).
        last_log_index: Index,
        /// Term of the candidate's last log entry (§5.4.1).
        last_log_term: Term,
        /// A PreVote request: answering it changes no state of the voter.
        pre_vote: bool,
        /// Sent after TimeoutNow in a leadership transfer (§3.10): voters grant it even
        /// though they heard from a leader recently.
        transfer: bool,
    },
    /// The answer to RequestVote.
    RequestVoteReply {
        /// The voter's current term (for a pre-vote: the term asked, when granted).
        term: Term,
        /// Whether the vote (or pre-vote) was granted.
        vote_granted: bool,
        /// Answers a pre-vote request.
        pre_vote: bool,
    },
    /// Invoked by the leader to replicate entries (§5.3); also the heartbeat (§5.2).
    AppendEntries {
        /// The leader's term.
        term: Term,
        /// So followers can redirect clients.
        leader_id: NodeId,
        /// The index of the entry just before the new ones.
        prev_log_index: Index,
        /// The term of that entry.
        prev_log_term: Term,
        /// The entries to store (empty for a heartbeat): a window on a batch shared
        /// with the other followers' messages (`Entries` reads as a slice).
        entries: Entries<C>,
        /// The leader's commit index.
        leader_commit: Index,
        /// The leader's latest ReadIndex round (dissertation §6.4), echoed in the reply
        /// so the leader knows which round a follower's answer confirms.
        read_seq: u64,
    },
    /// The answer to AppendEntries.
    AppendEntriesReply {
        /// The follower's current term.
        term: Term,
        /// True if the follower held an entry matching prev_log_index and prev_log_term.
        success: bool,
        /// On success: the last index the follower now knows matches the leader's log.
        match_index: Index,
        /// The request's prev_log_index, so the leader can tell a stale rejection.
        prev_log_index: Index,
        /// On rejection: where to look next.
        hint: Option<ConflictHint>,
        /// The request's `read_seq`, echoed.
        read_seq: u64,
    },
    /// Invoked by the leader to send a snapshot to a follower that needs entries the
    /// leader has already compacted (§7).
    InstallSnapshot {
        /// The leader's term.
        term: Term,
        /// So followers can redirect clients.
        leader_id: NodeId,
        /// The snapshot, whole (the simulation needs no chunking).
        snapshot: Snapshot<D>,
    },
    /// The answer to InstallSnapshot.
    InstallSnapshotReply {
        /// The follower's current term.
        term: Term,
        /// The last index the follower's log now covers (its match index).
        last_index: Index,
    },
    /// Tells the target of a leadership transfer to start an election at once (§3.10).
    TimeoutNow {
        /// The leader's term.
        term: Term,
    },
}

impl<C, D> Message<C, D> {
    /// The sender's term.
    pub fn term(&self) -> Term {
        match self {
            Message::RequestVote { term, .. }
            | Message::RequestVoteReply { term, .. }
            | Message::AppendEntries { term, .. }
            | Message::AppendEntriesReply { term, .. }
            | Message::InstallSnapshot { term, .. }
            | Message::InstallSnapshotReply { term, .. }
            | Message::TimeoutNow { term } => *term,
        }
    }

    /// A short name for logs and traces.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::RequestVote { pre_vote: true, .. } => "PreVote",
            Message::RequestVote { .. } => "RequestVote",
            Message::RequestVoteReply { pre_vote: true, .. } => "PreVoteReply",
            Message::RequestVoteReply { .. } => "RequestVoteReply",
            Message::AppendEntries { entries, .. } if entries.is_empty() => "Heartbeat",
            Message::AppendEntries { .. } => "AppendEntries",
            Message::AppendEntriesReply { .. } => "AppendEntriesReply",
            Message::InstallSnapshot { .. } => "InstallSnapshot",
            Message::InstallSnapshotReply { .. } => "InstallSnapshotReply",
            Message::TimeoutNow { .. } => "TimeoutNow",
        }
    }

    /// Whether this is an answer to another server's request. An answer vouches for
    /// the sender's state (a granted vote, an entry stored), so it must not leave before
    /// that state is durable; other messages may leave while the sender's own write is
    /// in progress (dissertation §10.2.1, `Config::parallel_disk_writes`).
    pub fn is_reply(&self) -> bool {
        matches!(
            self,
            Message::RequestVoteReply { .. }
                | Message::AppendEntriesReply { .. }
                | Message::InstallSnapshotReply { .. }
        )
    }

    /// The number of log entries carried.
    pub fn entry_count(&self) -> usize {
        match self {
            Message::AppendEntries { entries, .. } => entries.len(),
            _ => 0,
        }
    }
}

/// A message with its sender and receiver.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope<C, D> {
    /// The sender.
    pub from: NodeId,
    /// The receiver.
    pub to: NodeId,
    /// The message.
    pub msg: Message<C, D>,
}
