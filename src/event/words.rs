//! Words for the core's vocabulary: how a [`raft::Event`](crate::raft::Event) and its
//! reasons read in a log line or a timeline. The core itself builds no text.

use std::fmt;

use super::EventKind;
use crate::raft::{AppendRefusal, CommitRule, Event, Reason, TransferAbort, VoteRefusal};
use crate::types::{is_client, CLIENT_ADDR_BASE};
use crate::types::{NodeId, Role};

fn vote_word(pre_vote: bool) -> &'static str {
    if pre_vote {
        "pre-vote"
    } else {
        "vote"
    }
}

/// "a" or "an" before a message type's name.
fn article(name: &str) -> &'static str {
    if name.starts_with(['A', 'E', 'I', 'O', 'U']) {
        "an"
    } else {
        "a"
    }
}

/// Node ids as `n0 n1 n2`.
struct Nodes<'a>(&'a [NodeId]);

impl fmt::Display for Nodes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, n) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "n{n}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::LeaderSilent { leader } => {
                write!(
                    f,
                    "heard nothing from leader n{leader} for an election timeout"
                )
            }
            Reason::NoLeader => write!(f, "no leader known and the election timeout elapsed"),
            Reason::ElectionTimedOut { term } => write!(
                f,
                "the election for term {term} ended without a winner (split vote or lost messages)"
            ),
            Reason::PreVoteTimedOut => write!(f, "the pre-vote won no majority in time"),
            Reason::WonPreVote => write!(f, "won the pre-vote"),
            Reason::TimeoutNow { leader } => {
                write!(f, "TimeoutNow from leader n{leader} (leadership transfer)")
            }
            Reason::WonElection {
                term,
                votes,
                voters,
            } => write!(
                f,
                "won the election for term {term} with {} of {voters} votes ({}, its own included)",
                votes.len(),
                Nodes(votes)
            ),
            Reason::HigherTerm {
                term,
                message,
                from,
            } => write!(
                f,
                "saw term {term} in {} {message} from n{from}",
                article(message)
            ),
            Reason::DiscoveredLeader { leader, term } => {
                write!(f, "discovered leader n{leader} of term {term}")
            }
            Reason::ElectionLost { pre_vote, term } => write!(
                f,
                "a majority refused its {} for term {term}",
                if *pre_vote { "pre-vote" } else { "votes" }
            ),
            Reason::CheckQuorum { heard, voters } => write!(
                f,
                "CheckQuorum: heard from only {heard} of {voters} voters in an election timeout"
            ),
            Reason::RemovedFromConfiguration => {
                write!(f, "the committed configuration no longer includes me")
            }
        }
    }
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

impl fmt::Display for AppendRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppendRefusal::StaleTerm { term, current_term } => {
                write!(f, "stale term {term} (mine is {current_term})")
            }
            AppendRefusal::LogMismatch {
                prev_log_term,
                prev_log_index,
                hint,
            } => write!(
                f,
                "no entry t{prev_log_term}@{prev_log_index} in my log; hint {hint:?}"
            ),
            AppendRefusal::IsLeader => {
                write!(f, "I lead this term myself (Election Safety is broken)")
            }
        }
    }
}

impl fmt::Display for CommitRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommitRule::Majority {
                replicated_on,
                voters,
            } => write!(
                f,
                "replicated on {} of {voters} ({})",
                replicated_on.len(),
                Nodes(replicated_on)
            ),
            CommitRule::LeaderCommit {
                leader,
                leader_commit,
            } => write!(f, "leader n{leader} has committed through {leader_commit}"),
        }
    }
}

impl fmt::Display for TransferAbort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransferAbort::TargetDidNotWin => {
                write!(f, "the target did not win within an election timeout")
            }
            TransferAbort::SteppedDown { because } => write!(f, "stepped down: {because}"),
        }
    }
}

