//! Faults: crashes and restarts, disconnections, partitions, and the network's settings.

use crate::kv::KvStore;
use crate::types::NodeId;
use crate::Cluster;

use super::super::parse::{Member, NetSet};
use super::{Runner, R};

impl Runner<'_> {
    /// `crash`: each listed node, which must be running.
    pub(super) fn crash(&mut self, ids: &[NodeId]) -> R {
        for id in self.all_known(ids)? {
            let c = self.cluster()?;
            if !c.status(id).alive {
                return Err(format!("n{id} is already crashed"));
            }
            c.crash(id);
        }
        Ok(())
    }

    /// `restart`: each listed node, which must be crashed (a restart brings back a
    /// crashed node from its stable storage; it does not crash a running one first).
    pub(super) fn restart(&mut self, ids: &[NodeId]) -> R {
        for id in self.all_known(ids)? {
            let c = self.cluster()?;
            if c.status(id).alive {
                return Err(format!(
                    "n{id} is running: `restart` brings back a crashed node (`crash n{id}` first)"
                ));
            }
            c.restart(id);
        }
        Ok(())
    }

    /// Does `f` to each listed node (`disconnect`, `connect`).
    pub(super) fn each(&mut self, ids: &[NodeId], f: impl Fn(&Cluster<KvStore>, NodeId)) -> R {
        for id in self.all_known(ids)? {
            f(self.cluster()?, id);
        }
        Ok(())
    }

    /// `partition`: groups of nodes and of named clients. A node in no group is cut off
    /// from every other node; the output says so.
    pub(super) fn partition(&mut self, groups: &[Vec<Member>], out: &mut Vec<String>) -> R {
        let mut ids: Vec<Vec<NodeId>> = Vec::new();
        for g in groups {
            let mut group = Vec::new();
            for m in g {
                group.push(match m {
                    Member::Node(id) => self.known(*id)?,
                    Member::Client(name) => self.client(name)?.address(),
                });
            }
            ids.push(group);
        }
        let groups: Vec<&[NodeId]> = ids.iter().map(|g| g.as_slice()).collect();
        self.cluster()?.partition(&groups);
        for id in self.cluster()?.ids() {
            if !groups.iter().any(|g| g.contains(&id)) {
                out.push(format!("n{id} is in no group: cut off from all"));
            }
        }
        Ok(())
    }

    /// `net`: changes the network's settings, each from where the last left it.
    pub(super) fn set_net(&mut self, sets: &[NetSet]) -> R {
        let mut net = self.net.clone();
        for set in sets {
            match set {
                NetSet::Preset(preset) => net = preset.clone(),
                NetSet::Drop(p) => net.drop_rate = *p,
                NetSet::Dup(p) => net.duplicate_rate = *p,
                NetSet::Delay(lo, hi) => (net.delay_min, net.delay_max) = (*lo, *hi),
                NetSet::Reorder(on) => net.long_reordering = *on,
            }
        }
        self.cluster()?
            .set_net(net.clone())
            .map_err(|e| e.to_string())?;
        self.net = net;
        Ok(())
    }
}
