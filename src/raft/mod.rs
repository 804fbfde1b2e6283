//! The Raft core: a deterministic state machine holding one server's Raft state.
//!
//! Everything of the paper's Figure 2 is decided here and nowhere else: terms, votes,
//! the log, commits. The core has no threads, channels, clock or randomness. Its inputs
//! are messages ([`Raft::step`]), timer expiries ([`Raft::tick_election`],
//! [`Raft::tick_heartbeat`]), proposals ([`Raft::propose`]) and the current time
//! ([`Raft::set_now`], used only for the leader lease of PreVote/CheckQuorum). Once the
//! runtime has handed it the inputs that were waiting, it calls
//! [`Raft::broadcast_batched`] (the proposals and reads of the batch go out together),
//! then [`Raft::take_ready`]: a [`Ready`] carries everything to do — the state, entries
//! and snapshot to persist, the messages to send, the entries to apply, and what
//! happened, as [`Event`]s in the core's own vocabulary ([`event`]; no words: the
//! runtime renders them). The node driver (`crate::driver`) carries that out; a unit
//! test can instead inspect it and deliver messages by hand (`testkit`), which is how
//! the paper's Figure 7 and Figure 8 are tested. The core imports nothing of the
//! runtime above it: its settings are a [`RaftConfig`], its errors its own
//! ([`NotLeader`], [`ReconfigError`]).
//!
//! The code is split by the paper's sections: [`election`] (§5.2, §5.4.1, §9.6),
//! [`replication`] (§5.3, §5.4.2; the leader's flow control in `progress`) and
//! [`snapshot`] (§7); `persist` tracks which of the log the runtime has reported durable
//! ([`Raft::on_persist_entries`]), which is as far as a leader counts its own copy.
//!
//! Left out on purpose: joint consensus (membership changes go one server at a time,
//! dissertation §4.1) and chunked snapshots (a snapshot is one message in memory).

mod config;
pub mod election;
mod error;
pub mod event;
mod persist;
mod progress;
pub mod read;
mod ready;
pub mod reconfig;
pub mod replication;
pub mod snapshot;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::log::{Entry, Payload, RaftLog, Snapshot};
use crate::membership::Membership;
use crate::message::{Envelope, Message};
use crate::types::{Index, NodeId, Role, Term};

pub use config::RaftConfig;
pub use error::{NotLeader, ReconfigError};
pub use event::{AppendRefusal, CommitRule, Emitted, Event, Reason, TransferAbort, VoteRefusal};
pub use read::ReadState;
pub use ready::{HardState, Persisted, Ready};
pub use reconfig::ConfigChange;
pub use replication::{Progress, ProgressState};

/// A leadership transfer in progress (§3.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transfer {
    /// The node that should become leader.
    pub target: NodeId,
    /// Election-timer ticks left before the transfer is given up.
    pub ticks_left: u32,
}

/// One server's Raft state and the rules of Figure 2.
#[derive(Debug)]
pub struct Raft<C, D> {
    id: NodeId,
    cfg: RaftConfig,

    // Persistent state on all servers (Figure 2), mirrored to storage through Ready.
    current_term: Term,
    voted_for: Option<NodeId>,
    log: RaftLog<C>,
    snapshot: Option<Snapshot<D>>,

    // Volatile state on all servers.
    role: Role,
    leader_id: Option<NodeId>,
    commit_index: Index,
    /// The highest index handed to the runtime to apply (in `Ready::committed`, or as
    /// an installed snapshot). Not Figure 2's lastApplied: the runtime applies, and
    /// knows what it has applied; the core knows what it has handed out.
    handed_out: Index,
    /// The configuration in use: the latest one in the log (§4.1), else the snapshot's,
    /// else the one the cluster started with.
    membership: Membership,
    initial_membership: Membership,
    now: Duration,
    last_leader_contact: Option<Duration>,

    // Volatile state on candidates: who answered and how.
    votes: BTreeMap<NodeId, bool>,

