//! What the core hands back after a step: the work the runtime must carry out, in order.

use crate::log::{Entry, RaftLog, Snapshot};
use crate::message::Envelope;
use crate::types::{Index, NodeId, Term};

use super::Emitted;

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

/// The output of the core since the last `take_ready`: everything the runtime must do,
/// carried in full, so the runtime never reads the core's state to carry it out.
///
/// The runtime must handle it in this order: persist (`hard_state`, then `snapshot` or
/// `log_dirty_from` with `entries`), then send `messages`, then restore
/// `snapshot_to_restore` and apply `committed`. Persisting first is what makes a vote or
/// an acknowledgement a promise that survives a crash (§5.1, Figure 2: "updated on
/// stable storage before responding").
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
    /// The log changed from this index on (appended, or replaced after a conflict):
    /// stable storage drops whatever it holds at or after it and stores `entries`.
    pub log_dirty_from: Option<Index>,
    /// The log entries to store: from `log_dirty_from` on, or, with `snapshot`, every
    /// entry the log holds after the snapshot.
    pub entries: Vec<Entry<C>>,
    /// A new snapshot (taken or installed): it replaces the stored snapshot, and the
    /// stored log becomes the snapshot's prefix followed by `entries`.
    pub snapshot: Option<Snapshot<D>>,
    /// Set when this `Ready` writes the log (`log_dirty_from` or `snapshot`): the log's
    /// last entry (index, term) at the time. Once the write is durable, pass it to
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
    /// What happened, in order, each with the role and term the server had as it
    /// happened: for the trace, the log and the safety checker.
    pub events: Vec<Emitted>,
}

impl<C, D> Default for Ready<C, D> {
    fn default() -> Self {
        Ready {
            messages: Vec::new(),
            hard_state: None,
            log_dirty_from: None,
            entries: Vec::new(),
            snapshot: None,
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
            && self.snapshot.is_none()
            && self.persist_to.is_none()
            && self.snapshot_to_restore.is_none()
            && self.committed.is_empty()
            && self.reads.is_empty()
            && self.failed_reads.is_empty()
            && !self.reset_election_timer
            && self.events.is_empty()
    }

    /// Whether carrying it out writes stable storage (term, vote, log or snapshot).
    pub fn writes(&self) -> bool {
        self.hard_state.is_some() || self.log_dirty_from.is_some() || self.snapshot.is_some()
    }
}
