//! The leader's view of each follower (Figure 2's `nextIndex[]` and `matchIndex[]`) and
//! how it sends to it.
//!
//! Flow control follows etcd's progress states: a follower whose log position is
//! unknown is *probed* with one AppendEntries at a time; once one succeeds the leader
//! *replicates* optimistically, pipelining up to `max_inflight_appends` batches; a
//! follower whose next entry was compacted away gets a *snapshot*, one, and the leader
//! waits for its answer (or `snapshot_resend_ticks` heartbeats) before sending anything
//! else but heartbeats.

use std::collections::VecDeque;

use crate::types::Index;

/// How the leader is currently sending to one follower.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressState {
    /// Looking for the point where the logs agree: one AppendEntries at a time.
    Probe,
    /// Logs agree up to `match_index`: stream entries, several batches in flight.
    Replicate,
    /// A snapshot is on its way: send no entries and no other snapshot until it is
    /// answered, or `snapshot_resend_ticks` heartbeats pass without an answer.
    Snapshot,
}

/// The leader's view of one follower (Figure 2: `nextIndex[i]`, `matchIndex[i]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The index of the next entry to send.
    pub next_index: Index,
    /// The highest index known to be replicated on the follower.
    pub match_index: Index,
    /// How entries are being sent.
    pub state: ProgressState,
    /// Probe: an AppendEntries is out; wait for its answer or the next heartbeat.
    pub probe_sent: bool,
    /// Replicate: the last index of each unacknowledged AppendEntries, oldest first.
    pub inflight: VecDeque<Index>,
    /// Heard from since the last CheckQuorum tick.
    pub recent_active: bool,
    /// Acknowledged something since the last heartbeat (else in-flight data is presumed lost).
    pub acked_since_heartbeat: bool,
    /// The latest ReadIndex round this follower has answered.
    pub acked_read_seq: u64,
    /// Snapshot: the last index of the snapshot in flight (etcd's `PendingSnapshot`).
    pub pending_snapshot: Index,
    /// Snapshot: heartbeat ticks since it was sent, towards `snapshot_resend_ticks`.
    pub snapshot_ticks: u32,
}

impl Progress {
    /// A follower about which nothing is known yet: probe from `next_index`.
    pub fn new(next_index: Index) -> Self {
        Progress {
            next_index,
            match_index: 0,
            state: ProgressState::Probe,
            probe_sent: false,
            inflight: VecDeque::new(),
            recent_active: false,
            acked_since_heartbeat: false,
            acked_read_seq: 0,
            pending_snapshot: 0,
            snapshot_ticks: 0,
        }
    }

    fn reset_state(&mut self, state: ProgressState) {
        self.state = state;
        self.probe_sent = false;
        self.inflight.clear();
        self.pending_snapshot = 0;
        self.snapshot_ticks = 0;
    }

    pub(crate) fn become_probe(&mut self, next_index: Index) {
        self.reset_state(ProgressState::Probe);
        self.next_index = next_index;
    }

    fn become_replicate(&mut self) {
        self.reset_state(ProgressState::Replicate);
        self.next_index = self.next_index.max(self.match_index + 1);
    }

    /// A snapshot through `last_index` has just been sent.
    pub(crate) fn become_snapshot(&mut self, last_index: Index) {
        self.reset_state(ProgressState::Snapshot);
        self.pending_snapshot = last_index;
    }

    /// The follower holds the leader's log through `match_index`. False if that is no
    /// news: a late, duplicated or repeated answer never moves matchIndex back.
    pub(crate) fn maybe_update(&mut self, match_index: Index) -> bool {
        if match_index <= self.match_index {
            return false;
        }
        self.match_index = match_index;
        self.next_index = self.next_index.max(match_index + 1);
        self.acked_since_heartbeat = true;
        true
    }

    /// After an acknowledgement through `match_index`: leave Probe (the logs agree),
    /// slide the Replicate window, or end the wait for a snapshot once the follower holds
    /// at least what it carried (§7; how the follower got there does not matter).
    pub(crate) fn on_acknowledged(&mut self) {
        match self.state {
            ProgressState::Probe => self.become_replicate(),
            ProgressState::Replicate => {
                while self
                    .inflight
                    .front()
                    .is_some_and(|&i| i <= self.match_index)
                {
                    self.inflight.pop_front();
                }
            }
            ProgressState::Snapshot if self.match_index >= self.pending_snapshot => {
                // Whatever was in flight before the snapshot is moot: stream from the
                // match (etcd: BecomeProbe, then BecomeReplicate).
                self.next_index = self.match_index + 1;
                self.become_replicate()
            }
            // An answer to something older than the snapshot in flight: keep waiting.
            ProgressState::Snapshot => {}
        }
    }
}