    // Volatile state on leaders (Figure 2: nextIndex[], matchIndex[]).
    progress: BTreeMap<NodeId, Progress>,
    /// Leader: the entries last copied out of the log for AppendEntries, shared by
    /// every follower that needs them (`replication::shared_entries`).
    sent_batch: Option<crate::entries::Entries<C>>,
    transfer: Option<Transfer>,
    /// The index of the no-op that opened this leader's term.
    term_start_index: Index,
    /// The latest ReadIndex round started (§6.4).
    read_seq: u64,
    /// Reads waiting for their round to be confirmed by a majority.
    reads: std::collections::VecDeque<read::PendingRead>,
    /// A read arrived since the last flush: send one heartbeat round for all of them.
    pending_read_round: bool,

    /// The highest index durable on this server's disk, as the runtime acknowledged
    /// (`on_persist_entries`): the leader's own match index in the commit rule.
    persisted_index: Index,
    /// Log writes handed to the runtime and not yet acknowledged.
    unstable: persist::Unstable,

    /// The snapshot changed (taken or installed) since the last `take_ready`.
    snapshot_dirty: bool,
    ready: Ready<C, D>,
    /// Proposals arrived since the last flush: send AppendEntries once for all of them.
    pending_broadcast: bool,
}

impl<C: Clone, D: Clone> Raft<C, D> {
    /// A server with id `id`, restored from `persisted`. `initial` is the configuration
    /// the cluster was created with, used until the log or a snapshot holds a newer one.
    pub fn new(
        id: NodeId,
        initial: Membership,
        cfg: RaftConfig,
        persisted: Persisted<C, D>,
    ) -> Self {
        let snapshot_index = persisted.log.snapshot_index();
        // What a server starts from was loaded from its disk.
        let persisted_index = persisted.log.last_index();
        let mut raft = Raft {
            id,
            cfg,
            current_term: persisted.hard_state.current_term,
            voted_for: persisted.hard_state.voted_for,
            log: persisted.log,
            snapshot: persisted.snapshot,
            role: Role::Follower,
            leader_id: None,
            // Everything in the snapshot was committed; the rest is learned again.
            commit_index: snapshot_index,
            handed_out: snapshot_index,
            membership: initial.clone(),
            initial_membership: initial,
            now: Duration::ZERO,
            last_leader_contact: None,
            votes: BTreeMap::new(),
            progress: BTreeMap::new(),
            sent_batch: None,
            transfer: None,
            term_start_index: 0,
            read_seq: 0,
            reads: std::collections::VecDeque::new(),
            pending_read_round: false,
            persisted_index,
            unstable: persist::Unstable::default(),
            snapshot_dirty: false,
            ready: Ready::default(),
            pending_broadcast: false,
        };
        raft.membership = raft.derive_membership();
        raft
    }

    // ---- accessors ----------------------------------------------------------------

    /// This server's id.
    pub fn id(&self) -> NodeId {
        self.id
    }
    /// The current term.
    pub fn term(&self) -> Term {
        self.current_term
    }
    /// Who this server voted for in the current term.
    pub fn voted_for(&self) -> Option<NodeId> {
        self.voted_for
    }
    /// The current role.
    pub fn role(&self) -> Role {
        self.role
    }
    /// The leader this server knows of in its current term.
    pub fn leader_id(&self) -> Option<NodeId> {
        self.leader_id
    }
    /// The highest index known to be committed.
    pub fn commit_index(&self) -> Index {
        self.commit_index
    }
    /// The highest index handed out for applying: every committed entry up to it went
    /// out in a [`Ready`] (or was covered by a snapshot to restore). The runtime's state
    /// machine has applied them once it has carried out that `Ready`.
    pub fn handed_out(&self) -> Index {
        self.handed_out
    }
    /// The log.
    pub fn log(&self) -> &RaftLog<C> {
        &self.log
    }
    /// The latest snapshot.
    pub fn snapshot(&self) -> Option<&Snapshot<D>> {
        self.snapshot.as_ref()
    }
    /// The configuration in use.
    pub fn membership(&self) -> &Membership {
        &self.membership
    }
    /// The leader's view of each follower (empty unless leader).
    pub fn progress(&self) -> &BTreeMap<NodeId, Progress> {
        &self.progress
    }
    /// The leadership transfer in progress, if any.
    pub fn transfer(&self) -> Option<Transfer> {
        self.transfer
    }
    /// The settings.
    pub fn config(&self) -> &RaftConfig {
        &self.cfg
    }

