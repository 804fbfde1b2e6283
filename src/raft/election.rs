//! Leader election (§5.2), the election restriction (§5.4.1), PreVote and CheckQuorum
//! (dissertation §9.6, §6.2) and leadership transfer (§3.10).

use crate::log::Payload;
use crate::message::Message;
use crate::types::{Index, NodeId, Role, Term};

use super::replication::Progress;
use super::{Event, NotLeader, Raft, Reason, Transfer, TransferAbort, VoteRefusal};

impl<C: Clone, D: Clone> Raft<C, D> {
    /// The election timer fired. A follower or candidate starts an election (§5.2: "If
    /// election timeout elapses without receiving AppendEntries from current leader or
    /// granting vote to candidate: convert to candidate"). A leader uses the tick for
    /// CheckQuorum and to give up a leadership transfer that did not happen.
    pub fn tick_election(&mut self) {
        self.ready.reset_election_timer = true;
        if self.role == Role::Leader {
            self.check_quorum_tick();
            return;
        }
        if !self.membership.is_voter(self.id) && !self.needed_until_config_commits() {
            // Learners and removed servers never campaign (§4.2.1, §4.2.3).
            return;
        }
        let reason = match (self.role, self.leader_id) {
            (Role::Follower, Some(leader)) => Reason::LeaderSilent { leader },
            (Role::Follower, None) => Reason::NoLeader,
            (Role::Candidate, _) => Reason::ElectionTimedOut {
                term: self.current_term,
            },
            (Role::PreCandidate, _) => Reason::PreVoteTimedOut,
            (Role::Leader, _) => unreachable!(),
        };
        self.leader_id = None;
        self.start_election(self.cfg.pre_vote, false, reason);
    }

    /// Starts a (pre-)election. A real election increments the term, votes for itself
    /// and persists that vote before asking anyone (§5.2); a pre-vote changes nothing
    /// but the role (§9.6).
    pub(crate) fn start_election(&mut self, pre_vote: bool, transfer: bool, reason: Reason) {
        let old = self.role;
        self.votes.clear();
        self.votes.insert(self.id, true);
        self.ready.reset_election_timer = true;
        let term = if pre_vote {
            self.role = Role::PreCandidate;
            self.current_term + 1
        } else {
            self.current_term += 1;
            self.voted_for = Some(self.id);
            self.persist_hard_state();
            self.role = Role::Candidate;
            self.current_term
        };
        self.emit(Event::ElectionStarted {
            term,
            pre_vote,
            reason: reason.clone(),
        });
        if old != self.role {
            self.emit(Event::RoleChanged {
                from: old,
                to: self.role,
                term: self.current_term,
                reason,
            });
        }
        if self.won_votes() {
            self.election_won(pre_vote);
            return;
        }
        let (last_log_index, last_log_term) = (self.log.last_index(), self.log.last_term());
        let voters: Vec<NodeId> = self.membership.voters.iter().copied().collect();
        let me = self.id;
        for v in voters.into_iter().filter(|&v| v != me) {
            self.send(
                v,
                Message::RequestVote {
                    term,
                    candidate_id: self.id,
                    last_log_index,
                    last_log_term,
                    pre_vote,
                    transfer,
                },
            );
        }
    }

    /// The voters that granted their vote in this round, this server's own included.
    fn granted_votes(&self) -> usize {
        self.votes
            .iter()
            .filter(|(id, &g)| g && self.membership.is_voter(**id))
            .count()
    }

    /// Whether the granted votes make a majority of the voters.
    fn won_votes(&self) -> bool {
        self.granted_votes() >= self.membership.quorum()
    }

    fn lost_votes(&self) -> bool {
        let refused = self
            .votes
            .iter()
            .filter(|(id, &g)| !g && self.membership.is_voter(**id))
            .count();
        refused >= self.membership.quorum()
    }

    fn election_won(&mut self, pre_vote: bool) {
        if pre_vote {
            self.start_election(false, false, Reason::WonPreVote);
        } else {
            self.become_leader();
        }
    }

    /// Whether this server trusts a live leader: it leads, or it heard from the leader
    /// less than the minimum election timeout ago (§4.2.3, §9.6).
    pub(crate) fn in_leader_lease(&self) -> bool {
        if self.role == Role::Leader {
            return true;
        }
        match (self.leader_id, self.last_leader_contact) {
            (Some(_), Some(t)) => self.now.saturating_sub(t) < self.cfg.election_timeout_min,
            _ => false,
        }
    }

