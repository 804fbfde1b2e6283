//! Linearizable reads without log entries: ReadIndex (dissertation §6.4).
//!
//! A leader may answer a read from its state machine only if it is still the leader
//! when the read arrives, and only once its state machine reflects every write committed
//! before that. So: (1) it waits until it has committed an entry of its own term (its
//! no-op), which makes its commit index at least as high as any earlier leader's;
//! (2) it records its commit index as the read index; (3) it confirms it is still the
//! leader with one round of heartbeats answered by a majority, rounds being numbered by
//! `read_seq` and echoed in replies; (4) the runtime serves the read once it has applied
//! the read index. Reads arriving together share one round.

use crate::membership::quorum_index;
use crate::types::{Index, NodeId, Role};

use super::{NotLeader, Raft};

/// A read the leader has confirmed: serve it once `index` is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadState {
    /// The caller's context, from [`Raft::read_index`].
    pub ctx: u64,
    /// The read index: the state machine must have applied at least this far.
    pub index: Index,
}

/// A read waiting for its heartbeat round to be confirmed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PendingRead {
    ctx: u64,
    index: Index,
    seq: u64,
}

impl<C: Clone, D: Clone> Raft<C, D> {
    /// Starts a ReadIndex read with the caller's context `ctx`. It comes back in
    /// `Ready::reads` once confirmed, or in `Ready::failed_reads` if leadership is lost.
    pub fn read_index(&mut self, ctx: u64) -> Result<(), NotLeader> {
        if self.role != Role::Leader {
            return Err(NotLeader {
                leader: self.leader_id,
            });
        }
        self.read_seq += 1;
        self.reads.push_back(PendingRead {
            ctx,
            index: self.commit_index,
            seq: self.read_seq,
        });
        self.pending_read_round = true;
        self.maybe_confirm_reads();
        Ok(())
    }

    /// One heartbeat to every follower, carrying the latest round number.
    pub(crate) fn broadcast_read_round(&mut self) {
        let ids: Vec<NodeId> = self.progress.keys().copied().collect();
        for id in ids {
            self.send_append(id, true);
        }
    }

    /// Releases the reads whose round a majority has answered, once this leader has
    /// committed an entry of its term.
    pub(crate) fn maybe_confirm_reads(&mut self) {
        if self.reads.is_empty() || self.commit_index < self.term_start_index {
            return;
        }
        let acked: Vec<u64> = self
            .membership
            .voters
            .iter()
            .map(|&v| {
                if v == self.id {
                    u64::MAX
                } else {
                    self.progress.get(&v).map_or(0, |p| p.acked_read_seq)
                }
            })
            .collect();
        let confirmed = quorum_index(acked);
        while self.reads.front().is_some_and(|r| r.seq <= confirmed) {
            let r = self.reads.pop_front().expect("checked");
            self.ready.reads.push(ReadState {
                ctx: r.ctx,
                // Committing its no-op commits everything earlier leaders committed.
                index: r.index.max(self.term_start_index),
            });
        }
    }

    /// Leadership lost: no pending read can be confirmed any more.
    pub(crate) fn fail_reads(&mut self) {
        let failed = self.reads.drain(..).map(|r| r.ctx);
        self.ready.failed_reads.extend(failed);
    }
}