    /// Tells the core the current time (only the leader lease reads it).
    pub fn set_now(&mut self, now: Duration) {
        self.now = now;
    }

    // ---- input ---------------------------------------------------------------------

    /// Handles one message from `from`.
    ///
    /// First the term rules every message obeys (§5.1, Figure 2 "Rules for Servers"): a
    /// higher term makes this server a follower of that term; a lower term is answered
    /// with a rejection (requests) or ignored (replies). Then the message's own handler.
    pub fn step(&mut self, from: NodeId, msg: Message<C, D>) {
        let term = msg.term();
        if term > self.current_term {
            if !self.accepts_higher_term(from, &msg) {
                return;
            }
            let leader = match &msg {
                Message::AppendEntries { leader_id, .. }
                | Message::InstallSnapshot { leader_id, .. } => Some(*leader_id),
                _ => None,
            };
            self.emit(Event::TermChanged {
                from: self.current_term,
                to: term,
                seen_from: from,
            });
            if self.transfer.is_some_and(|t| t.target == from) {
                // The transfer target is campaigning, as planned: the handoff succeeded.
                self.transfer = None;
            }
            let reason = Reason::HigherTerm {
                term,
                message: msg.kind(),
                from,
            };
            self.become_follower(term, leader, reason);
        } else if term < self.current_term {
            self.reject_stale(from, msg);
            return;
        }
        match msg {
            Message::RequestVote {
                candidate_id,
                last_log_index,
                last_log_term,
                pre_vote,
                transfer: _,
                term,
            } => self.handle_request_vote(
                candidate_id,
                term,
                last_log_index,
                last_log_term,
                pre_vote,
            ),
            Message::RequestVoteReply {
                vote_granted,
                pre_vote,
                term,
            } => self.handle_vote_reply(from, term, vote_granted, pre_vote),
            Message::AppendEntries {
                leader_id,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
                read_seq,
                ..
            } => self.handle_append_entries(
                leader_id,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
                read_seq,
            ),
            Message::AppendEntriesReply {
                success,
                match_index,
                prev_log_index,
                hint,
                read_seq,
                ..
            } => {
                self.handle_append_reply(from, success, match_index, prev_log_index, hint, read_seq)
            }
            Message::InstallSnapshot {
                leader_id,
                snapshot,
                ..
            } => self.handle_install_snapshot(leader_id, snapshot),
            Message::InstallSnapshotReply { last_index, .. } => {
                self.handle_install_snapshot_reply(from, last_index)
            }
            Message::TimeoutNow { .. } => self.handle_timeout_now(from),
        }
    }

    /// Whether a message with a term above ours may move our term. PreVote requests and
    /// granted pre-votes carry a term nobody has entered yet, and a vote request that
    /// arrives while we trust a live leader is ignored (§4.2.3), so neither bumps it.
    fn accepts_higher_term(&mut self, from: NodeId, msg: &Message<C, D>) -> bool {
        match *msg {
            Message::RequestVote {
                pre_vote: true,
                term,
                candidate_id,
                last_log_index,
                last_log_term,
                ..
            } => {
                self.handle_request_vote(candidate_id, term, last_log_index, last_log_term, true);
                false
            }
            Message::RequestVoteReply {
                pre_vote: true,
                vote_granted: true,
                term,
                ..
            } => {
                self.handle_vote_reply(from, term, true, true);
                false
            }
            Message::RequestVote {
                transfer: false,
                term,
                candidate_id,
                ..
            } if self.cfg.check_quorum && self.in_leader_lease() => {
                let leader = self.leader_id.unwrap_or(self.id);
                self.refuse_vote(
                    candidate_id,
                    term,
                    false,
                    VoteRefusal::LeaderAlive { leader },
                );
                false
            }
            _ => true,
        }
    }

