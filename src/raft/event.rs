//! The core's vocabulary: what a Raft server did and why, as data.
//!
//! The core says what happened in typed values — a refused vote carries a
//! [`VoteRefusal`], a role change a [`Reason`], a commit the [`CommitRule`] that allowed
//! it — and never in words. Words are for the edge: `crate::event` renders these types
//! (`Display`, for the log lines and the timeline), and the runtime wraps each event
//! with the time and node into `crate::Event`, which the trace serializes.

use serde::{Deserialize, Serialize};

use crate::message::ConflictHint;
use crate::types::{Index, NodeId, Role, Term};

/// One thing a Raft server did.
///
/// In JSON (the trace) the variant is the `event` key; field names that would clash with
/// the wrapping event's `node`, `term` and `role`, or mean something else elsewhere, are
/// renamed (`campaign_term`, `voter`, `old_role`, ...). The schema is in docs/trace.md.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event")]
pub enum Event {
    /// The node's election timer fired (or a TimeoutNow came) and it starts an election
    /// or a pre-vote (§5.2, §9.6).
    ElectionStarted {
        /// The term it campaigns in.
        #[serde(rename = "campaign_term")]
        term: Term,
        /// A PreVote round (the term is not yet incremented).
        pre_vote: bool,
        /// Why: which leader it stopped hearing from, a split vote, a transfer.
        reason: Reason,
    },
    /// The node granted its vote.
    VoteGranted {
        /// The candidate.
        candidate: NodeId,
        /// The election's term.
        #[serde(rename = "campaign_term")]
        term: Term,
        /// A pre-vote.
        pre_vote: bool,
    },
    /// The node refused its vote, and why.
    VoteRefused {
        /// The candidate.
        candidate: NodeId,
        /// The term the candidate asked in.
        #[serde(rename = "campaign_term")]
        term: Term,
        /// A pre-vote.
        pre_vote: bool,
        /// Why.
        reason: VoteRefusal,
    },
    /// A candidate counted a reply.
    VoteReceived {
        /// The voter.
        #[serde(rename = "voter")]
        from: NodeId,
        /// Granted or not.
        granted: bool,
        /// A pre-vote.
        pre_vote: bool,
        /// The votes granted so far in this round, the candidate's own included.
        votes: usize,
        /// The voters in the configuration (a majority of them wins).
        voters: usize,
    },
    /// The node's role changed.
    RoleChanged {
        /// The old role.
        #[serde(rename = "old_role")]
        from: Role,
        /// The new role.
        #[serde(rename = "new_role")]
        to: Role,
        /// The node's term right after the change: for `to: Leader`, the term it won.
        #[serde(rename = "new_term")]
        term: Term,
        /// Why.
        reason: Reason,
    },
    /// The node adopted a higher term it saw in a message (§5.1).
    TermChanged {
        /// The old term.
        #[serde(rename = "old_term")]
        from: Term,
        /// The new term.
        #[serde(rename = "new_term")]
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
        reason: AppendRefusal,
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
        #[serde(rename = "first_index")]
        from: Index,
        /// The last index removed.
        #[serde(rename = "last_index")]
        to: Index,
        /// The terms of the removed entries, oldest first, deduplicated.
        terms: Vec<Term>,
        /// The leader whose entries replace them.
        leader: NodeId,
    },
    /// The node's commit index advanced.
    Committed {
        /// The old commit index.
        #[serde(rename = "old_commit_index")]
        from: Index,
        /// The new commit index.
        #[serde(rename = "commit_index")]
        to: Index,
        /// Which rule allowed it: a majority's copies (leader) or the leader's word
        /// (follower).
        rule: CommitRule,
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
        #[serde(rename = "follower")]
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
        #[serde(rename = "target")]
        to: NodeId,
    },
    /// A leadership transfer ended without the target winning.
    TransferAborted {
        /// The target.
        #[serde(rename = "target")]
        to: NodeId,
        /// Why.
        reason: TransferAbort,
    },
}

