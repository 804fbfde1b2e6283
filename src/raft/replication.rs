//! Log replication (§5.3) and the commit rule (§5.4.2), from both sides: the leader's
//! side (sending AppendEntries, counting acknowledgements) and the follower's handler.
//!
//! The leader's flow control per follower is in `progress` (etcd's progress states).

use crate::entries::Entries;
use crate::log::Payload;
use crate::membership::quorum_index;
use crate::message::{ConflictHint, Message};
use crate::types::{Index, NodeId, Role, Term};

pub use super::progress::{Progress, ProgressState};
use super::{AppendRefusal, CommitRule, Event, Raft, Reason};

/// What an AppendEntries request said, as its reply needs it.
struct AppendRequest {
    leader: NodeId,
    /// The request's prevLogIndex, echoed so the leader can match the reply.
    prev_log_index: Index,
    /// How many entries it carried.
    count: usize,
    leader_commit: Index,
    read_seq: u64,
}

impl<C: Clone, D: Clone> Raft<C, D> {
    /// Sends every follower what it lacks.
    pub(crate) fn broadcast_append(&mut self) {
        let ids: Vec<NodeId> = self.progress.keys().copied().collect();
        for id in ids {
            self.send_append(id, false);
        }
    }

    /// Sends `to` the entries from its next_index on, if flow control allows. With
    /// `heartbeat`, something is sent even when there is nothing new: an empty
    /// AppendEntries at a point known to match, which keeps the follower's election
    /// timer quiet and carries the commit index (§5.2).
    pub(crate) fn send_append(&mut self, to: NodeId, heartbeat: bool) {
        let max = self.cfg.max_entries_per_append;
        let max_inflight = self.cfg.max_inflight_appends;
        let last = self.log.last_index();
        let Some(p) = self.progress.get(&to) else {
            return;
        };
        if p.state == ProgressState::Snapshot {
            // One snapshot at a time (etcd's StateSnapshot): no entries, no second copy.
            // A heartbeat still goes, as etcd sends every follower one whatever its
            // state: it keeps the follower's election timer quiet while it waits, and its
            // answer confirms ReadIndex rounds (§6.4). It checks the log at the
            // snapshot's last entry, so once the follower has installed it, the answer
            // says so even if the InstallSnapshot answer was lost.
            if heartbeat {
                self.send_heartbeat_at(to, self.log.snapshot_index());
            }
            return;
        }
        if p.next_index <= self.log.snapshot_index() {
            // The entries this follower needs were compacted: §7, InstallSnapshot.
            self.send_snapshot(to);
            return;
        }
        let paused = match p.state {
            ProgressState::Probe => p.probe_sent,
            ProgressState::Replicate => p.inflight.len() >= max_inflight,
            ProgressState::Snapshot => true,
        };
        let has_new = p.next_index <= last;
        if paused || !has_new {
            if heartbeat {
                let at = match p.state {
                    ProgressState::Probe => p.next_index - 1,
                    _ => p.match_index,
                };
                self.send_heartbeat_at(to, at);
            }
            return;
        }
        let prev_log_index = p.next_index - 1;
        let prev_log_term = self
            .log
            .term_at(prev_log_index)
            .expect("prev_log_index is within the leader's log");
        let entries = self.shared_entries(p.next_index, max);
        let sent_last = prev_log_index + entries.len() as Index;
        let p = self.progress.get_mut(&to).expect("checked above");
        match p.state {
            ProgressState::Probe => p.probe_sent = true,
            ProgressState::Replicate => {
                // Optimistic: the next batch follows this one without waiting.
                p.next_index = sent_last + 1;
                p.inflight.push_back(sent_last);
            }
            ProgressState::Snapshot => unreachable!(),
        }
        let msg = Message::AppendEntries {
            term: self.current_term,
            leader_id: self.id,
            prev_log_index,
            prev_log_term,
            entries,
            leader_commit: self.commit_index,
            read_seq: self.read_seq,
        };
        self.send(to, msg);
    }

    /// Up to `max` entries from `from` on, out of the batch last copied from the log if
    /// it holds them (followers at the same point share one copy), else a new batch.
    /// The batch is dropped when leadership begins; within one term the leader's log
    /// only grows at the end (Leader Append-Only), so a batch stays a true copy of it.
    fn shared_entries(&mut self, from: Index, max: usize) -> Entries<C> {
        let want = self.log.slice(from, max);
        let Some(last) = want.last().map(|e| e.index) else {
            return Entries::empty();
        };
        if let Some(w) = self.sent_batch.as_ref().and_then(|b| b.window(from, last)) {
            debug_assert_eq!(w.last().map(|e| e.term), self.log.term_at(last));
            return w;
        }
        let batch: Entries<C> = want.to_vec().into();
        self.sent_batch = Some(batch.clone());
        batch
    }