    /// Answers a message from an older term: requests get our term so their sender
    /// learns it is stale; replies to requests of an old term are ignored.
    fn reject_stale(&mut self, from: NodeId, msg: Message<C, D>) {
        match msg {
            Message::RequestVote {
                term,
                candidate_id,
                pre_vote,
                ..
            } => self.refuse_vote(
                candidate_id,
                term,
                pre_vote,
                VoteRefusal::StaleTerm {
                    current_term: self.current_term,
                },
            ),
            Message::AppendEntries {
                prev_log_index,
                term,
                ..
            } => {
                self.emit(Event::AppendRejected {
                    leader: from,
                    prev_log_index,
                    reason: AppendRefusal::StaleTerm {
                        term,
                        current_term: self.current_term,
                    },
                });
                self.send(
                    from,
                    Message::AppendEntriesReply {
                        term: self.current_term,
                        success: false,
                        match_index: 0,
                        prev_log_index,
                        hint: None,
                        read_seq: 0,
                    },
                );
            }
            Message::InstallSnapshot { .. } => self.send(
                from,
                Message::InstallSnapshotReply {
                    term: self.current_term,
                    last_index: 0,
                },
            ),
            _ => {}
        }
    }

    /// Raft's Start(): appends a command to the leader's log and returns the index it will
    /// occupy if it commits, with the current term. Replication starts at the next
    /// [`Raft::broadcast_batched`], so that proposals arriving together travel in one
    /// AppendEntries.
    pub fn propose(&mut self, command: C) -> Result<(Index, Term), NotLeader> {
        self.append_as_leader(Payload::Command(command))
    }

    /// Appends a payload to the leader's log (a command, a no-op or a configuration).
    fn append_as_leader(&mut self, payload: Payload<C>) -> Result<(Index, Term), NotLeader> {
        if self.role != Role::Leader {
            return Err(NotLeader {
                leader: self.leader_id,
            });
        }
        if let Some(t) = self.transfer {
            // §3.10: the leader stops accepting requests while it hands over.
            return Err(NotLeader {
                leader: Some(t.target),
            });
        }
        let index = self.log.last_index() + 1;
        let is_command = matches!(payload, Payload::Command(_));
        let is_config = matches!(payload, Payload::Config(_));
        self.log.push(Entry {
            term: self.current_term,
            index,
            payload,
        });
        self.mark_dirty(index);
        if is_config {
            self.refresh_membership();
        }
        if is_command {
            self.emit(Event::Proposed { index });
        }
        self.pending_broadcast = true;
        // Nothing commits yet, not even in a cluster of one: the leader's own copy counts
        // once it is durable (`on_persist_entries`).
        Ok((index, self.current_term))
    }

    // ---- output --------------------------------------------------------------------

    /// Whether the runtime has work to take: batched proposals or reads to send
    /// ([`Raft::broadcast_batched`]) or output to carry out ([`Raft::take_ready`]). The
    /// runtime asks after [`Raft::on_persist_entries`], which can commit (a leader
    /// counting its own write).
    pub fn has_ready(&self) -> bool {
        self.pending_broadcast
            || self.pending_read_round
            || self.commit_index > self.handed_out
            || self.snapshot_dirty
            || !self.ready.is_empty()
    }

    /// Sends what was batched since the last call: AppendEntries to every follower for
    /// the proposals appended meanwhile, and one heartbeat round for the ReadIndex reads
    /// that arrived meanwhile (§6.4). The runtime calls it once it has handled the
    /// inputs that were waiting, just before [`Raft::take_ready`]: many proposals, one
    /// AppendEntries per follower.
    pub fn broadcast_batched(&mut self) {
        if std::mem::take(&mut self.pending_broadcast) && self.role == Role::Leader {
            self.broadcast_append();
        }
        if std::mem::take(&mut self.pending_read_round) && self.role == Role::Leader {
            self.broadcast_read_round();
        }
    }

