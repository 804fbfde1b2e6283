//! Live checks of Raft's safety properties (the paper's Figure 3) while a cluster runs.
//!
//! After every step of every node — a batch of inputs the runtime handled before it
//! carried out the core's [`Ready`] — the runtime shows the checker the node's core and
//! what the step produced ([`StepOutput`]: its events in order, where its log changed,
//! what it applied). The checker keeps a global view and records a [`Violation`], with
//! the events that led to it, the moment a property breaks:
//!
//! * **Election Safety** (§5.2): every `RoleChanged { to: Leader, term }` event of the
//!   step is checked against the leader already known for that term, so a node that wins
//!   and loses leadership inside one batch is still seen.
//! * **Leader Append-Only** (§5.3): a leader's last entry at the end of one step is still
//!   there at the end of its next step in the same term, and a leader never truncates
//!   its log or installs a snapshot.
//! * **Log Matching** (§5.3): one (index, term) names one entry, with one predecessor
//!   term; by induction down the log, that is the whole property.
//! * **Leader Completeness** (§5.4): when a node wins term T, every entry known
//!   committed in a term below T is in its log or covered by its snapshot. An entry is
//!   known committed as soon as any node's commit index covers it (applied or not), or
//!   a snapshot holds it.
//! * **State Machine Safety** (§5.4.3): no two nodes apply, or hold as committed,
//!   different entries at one index; a snapshot a node installs or restarts from counts
//!   as applied through its last index, so its last (index, term) must agree with what
//!   was applied there, and the entries known committed below it with the log that
//!   (index, term) names.
//!
//! Memory stays bounded over a long run: the records of an index are dropped once every
//! member's snapshot covers it (crashed members included: a restarted node restores
//! from its snapshot and never applies below it again), and the leader of a term once
//! every member has moved past that term.
//!
//! The checks only ever under-report: when two nodes' steps race for the checker, one
//! may miss, never invent, a violation. What is not checked: snapshot *contents* (only
//! their last index and term; the state machine's data is opaque here), and the log a
//! node held at the instant it won an election when, later in the same batch, it
//! stepped down and had that part of its log overwritten (the end-of-batch log is all
//! the checker sees; the overwritten part is skipped).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::{self, Debug};
use std::sync::Arc;

use serde::Serialize;

use crate::event::{Event, EventKind};
use crate::log::{Entry, Payload};
use crate::raft::{self, Emitted, Raft, Ready};
use crate::trace::Trace;
use crate::types::{Index, NodeId, Role, Term};

/// A property that must hold in every run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Property {
    /// At most one leader can be elected in a given term (§5.2).
    ElectionSafety,
    /// A leader never overwrites or deletes entries in its log; it only appends (§5.3).
    LeaderAppendOnly,
    /// If two logs contain an entry with the same index and term, the logs are identical
    /// in all entries up through that index (§5.3).
    LogMatching,
    /// If an entry is committed in a term, it is present in the logs of the leaders of
    /// all higher terms (§5.4).
    LeaderCompleteness,
    /// If a server has applied an entry at an index, no other server ever applies a
    /// different entry at that index (§5.4.3).
    StateMachineSafety,
    /// A node's term never decreases, not even across a crash.
    MonotonicTerm,
    /// Within one run of a node, its commit index never decreases.
    MonotonicCommit,
    /// Within one run of a node, entries are applied one index after another, and a
    /// snapshot never takes its state machine back.
    MonotonicApply,
}

impl fmt::Display for Property {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Property::ElectionSafety => "Election Safety",
            Property::LeaderAppendOnly => "Leader Append-Only",
            Property::LogMatching => "Log Matching",
            Property::LeaderCompleteness => "Leader Completeness",
            Property::StateMachineSafety => "State Machine Safety",
            Property::MonotonicTerm => "Monotonic Term",
            Property::MonotonicCommit => "Monotonic Commit Index",
            Property::MonotonicApply => "Monotonic Apply",
        };
        f.write_str(s)
    }
}

