//! Log compaction (§7): taking snapshots, sending them to followers that fell behind the
//! leader's compacted prefix, and installing them.

use crate::log::Snapshot;
use crate::membership::Membership;
use crate::message::Message;
use crate::types::{Index, NodeId, Role};

use super::{Event, Raft};

impl<C: Clone, D: Clone> Raft<C, D> {
    /// Whether the log holds at least `threshold` applied entries past the snapshot, so
    /// the runtime should take a snapshot of its state machine and call [`Raft::compact`].
    /// Never while the configuration in force at the last applied entry is unknown
    /// (see [`Raft::compact`]).
    pub fn snapshot_due(&self, threshold: u64) -> bool {
        self.handed_out >= self.log.snapshot_index() + threshold
            && self.config_at(self.handed_out).is_some()
    }

    /// The configuration in force at `index` (at or past the snapshot): the last config
    /// entry up to it, else the snapshot's, else the initial one. `None` on a node added
    /// later (started with no configuration, §4.1) that has not yet received a config
    /// entry or a snapshot: the entries it holds were committed under the cluster's
    /// configuration of the time, which nothing it holds names.
    pub(crate) fn config_at(&self, index: Index) -> Option<Membership> {
        if let Some((_, m)) = self.log.last_config(index) {
            return Some(m.clone());
        }
        let m = match &self.snapshot {
            Some(s) => &s.membership,
            None => &self.initial_membership,
        };
        // A cluster's configuration always has a voter: an empty one means "not known".
        (!m.voters.is_empty()).then(|| m.clone())
    }

    /// Compacts the log through `index` (an index handed out and applied), keeping `data`, the state
    /// machine's state at exactly that index, as the new snapshot, with the
    /// configuration in force at `index`. Does nothing while that configuration is
    /// unknown (a node added later, before its first config entry or snapshot): a
    /// snapshot recording no configuration would, once installed or restored without
    /// the log after it, leave its node knowing no voters. The wait is short: the entry
    /// that made this node a learner is on its way.
    pub fn compact(&mut self, index: Index, data: D) {
        assert!(
            index <= self.handed_out,
            "snapshot at {index} beyond the last entry handed out to apply, {}",
            self.handed_out
        );
        if index <= self.log.snapshot_index() {
            return;
        }
        let last_term = self.log.term_at(index).expect("compacting a held entry");
        let Some(membership) = self.config_at(index) else {
            return;
        };
        self.log.compact(index);
        self.snapshot = Some(Snapshot {
            last_index: index,
            last_term,
            membership,
            data,
        });
        self.snapshot_dirty = true;
        self.emit(Event::SnapshotTaken {
            last_index: index,
            last_term,
        });
    }

    /// Sends the latest snapshot to a follower that needs compacted entries, and waits
    /// for its answer (the progress's Snapshot state) before sending it anything but
    /// heartbeats: a snapshot is the whole state machine, copied here and installed there.
    pub(crate) fn send_snapshot(&mut self, to: NodeId) {
        let Some(p) = self.progress.get_mut(&to) else {
            return;
        };
        let Some(snapshot) = self.snapshot.clone() else {
            return;
        };
        let last_index = snapshot.last_index;
        // Holds in a correct Raft; with a teaching switch on, logs disagree in ways the
        // safety checker is there to report, so the run goes on.
        debug_assert!(
            self.cfg.is_unsafe() || p.match_index < last_index,
            "a snapshot through {last_index} for n{to}, which matches through {}",
            p.match_index
        );
        p.become_snapshot(last_index);
        self.emit(Event::SnapshotSent { to, last_index });
        self.send(
            to,
            Message::InstallSnapshot {
                term: self.current_term,
                leader_id: self.id,
                snapshot,
            },
        );
    }

    /// Handles InstallSnapshot (Figure 13): a snapshot no newer than what is committed
    /// here is ignored; otherwise the log keeps only entries after it that still match,
    /// and the state machine is reset to the snapshot.
    pub(crate) fn handle_install_snapshot(&mut self, leader: NodeId, snapshot: Snapshot<D>) {
        self.heard_from_leader(leader);
        let (index, term) = (snapshot.last_index, snapshot.last_term);
        if index > self.commit_index {
            // Entries past our commit index may differ from the snapshot's: until the
            // snapshot is durable, what the disk holds there no longer counts.
            self.note_log_change(self.commit_index + 1);
            self.log.install_snapshot(index, term);
            self.commit_index = index;
            self.handed_out = index;
            self.snapshot = Some(snapshot.clone());
            self.snapshot_dirty = true;
            self.ready.snapshot_to_restore = Some(snapshot);
            self.emit(Event::SnapshotInstalled {
                leader,
                last_index: index,
                last_term: term,
            });
            self.refresh_membership();
        }
        self.send(
            leader,
            Message::InstallSnapshotReply {
                term: self.current_term,
                last_index: self.commit_index.max(index),
            },
        );
    }

    /// The follower now holds everything through `last_index`. A late or duplicated
    /// answer (a snapshot resent after a lost answer is answered twice) says nothing the
    /// leader does not know, and must not move back a progress that has gone on since.
    pub(crate) fn handle_install_snapshot_reply(&mut self, from: NodeId, last_index: Index) {
        if self.role != Role::Leader {
            return;
        }
        let Some(p) = self.progress.get_mut(&from) else {
            return;
        };
        p.recent_active = true;
        if !p.maybe_update(last_index) {
            return;
        }
        // Matching through the snapshot's last entry, the follower can be streamed the
        // entries after it (etcd: probe, then replicate at once).
        p.on_acknowledged();
        self.maybe_commit();
        // A transfer target catching up through a snapshot may now match the whole log:
        // then TimeoutNow goes at once rather than after one more round trip (§3.10).
        if self.transfer.is_some_and(|t| t.target == from) {
            self.maybe_send_timeout_now();
        } else {
            self.send_append(from, false);
        }
    }
}