/// An [`Event`] with the role and term its server had when it emitted it: the role that
/// acted, so a pre-candidate counting a pre-vote is shown as a PreCandidate even if the
/// same step goes on to make it a candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct Emitted {
    /// The server's role at the moment.
    pub role: Role,
    /// The server's term at the moment.
    pub term: Term,
    /// What it did.
    pub event: Event,
}

/// Why a server started an election or changed its role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "why")]
pub enum Reason {
    /// A follower heard nothing from its leader for an election timeout (§5.2).
    LeaderSilent {
        /// The leader it last followed.
        leader: NodeId,
    },
    /// A follower knew no leader when its election timeout elapsed.
    NoLeader,
    /// A candidate's election ended without a winner (split vote or lost messages).
    ElectionTimedOut {
        /// The election's term.
        term: Term,
    },
    /// A pre-candidate's pre-vote won no majority before its timer fired (§9.6).
    PreVoteTimedOut,
    /// A majority granted the pre-vote: the real election follows (§9.6).
    WonPreVote,
    /// The leader sent TimeoutNow: campaign now, skipping PreVote (§3.10).
    TimeoutNow {
        /// The leader handing over.
        leader: NodeId,
    },
    /// Won the election (§5.2).
    WonElection {
        /// The term won.
        term: Term,
        /// Who granted their votes, the winner's own included.
        votes: Vec<NodeId>,
        /// The voters in the configuration.
        voters: usize,
    },
    /// A message carried a higher term (§5.1).
    HigherTerm {
        /// The term seen.
        term: Term,
        /// The message's type.
        #[serde(deserialize_with = "message_kind")]
        message: MessageName,
        /// Its sender.
        from: NodeId,
    },
    /// AppendEntries or InstallSnapshot came from the leader of this term (§5.2).
    DiscoveredLeader {
        /// The leader.
        leader: NodeId,
        /// The term.
        term: Term,
    },
    /// A majority refused the (pre-)votes (§5.2).
    ElectionLost {
        /// A pre-vote.
        pre_vote: bool,
        /// The election's term.
        term: Term,
    },
    /// CheckQuorum (§6.2): the leader heard from no majority in an election timeout.
    CheckQuorum {
        /// The voters heard from, the leader included.
        heard: usize,
        /// The voters in the configuration.
        voters: usize,
    },
    /// The committed configuration no longer lists this leader as a voter (§4.2.2).
    RemovedFromConfiguration,
}

/// Why a vote (or pre-vote) was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// Why a follower rejected AppendEntries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "why")]
pub enum AppendRefusal {
    /// The request's term is below the follower's (§5.1).
    StaleTerm {
        /// The request's term.
        term: Term,
        /// The follower's term.
        current_term: Term,
    },
    /// The log has no entry at prevLogIndex with prevLogTerm (Figure 2, rule 2).
    LogMismatch {
        /// The term looked for.
        prev_log_term: Term,
        /// The index looked at.
        prev_log_index: Index,
        /// Where the leader should look next (§5.3).
        hint: ConflictHint,
    },
    /// The receiver leads this term itself: two leaders in one term, which only an
    /// unsafe teaching switch allows.
    IsLeader,
}

/// Which rule moved a commit index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "how")]
pub enum CommitRule {
    /// The leader's rule (§5.3, §5.4.2): the entry is stored on a majority of the voters.
    Majority {
        /// The voters that hold it (the leader counted once its own copy is durable).
        replicated_on: Vec<NodeId>,
        /// The voters in the configuration.
        voters: usize,
    },
    /// A follower's rule (Figure 2, AppendEntries rule 5): the leader's commit index,
    /// capped by what the request showed to match.
    LeaderCommit {
        /// The leader.
        leader: NodeId,
        /// The commit index the leader sent.
        leader_commit: Index,
    },
}

/// Why a leadership transfer ended without the target winning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "why")]
pub enum TransferAbort {
    /// The target did not win within an election timeout (§3.10).
    TargetDidNotWin,
    /// The leader stepped down first.
    SteppedDown {
        /// Why it stepped down.
        because: Reason,
    },
}