/// A broken property, with the events that led to it.
#[derive(Debug, Clone, Serialize)]
pub struct Violation {
    /// Which property.
    pub property: Property,
    /// The node whose step revealed it.
    pub node: NodeId,
    /// When, in microseconds since the cluster started.
    pub at_us: u64,
    /// What exactly broke.
    pub description: String,
    /// The last events of the trace before the violation.
    pub recent: Vec<Event>,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} violated at {:.3}ms (seen at n{}): {}",
            self.property,
            self.at_us as f64 / 1000.0,
            self.node,
            self.description
        )?;
        writeln!(f, "  events before it:")?;
        for e in &self.recent {
            writeln!(f, "    {e}")?;
        }
        Ok(())
    }
}

/// What one step of a node produced, as far as the checker needs it: the parts of the
/// core's [`Ready`] that say what happened during the step, in order.
#[derive(Debug)]
pub struct StepOutput<'a, C> {
    /// The step's events, in the order the core emitted them (`Ready::events`).
    pub events: &'a [Emitted],
    /// Where the log changed (`Ready::log_dirty_from`).
    pub log_dirty_from: Option<Index>,
    /// The entries handed out to apply, in order (`Ready::committed`).
    pub committed: &'a [Entry<C>],
}

impl<C> Clone for StepOutput<'_, C> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<C> Copy for StepOutput<'_, C> {}

impl<'a, C> StepOutput<'a, C> {
    /// The output of a step whose `Ready` the caller still holds whole.
    pub fn of<D>(ready: &'a Ready<C, D>) -> Self {
        StepOutput {
            events: &ready.events,
            log_dirty_from: ready.log_dirty_from,
            committed: &ready.committed,
        }
    }
}

/// What the checker remembers of one node between its steps.
#[derive(Debug, Default, Clone, Copy)]
struct NodeView {
    incarnation: u64,
    term: Term,
    role: Option<Role>,
    commit_index: Index,
    last_applied: Index,
    /// The (index, term) its log's snapshot ended at, at the end of its last step.
    snapshot: (Index, Term),
    /// While leader: (term, last index, last term) at the end of its previous step.
    leader_tail: Option<(Term, Index, Term)>,
}

/// One entry some node wrote at an index.
#[derive(Debug, Clone)]
struct Written<C> {
    term: Term,
    /// The term of the entry before it in the writer's log, if known.
    prev: Option<Term>,
    payload: Payload<C>,
}

/// How the checker learned that an index is committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Applied,
    CommitIndex,
    Snapshot,
}

/// The entry known committed at an index.
#[derive(Debug, Clone, Copy)]
struct Committed {
    term: Term,
    /// A term in which the entry was already committed: the lowest term of a node that
    /// knew it committed (a node in term k learns commits only from leaders of terms
    /// up to k, so the entry was committed in k or earlier).
    known_in_term: Term,
    by: NodeId,
    via: Via,
}

/// Everything the checker knows of one log index.
#[derive(Debug)]
struct Slot<C> {
    /// The distinct entries written at this index; nearly always one, so the first is
    /// kept inline.
    first: Option<Written<C>>,
    more: Vec<Written<C>>,
    committed: Option<Committed>,
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
    fn written(&self, term: Term) -> Option<&Written<C>> {
        self.first
            .iter()
            .chain(self.more.iter())
            .find(|w| w.term == term)
    }

    fn written_mut(&mut self, term: Term) -> Option<&mut Written<C>> {
        self.first
            .iter_mut()
            .chain(self.more.iter_mut())
            .find(|w| w.term == term)
    }

    fn add(&mut self, w: Written<C>) {
        if self.first.is_none() {
            self.first = Some(w);
        } else {
            self.more.push(w);
        }
    }
}

/// How a node came to hold a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Restore {
    /// Installed from the leader's InstallSnapshot (§7).
    Installed,
    /// Restored from stable storage when the node restarted.
    Restarted,
    /// Taken by the node itself from what it had applied.
    Taken,
}

/// A leadership won during a step.
#[derive(Debug, Clone, Copy)]
struct Win {
    term: Term,
    /// The end-of-step log still shows the log the node won with up to this index:
    /// later in the step it stepped down and its log was overwritten from just above.
    intact_upto: Index,
}