    /// Handles RequestVote (Figure 2 "RequestVote RPC, receiver implementation"). The
    /// term rules of `step` ran first, so `term >= current_term` here (for a pre-vote,
    /// `term` is the one the candidate would campaign in).
    pub(crate) fn handle_request_vote(
        &mut self,
        candidate: NodeId,
        term: Term,
        last_log_index: Index,
        last_log_term: Term,
        pre_vote: bool,
    ) {
        if pre_vote && term < self.current_term {
            let current_term = self.current_term;
            return self.refuse_vote(
                candidate,
                term,
                true,
                VoteRefusal::StaleTerm { current_term },
            );
        }
        // §9.6: no pre-vote while a leader is known to be alive.
        if pre_vote && self.in_leader_lease() {
            let leader = self.leader_id.unwrap_or(self.id);
            return self.refuse_vote(candidate, term, true, VoteRefusal::LeaderAlive { leader });
        }
        // One vote per term, first come first served (§5.2). A pre-vote for a higher
        // term is not a vote and may always be given.
        let can_vote = self.voted_for == Some(candidate)
            || (self.voted_for.is_none() && self.leader_id.is_none())
            || (pre_vote && term > self.current_term);
        if !can_vote {
            let reason = match (self.role, self.voted_for, self.leader_id) {
                (Role::Leader, _, _) => VoteRefusal::IsLeader,
                (_, Some(v), _) => VoteRefusal::AlreadyVoted { voted_for: v },
                (_, None, Some(l)) => VoteRefusal::LeaderAlive { leader: l },
                (_, None, None) => unreachable!("can_vote holds with no vote and no leader"),
            };
            return self.refuse_vote(candidate, term, pre_vote, reason);
        }
        // §5.4.1: "the voter denies its vote if its own log is more up-to-date than that
        // of the candidate": later last term wins; equal terms, the longer log wins.
        let (own_last_term, own_last_index) = (self.log.last_term(), self.log.last_index());
        let up_to_date = last_log_term > own_last_term
            || (last_log_term == own_last_term && last_log_index >= own_last_index);
        if !up_to_date && !self.cfg.unsafe_skip_election_restriction {
            let reason = VoteRefusal::LogBehind {
                candidate_last_term: last_log_term,
                candidate_last_index: last_log_index,
                own_last_term,
                own_last_index,
            };
            return self.refuse_vote(candidate, term, pre_vote, reason);
        }
        if !pre_vote {
            // Persisted (through Ready) before the reply leaves; granting a vote resets
            // the election timer (Figure 2, Rules for Followers). A pre-vote changes
            // nothing: it only says "I would vote for you" (§9.6).
            self.voted_for = Some(candidate);
            self.persist_hard_state();
            self.ready.reset_election_timer = true;
        }
        self.emit(Event::VoteGranted {
            candidate,
            term,
            pre_vote,
        });
        // A pre-vote answers in the candidate's proposed term, which this node did not
        // adopt; a real vote's term is now this node's own.
        self.send(
            candidate,
            Message::RequestVoteReply {
                term,
                vote_granted: true,
                pre_vote,
            },
        );
    }

    pub(crate) fn refuse_vote(
        &mut self,
        candidate: NodeId,
        term: Term,
        pre_vote: bool,
        reason: VoteRefusal,
    ) {
        self.emit(Event::VoteRefused {
            candidate,
            term,
            pre_vote,
            reason,
        });
        self.send(
            candidate,
            Message::RequestVoteReply {
                term: self.current_term,
                vote_granted: false,
                pre_vote,
            },
        );
    }

    /// Counts a vote (or pre-vote) reply; a majority wins (§5.2).
    pub(crate) fn handle_vote_reply(
        &mut self,
        from: NodeId,
        term: Term,
        granted: bool,
        pre_vote: bool,
    ) {
        let current = if pre_vote {
            self.role == Role::PreCandidate && term == self.current_term + 1
                || self.role == Role::PreCandidate && !granted && term <= self.current_term
        } else {
            self.role == Role::Candidate && term == self.current_term
        };
        if !current {
            return; // a reply from an earlier round
        }
        self.votes.insert(from, granted);
        self.emit(Event::VoteReceived {
            from,
            granted,
            pre_vote,
            votes: self.granted_votes(),
            voters: self.membership.voters.len(),
        });
        if self.won_votes() {
            self.election_won(pre_vote);
        } else if self.lost_votes() {
            // Wait out the election timer as a follower; a new round starts when it fires.
            let reason = Reason::ElectionLost { pre_vote, term };
            self.become_follower(self.current_term, None, reason);
        }
    }

