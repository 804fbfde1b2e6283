//! The five properties, checked against the checker's memory (`memory`) after each step.

use std::fmt::Debug;

use crate::log::Entry;
use crate::raft::{self, Emitted, Raft};
use crate::types::{Index, NodeId, Role, Term};

use super::memory::{NodeView, Restore, Via, Win, Written};
use super::{Property, SafetyChecker};

impl<C: Clone + PartialEq + Debug> SafetyChecker<C> {
    /// Election Safety for every leadership the step's events show won, in order; a
    /// leader the events do not explain (a hand-made state) counts as won now. Also a
    /// leader's own truncation or snapshot install (Leader Append-Only). Returns the
    /// wins, for Leader Completeness.
    pub(super) fn read_events<D: Clone>(
        &mut self,
        id: NodeId,
        core: &Raft<C, D>,
        view: &NodeView,
        events: &[Emitted],
    ) -> Vec<Win> {
        let mut wins: Vec<Win> = Vec::new();
        let mut role = view.role.unwrap_or(Role::Follower);
        let mut term = view.term;
        for e in events {
            match e.event {
                raft::Event::RoleChanged { to, term: t, .. } => {
                    role = to;
                    term = t;
                    if to == Role::Leader {
                        self.claim_leadership(id, t);
                        wins.push(Win {
                            term: t,
                            intact_upto: Index::MAX,
                        });
                    }
                }
                raft::Event::Truncated { from, to, .. } => {
                    if role == Role::Leader {
                        self.violate(
                            Property::LeaderAppendOnly,
                            id,
                            term,
                            format!(
                                "leader n{id} of term {term} deleted its entries {from}..={to}"
                            ),
                        );
                    }
                    // The log it won with is overwritten from `from` on (§5.3).
                    for w in &mut wins {
                        w.intact_upto = w.intact_upto.min(from - 1);
                    }
                }
                raft::Event::SnapshotInstalled { last_index, .. } => {
                    if role == Role::Leader {
                        self.violate(
                            Property::LeaderAppendOnly,
                            id,
                            term,
                            format!(
                                "leader n{id} of term {term} replaced its log with a snapshot through {last_index}"
                            ),
                        );
                    }
                    // Only what its old snapshot covered is still known of that log.
                    for w in &mut wins {
                        w.intact_upto = w.intact_upto.min(view.snapshot.0);
                    }
                }
                _ => {}
            }
        }
        let term = core.term();
        if core.role() == Role::Leader
            && self.leaders.get(&term) != Some(&id)
            && !wins.iter().any(|w| w.term == term)
        {
            self.claim_leadership(id, term);
            wins.push(Win {
                term,
                intact_upto: Index::MAX,
            });
        }
        wins
    }

    /// Election Safety (§5.2): `id` leads `term`; nobody else may.
    pub(super) fn claim_leadership(&mut self, id: NodeId, term: Term) {
        match self.leaders.get(&term) {
            Some(&other) if other != id => self.violate(
                Property::ElectionSafety,
                id,
                term,
                format!("n{other} and n{id} are both leaders of term {term}"),
            ),
            Some(_) => {}
            None => {
                self.leaders.insert(term, id);
            }
        }
    }

    /// Leader Completeness (§5.4): the log `id` won `win.term` with holds every entry
    /// known committed in an earlier term; an entry its snapshot covers is held.
    pub(super) fn check_completeness<D: Clone>(&mut self, id: NodeId, core: &Raft<C, D>, win: Win) {
        let log = core.log();
        let held = |i: Index, t: Term| i <= log.snapshot_index() || log.term_at(i) == Some(t);
        let mut missing = None;
        if self.base > 0 && win.intact_upto >= self.base && !held(self.base, self.base_term) {
            missing = Some((self.base, self.base_term));
        }
        let from = log.snapshot_index().max(self.base) + 1;
        let to = win.intact_upto.min(self.base + self.slots.len() as Index);
        if missing.is_none() && from <= to {
            let lo = (from - self.base - 1) as usize;
            let hi = (to - self.base) as usize;
            missing = self.slots.range(lo..hi).zip(from..).find_map(|(s, i)| {
                let c = s.committed?;
                (c.known_in_term < win.term && !held(i, c.term)).then_some((i, c.term))
            });
        }
        if let Some((i, t)) = missing {
            let there = log
                .term_at(i)
                .map_or("nothing".into(), |t| format!("a term-{t} entry"));
            let desc = format!(
                "n{id} won term {} without committed entry t{t}@{i} (its log has {there} there)",
                win.term
            );
            self.violate(Property::LeaderCompleteness, id, win.term, desc);
        }
    }

    /// Leader Append-Only (§5.3) across steps: a leader still leading the same term
    /// still holds the last entry it held at the end of its previous step.
    pub(super) fn check_append_only<D: Clone>(
        &mut self,
        id: NodeId,
        core: &Raft<C, D>,
        view: &NodeView,
        events: &[Emitted],
    ) {
        let term = core.term();
        let log = core.log();
        let Some((t, last, last_term)) = view.leader_tail else {
            return;
        };
        let kept_leading = !events
            .iter()
            .any(|e| matches!(e.event, raft::Event::RoleChanged { .. }));
        if t == term
            && kept_leading
            && last > log.snapshot_index()
            && log.term_at(last) != Some(last_term)
        {
            self.violate(
                Property::LeaderAppendOnly,
                id,
                term,
                format!("leader n{id} of term {term} lost or changed its entry {last}"),
            );
        }
    }