/// The global view the properties are checked against.
#[derive(Debug)]
pub struct SafetyChecker<C> {
    trace: Arc<Trace>,
    /// The leader of each term not yet forgotten.
    leaders: BTreeMap<Term, NodeId>,
    /// Every index at or below `base` is covered by every member's snapshot and
    /// forgotten; `base_term` is the term of the entry at `base`.
    base: Index,
    base_term: Term,
    /// What is known of index `base + 1 + k`, at position k.
    slots: VecDeque<Slot<C>>,
    nodes: BTreeMap<NodeId, NodeView>,
    /// The latest configuration known committed (its index and its members), if any.
    members: Option<(Index, BTreeSet<NodeId>)>,
    /// Until a configuration is known committed: every node observed, and every member
    /// of the configurations they started with.
    known: BTreeSet<NodeId>,
    /// A snapshot, a term or the members changed: the floor may rise.
    floor_stale: bool,
    violations: Vec<Violation>,
    /// The role of the node whose step is being checked, for the violation's log line.
    role: Option<Role>,
}

impl<C: Clone + PartialEq + Debug> SafetyChecker<C> {
    /// A checker that takes the context of violations from `trace`.
    pub fn new(trace: Arc<Trace>) -> Self {
        SafetyChecker {
            trace,
            leaders: BTreeMap::new(),
            base: 0,
            base_term: 0,
            slots: VecDeque::new(),
            nodes: BTreeMap::new(),
            members: None,
            known: BTreeSet::new(),
            floor_stale: false,
            violations: Vec::new(),
            role: None,
        }
    }

    /// Every violation found so far.
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// How many log indexes the checker holds records of: those above the highest
    /// index every member has compacted (see the module doc). Bounded by the snapshot
    /// threshold in a run with snapshots.
    pub fn retained_indexes(&self) -> usize {
        self.slots.len()
    }

    /// The highest index every member has compacted; the checker has forgotten it and
    /// everything below it.
    pub fn forgotten_through(&self) -> Index {
        self.base
    }

    fn violate(&mut self, property: Property, node: NodeId, term: Term, description: String) {
        // Report each break once: one break tends to repeat on every later step.
        if self
            .violations
            .iter()
            .any(|v| v.property == property && v.description == description)
        {
            return;
        }
        self.trace.record(
            Some(node),
            term,
            self.role,
            EventKind::Violation {
                description: format!("{property}: {description}"),
            },
        );
        self.violations.push(Violation {
            property,
            node,
            at_us: self.trace.now_us(),
            description,
            recent: self.trace.tail(40),
        });
    }

    /// Checks one step of node `id` (in its run number `incarnation`, which changes when
    /// it restarts): `core` is its state after the step, `out` what the step produced.
    pub fn observe_step<D: Clone>(
        &mut self,
        id: NodeId,
        incarnation: u64,
        core: &Raft<C, D>,
        out: StepOutput<'_, C>,
    ) {
        let term = core.term();
        self.role = Some(core.role());
        let mut view = match self.nodes.get(&id) {
            Some(v) => *v,
            None => {
                // A node seen for the first time: count it, and the members it knows
                // of, until a configuration is known committed.
                self.known.insert(id);
                self.known.extend(core.membership().all());
                self.floor_stale = true;
                NodeView::default()
            }
        };
        let restarted = view.incarnation != incarnation;
        if restarted {
            // A new run: the volatile state is rebuilt, and the state machine restored
            // from the snapshot (checked below, as one installed).
            view = NodeView {
                incarnation,
                term: view.term,
                snapshot: view.snapshot,
                ..NodeView::default()
            };
        }
        if term < view.term {
            self.violate(
                Property::MonotonicTerm,
                id,
                term,
                format!("n{id}'s term went back from {} to {term}", view.term),
            );
        }
        if core.commit_index() < view.commit_index {
            self.violate(
                Property::MonotonicCommit,
                id,
                term,
                format!(
                    "n{id}'s commit index went back from {} to {}",
                    view.commit_index,
                    core.commit_index()
                ),
            );
        }
        let wins = self.read_events(id, core, &view, out.events);
        self.check_log_matching(id, core, out.log_dirty_from);
        for win in wins {
            self.check_completeness(id, core, win);
        }
        if core.role() == Role::Leader {
            self.check_append_only(id, core, &view, out.events);
            view.leader_tail = Some((term, core.log().last_index(), core.log().last_term()));
        } else {
            view.leader_tail = None;
        }
        // What the step made committed, in the order the runtime carried it out:
        // snapshots installed, then entries applied, then any commit not yet applied.
        let mut last_installed = None;
        for e in out.events {
            if let raft::Event::SnapshotInstalled {
                last_index,
                last_term,
                ..
            } = e.event
            {
                let snap = (last_index, last_term);
                self.check_snapshot(id, term, &mut view, snap, Restore::Installed);
                last_installed = Some(last_index);
            }
        }
        let (snap_index, snap_term) = (core.log().snapshot_index(), core.log().snapshot_term());
        if snap_index > 0
            && last_installed != Some(snap_index)
            && (restarted || snap_index != view.snapshot.0)
        {
            let how = if restarted {
                Restore::Restarted
            } else {
                Restore::Taken
            };
            self.check_snapshot(id, term, &mut view, (snap_index, snap_term), how);
        }
        if (snap_index, snap_term) != view.snapshot {
            view.snapshot = (snap_index, snap_term);
            self.floor_stale = true;
            if let Some(s) = core.snapshot() {
                self.learn_config(s.last_index, s.membership.all());
            }
        }
        self.check_applied(id, term, &mut view, out.committed);
        self.learn_commit_index(id, core, view.last_applied.max(view.commit_index));
        if term != view.term {
            self.floor_stale = true;
        }
        view.term = term;
        view.commit_index = core.commit_index();
        view.role = Some(core.role());
        self.nodes.insert(id, view);
        if std::mem::take(&mut self.floor_stale) {
            self.forget_compacted();
        }
    }