    /// An empty AppendEntries whose consistency check is at `at`.
    fn send_heartbeat_at(&mut self, to: NodeId, at: Index) {
        let Some(prev_log_term) = self.log.term_at(at) else {
            // `at` was compacted away (Replicate, the follower's match below the
            // snapshot): it needs the snapshot anyway. That moves it to the Snapshot
            // state, so the next heartbeat does not send another.
            self.send_snapshot(to);
            return;
        };
        let msg = Message::AppendEntries {
            term: self.current_term,
            leader_id: self.id,
            prev_log_index: at,
            prev_log_term,
            entries: Entries::empty(),
            leader_commit: self.commit_index,
            read_seq: self.read_seq,
        };
        self.send(to, msg);
    }

    /// The heartbeat timer fired (§5.2: leaders send periodic heartbeats to maintain
    /// their authority). Also the retransmission point: a follower that acknowledged
    /// nothing for a whole interval while data was in flight is probed again, and a
    /// snapshot unanswered for `snapshot_resend_ticks` intervals is sent again.
    pub fn tick_heartbeat(&mut self) {
        if self.role != Role::Leader {
            return;
        }
        let resend_ticks = self.cfg.snapshot_resend_ticks;
        let ids: Vec<NodeId> = self.progress.keys().copied().collect();
        for id in ids {
            let p = self.progress.get_mut(&id).expect("listed");
            match p.state {
                ProgressState::Replicate
                    if p.next_index > p.match_index + 1 && !p.acked_since_heartbeat =>
                {
                    let next = p.match_index + 1;
                    p.become_probe(next);
                }
                ProgressState::Probe => p.probe_sent = false,
                ProgressState::Snapshot => {
                    // A snapshot can be large, slow on the wire and slow to install,
                    // so one silent interval proves nothing; a whole election timeout's
                    // worth means the snapshot or its answer was lost. Probe again from
                    // what is known, which sends it once more.
                    p.snapshot_ticks += 1;
                    if p.snapshot_ticks >= resend_ticks {
                        let next = p.match_index + 1;
                        p.become_probe(next);
                    }
                }
                ProgressState::Replicate => {}
            }
            p.acked_since_heartbeat = false;
            self.send_append(id, true);
        }
    }

    /// Handles AppendEntries (Figure 2 "AppendEntries RPC, receiver implementation").
    /// The term rules of `step` ran first: the sender leads our current term.
    pub(crate) fn handle_append_entries(
        &mut self,
        leader: NodeId,
        prev_log_index: Index,
        prev_log_term: Term,
        mut entries: Entries<C>,
        leader_commit: Index,
        read_seq: u64,
    ) {
        if self.role == Role::Leader {
            // Two leaders in one term: only possible with an unsafe switch on. Refuse,
            // and let the safety checker report it.
            self.emit(Event::AppendRejected {
                leader,
                prev_log_index,
                reason: AppendRefusal::IsLeader,
            });
            return;
        }
        self.heard_from_leader(leader);
        let request = AppendRequest {
            leader,
            prev_log_index,
            count: entries.len(),
            leader_commit,
            read_seq,
        };
        // Entries up to our commit index are committed, hence identical to the leader's
        // (Leader Completeness); skip them, which also covers a compacted prefix. Skip
        // only those whose term we can see agrees: with a safety rule switched off, a
        // leader may lack a committed entry, and then the entry goes through rules 2
        // and 3 below like any conflict (the checker reports what that breaks) instead
        // of being acknowledged as matching when it does not.
        let (mut prev_index, mut prev_term) = (prev_log_index, prev_log_term);
        if prev_index < self.commit_index {
            let most = (self.commit_index - prev_index).min(entries.len() as Index) as usize;
            let skip = entries[..most]
                .iter()
                .take_while(|e| self.log.term_at(e.index).is_none_or(|t| t == e.term))
                .count();
            if skip > 0 {
                // The leader's own term at the new prevLogIndex, never ours: rule 2
                // compares the two.
                prev_term = entries[skip - 1].term;
                prev_index += skip as Index;
                entries.skip(skip);
            }
            let compacted = prev_index < self.log.snapshot_index();
            if entries.is_empty() && (compacted || self.log.matches(prev_index, prev_term)) {
                // Known to match up to what the request covered, and no further: with a
                // safety rule switched off, this leader's log may be shorter than our
                // commit index, and a larger match would make it commit what it lacks.
                return self.accept_append(&request, prev_index);
            }
        }
        // Rule 2: reply false if the log has no entry at prevLogIndex with prevLogTerm.
        if !self.log.matches(prev_index, prev_term) {
            return self.reject_append(&request, prev_index, prev_term);
        }
        let match_index = prev_index + entries.len() as Index;
        self.append_entries_from(leader, &entries);
        self.accept_append(&request, match_index);
    }