    /// Log Matching (§5.3): one (index, term) names one entry, with one predecessor
    /// term. Checked on the entries the step wrote.
    pub(super) fn check_log_matching<D: Clone>(
        &mut self,
        id: NodeId,
        core: &Raft<C, D>,
        dirty_from: Option<Index>,
    ) {
        let Some(from) = dirty_from else { return };
        let log = core.log();
        let mut found = None;
        let mut prev = log.term_at(from.max(self.base + 1).max(log.first_index()) - 1);
        for e in log.slice(from.max(self.base + 1), usize::MAX) {
            let slot = self.slot_mut(e.index);
            match slot.written_mut(e.term) {
                None => slot.add(Written {
                    term: e.term,
                    prev,
                    payload: e.payload.clone(),
                }),
                Some(w) => {
                    if w.payload != e.payload {
                        found = Some(format!(
                            "two different entries at index {} with term {}: {:?} and {:?} (n{id})",
                            e.index, e.term, w.payload, e.payload
                        ));
                    } else if let (Some(p), Some(q)) = (w.prev, prev) {
                        if p != q {
                            found = Some(format!(
                                "entries t{}@{} agree but their predecessors' terms differ (t{p} vs t{q} on n{id})",
                                e.term, e.index
                            ));
                        }
                    } else if w.prev.is_none() {
                        w.prev = prev;
                    }
                }
            }
            if found.is_some() {
                break;
            }
            prev = Some(e.term);
        }
        if let Some(desc) = found {
            self.violate(Property::LogMatching, id, core.term(), desc);
        }
    }

    /// State Machine Safety for a snapshot node `id` installed, restarted from or took
    /// through `(index, term)`: it counts as applying everything up to `index`. Its last
    /// entry must be the one known committed there, and the entries known committed
    /// below must be those of the log `(index, term)` names — found by walking the
    /// predecessor terms Log Matching recorded, as far as they are known, and below
    /// that bounded by `term`, as terms never decrease along a log (§5.3).
    pub(super) fn check_snapshot(
        &mut self,
        id: NodeId,
        node_term: Term,
        view: &mut NodeView,
        (index, term): (Index, Term),
        how: Restore,
    ) {
        let verb = match how {
            Restore::Installed => "installed",
            Restore::Restarted => "restarted from",
            Restore::Taken => "took",
        };
        // A node compacts only what it applied; installing one takes the state machine
        // to `index`, which must not be backwards.
        if how == Restore::Installed && index < view.last_applied {
            self.violate(
                Property::MonotonicApply,
                id,
                node_term,
                format!(
                    "n{id} {verb} a snapshot through {index} after applying up to {}",
                    view.last_applied
                ),
            );
        }
        view.last_applied = view.last_applied.max(index);
        let what = || format!("n{id} {verb} a snapshot through t{term}@{index}");
        if !self.learn_committed(id, node_term, index, term, Via::Snapshot, &what) {
            return;
        }
        let mut chain = Some(term);
        let mut i = index;
        while i > self.base + 1 {
            // The term the snapshot's log holds at `i - 1`, if the records know it.
            chain = chain.and_then(|t| self.slot(i)?.written(t)?.prev);
            i -= 1;
            let Some(c) = self.slot(i).and_then(|s| s.committed) else {
                continue;
            };
            let agrees = match chain {
                Some(t) => c.term == t,
                None => c.term <= term,
            };
            if !agrees {
                let held = chain.map_or(format!("only terms up to {term}"), |t| format!("t{t}"));
                let desc = format!(
                    "{}, whose log holds {held} at {i}, but t{}@{i} is committed",
                    what(),
                    c.term
                );
                self.violate(Property::StateMachineSafety, id, node_term, desc);
                return;
            }
            if chain.is_some() {
                // The same (index, term) on both sides: by Log Matching, the same
                // entries below it too.
                return;
            }
        }
    }

    /// Monotonic apply and State Machine Safety (§5.4.3) for the entries a step applied.
    pub(super) fn check_applied(
        &mut self,
        id: NodeId,
        term: Term,
        view: &mut NodeView,
        applied: &[Entry<C>],
    ) {
        for e in applied {
            if e.index != view.last_applied + 1 {
                let desc = if e.index <= view.last_applied {
                    format!(
                        "n{id} applied index {} after {}",
                        e.index, view.last_applied
                    )
                } else {
                    format!(
                        "n{id} applied index {} right after {}, skipping the ones between",
                        e.index, view.last_applied
                    )
                };
                self.violate(Property::MonotonicApply, id, term, desc);
            }
            view.last_applied = e.index;
            self.learn_entry(id, term, e, None, Via::Applied);
        }
    }
}
