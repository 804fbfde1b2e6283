//! Live checks of Raft's safety properties (the paper's Figure 3) while a cluster runs.
//!
//! After every step of every node, the runtime shows the checker the node's state and
//! what the step wrote and applied. The checker keeps a global view (the leader of each
//! term, every log entry ever written, every committed entry) and records a
//! [`Violation`] with the events that led to it the moment a property breaks. The checks
//! only ever under-report: when two steps race, a check may miss, never invent, a
//! violation.

use std::collections::{BTreeMap, HashMap};
use std::fmt::{self, Debug};
use std::sync::Arc;

use serde::Serialize;

use crate::event::{Event, EventKind};
use crate::log::{Entry, Payload};
use crate::raft::Raft;
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
    /// Within one run of a node, entries are applied in increasing index order.
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

/// What the checker remembers of one node between its steps.
#[derive(Debug, Default, Clone)]
struct NodeView {
    incarnation: u64,
    term: Term,
    commit_index: Index,
    last_applied: Index,
    /// While leader: (term, last index, last term) at the end of its previous step.
    leader_tail: Option<(Term, Index, Term)>,
}

/// One committed entry as first seen applied.
#[derive(Debug, Clone)]
struct Committed<C> {
    term: Term,
    payload: Payload<C>,
    /// A term in which the entry was already committed (the applying node's term).
    known_in_term: Term,
}

/// The global view the properties are checked against.
#[derive(Debug)]
pub struct SafetyChecker<C> {
    trace: Arc<Trace>,
    leaders: BTreeMap<Term, NodeId>,
    /// (index, term) -> (term of the previous entry, payload): Log Matching.
    written: HashMap<(Index, Term), (Option<Term>, Payload<C>)>,
    committed: BTreeMap<Index, Committed<C>>,
    nodes: BTreeMap<NodeId, NodeView>,
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
            written: HashMap::new(),
            committed: BTreeMap::new(),
            nodes: BTreeMap::new(),
            violations: Vec::new(),
            role: None,
        }
    }

    /// Every violation found so far.
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    fn violate(&mut self, property: Property, node: NodeId, term: Term, description: String) {
        // Report each property once per node and term: one break tends to repeat.
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

    /// Checks one step of node `id` (in its run number `incarnation`): `core` is its
    /// state after the step, `dirty_from` where its log changed, `applied` what it
    /// applied.
    pub fn observe_step<D: Clone>(
        &mut self,
        id: NodeId,
        incarnation: u64,
        core: &Raft<C, D>,
        dirty_from: Option<Index>,
        applied: &[Entry<C>],
    ) {
        let term = core.term();
        self.role = Some(core.role());
        let mut view = self.nodes.get(&id).cloned().unwrap_or_default();
        if view.incarnation != incarnation {
            view.incarnation = incarnation;
            view.commit_index = 0;
            view.last_applied = 0;
            view.leader_tail = None;
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
        self.check_log_matching(id, core, dirty_from);
        if core.role() == Role::Leader {
            self.check_leader(id, core, &view);
            view.leader_tail = Some((term, core.log().last_index(), core.log().last_term()));
        } else {
            view.leader_tail = None;
        }
        for e in applied {
            if e.index <= view.last_applied {
                self.violate(
                    Property::MonotonicApply,
                    id,
                    term,
                    format!(
                        "n{id} applied index {} after {}",
                        e.index, view.last_applied
                    ),
                );
            }
            view.last_applied = e.index;
            self.check_applied(id, term, e);
        }
        view.term = term;
        view.commit_index = core.commit_index();
        self.nodes.insert(id, view);
    }

    /// Election Safety, Leader Append-Only, and (on election) Leader Completeness.
    fn check_leader<D: Clone>(&mut self, id: NodeId, core: &Raft<C, D>, view: &NodeView) {
        let term = core.term();
        let log = core.log();
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
                // Newly elected: it must hold every entry committed in an earlier term.
                let missing = self.committed.iter().find(|(&i, c)| {
                    c.known_in_term < term
                        && i > log.snapshot_index()
                        && log.term_at(i) != Some(c.term)
                });
                if let Some((&i, c)) = missing {
                    let desc = format!(
                        "n{id} won term {term} without committed entry t{}@{i} (its log has {} there)",
                        c.term,
                        log.term_at(i).map_or("nothing".into(), |t| format!("a term-{t} entry"))
                    );
                    self.violate(Property::LeaderCompleteness, id, term, desc);
                }
            }
        }
        if let Some((t, last, last_term)) = view.leader_tail {
            if t == term && last > log.snapshot_index() && log.term_at(last) != Some(last_term) {
                self.violate(
                    Property::LeaderAppendOnly,
                    id,
                    term,
                    format!("leader n{id} of term {term} lost or changed its entry {last}"),
                );
            }
        }
    }

    /// Log Matching: one (index, term) names one entry, with one predecessor term.
    fn check_log_matching<D: Clone>(
        &mut self,
        id: NodeId,
        core: &Raft<C, D>,
        dirty_from: Option<Index>,
    ) {
        let Some(from) = dirty_from else { return };
        let log = core.log();
        let mut found = None;
        for e in log.slice(from, usize::MAX) {
            let prev = log.term_at(e.index - 1);
            match self.written.get(&(e.index, e.term)) {
                None => {
                    self.written
                        .insert((e.index, e.term), (prev, e.payload.clone()));
                }
                Some((p, payload)) => {
                    if *payload != e.payload {
                        found = Some(format!(
                            "two different entries at index {} with term {}: {:?} and {:?} (n{id})",
                            e.index, e.term, payload, e.payload
                        ));
                    } else if prev.is_some() && p.is_some() && *p != prev {
                        found = Some(format!(
                            "entries t{}@{} agree but their predecessors' terms differ (t{} vs t{} on n{id})",
                            e.term,
                            e.index,
                            p.unwrap_or(0),
                            prev.unwrap_or(0)
                        ));
                    }
                }
            }
            if found.is_some() {
                break;
            }
        }
        if let Some(desc) = found {
            self.violate(Property::LogMatching, id, core.term(), desc);
        }
    }

    /// State Machine Safety: every node applies the same entry at each index.
    fn check_applied(&mut self, id: NodeId, term: Term, e: &Entry<C>) {
        match self.committed.get(&e.index) {
            None => {
                self.committed.insert(
                    e.index,
                    Committed {
                        term: e.term,
                        payload: e.payload.clone(),
                        known_in_term: term,
                    },
                );
            }
            Some(c) if c.term != e.term || c.payload != e.payload => {
                let desc = format!(
                    "n{id} applied t{}@{} {:?}, but t{}@{} {:?} was applied there before",
                    e.term, e.index, e.payload, c.term, e.index, c.payload
                );
                self.violate(Property::StateMachineSafety, id, term, desc);
            }
            Some(_) => {}
        }
    }

    /// The number of distinct committed indexes seen applied.
    pub fn committed_len(&self) -> usize {
        self.committed.len()
    }
}
