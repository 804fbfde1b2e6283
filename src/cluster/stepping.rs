//! Exact stepping for scripts and scenarios: hold, deliver and drop messages in flight,
//! freeze the timers, fire a heartbeat; and reading a node's log, compacting it on
//! demand. What `crate::script` is built on (`hold n0->n1 AppendEntries`, `timers off`,
//! `log n3` → `1@1 2@1 3@2`). Holding and freezing need the simulated runtime: threads
//! have no single place where every message and timer passes in order.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::error::Error;
use crate::message::Message;
use crate::net::Routable;
use crate::sim::{MessageFilter, World};
use crate::state_machine::StateMachine;
use crate::types::{Index, NodeId, Role, Term};
use crate::wire::Wire;

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

    fn stepping(&self) -> Result<&Arc<Mutex<World<S>>>, Error> {
        self.world().ok_or_else(|| {
            Error::Unsupported(
                "holding messages and freezing timers need the simulated runtime".into(),
            )
        })
    }

    /// From now on, messages between nodes that match `filter` are held when they
    /// arrive, until [`Cluster::deliver_held`] or [`Cluster::drop_held`] (simulated
    /// runtime only).
    pub fn hold_messages(&self, filter: MessageFilter) -> Result<(), Error> {
        self.stepping()?.lock().hold(filter);
        Ok(())
    }

    /// Stops holding new messages; those held stay held (simulated runtime only).
    pub fn stop_holding(&self) -> Result<(), Error> {
        self.stepping()?.lock().unhold();
        Ok(())
    }

    /// The held messages, oldest first, one line each: `n0->n1 AppendEntries t4 prev
    /// 2@2 [3@4] commit 0` (an AppendEntries names its entries as INDEX@TERM).
    pub fn held_messages(&self) -> Result<Vec<String>, Error> {
        let world = self.stepping()?.lock();
        Ok(world
            .held()
            .iter()
            .map(|p| {
                let detail = match &p.msg {
                    Wire::Raft(Message::AppendEntries {
                        prev_log_index,
                        prev_log_term,
                        entries,
                        leader_commit,
                        ..
                    }) => {
                        let carried: Vec<String> = entries
                            .iter()
                            .map(|e| format!("{}@{}", e.index, e.term))
                            .collect();
                        format!(
                            " prev {prev_log_index}@{prev_log_term} [{}] commit {leader_commit}",
                            carried.join(" ")
                        )
                    }
                    _ => String::new(),
                };
                format!(
                    "n{}->n{} {} t{}{detail}",
                    p.from,
                    p.to,
                    p.msg.kind(),
                    p.msg.term()
                )
            })
            .collect())
    }

    /// Delivers up to `max` held messages matching `filter` now, oldest first (the links
    /// are checked as for any arrival); returns how many (simulated runtime only).
    pub fn deliver_held(&self, filter: &MessageFilter, max: usize) -> Result<usize, Error> {
        Ok(self.stepping()?.lock().deliver_held(filter, max))
    }

    /// Loses the held messages matching `filter`; returns how many (simulated runtime
    /// only).
    pub fn drop_held(&self, filter: &MessageFilter) -> Result<usize, Error> {
        Ok(self.stepping()?.lock().drop_held(filter))
    }

    /// Freezes (true) or thaws every node's timers: frozen, no election timeout or
    /// heartbeat fires by itself, only [`Cluster::fire_election_timeout`] and
    /// [`Cluster::fire_heartbeat`]; thawed, every timer starts afresh from now
    /// (simulated runtime only).
    pub fn freeze_timers(&self, frozen: bool) -> Result<(), Error> {
        self.stepping()?.lock().freeze_timers(frozen);
        Ok(())
    }

    /// Makes leader `id`'s heartbeat timer fire now. An error if `id` is unknown,
    /// crashed or not leading.
    pub fn fire_heartbeat(&self, id: NodeId) -> Result<(), Error> {
        let status = self.try_status(id)?;
        if !status.alive {
            return Err(Error::NodeCrashed(id));
        }
        if status.role != Role::Leader {
            return Err(Error::NotLeader(crate::error::NotLeader {
                leader: status.leader,
            }));
        }
        self.on_node(id, |d, now| d.fire_heartbeat(now));
        Ok(())
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
