//! Faults: crashes and restarts, disconnections, partitions, and the network's settings.

use crate::kv::KvStore;
use crate::types::NodeId;
use crate::Cluster;

use super::super::parse::{Member, NetSet};
use super::{Runner, R};

impl Runner<'_> {
    /// Does `f` to each listed node (`crash`, `restart`, `disconnect`, `connect`).
    pub(super) fn each(&mut self, ids: &[NodeId], f: impl Fn(&Cluster<KvStore>, NodeId)) -> R {
        for id in self.all_known(ids)? {
            f(self.cluster()?, id);
        }
        Ok(())
    }

    /// `partition`: groups of nodes and of named clients.
    pub(super) fn partition(&mut self, groups: &[Vec<Member>]) -> R {
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
