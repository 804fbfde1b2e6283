//! What of the log is durable: the runtime's acknowledgements of its writes.
//!
//! Figure 2 asks for the log to be "updated on stable storage before responding to
//! RPCs"; the commit rule (§5.3, §5.4.2) counts an entry as stored on a server only once
//! it is durable there. For a follower the order of the `Ready` gives that: persist, then
//! send the acknowledgement. The leader's own copy is counted without a message, so the
//! core must be told: every `Ready` that writes the log says up to which entry
//! ([`Ready::persist_to`](super::Ready::persist_to)), and the runtime calls
//! [`Raft::on_persist_entries`] once that write is durable (raft-rs's
//! `on_persist_entries`, etcd's `MsgStorageAppendResp`). The leader counts itself up to
//! [`Raft::persisted_index`] and no further, so it may send its entries while its own
//! write is in progress (dissertation §10.2.1) and still never counts a copy a crash
//! could take back.
//!
//! Writes finish in the order they were handed out, but an acknowledgement can arrive
//! after the log changed again: a write of entries 2..=3 is acknowledged after a new
//! leader's AppendEntries replaced 2..=3, or even after a third leader put the same
//! entries back (their index and term match again, but the write that restores them may
//! not have happened yet). So the core keeps the writes not yet acknowledged, and an
//! acknowledgement counts only below the first index any later write changes.

use std::collections::VecDeque;

use crate::types::{Index, Term};

use super::Raft;

/// A log write handed to the runtime and not yet acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LogWrite {
    /// The lowest index whose entry this write may change on disk (appended, replaced
    /// after a conflict, or under an installed snapshot); `None` if it only compacts.
    changes_from: Option<Index>,
    /// The log's last entry (index, term) when the write was handed out: what
    /// `on_persist_entries` is called with once it is durable.
    last: (Index, Term),
}

/// The core's record of its unacknowledged log writes.
#[derive(Debug, Default)]
pub(crate) struct Unstable {
    /// Handed out in `Ready`s, not yet acknowledged, oldest first.
    writes: VecDeque<LogWrite>,
    /// The lowest index changed since the last `take_ready` (the write being made).
    changes_from: Option<Index>,
}

impl<C: Clone, D: Clone> Raft<C, D> {
    /// The highest index known to be durable on this server, with the entry this server
    /// now holds there (everything up to it is durable too). A leader counts its own
    /// copy of the log up to here in the commit rule.
    pub fn persisted_index(&self) -> Index {
        self.persisted_index
    }

    /// The runtime's acknowledgement that the log write of a `Ready` is durable: call it
    /// with that `Ready`'s [`persist_to`](super::Ready::persist_to), once per such
    /// `Ready` and in order (acknowledging a later one acknowledges the earlier ones
    /// too). A leader may then commit, so call [`Raft::take_ready`] again afterwards
    /// (see [`Raft::has_ready`]). An acknowledgement matching no write in progress (the
    /// log was overwritten since, or the core restarted) is ignored.
    pub fn on_persist_entries(&mut self, index: Index, term: Term) {
        let writes = &mut self.unstable.writes;
        let Some(pos) = writes.iter().position(|w| w.last == (index, term)) else {
            return;
        };
        writes.drain(..=pos);
        // A later write that changes entries at or below `index` may already have
        // truncated them on disk (and not yet put the new ones there): only what lies
        // below every such change is known durable. (A later write that only appends
        // changes nothing at or below `index`.)
        let changed = writes
            .iter()
            .filter_map(|w| w.changes_from)
            .chain(self.unstable.changes_from)
            .min();
        let durable = changed.map_or(index, |from| index.min(from - 1));
        if durable > self.persisted_index {
            debug_assert!(
                durable <= self.log.last_index(),
                "n{}: persisted index {durable} beyond the log's end {}",
                self.id,
                self.log.last_index()
            );
            self.persisted_index = durable;
            // The leader's own copy now counts (§5.3): a cluster of one commits here.
            self.maybe_commit();
        }
    }

    /// The log changes from `from` on (entries appended or replaced, or a snapshot
    /// installed over them): what the disk holds there no longer counts until the write
    /// being made is durable.
    pub(crate) fn note_log_change(&mut self, from: Index) {
        self.persisted_index = self.persisted_index.min(from.saturating_sub(1));
        let c = self.unstable.changes_from.get_or_insert(from);
        *c = (*c).min(from);
    }

    /// In `take_ready`: if this `Ready` writes the log, say up to which entry, and
    /// remember the write until it is acknowledged.
    pub(crate) fn record_log_write(&mut self) {
        if self.ready.log_dirty_from.is_none() && self.ready.snapshot.is_none() {
            return;
        }
        let last = (self.log.last_index(), self.log.last_term());
        self.ready.persist_to = Some(last);
        self.unstable.writes.push_back(LogWrite {
            changes_from: self.unstable.changes_from.take(),
            last,
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::log::Entry;
    use crate::membership::Membership;
    use crate::message::Message;
    use crate::raft::{Persisted, Raft, RaftConfig};
    use crate::types::{Index, NodeId, Term};

    /// Steps an AppendEntries of `entries` (term, index) after `prev` into `core` and
    /// returns what its Ready asks to be acknowledged.
    fn append(
        core: &mut Raft<u64, ()>,
        leader: NodeId,
        term: Term,
        prev: (Index, Term),
        entries: &[(Term, Index)],
    ) -> (Index, Term) {
        let entries: Vec<_> = entries
            .iter()
            .map(|&(t, i)| Entry::command(t, i, i))
            .collect();
        let msg = Message::AppendEntries {
            term,
            leader_id: leader,
            prev_log_index: prev.0,
            prev_log_term: prev.1,
            entries: entries.into(),
            leader_commit: 1,
            read_seq: 0,
        };
        core.step(leader, msg);
        core.broadcast_batched();
        core.take_ready().persist_to.expect("a log write")
    }

    /// raft-rs's corner case: a follower writes t1@2..3 (W1); a term-2 leader replaces
    /// index 2 (W2); a term-3 leader puts t1@2..3 back (W3). W1's acknowledgement then
    /// names an entry the log holds again (t1@3), but the disk may hold W2's result by
    /// now: only index 1 is known durable until W3 is acknowledged.
    #[test]
    fn an_acknowledgement_counts_only_below_later_rewrites() {
        let mut core: Raft<u64, ()> = Raft::new(
            1,
            Membership::new(0..3),
            RaftConfig::figure2(),
            Persisted::default(),
        );
        let w1 = append(&mut core, 0, 1, (0, 0), &[(1, 1), (1, 2), (1, 3)]);
        let w2 = append(&mut core, 2, 2, (1, 1), &[(2, 2)]);
        let w3 = append(&mut core, 0, 3, (1, 1), &[(1, 2), (1, 3), (3, 4)]);
        assert_eq!((w1, w2, w3), ((3, 1), (2, 2), (4, 3)));
        assert_eq!(core.log().term_at(3), Some(1), "t1@3 is back");
        assert_eq!(core.persisted_index(), 0);

        core.on_persist_entries(3, 1);
        assert_eq!(core.persisted_index(), 1, "W2 and W3 rewrite from 2");
        core.on_persist_entries(2, 2);
        assert_eq!(core.persisted_index(), 1, "W3 rewrites from 2");
        core.on_persist_entries(3, 1); // a duplicate: no write in progress has it
        assert_eq!(core.persisted_index(), 1);
        core.on_persist_entries(4, 3);
        assert_eq!(core.persisted_index(), 4);
    }
}
