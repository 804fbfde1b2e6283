//! Proposing commands: Raft's Start() (`propose`), and `propose_and_wait`, which
//! retries through elections until the command is applied; and how the harness tells
//! from the nodes' logs and snapshots whether a proposed entry committed.

use std::time::Duration;

use super::Cluster;
use crate::error::{Error, NotLeader};
use crate::state_machine::StateMachine;
use crate::types::{Index, NodeId, Term};

/// Proposing commands.
impl<S: StateMachine + Default> Cluster<S> {
    /// Raft's Start(): returns at once with the index the command will occupy if it
    /// commits and the leader's term; the entry may or may not commit later. A follower,
    /// a crashed node or an unknown id answers `NotLeader` (with a hint where known).
    pub fn propose(&self, id: NodeId, command: S::Command) -> Result<(Index, Term), NotLeader> {
        self.on_node(id, move |d, _| d.propose(command))
            .unwrap_or(Err(NotLeader { leader: None }))
    }

    /// Proposes `command` to whichever node leads, retrying through elections, and
    /// waits until at least `replicas` live nodes applied it at its index. Returns the
    /// index. Fails with `Timeout` (outcome unknown) after `timeout`.
    #[track_caller]
    pub fn propose_and_wait(
        &self,
        command: S::Command,
        replicas: usize,
        timeout: Duration,
    ) -> Result<Index, Error> {
        let deadline = self.now() + timeout;
        while self.now() < deadline {
            self.check_threads();
            let Some(leader) = self.leader() else {
                self.pause(deadline);
                continue;
            };
            let Ok((index, term)) = self.propose(leader, command.clone()) else {
                self.pause(deadline);
                continue;
            };
            // Wait for it to commit at that index in that term, or for the term to pass.
            while self.now() < deadline {
                let st = self.statuses();
                let applied = st
                    .iter()
                    .filter(|s| s.alive && s.last_applied >= index)
                    .count();
                let committed = self.commit_of(index, term);
                if applied >= replicas && committed == Commit::Ours {
                    return Ok(index);
                }
                // Another leader's entry committed at that index: ours is gone for good,
                // so propose again rather than wait out the deadline.
                if committed == Commit::Replaced {
                    break;
                }
                let moved_on = st.iter().any(|s| s.term > term);
                if moved_on && applied == 0 {
                    break;
                }
                self.pause(deadline);
            }
            // Let time pass before trying again: the node that looked like the leader
            // may be a stale one that has not heard of the newer term yet, and asking
            // it again at once would spin (forever, on the simulated runtime).
            self.pause(deadline);
        }
        Err(Error::Timeout)
    }

    /// Whether the entry proposed at `(index, term)` committed, from the nodes' stored
    /// logs and snapshots.
    ///
    /// A live node that committed `index` and still holds it in its log tells its term.
    /// Once every node compacted past `index` (§7), only snapshots are left, and a
    /// snapshot gives the term of its last entry alone; everything it covers is
    /// committed. With `index <= last_index`:
    /// - `last_term == term`: ours committed. The snapshot's last entry was created by
    ///   the one leader of `term` (§5.2, Election Safety), which held ours at `index`
    ///   from the proposal on (Leader Append-Only) and created later entries at higher
    ///   indexes; so its log at that entry's creation had ours at `index`, and by Log
    ///   Matching so does the committed log.
    /// - `last_term < term`: another entry committed there (terms never decrease along
    ///   a log, so the entry at `index` has a term `<= last_term`).
    /// - `last_term > term`: not decidable from this snapshot; ask the next node.
    pub(crate) fn commit_of(&self, index: Index, term: Term) -> Commit {
        let slots = self.slots.lock();
        for slot in slots.values() {
            let status = slot.status.lock();
            let committed_here = status.alive && status.commit_index >= index;
            drop(status);
            let storage = slot.storage.lock();
            let log = &storage.persisted().log;
            if committed_here {
                if let Some(t) = log.term_at(index) {
                    return Commit::of(t == term);
                }
            }
            // A snapshot covers committed entries only, so a crashed node's counts too.
            let (last_index, last_term) = (log.snapshot_index(), log.snapshot_term());
            if index <= last_index && last_term <= term {
                return Commit::of(last_term == term);
            }
        }
        Commit::Unknown
    }
}

/// What the harness knows of a proposed entry (see [`Cluster::commit_of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Commit {
    /// The entry committed at its index.
    Ours,
    /// Another entry committed at its index: it never will.
    Replaced,
    /// Not known (yet).
    Unknown,
}

impl Commit {
    fn of(ours: bool) -> Commit {
        if ours {
            Commit::Ours
        } else {
            Commit::Replaced
        }
    }
}