    /// An AppendEntries or InstallSnapshot from the leader of our term: follow it, and
    /// restart the election timer (Figure 2, Rules for Followers).
    pub(crate) fn heard_from_leader(&mut self, leader: NodeId) {
        if self.role != Role::Follower {
            let reason = Reason::DiscoveredLeader {
                leader,
                term: self.current_term,
            };
            self.become_follower(self.current_term, Some(leader), reason);
        }
        self.leader_id = Some(leader);
        self.last_leader_contact = Some(self.now);
        self.ready.reset_election_timer = true;
    }

    /// Rule 2 failed at `prev_index`: reply false, with a hint of where the logs may
    /// agree (§5.3's accelerated backtracking).
    fn reject_append(&mut self, request: &AppendRequest, prev_index: Index, prev_term: Term) {
        let hint = if prev_index > self.log.last_index() {
            ConflictHint::LogTooShort {
                last_index: self.log.last_index(),
            }
        } else {
            ConflictHint::TermMismatch {
                conflict_term: self.log.term_at(prev_index).unwrap_or(0),
                first_index: self.log.first_index_of_term_at(prev_index),
            }
        };
        self.emit(Event::AppendRejected {
            leader: request.leader,
            prev_log_index: request.prev_log_index,
            reason: AppendRefusal::LogMismatch {
                prev_log_term: prev_term,
                prev_log_index: prev_index,
                hint,
            },
        });
        self.send(
            request.leader,
            Message::AppendEntriesReply {
                term: self.current_term,
                success: false,
                match_index: 0,
                prev_log_index: request.prev_log_index,
                hint: Some(hint),
                read_seq: request.read_seq,
            },
        );
    }

    /// Rules 3 and 4: delete an existing entry that conflicts with a new one (same
    /// index, different term) and all that follow it, and only then; append what is
    /// new. An entry we already hold is skipped, so a delayed or duplicated
    /// AppendEntries never truncates entries that match.
    fn append_entries_from(&mut self, leader: NodeId, entries: &Entries<C>) {
        let mut config_touched = false;
        let mut new_from = None;
        for (i, e) in entries.iter().enumerate() {
            match self.log.term_at(e.index) {
                Some(t) if t == e.term => continue,
                Some(_) => {
                    config_touched |= self.truncate_conflict(leader, e.index);
                    new_from = Some(i);
                    break;
                }
                None => {
                    new_from = Some(i);
                    break;
                }
            }
        }
        if let Some(i) = new_from {
            let first = entries[i].index;
            for e in &entries[i..] {
                config_touched |= matches!(e.payload, Payload::Config(_));
                self.log.push(e.clone());
            }
            self.mark_dirty(first);
        }
        if config_touched {
            self.refresh_membership();
        }
    }

    /// Rule 3: deletes the entry at `from`, which conflicts with the leader's, and all
    /// that follow it. Returns whether a configuration entry was among them.
    fn truncate_conflict(&mut self, leader: NodeId, from: Index) -> bool {
        // Only an unsafe teaching switch can bring a leader that lacks a committed
        // entry; then the deletion goes ahead and the safety checker reports what it
        // breaks.
        assert!(
            from > self.commit_index || self.cfg.is_unsafe(),
            "State Machine Safety: n{} would delete committed entry {} (commit index {})",
            self.id,
            from,
            self.commit_index
        );
        let removed = self.log.truncate_from(from);
        let mut terms: Vec<_> = removed.iter().map(|r| r.term).collect();
        terms.dedup();
        self.emit(Event::Truncated {
            from,
            to: from + removed.len() as Index - 1,
            terms,
            leader,
        });
        removed
            .iter()
            .any(|r| matches!(r.payload, Payload::Config(_)))
    }

    /// Replies success and, rule 5, advances the commit index to
    /// min(leaderCommit, index of last new entry).
    fn accept_append(&mut self, request: &AppendRequest, match_index: Index) {
        let new_commit = request.leader_commit.min(match_index);
        if new_commit > self.commit_index {
            let rule = CommitRule::LeaderCommit {
                leader: request.leader,
                leader_commit: request.leader_commit,
            };
            self.set_commit_index(new_commit, rule);
        }
        self.emit(Event::AppendAccepted {
            leader: request.leader,
            prev_log_index: request.prev_log_index,
            entries: request.count,
            match_index,
        });
        self.send(
            request.leader,
            Message::AppendEntriesReply {
                term: self.current_term,
                success: true,
                match_index,
                prev_log_index: request.prev_log_index,
                hint: None,
                read_seq: request.read_seq,
            },
        );
    }

