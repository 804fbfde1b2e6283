//! Reading a node's log and compacting it on demand: what the script interpreter
//! (`crate::script`) prints and asserts (`log n3` → `1@1 2@1 3@2`).

use crate::error::Error;
use crate::state_machine::StateMachine;
use crate::types::{Index, NodeId, Term};

use super::Cluster;

/// A node's stored log as `(index, term)` pairs, after the snapshot it starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogView {
    /// The last index and term the snapshot covers (`(0, 0)` if none).
    pub snapshot: (Index, Term),
    /// The entries after the snapshot, oldest first.
    pub entries: Vec<(Index, Term)>,
}

impl<S: StateMachine + Default> Cluster<S> {
    /// Node `id`'s log as stored (for a crashed node, what it persisted).
    pub fn log_view(&self, id: NodeId) -> Result<LogView, Error> {
        let slots = self.slots.lock();
        let slot = slots.get(&id).ok_or(Error::UnknownNode(id))?;
        let storage = slot.storage.lock();
        let log = &storage.persisted().log;
        Ok(LogView {
            snapshot: (log.snapshot_index(), log.snapshot_term()),
            entries: log.entries().iter().map(|e| (e.index, e.term)).collect(),
        })
    }

    /// Makes node `id` take a snapshot through its last applied entry now (§7), as it
    /// does by itself past `Config::snapshot_threshold`.
    pub fn compact(&self, id: NodeId) -> Result<(), Error> {
        if !self.slots.lock().contains_key(&id) {
            return Err(Error::UnknownNode(id));
        }
        self.on_node(id, |d, _| d.take_snapshot())
            .ok_or(Error::NodeCrashed(id))
    }
}