    /// Hands over everything the runtime must do since the last call (see [`Ready`]):
    /// state and entries to persist, messages to send, committed entries to apply. It
    /// starts no protocol work of its own: call [`Raft::broadcast_batched`] first.
    pub fn take_ready(&mut self) -> Ready<C, D> {
        if self.commit_index > self.handed_out {
            let from = self.handed_out + 1;
            let n = (self.commit_index - self.handed_out) as usize;
            self.ready.committed = self.log.slice(from, n).to_vec();
            debug_assert!(
                self.ready.committed.len() == n || self.cfg.is_unsafe(),
                "committed entries missing from the log"
            );
            self.handed_out = self.commit_index;
        }
        if std::mem::take(&mut self.snapshot_dirty) {
            // A new snapshot replaces the stored log whole: its prefix and what follows.
            self.ready.snapshot = self.snapshot.clone();
            self.ready.entries = self.log.entries().to_vec();
        } else if let Some(from) = self.ready.log_dirty_from {
            self.ready.entries = self.log.slice(from, usize::MAX).to_vec();
        }
        self.record_log_write();
        std::mem::take(&mut self.ready)
    }

    pub(crate) fn send(&mut self, to: NodeId, msg: Message<C, D>) {
        self.ready.messages.push(Envelope {
            from: self.id,
            to,
            msg,
        });
    }

    /// Records what happened, with the role and term this server has as it happens.
    pub(crate) fn emit(&mut self, event: Event) {
        self.ready.events.push(Emitted {
            role: self.role,
            term: self.current_term,
            event,
        });
    }

    pub(crate) fn persist_hard_state(&mut self) {
        self.ready.hard_state = Some(HardState {
            current_term: self.current_term,
            voted_for: self.voted_for,
        });
    }

    /// The log changed from `from` on (appended, or replaced after a conflict): the
    /// runtime must persist it from there.
    pub(crate) fn mark_dirty(&mut self, from: Index) {
        let d = self.ready.log_dirty_from.get_or_insert(from);
        *d = (*d).min(from);
        self.note_log_change(from);
    }

    // ---- role transitions ----------------------------------------------------------

    /// Becomes a follower of `term` (§5.1). A new term clears the vote; a leader stepping
    /// down restarts its election timer, having had no use for it while it led.
    pub(crate) fn become_follower(&mut self, term: Term, leader: Option<NodeId>, reason: Reason) {
        if term > self.current_term {
            self.current_term = term;
            self.voted_for = None;
            self.persist_hard_state();
        }
        let old = self.role;
        if old == Role::Leader {
            self.ready.reset_election_timer = true;
        }
        self.role = Role::Follower;
        self.leader_id = leader;
        if leader.is_some() {
            self.last_leader_contact = Some(self.now);
        }
        self.votes.clear();
        self.progress.clear();
        self.fail_reads();
        if let Some(t) = self.transfer.take() {
            if leader != Some(t.target) {
                self.emit(Event::TransferAborted {
                    to: t.target,
                    reason: TransferAbort::SteppedDown {
                        because: reason.clone(),
                    },
                });
            }
        }
        if old != Role::Follower {
            self.emit(Event::RoleChanged {
                from: old,
                to: Role::Follower,
                term: self.current_term,
                reason,
            });
        }
    }

    // ---- membership ----------------------------------------------------------------

    /// The configuration the log implies: its latest config entry (used as soon as it is
    /// in the log, committed or not: dissertation §4.1), else the snapshot's, else the
    /// initial one.
    fn derive_membership(&self) -> Membership {
        if let Some((_, m)) = self.log.last_config(self.log.last_index()) {
            return m.clone();
        }
        match &self.snapshot {
            Some(s) => s.membership.clone(),
            None => self.initial_membership.clone(),
        }
    }

    /// Recomputes the configuration after config entries were appended or truncated.
    pub(crate) fn refresh_membership(&mut self) {
        let m = self.derive_membership();
        if m != self.membership {
            self.membership = m;
            self.emit(Event::MembershipChanged {
                voters: self.membership.voters.iter().copied().collect(),
                learners: self.membership.learners.iter().copied().collect(),
            });
            if self.role == Role::Leader {
                self.sync_progress_with_membership();
            }
        }
    }
}