/// A message type's name, as `Message::kind` gives it. (A named type also keeps serde
/// from reading the `&'static str` as borrowed from the input: `message_kind` maps the
/// name read back to the static one.)
pub type MessageName = &'static str;

/// The names of the messages Raft servers exchange (`Message::kind`).
pub const MESSAGE_KINDS: [&str; 10] = [
    "PreVote",
    "RequestVote",
    "PreVoteReply",
    "RequestVoteReply",
    "Heartbeat",
    "AppendEntries",
    "AppendEntriesReply",
    "InstallSnapshot",
    "InstallSnapshotReply",
    "TimeoutNow",
];

/// Reads a message type back as the `&'static str` the core names it with.
fn message_kind<'de, De: serde::Deserializer<'de>>(d: De) -> Result<MessageName, De::Error> {
    let name = String::deserialize(d)?;
    MESSAGE_KINDS
        .iter()
        .find(|k| **k == name)
        .copied()
        .ok_or_else(|| serde::de::Error::unknown_variant(&name, &MESSAGE_KINDS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::membership::Membership;
    use crate::message::Message;
    use crate::raft::{Persisted, Raft, RaftConfig};

    /// The events of one step carry the role and term the server had as each happened:
    /// the pre-vote that wins a pre-candidate its pre-vote is counted as a
    /// PreCandidate, and the election it then starts is a Candidate's.
    #[test]
    fn each_event_carries_the_role_it_happened_in() {
        let mut core: Raft<u64, ()> = Raft::new(
            0,
            Membership::new(0..3),
            RaftConfig::default(),
            Persisted::default(),
        );
        core.tick_election();
        core.broadcast_batched();
        let started = core.take_ready();
        assert_eq!(started.events[0].role, Role::PreCandidate);
        let reply = Message::RequestVoteReply {
            term: 1,
            vote_granted: true,
            pre_vote: true,
        };
        core.step(1, reply);
        core.broadcast_batched();
        let ready = core.take_ready();
        let stamps: Vec<(Role, Term, &str)> = ready
            .events
            .iter()
            .map(|e| {
                let name = match e.event {
                    Event::VoteReceived { .. } => "VoteReceived",
                    Event::ElectionStarted { .. } => "ElectionStarted",
                    Event::RoleChanged { .. } => "RoleChanged",
                    _ => "other",
                };
                (e.role, e.term, name)
            })
            .collect();
        assert_eq!(
            stamps,
            [
                (Role::PreCandidate, 0, "VoteReceived"),
                (Role::Candidate, 1, "ElectionStarted"),
                (Role::Candidate, 1, "RoleChanged"),
            ]
        );
        assert!(matches!(
            ready.events[0].event,
            Event::VoteReceived {
                votes: 2,
                voters: 3,
                ..
            }
        ));
    }

    /// A leader's commit names the majority that allowed it (§5.3).
    #[test]
    fn a_commit_says_which_majority() {
        let mut core: Raft<u64, ()> = Raft::new(
            0,
            Membership::new(0..3),
            RaftConfig::figure2(),
            Persisted::default(),
        );
        core.tick_election();
        core.take_ready();
        let vote = Message::RequestVoteReply {
            term: 1,
            vote_granted: true,
            pre_vote: false,
        };
        core.step(2, vote);
        assert_eq!(core.role(), Role::Leader);
        let ready = core.take_ready();
        let (index, term) = ready.persist_to.expect("the no-op is written");
        core.on_persist_entries(index, term);
        let ack = Message::AppendEntriesReply {
            term: 1,
            success: true,
            match_index: 1,
            prev_log_index: 0,
            hint: None,
            read_seq: 0,
        };
        core.step(2, ack);
        let ready = core.take_ready();
        let rule = ready.events.iter().find_map(|e| match &e.event {
            Event::Committed {
                from: 0,
                to: 1,
                rule,
            } => Some(rule.clone()),
            _ => None,
        });
        assert_eq!(
            rule,
            Some(CommitRule::Majority {
                replicated_on: vec![0, 2],
                voters: 3
            })
        );
    }
}
