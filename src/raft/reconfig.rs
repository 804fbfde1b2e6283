//! Membership changes one server at a time (dissertation ch. 4), with the errata fix: a
//! leader appends a configuration entry only once it has committed an entry of its own
//! term, and never while another change is uncommitted. Each server uses the newest
//! configuration in its log, committed or not (§4.1); a leader removed by a change steps
//! down once the change commits (§4.2.2).

use crate::error::{Error, NotLeader};
use crate::log::Payload;
use crate::membership::Membership;
use crate::types::{Index, NodeId, Role, Term};

use super::Raft;

/// One step of a membership change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigChange {
    /// Add a non-voting member that receives the log (§4.2.1).
    AddLearner(NodeId),
    /// Make a learner a voter, once it has caught up.
    Promote(NodeId),
    /// Remove a voter or a learner.
    Remove(NodeId),
}

impl<C: Clone, D: Clone> Raft<C, D> {
    /// The index of the newest configuration entry in the log, if any.
    fn last_config_index(&self) -> Option<Index> {
        self.log.last_config(self.log.last_index()).map(|(i, _)| i)
    }

    /// Whether a configuration entry is in the log but not yet committed.
    pub fn config_change_pending(&self) -> bool {
        self.last_config_index()
            .is_some_and(|i| i > self.commit_index)
    }

    /// Appends a configuration entry for `change` (leader only). Returns its index and
    /// term; the change is done when that entry commits.
    pub fn propose_config(&mut self, change: ConfigChange) -> Result<(Index, Term), Error> {
        if self.role != Role::Leader {
            return Err(Error::NotLeader(NotLeader {
                leader: self.leader_id,
            }));
        }
        if self.commit_index < self.term_start_index {
            return Err(Error::Rejected(
                "the leader has not yet committed an entry of its term (dissertation errata)"
                    .into(),
            ));
        }
        if self.config_change_pending() {
            return Err(Error::Rejected(
                "another membership change is not yet committed".into(),
            ));
        }
        let mut m: Membership = self.membership.clone();
        match change {
            ConfigChange::AddLearner(id) => {
                if m.contains(id) {
                    return Err(Error::Rejected(format!("n{id} is already a member")));
                }
                m.learners.insert(id);
            }
            ConfigChange::Promote(id) => {
                if !m.learners.remove(&id) {
                    return Err(Error::Rejected(format!("n{id} is not a learner")));
                }
                m.voters.insert(id);
            }
            ConfigChange::Remove(id) => {
                if m.voters.len() == 1 && m.voters.contains(&id) {
                    return Err(Error::Rejected(format!(
                        "n{id} is the last voter; a cluster cannot remove its last member"
                    )));
                }
                if !m.voters.remove(&id) && !m.learners.remove(&id) {
                    return Err(Error::Rejected(format!("n{id} is not a member")));
                }
            }
        }
        self.append_as_leader(Payload::Config(m))
            .map_err(Error::NotLeader)
    }

    /// Called when the commit index advances on a leader: a leader that the committed
    /// configuration no longer lists as a voter steps down (§4.2.2).
    pub(crate) fn maybe_step_down_after_removal(&mut self) {
        if self.role != Role::Leader || self.membership.is_voter(self.id) {
            return;
        }
        let committed = self
            .last_config_index()
            .is_none_or(|i| i <= self.commit_index);
        if committed {
            self.become_follower(
                self.current_term,
                None,
                "the committed configuration no longer includes me",
            );
        }
    }
}