    /// Handles the answer to AppendEntries (Figure 2, Rules for Leaders): on success
    /// update nextIndex and matchIndex; on a conflict move nextIndex back using the
    /// follower's hint and retry.
    pub(crate) fn handle_append_reply(
        &mut self,
        from: NodeId,
        success: bool,
        match_index: Index,
        rejected_prev: Index,
        hint: Option<ConflictHint>,
        read_seq: u64,
    ) {
        if self.role != Role::Leader {
            return;
        }
        let Some(p) = self.progress.get_mut(&from) else {
            return;
        };
        p.recent_active = true;
        // Any answer in our term, success or not, shows the follower still accepts us
        // as leader: it confirms the ReadIndex rounds up to `read_seq`.
        if read_seq > p.acked_read_seq {
            p.acked_read_seq = read_seq;
            self.maybe_confirm_reads();
        }
        let Some(p) = self.progress.get_mut(&from) else {
            return;
        };
        if success {
            // Only a new acknowledgement is progress: a heartbeat's answer repeating the
            // old match index says nothing of the entries in flight, which
            // tick_heartbeat must re-send if they were lost.
            p.maybe_update(match_index);
            p.on_acknowledged();
            self.maybe_commit();
            self.send_append(from, false);
            self.maybe_send_timeout_now();
            return;
        }
        // A rejection. Ignore stale ones: those about a point we already know matches,
        // or (while probing) about another probe than the one outstanding.
        let stale = match p.state {
            ProgressState::Replicate => rejected_prev < p.match_index + 1,
            ProgressState::Probe => rejected_prev != p.next_index - 1,
            ProgressState::Snapshot => true,
        };
        if stale || hint.is_none() {
            return;
        }
        let next = match hint.expect("checked") {
            // Figure 2 as written: decrement nextIndex and retry.
            _ if !self.cfg.fast_backtracking => rejected_prev,
            ConflictHint::LogTooShort { last_index } => last_index + 1,
            // If the leader has entries of the conflicting term, the logs may agree up to
            // its last one; otherwise skip the follower's whole run of that term.
            ConflictHint::TermMismatch {
                conflict_term,
                first_index,
            } => match self.log.last_index_of_term(conflict_term) {
                Some(i) => i + 1,
                None => first_index,
            },
        };
        let p = self.progress.get_mut(&from).expect("checked");
        let next = next.max(p.match_index + 1).min(rejected_prev);
        p.become_probe(next);
        self.emit(Event::NextIndexBackedUp {
            follower: from,
            rejected: rejected_prev,
            next_index: next,
        });
        self.send_append(from, false);
    }

    /// The leader's commit rule (§5.3, §5.4.2): the highest index stored on a majority
    /// commits, but only if its entry is from the current term; earlier-term entries
    /// then commit with it (Log Matching). Counting replicas of an older term's entry is
    /// exactly what Figure 8 shows to be unsafe.
    ///
    /// "Stored" means durable, on the leader as on the followers: a follower
    /// acknowledges only what it persisted, and the leader counts its own log only up to
    /// what the runtime reported durable (`persisted_index`), not up to its last entry.
    pub(crate) fn maybe_commit(&mut self) {
        if self.role != Role::Leader {
            return;
        }
        let own = self.persisted_index;
        let matches: Vec<(NodeId, Index)> = self
            .membership
            .voters
            .iter()
            .map(|&v| {
                if v == self.id {
                    (v, own)
                } else {
                    (v, self.progress.get(&v).map_or(0, |p| p.match_index))
                }
            })
            .collect();
        let n = quorum_index(matches.iter().map(|&(_, m)| m).collect());
        if n <= self.commit_index {
            return;
        }
        let current_term_entry = self.log.term_at(n) == Some(self.current_term);
        if current_term_entry || self.cfg.unsafe_commit_previous_term_entries {
            let rule = CommitRule::Majority {
                replicated_on: matches
                    .iter()
                    .filter(|&&(_, m)| m >= n)
                    .map(|&(v, _)| v)
                    .collect(),
                voters: matches.len(),
            };
            self.set_commit_index(n, rule);
        }
    }

    /// Moves the commit index to `to`, which `rule` allowed.
    pub(crate) fn set_commit_index(&mut self, to: Index, rule: CommitRule) {
        let from = self.commit_index;
        assert!(to > from, "commit index regression {from} -> {to}");
        assert!(
            to <= self.log.last_index(),
            "committing {to} beyond the log's end {}",
            self.log.last_index()
        );
        self.commit_index = to;
        self.emit(Event::Committed { from, to, rule });
        if self.role == Role::Leader {
            self.maybe_confirm_reads();
            self.maybe_step_down_after_removal();
        }
    }
}