impl Event {
    /// The log level a human wants this at: `info` tells the story, `debug` the details.
    pub fn level(&self) -> log::Level {
        match self {
            Event::AppendAccepted { .. }
            | Event::Proposed { .. }
            | Event::VoteReceived { .. }
            | Event::NextIndexBackedUp { .. } => log::Level::Debug,
            // ElectionStarted already tells this story at info.
            Event::RoleChanged {
                to: Role::Candidate | Role::PreCandidate,
                ..
            } => log::Level::Debug,
            _ => log::Level::Info,
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::ElectionStarted {
                term,
                pre_vote: true,
                reason,
            } => write!(f, "starts a pre-vote for term {term}: {reason}"),
            Event::ElectionStarted { term, reason, .. } => {
                write!(f, "starts an election for term {term}: {reason}")
            }
            Event::VoteGranted {
                candidate,
                term,
                pre_vote,
            } => write!(
                f,
                "grants its {} to n{candidate} for term {term}",
                vote_word(*pre_vote)
            ),
            Event::VoteRefused {
                candidate,
                term,
                pre_vote,
                reason,
            } => write!(
                f,
                "refuses its {} to n{candidate} for term {term}: {reason}",
                vote_word(*pre_vote)
            ),
            Event::VoteReceived {
                from,
                granted,
                pre_vote,
                votes,
                voters,
            } => write!(
                f,
                "{} {} from n{from}; {votes} of {voters} granted (own included), {} needed",
                if *granted { "got" } else { "was refused" },
                vote_word(*pre_vote),
                voters / 2 + 1
            ),
            Event::RoleChanged {
                from, to, reason, ..
            } => write!(f, "{from} -> {to}: {reason}"),
            Event::TermChanged {
                from,
                to,
                seen_from,
            } => write!(f, "term {from} -> {to}: seen in a message from n{seen_from}"),
            Event::Proposed { index } => write!(f, "accepted a client command at index {index}"),
            Event::AppendAccepted {
                leader,
                prev_log_index,
                entries,
                match_index,
            } => write!(
                f,
                "accepted AppendEntries from n{leader} (prev {prev_log_index}, {entries} entries); \
                 matches up to {match_index}"
            ),
            Event::AppendRejected {
                leader,
                prev_log_index,
                reason,
            } => write!(
                f,
                "rejected AppendEntries from n{leader} at prev {prev_log_index}: {reason}"
            ),
            Event::NextIndexBackedUp {
                follower,
                rejected,
                next_index,
            } => write!(
                f,
                "n{follower} rejected prev {rejected}; next_index[{follower}] = {next_index}"
            ),
            Event::Truncated {
                from,
                to,
                terms,
                leader,
            } => write!(
                f,
                "deleted conflicting entries {from}..={to} (terms {terms:?}) to follow leader n{leader}"
            ),
            Event::Committed { from, to, rule } => {
                write!(f, "commit index {from} -> {to}: {rule}")
            }
            Event::SnapshotTaken {
                last_index,
                last_term,
            } => write!(f, "took a snapshot through t{last_term}@{last_index}"),
            Event::SnapshotInstalled {
                leader,
                last_index,
                last_term,
            } => write!(
                f,
                "installed n{leader}'s snapshot through t{last_term}@{last_index}"
            ),
            Event::SnapshotSent { to, last_index } => {
                write!(f, "sends its snapshot through {last_index} to n{to}")
            }
            Event::MembershipChanged { voters, learners } => {
                write!(f, "configuration is now voters {voters:?} learners {learners:?}")
            }
            Event::TransferStarted { to } => write!(f, "hands leadership to n{to}"),
            Event::TransferAborted { to, reason } => {
                write!(f, "leadership transfer to n{to} aborted: {reason}")
            }
        }
    }
}

impl EventKind {
    /// The log level a human wants this at: `info` tells the story, `debug` the details.
    pub fn level(&self) -> log::Level {
        match self {
            EventKind::Raft(e) => e.level(),
            EventKind::Message { .. } | EventKind::Applied { .. } => log::Level::Debug,
            EventKind::Violation { .. } => log::Level::Error,
            _ => log::Level::Info,
        }
    }
}

/// A network address as the log shows it: `n3` for a node, `client1` for a client.
struct Addr(NodeId);

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if is_client(self.0) {
            write!(f, "client{}", self.0 - CLIENT_ADDR_BASE)
        } else {
            write!(f, "n{}", self.0)
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventKind::Raft(e) => write!(f, "{e}"),
            EventKind::Applied { from, to } => write!(f, "applied {from}..={to}"),
            EventKind::Crashed => write!(f, "CRASHED"),
            EventKind::Restarted { last_log_index } => {
                write!(
                    f,
                    "restarted from persisted state (log ends at {last_log_index})"
                )
            }
            EventKind::Disconnected { node } => write!(f, "n{node} disconnected"),
            EventKind::Connected { node } => write!(f, "n{node} connected"),
            EventKind::Partitioned { groups } => write!(f, "network partitioned into {groups:?}"),
            EventKind::Healed => write!(f, "network healed"),
            EventKind::NetChanged { net } => write!(f, "network now {net}"),
            EventKind::Message {
                from,
                to,
                kind,
                msg_term,
                entries,
                fate,
            } => {
                write!(f, "{} -> {} {kind} t{msg_term}", Addr(*from), Addr(*to))?;
                if *entries > 0 {
                    write!(f, " ({entries} entries)")?;
                }
                write!(f, ": {fate:?}")
            }
            EventKind::Violation { description } => write!(f, "SAFETY VIOLATION: {description}"),
        }
    }
}
