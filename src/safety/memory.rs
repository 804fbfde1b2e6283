//! What the checker remembers between steps: each node's last view, and what is known
//! of every log index not yet compacted everywhere (who wrote which entry, and what is
//! known committed), forgotten once every member's snapshot covers it.

use std::fmt::Debug;

use crate::log::{Entry, Payload};
use crate::raft::Raft;
use crate::types::{Index, NodeId, Role, Term};

use super::{Property, SafetyChecker};

/// What the checker remembers of one node between its steps.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct NodeView {
    pub(super) incarnation: u64,
    pub(super) term: Term,
    pub(super) role: Option<Role>,
    pub(super) commit_index: Index,
    pub(super) last_applied: Index,
    /// The (index, term) its log's snapshot ended at, at the end of its last step.
    pub(super) snapshot: (Index, Term),
    /// While leader: (term, last index, last term) at the end of its previous step.
    pub(super) leader_tail: Option<(Term, Index, Term)>,
}

/// One entry some node wrote at an index.
#[derive(Debug, Clone)]
pub(super) struct Written<C> {
    pub(super) term: Term,
    /// The term of the entry before it in the writer's log, if known.
    pub(super) prev: Option<Term>,
    pub(super) payload: Payload<C>,
}

/// How the checker learned that an index is committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Via {
    Applied,
    CommitIndex,
    Snapshot,
}

/// The entry known committed at an index.
#[derive(Debug, Clone, Copy)]
pub(super) struct Committed {
    pub(super) term: Term,
    /// A term in which the entry was already committed: the lowest term of a node that
    /// knew it committed (a node in term k learns commits only from leaders of terms
    /// up to k, so the entry was committed in k or earlier).
    pub(super) known_in_term: Term,
    pub(super) by: NodeId,
    pub(super) via: Via,
}

/// Everything the checker knows of one log index.
#[derive(Debug)]
pub(super) struct Slot<C> {
    /// The distinct entries written at this index; nearly always one, so the first is
    /// kept inline.
    pub(super) first: Option<Written<C>>,
    pub(super) more: Vec<Written<C>>,
    pub(super) committed: Option<Committed>,
}

impl<C> Default for Slot<C> {
    fn default() -> Self {
        Slot {
            first: None,
            more: Vec::new(),
            committed: None,
        }
    }
}

impl<C> Slot<C> {
    pub(super) fn written(&self, term: Term) -> Option<&Written<C>> {
        self.first
            .iter()
            .chain(self.more.iter())
            .find(|w| w.term == term)
    }

    pub(super) fn written_mut(&mut self, term: Term) -> Option<&mut Written<C>> {
        self.first
            .iter_mut()
            .chain(self.more.iter_mut())
            .find(|w| w.term == term)
    }

    pub(super) fn add(&mut self, w: Written<C>) {
        if self.first.is_none() {
            self.first = Some(w);
        } else {
            self.more.push(w);
        }
    }
}

/// How a node came to hold a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Restore {
    /// Installed from the leader's InstallSnapshot (§7).
    Installed,
    /// Restored from stable storage when the node restarted.
    Restarted,
    /// Taken by the node itself from what it had applied.
    Taken,
}

/// A leadership won during a step.
#[derive(Debug, Clone, Copy)]
pub(super) struct Win {
    pub(super) term: Term,
    /// The end-of-step log still shows the log the node won with up to this index:
    /// later in the step it stepped down and its log was overwritten from just above.
    pub(super) intact_upto: Index,
}

impl<C: Clone + PartialEq + Debug> SafetyChecker<C> {
    /// The slot of index `i > base`, created (with any missing below it) if need be.
    pub(super) fn slot_mut(&mut self, i: Index) -> &mut Slot<C> {
        debug_assert!(i > self.base);
        let k = (i - self.base - 1) as usize;
        if k >= self.slots.len() {
            self.slots.resize_with(k + 1, Slot::default);
        }
        &mut self.slots[k]
    }

    pub(super) fn slot(&self, i: Index) -> Option<&Slot<C>> {
        if i <= self.base {
            return None;
        }
        self.slots.get((i - self.base - 1) as usize)
    }