    /// Election Safety for every leadership the step's events show won, in order; a
    /// leader the events do not explain (a hand-made state) counts as won now. Also a
    /// leader's own truncation or snapshot install (Leader Append-Only). Returns the
    /// wins, for Leader Completeness.
    fn read_events<D: Clone>(
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
    fn claim_leadership(&mut self, id: NodeId, term: Term) {
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
    fn check_completeness<D: Clone>(&mut self, id: NodeId, core: &Raft<C, D>, win: Win) {
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
    fn check_append_only<D: Clone>(
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

    /// The slot of index `i > base`, created (with any missing below it) if need be.
    fn slot_mut(&mut self, i: Index) -> &mut Slot<C> {
        debug_assert!(i > self.base);
        let k = (i - self.base - 1) as usize;
        if k >= self.slots.len() {
            self.slots.resize_with(k + 1, Slot::default);
        }
        &mut self.slots[k]
    }

    fn slot(&self, i: Index) -> Option<&Slot<C>> {
        if i <= self.base {
            return None;
        }
        self.slots.get((i - self.base - 1) as usize)
    }

    /// Log Matching (§5.3): one (index, term) names one entry, with one predecessor
    /// term. Checked on the entries the step wrote.
    fn check_log_matching<D: Clone>(
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

    /// Records that `(i, term)` is committed, as node `by` in `known_in_term` learned
    /// `via`; a different entry already known committed there breaks State Machine
    /// Safety (§5.4.3). Returns false then.
    fn learn_committed(
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

    /// State Machine Safety for a snapshot node `id` installed, restarted from or took
    /// through `(index, term)`: it counts as applying everything up to `index`. Its last
    /// entry must be the one known committed there, and the entries known committed
    /// below must be those of the log `(index, term)` names — found by walking the
    /// predecessor terms Log Matching recorded, as far as they are known, and below
    /// that bounded by `term`, as terms never decrease along a log (§5.3).
    fn check_snapshot(
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
    fn check_applied(&mut self, id: NodeId, term: Term, view: &mut NodeView, applied: &[Entry<C>]) {
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

    /// An entry known committed, with its payload: it must agree with what is known
    /// committed there and with what was written at its (index, term).
    fn learn_entry(&mut self, id: NodeId, term: Term, e: &Entry<C>, prev: Option<Term>, via: Via) {
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
    fn learn_commit_index<D: Clone>(&mut self, id: NodeId, core: &Raft<C, D>, known: Index) {
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
    fn learn_config(&mut self, index: Index, members: Vec<NodeId>) {
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
    fn forget_compacted(&mut self) {
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