    /// Becomes leader (§5.2): sets up nextIndex/matchIndex (Figure 2, "reinitialized after
    /// election"), appends a no-op of its own term (dissertation §6.4: so entries of
    /// earlier terms can commit, §5.4.2) and sends AppendEntries to everyone at once.
    pub(crate) fn become_leader(&mut self) {
        let votes: Vec<NodeId> = self
            .votes
            .iter()
            .filter(|(_, &g)| g)
            .map(|(&id, _)| id)
            .collect();
        let old = self.role;
        self.role = Role::Leader;
        self.leader_id = Some(self.id);
        self.votes.clear();
        self.progress.clear();
        self.sent_batch = None;
        self.sync_progress_with_membership();
        // CheckQuorum's first window starts now, not when the election did: else the
        // first tick can come before any follower had time to answer (no one is
        // `recent_active` yet) and the new leader steps down at once (§6.2).
        self.ready.reset_election_timer = true;
        self.emit(Event::RoleChanged {
            from: old,
            to: Role::Leader,
            term: self.current_term,
            reason: Reason::WonElection {
                term: self.current_term,
                votes,
                voters: self.membership.voters.len(),
            },
        });
        let (noop, _) = self
            .append_as_leader(Payload::Noop)
            .expect("a new leader can append");
        self.term_start_index = noop;
        self.pending_broadcast = false;
        self.broadcast_append();
    }

    /// Makes the leader's progress table match the configuration: every member but the
    /// leader gets an entry, starting optimistic at the end of the log (Figure 2).
    pub(crate) fn sync_progress_with_membership(&mut self) {
        let next = self.log.last_index() + 1;
        let members = self.membership.all();
        self.progress.retain(|id, _| members.contains(id));
        for m in members.into_iter().filter(|&m| m != self.id) {
            self.progress
                .entry(m)
                .or_insert_with(|| Progress::new(next));
        }
    }

    /// CheckQuorum (§6.2): a leader that heard from no majority since the last tick steps
    /// down, so a partitioned leader stops serving. Also times out a stalled transfer.
    fn check_quorum_tick(&mut self) {
        if let Some(mut t) = self.transfer {
            if t.ticks_left == 0 {
                self.transfer = None;
                self.emit(Event::TransferAborted {
                    to: t.target,
                    reason: TransferAbort::TargetDidNotWin,
                });
            } else {
                t.ticks_left -= 1;
                self.transfer = Some(t);
            }
        }
        if !self.cfg.check_quorum {
            return;
        }
        let heard = self
            .membership
            .voters
            .iter()
            .filter(|&&v| v == self.id || self.progress.get(&v).is_some_and(|p| p.recent_active))
            .count();
        for p in self.progress.values_mut() {
            p.recent_active = false;
        }
        if heard < self.membership.quorum() {
            let reason = Reason::CheckQuorum {
                heard,
                voters: self.membership.voters.len(),
            };
            self.become_follower(self.current_term, None, reason);
        }
    }

    /// Starts handing leadership to `target` (§3.10): stop taking proposals, bring the
    /// target's log up to date, then send it TimeoutNow.
    pub fn transfer_leadership(&mut self, target: NodeId) -> Result<(), NotLeader> {
        if self.role != Role::Leader {
            return Err(NotLeader {
                leader: self.leader_id,
            });
        }
        if target == self.id || !self.membership.is_voter(target) {
            return Ok(());
        }
        self.transfer = Some(Transfer {
            target,
            ticks_left: 1,
        });
        self.emit(Event::TransferStarted { to: target });
        self.maybe_send_timeout_now();
        Ok(())
    }

    /// Sends TimeoutNow once the transfer target's log matches the leader's.
    pub(crate) fn maybe_send_timeout_now(&mut self) {
        let Some(t) = self.transfer else { return };
        let caught_up = self
            .progress
            .get(&t.target)
            .is_some_and(|p| p.match_index == self.log.last_index());
        if caught_up {
            self.send(
                t.target,
                Message::TimeoutNow {
                    term: self.current_term,
                },
            );
        } else {
            self.send_append(t.target, false);
        }
    }

    /// TimeoutNow: start a real election at once, skipping PreVote (§3.10).
    pub(crate) fn handle_timeout_now(&mut self, from: NodeId) {
        if self.role == Role::Leader || !self.membership.is_voter(self.id) {
            return;
        }
        self.leader_id = None;
        self.start_election(false, true, Reason::TimeoutNow { leader: from });
    }
}
