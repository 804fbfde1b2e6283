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
//! may miss, never invent, a violation. Steps reach the checker when a node finishes
//! its Ready, which with a modelled fsync is `storage_latency` after the step, on the
//! simulation too: a commit the checker learns of only after another node's election
//! win is not checked against that win (Leader Completeness); the break then shows as
//! State Machine Safety if the new leader commits over the entry. What is not checked: snapshot *contents* (only
//! their last index and term; the state machine's data is opaque here), and the log a
//! node held at the instant it won an election when, later in the same batch, it
//! stepped down and had that part of its log overwritten (the end-of-batch log is all
//! the checker sees; the overwritten part is skipped).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::{self, Debug};
use std::sync::Arc;

use serde::Serialize;

use crate::event::{Event, EventKind};
use crate::log::Entry;
use crate::raft::{self, Emitted, Raft, Ready};
use crate::trace::Trace;
use crate::types::{Index, NodeId, Role, Term};

mod checks;
mod memory;

use memory::{NodeView, Restore, Slot};

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

impl Property {
    /// Every property the checker checks, in the order of the paper's Figure 3 and then
    /// the runtime's own.
    pub const ALL: [Property; 8] = [
        Property::ElectionSafety,
        Property::LeaderAppendOnly,
        Property::LogMatching,
        Property::LeaderCompleteness,
        Property::StateMachineSafety,
        Property::MonotonicTerm,
        Property::MonotonicCommit,
        Property::MonotonicApply,
    ];
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
        self.observe_snapshots(id, core, &mut view, out.events, restarted);
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

    /// State Machine Safety for the snapshots of a step: those installed from a leader
    /// (in the step's events), and the one the node restarted from or took itself.
    fn observe_snapshots<D: Clone>(
        &mut self,
        id: NodeId,
        core: &Raft<C, D>,
        view: &mut NodeView,
        events: &[Emitted],
        restarted: bool,
    ) {
        let term = core.term();
        let mut last_installed = None;
        for e in events {
            if let raft::Event::SnapshotInstalled {
                last_index,
                last_term,
                ..
            } = e.event
            {
                let snap = (last_index, last_term);
                self.check_snapshot(id, term, view, snap, Restore::Installed);
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
            self.check_snapshot(id, term, view, (snap_index, snap_term), how);
        }
        if (snap_index, snap_term) != view.snapshot {
            view.snapshot = (snap_index, snap_term);
            self.floor_stale = true;
            if let Some(s) = core.snapshot() {
                self.learn_config(s.last_index, s.membership.all());
            }
        }
    }
}
