//! Membership changes one server at a time (dissertation ch. 4), with the errata fix: a
//! leader appends a configuration entry only once it has committed an entry of its own
//! term, and never while another change is uncommitted. Each server uses the newest
//! configuration in its log, committed or not (§4.1); a leader removed by a change steps
//! down once the change commits (§4.2.2).

use crate::log::Payload;
use crate::membership::Membership;
use crate::types::{Index, NodeId, Role, Term};

use super::{NotLeader, Raft, Reason, ReconfigError};

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

    /// Whether this server, which its latest configuration leaves out, may still be
    /// needed to commit that configuration: the entry is not committed yet and the
    /// configuration before it counts this server as a voter. Dissertation §4.2.2: such
    /// a server "should still start new elections, as it might still be needed until
    /// the Cnew entry is committed"; it does not count its own vote (`granted_votes`
    /// counts only the latest configuration's voters). Without this, a removed leader
    /// whose longer log holds the only copy of Cnew refuses every other candidate and
    /// never campaigns itself: no leader, ever.
    pub(crate) fn needed_until_config_commits(&self) -> bool {
        self.last_config_index().is_some_and(|i| {
            i > self.commit_index
                && self
                    .config_at(i - 1)
                    .is_some_and(|before| before.is_voter(self.id))
        })
    }

    /// Appends a configuration entry for `change` (leader only). Returns its index and
    /// term; the change is done when that entry commits.
    pub fn propose_config(&mut self, change: ConfigChange) -> Result<(Index, Term), ReconfigError> {
        if self.role != Role::Leader {
            return Err(ReconfigError::NotLeader(NotLeader {
                leader: self.leader_id,
            }));
        }
        if self.commit_index < self.term_start_index {
            return Err(ReconfigError::TermNotCommitted);
        }
        if self.config_change_pending() {
            return Err(ReconfigError::ChangePending);
        }
        let mut m: Membership = self.membership.clone();
        match change {
            ConfigChange::AddLearner(id) => {
                if m.contains(id) {
                    return Err(ReconfigError::AlreadyMember(id));
                }
                m.learners.insert(id);
            }
            ConfigChange::Promote(id) => {
                if !m.learners.remove(&id) {
                    return Err(ReconfigError::NotLearner(id));
                }
                m.voters.insert(id);
            }
            ConfigChange::Remove(id) => {
                if m.voters.len() == 1 && m.voters.contains(&id) {
                    return Err(ReconfigError::LastVoter(id));
                }
                if !m.voters.remove(&id) && !m.learners.remove(&id) {
                    return Err(ReconfigError::NotMember(id));
                }
            }
        }
        self.append_as_leader(Payload::Config(m))
            .map_err(ReconfigError::NotLeader)
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
            self.become_follower(self.current_term, None, Reason::RemovedFromConfiguration);
        }
    }
}
