//! What the core hands back after a step: the work the runtime must carry out, in order.

use crate::event::EventKind;
use crate::log::{Entry, RaftLog, Snapshot};
use crate::message::Envelope;
use crate::types::{Index, NodeId, Term};

/// The persistent state on all servers (Figure 2) besides the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HardState {
    /// The latest term this server has seen.
    pub current_term: Term,
    /// The candidate that received this server's vote in `current_term`, if any.
    pub voted_for: Option<NodeId>,
}

/// Everything a server keeps on stable storage: what survives a crash.
#[derive(Debug, Clone)]
pub struct Persisted<C, D> {
    /// Term and vote.
    pub hard_state: HardState,
    /// The log, after the snapshot.
    pub log: RaftLog<C>,
    /// The latest snapshot, if the log was ever compacted or a snapshot installed.
    pub snapshot: Option<Snapshot<D>>,
}

impl<C, D> Default for Persisted<C, D> {
    fn default() -> Self {
        Persisted {
            hard_state: HardState::default(),
            log: RaftLog::default(),
            snapshot: None,
        }
    }
}

/// The output of the core since the last `take_ready`.
///
/// The runtime must handle it in this order: persist (`hard_state`, `log_dirty_from`,
/// `snapshot_changed`), then send `messages`, then restore `snapshot_to_restore` and apply
/// `committed`. Persisting first is what makes a vote or an acknowledgement a promise that
/// survives a crash (§5.1, Figure 2: "updated on stable storage before responding").
///
/// Once the log write is durable, the runtime tells the core with
/// [`Raft::on_persist_entries`](super::Raft::on_persist_entries)`(persist_to)`: a leader
/// counts its own copy of an entry towards a majority only from then on (§5.3). That call
/// may commit entries, so the runtime then takes the next `Ready` if
/// [`Raft::has_ready`](super::Raft::has_ready). A runtime that writes synchronously calls
/// it right after the write. One that writes in the background may send a step's
/// requests (AppendEntries, RequestVote, InstallSnapshot) while the write is in progress
/// (dissertation §10.2.1), but never its replies: a follower's acknowledgement or a
/// granted vote is sent only after the write it promises is durable.
#[derive(Debug)]
pub struct Ready<C, D> {
    /// Messages to hand to the network.
    pub messages: Vec<Envelope<C, D>>,
    /// Term or vote changed: persist this.
    pub hard_state: Option<HardState>,
    /// The log changed from this index on: persist the core's log from here, dropping
    /// whatever stable storage holds at or after it.
    pub log_dirty_from: Option<Index>,
    /// The snapshot changed (taken or installed): persist the core's snapshot and log.
    pub snapshot_changed: bool,
    /// Set when this `Ready` writes the log (`log_dirty_from` or `snapshot_changed`): the
    /// log's last entry (index, term) at the time. Once the write is durable, pass it to
    /// [`Raft::on_persist_entries`](super::Raft::on_persist_entries), once per `Ready`
    /// and in order.
    pub persist_to: Option<(Index, Term)>,
    /// A snapshot from the leader that the state machine must load before `committed`.
    pub snapshot_to_restore: Option<Snapshot<D>>,
    /// Newly committed entries, to apply in order.
    pub committed: Vec<Entry<C>>,
    /// ReadIndex reads confirmed: each may be served once `index` is applied.
    pub reads: Vec<crate::raft::ReadState>,
    /// ReadIndex reads that can no longer be confirmed (leadership lost): their contexts.
    pub failed_reads: Vec<u64>,
    /// The election timer must restart with a fresh random timeout.
    pub reset_election_timer: bool,
    /// What happened, for the trace and the log.
    pub events: Vec<EventKind>,
}

impl<C, D> Default for Ready<C, D> {
    fn default() -> Self {
        Ready {
            messages: Vec::new(),
            hard_state: None,
            log_dirty_from: None,
            snapshot_changed: false,
            persist_to: None,
            snapshot_to_restore: None,
            committed: Vec::new(),
            reads: Vec::new(),
            failed_reads: Vec::new(),
            reset_election_timer: false,
            events: Vec::new(),
        }
    }
}

impl<C, D> Ready<C, D> {
    /// True when there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
            && self.hard_state.is_none()
            && self.log_dirty_from.is_none()
            && !self.snapshot_changed
            && self.persist_to.is_none()
            && self.snapshot_to_restore.is_none()
            && self.committed.is_empty()
            && self.reads.is_empty()
            && self.failed_reads.is_empty()
            && !self.reset_election_timer
            && self.events.is_empty()
    }
}
