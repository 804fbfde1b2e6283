//! Reading the nodes' state: who is in the cluster, each node's status, the leader;
//! waiting for a condition on the statuses; looking into a node's state machine.

use std::time::Duration;

use super::Cluster;
use crate::error::Error;
use crate::state_machine::StateMachine;
use crate::status::Status;
use crate::types::{NodeId, Role};

/// Reading the nodes' state, and waiting for it.
impl<S: StateMachine + Default> Cluster<S> {
    /// Every node ever started and not removed, in id order.
    pub fn ids(&self) -> Vec<NodeId> {
        self.slots.lock().keys().copied().collect()
    }

    /// A point-in-time view of node `id`. For a crashed node, its persisted term, vote
    /// and log; for an unknown id, an all-zero status with `alive == false`.
    pub fn status(&self, id: NodeId) -> Status {
        self.try_status(id).unwrap_or_else(|_| Status::unknown(id))
    }

    /// Like [`Cluster::status`], but an unknown id is an error.
    pub fn try_status(&self, id: NodeId) -> Result<Status, Error> {
        let slots = self.slots.lock();
        let slot = slots.get(&id).ok_or(Error::UnknownNode(id))?;
        let status = slot.status.lock().clone();
        Ok(status)
    }

    /// The status of every node, in id order.
    pub fn statuses(&self) -> Vec<Status> {
        let slots = self.slots.lock();
        slots.values().map(|s| s.status.lock().clone()).collect()
    }

    /// The node that leads the highest term among live nodes, if any.
    pub fn leader(&self) -> Option<NodeId> {
        self.statuses()
            .into_iter()
            .filter(|s| s.alive && s.role == Role::Leader)
            .max_by_key(|s| s.term)
            .map(|s| s.id)
    }

    /// Waits until `cond` holds of the statuses, checking as they change, or fails
    /// after `timeout` with the cluster's state.
    #[track_caller]
    pub fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        mut cond: impl FnMut(&[Status]) -> bool,
    ) -> Result<(), Error> {
        let deadline = self.now() + timeout;
        loop {
            self.check_threads();
            if cond(&self.statuses()) {
                return Ok(());
            }
            if self.now() >= deadline {
                self.trace.note(
                    log::Level::Warn,
                    "cluster",
                    &format!(
                        "gave up waiting for {what} after {timeout:?}\n{}",
                        self.dump(30)
                    ),
                );
                return Err(Error::Timeout);
            }
            self.pause(deadline);
        }
    }

    /// Waits for a live node that leads with a majority of its voters (itself included)
    /// alive, in its term and following it, and returns it. A leader cut off in a
    /// minority (§6.4's stale leader) is not returned: its followers never hear it.
    #[track_caller]
    pub fn wait_for_leader(&self, timeout: Duration) -> Result<NodeId, Error> {
        let mut found = None;
        self.wait_for("a leader followed by a majority", timeout, |st| {
            found = st
                .iter()
                .filter(|l| l.followed_by_majority(st))
                .max_by_key(|l| l.term)
                .map(|l| l.id);
            found.is_some()
        })?;
        Ok(found.expect("set when the wait succeeded"))
    }

    /// Runs `f` on node `id`'s state machine, on the node's own thread between two
    /// steps. `None` while the node is crashed (or unknown).
    pub fn inspect<R: Send + 'static>(
        &self,
        id: NodeId,
        f: impl FnOnce(&S) -> R + Send + 'static,
    ) -> Option<R> {
        self.on_node(id, move |d, _| f(d.state_machine()))
    }
}