    /// Records that `(i, term)` is committed, as node `by` in `known_in_term` learned
    /// `via`; a different entry already known committed there breaks State Machine
    /// Safety (§5.4.3). Returns false then.
    pub(super) fn learn_committed(
        &mut self,
        by: NodeId,
        known_in_term: Term,
        i: Index,
        term: Term,
        via: Via,
        what: &dyn Fn() -> String,
    ) -> bool {
        if i < self.base || i == 0 {
            return true;
        }
        let before = if i == self.base {
            Some(Committed {
                term: self.base_term,
                known_in_term: 0,
                by,
                via: Via::Snapshot,
            })
        } else {
            let slot = self.slot_mut(i);
            match &mut slot.committed {
                Some(c) if c.term == term => {
                    c.known_in_term = c.known_in_term.min(known_in_term);
                    None
                }
                Some(c) => Some(*c),
                None => {
                    slot.committed = Some(Committed {
                        term,
                        known_in_term,
                        by,
                        via,
                    });
                    None
                }
            }
        };
        match before {
            Some(c) if c.term != term => {
                let payload = self
                    .slot(i)
                    .and_then(|s| s.written(c.term))
                    .map(|w| format!(" {:?}", w.payload))
                    .unwrap_or_default();
                let how = match c.via {
                    Via::Applied => format!("was applied there before (by n{})", c.by),
                    Via::CommitIndex => format!("was committed there before (on n{})", c.by),
                    Via::Snapshot => "is in a snapshot taken before".to_string(),
                };
                let desc = format!("{}, but t{}@{i}{payload} {how}", what(), c.term);
                self.violate(Property::StateMachineSafety, by, known_in_term, desc);
                false
            }
            _ => true,
        }
    }

    /// An entry known committed, with its payload: it must agree with what is known
    /// committed there and with what was written at its (index, term).
    pub(super) fn learn_entry(
        &mut self,
        id: NodeId,
        term: Term,
        e: &Entry<C>,
        prev: Option<Term>,
        via: Via,
    ) {
        if e.index <= self.base {
            let what = || format!("n{id} applied t{}@{}", e.term, e.index);
            self.learn_committed(id, term, e.index, e.term, via, &what);
            return;
        }
        let verb = if via == Via::Applied {
            "applied"
        } else {
            "holds as committed"
        };
        let what = || format!("n{id} {verb} t{}@{} {:?}", e.term, e.index, e.payload);
        if !self.learn_committed(id, term, e.index, e.term, via, &what) {
            return;
        }
        let slot = self.slot_mut(e.index);
        let other = match slot.written(e.term) {
            None => {
                slot.add(Written {
                    term: e.term,
                    prev,
                    payload: e.payload.clone(),
                });
                None
            }
            Some(w) if w.payload != e.payload => Some(w.payload.clone()),
            Some(_) => None,
        };
        if let Some(p) = other {
            let desc = format!(
                "n{id} {verb} t{}@{} {:?}, but the entry t{}@{} is {p:?}",
                e.term, e.index, e.payload, e.term, e.index
            );
            self.violate(Property::StateMachineSafety, id, term, desc);
        }
        if let Payload::Config(m) = &e.payload {
            self.learn_config(e.index, m.all());
        }
    }

    /// Entries the node's commit index covers beyond what it applied (normally none: the
    /// runtime applies all of them in the same step) are committed too.
    pub(super) fn learn_commit_index<D: Clone>(
        &mut self,
        id: NodeId,
        core: &Raft<C, D>,
        known: Index,
    ) {
        let log = core.log();
        let from = known.max(log.snapshot_index()).max(self.base) + 1;
        for i in from..=core.commit_index() {
            let Some(e) = log.get(i) else { break };
            let prev = log.term_at(i - 1);
            self.learn_entry(id, core.term(), e, prev, Via::CommitIndex);
        }
    }

    /// A configuration known committed at `index` (dissertation §4.1): from now on its
    /// members are the nodes whose snapshots bound what may be forgotten.
    pub(super) fn learn_config(&mut self, index: Index, members: Vec<NodeId>) {
        if self.members.as_ref().is_none_or(|(i, _)| index > *i) {
            self.members = Some((index, members.into_iter().collect()));
            self.floor_stale = true;
        }
    }

    /// Forgets the records of every index all members have compacted, and the leaders
    /// of terms every member has passed. A member not observed yet counts as holding
    /// everything (it will be). Nodes outside the configuration — removed ones, or new
    /// ones not yet added — do not hold the floor down: a node added later catches up
    /// through the leader's snapshot, above the floor.
    pub(super) fn forget_compacted(&mut self) {
        let counted = match &self.members {
            Some((_, m)) => m,
            None => &self.known,
        };
        let mut floor = (Index::MAX, 0);
        let mut min_term = Term::MAX;
        for id in counted {
            match self.nodes.get(id) {
                Some(v) => {
                    if v.snapshot.0 < floor.0 {
                        floor = v.snapshot;
                    }
                    min_term = min_term.min(v.term);
                }
                None => {
                    floor = (0, 0);
                    min_term = 0;
                }
            }
        }
        if floor.0 != Index::MAX && floor.0 > self.base {
            let drop = ((floor.0 - self.base) as usize).min(self.slots.len());
            self.slots.drain(..drop);
            (self.base, self.base_term) = floor;
        }
        if min_term != Term::MAX && min_term > 0 {
            // No member can become leader of a term below its own (§5.1).
            self.leaders = self.leaders.split_off(&min_term);
        }
    }
}
