//! Faults: crash and restart a node, cut and restore its links, partition the network
//! and heal it, change what the network does to messages.

use super::{Backend, Cluster};
use crate::config::NetConfig;
use crate::error::Error;
use crate::event::EventKind;
use crate::net::NetChange;
use crate::node::Control;
use crate::router;
use crate::state_machine::StateMachine;
use crate::types::{NodeId, Role};

/// Faults.
///
/// A message from `a` to `b` is delivered only if both are alive, both are connected
/// (not [`disconnect`](Cluster::disconnect)ed) and they share a partition group (no
/// partition is one group). Crash state and link state are independent: `restart`
/// does not reconnect a disconnected node, and `disconnect` of a crashed node holds
/// after its restart.
impl<S: StateMachine + Default> Cluster<S> {
    /// Crashes node `id`: its thread stops and its volatile state is lost; what it
    /// persisted stays. Crashing a crashed or unknown node does nothing.
    pub fn crash(&self, id: NodeId) {
        let _f = self.faults.lock();
        let running = {
            let mut slots = self.slots.lock();
            let Some(slot) = slots.get_mut(&id) else {
                self.trace.note(
                    log::Level::Warn,
                    "cluster",
                    &format!("crash({id}): no such node"),
                );
                return;
            };
            slot.running.take()
        };
        match (&self.backend, running) {
            (Backend::Sim(world), _) => {
                if !world.lock().crash(id) {
                    return;
                }
            }
            (Backend::Threads(rt), Some(running)) => {
                rt.control(router::Control::Net(NetChange::SetAlive(id, false)));
                let _ = running.control.send(Control::Crash);
                let _ = running.join.join();
            }
            (Backend::Threads(_), None) => return,
        }
        let slots = self.slots.lock();
        let slot = slots.get(&id).expect("slot exists");
        let (term, persisted_status) = {
            let storage = slot.storage.lock();
            let p = storage.persisted();
            let mut st = slot.status.lock().clone();
            st.alive = false;
            st.role = Role::Follower;
            st.term = p.hard_state.current_term;
            st.voted_for = p.hard_state.voted_for;
            st.leader = None;
            st.snapshot_index = p.log.snapshot_index();
            st.last_log_index = p.log.last_index();
            st.last_log_term = p.log.last_term();
            (p.hard_state.current_term, st)
        };
        *slot.status.lock() = persisted_status;
        self.trace.record(Some(id), term, None, EventKind::Crashed);
    }

    /// Restarts node `id` on a fresh thread from its persisted state (term, vote, log,
    /// snapshot). Restarting a running node crashes it first. Link state is untouched:
    /// a disconnected node stays disconnected.
    pub fn restart(&self, id: NodeId) {
        if !self.slots.lock().contains_key(&id) {
            self.trace.note(
                log::Level::Warn,
                "cluster",
                &format!("restart({id}): no such node"),
            );
            return;
        }
        self.crash(id);
        let _f = self.faults.lock();
        let (term, last) = {
            let slots = self.slots.lock();
            // remove_node may have discarded the node since the check above.
            let Some(slot) = slots.get(&id) else { return };
            let mut storage = slot.storage.lock();
            if self.config.unsafe_forget_vote_on_restart {
                storage.forget_vote();
            }
            let p = storage.persisted();
            (p.hard_state.current_term, p.log.last_index())
        };
        self.trace.record(
            Some(id),
            term,
            None,
            EventKind::Restarted {
                last_log_index: last,
            },
        );
        self.start_node(id);
    }

    /// Cuts every link to and from `id`.
    pub fn disconnect(&self, id: NodeId) {
        self.net(NetChange::SetConnected(id, false));
        self.trace
            .record(None, 0, None, EventKind::Disconnected { node: id });
    }

    /// Same as [`Cluster::disconnect`]: the name raft-rs's harness uses.
    pub fn isolate(&self, id: NodeId) {
        self.disconnect(id);
    }

    /// Restores the links of `id` to the connected peers.
    pub fn connect(&self, id: NodeId) {
        self.net(NetChange::SetConnected(id, true));
        self.trace
            .record(None, 0, None, EventKind::Connected { node: id });
    }

    /// Only nodes in the same group can talk; a node in no group is alone. Clients reach
    /// every node, unless a group holds a client's address (`kv::Client::address`,
    /// `RawClient::address`): that client is then confined to its group's side.
    pub fn partition(&self, groups: &[&[NodeId]]) {
        let groups: Vec<Vec<NodeId>> = groups.iter().map(|g| g.to_vec()).collect();
        self.net(NetChange::Partition(groups.clone()));
        self.trace
            .record(None, 0, None, EventKind::Partitioned { groups });
    }

    /// No partition, every node connected again.
    pub fn heal(&self) {
        self.net(NetChange::Heal);
        self.trace.record(None, 0, None, EventKind::Healed);
    }

    /// Changes what the network does to messages from now on.
    pub fn set_net(&self, net: NetConfig) -> Result<(), Error> {
        net.validate()?;
        let text = format!("{net:?}");
        self.net(NetChange::SetNet(net));
        self.trace
            .record(None, 0, None, EventKind::NetChanged { net: text });
        Ok(())
    }

    /// Applies a change to the links or the network's settings.
    fn net(&self, change: NetChange) {
        match &self.backend {
            Backend::Sim(world) => world.lock().net(change),
            Backend::Threads(rt) => rt.control(router::Control::Net(change)),
        }
    }
}
