//! The cluster itself: the disks it starts from, its start, and its membership.

use std::sync::Arc;

use crate::check::KvHistory;
use crate::config::Config;
use crate::log::{Entry, RaftLog};
use crate::raft::{HardState, Persisted};
use crate::types::{NodeId, Term};
use crate::Cluster;

use super::{label, Runner, R};

impl Runner<'_> {
    /// `disk`: a node's stable storage, kept until the next `cluster` starts it.
    pub(super) fn disk(&mut self, node: NodeId, term: Term, vote: Option<NodeId>, log: &[Term]) {
        let entries = log
            .iter()
            .zip(1..)
            .map(|(&t, i)| Entry::command(t, i, label(&format!("t{t}@{i}"))))
            .collect();
        self.disks.insert(
            node,
            Persisted {
                hard_state: HardState {
                    current_term: term,
                    voted_for: vote,
                },
                log: RaftLog::from_parts(0, 0, entries),
                snapshot: None,
            },
        );
    }

    /// `cluster`: starts a cluster from the disks given so far.
    pub(super) fn start_cluster(&mut self, nodes: usize, config: &Config, seed: Option<u64>) -> R {
        // A new cluster replaces the last one (a script may compare several
        // starting points, as Figure 7 asks for each of its servers).
        if let Some(old) = self.cluster.take() {
            let v = old.violations();
            if !v.is_empty() && !self.violation_expected {
                self.cluster = Some(old);
                return Err(format!(
                    "the last cluster had {} safety violation(s) the script did not expect",
                    v.len()
                ));
            }
            self.clients.clear();
            self.history = Arc::new(KvHistory::new());
            (self.shown, self.traced, self.violation_expected) = (0, 0, false);
        }
        if let Some((&id, _)) = self.disks.range(nodes..).next() {
            return Err(format!(
                "`disk n{id}` names a node beyond the cluster's n0..n{}",
                nodes - 1
            ));
        }
        let config = Config {
            seed: Some(self.options.seed.or(seed).unwrap_or(1)),
            runtime: self.options.runtime,
            ..config.clone()
        };
        self.net = config.net.clone();
        let disks = (0..nodes)
            .map(|i| self.disks.remove(&i).unwrap_or_default())
            .collect();
        let c = Cluster::try_with_state(config, disks).map_err(|e| e.to_string())?;
        self.cluster = Some(c);
        Ok(())
    }

    /// `add_node`.
    pub(super) fn add_node(&mut self, out: &mut Vec<String>) -> R {
        let c = self.cluster()?;
        if c.ids().len() >= crate::script::parse::MAX_NODES {
            return Err(format!(
                "the cluster has {} nodes already, the most a script's cluster may have",
                crate::script::parse::MAX_NODES
            ));
        }
        let id = c.add_node().map_err(|e| e.to_string())?;
        out.push(format!("added n{id}"));
        Ok(())
    }

    /// `remove_node`.
    pub(super) fn remove_node(&mut self, id: NodeId, out: &mut Vec<String>) -> R {
        let id = self.known(id)?;
        self.cluster()?.remove_node(id).map_err(|e| e.to_string())?;
        out.push(format!("removed n{id}"));
        Ok(())
    }

    /// `transfer`: hands leadership to `to`.
    pub(super) fn transfer(&mut self, to: NodeId) -> R {
        let to = self.running(to)?;
        self.cluster()?
            .transfer_leader(to)
            .map_err(|e| e.to_string())
    }

    /// `snapshot`: each node compacts its log.
    pub(super) fn snapshot(&mut self, ids: &[NodeId]) -> R {
        for id in self.all_known(ids)? {
            self.cluster()?.compact(id).map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}
