//! A linearizability checker for histories of concurrent operations, after porcupine
//! (anishathalye/porcupine): the Wing & Gong search as improved by Lowe ("Testing for
//! linearizability", 2017) — try to linearize, in real-time order, every operation whose
//! call has happened and that has not been linearized yet; backtrack when an operation
//! returns before it could be placed — with a cache of (set of linearized operations,
//! state) pairs so that no configuration is explored twice.
//!
//! A history is split into independent partitions first ([`Model::partition`], e.g. one
//! per key of a key/value store): a history is linearizable iff every partition is
//! (linearizability is *local*, Herlihy & Wing 1990), and the search is exponential in
//! the concurrency of one partition, not of the whole history.
//!
//! An operation without a response ("pending": the client timed out, the outcome is
//! unknown) returns at infinity and has no output; the model applies its effect but
//! checks nothing about its output. It can then be linearized anywhere after its call,
//! including after everything else, which is the same as never having taken effect.
//!
//! A model may also prune the search ([`Model::lookahead`]): after each step its
//! [`Lookahead`] may name an operation not placed yet that can no longer take effect
//! (the branch is dead at once, not when that operation's response is reached), and
//! may declare the state irrelevant, so that the cache merges the configurations that
//! differ only in it. Both must only drop dead or equivalent branches: the verdict is
//! the plain search's, found sooner.
//!
//! Left out: porcupine's parallel search over partitions and its computation of every
//! partial linearization for the visualization; here the longest linearizable prefix
//! found is reported.

use std::fmt::{self, Debug};
use std::hash::Hash;
use std::time::{Duration, Instant};

use super::search::search;

/// The `ret` time of an operation that never returned.
pub const PENDING: u64 = u64::MAX;

/// One operation of a history: who ran it, what it asked, what it got, and when
/// (nanoseconds on one monotonic clock, e.g. since the recorder started).
#[derive(Debug, Clone, PartialEq)]
pub struct Operation<I, O> {
    /// The client (thread, process) that ran the operation; one lane in the picture.
    pub client: u64,
    /// What was asked.
    pub input: I,
    /// What was answered; `None` for a pending operation (outcome unknown).
    pub output: Option<O>,
    /// When the call was made.
    pub call: u64,
    /// When the response arrived; [`PENDING`] if it never did.
    pub ret: u64,
}

impl<I, O> Operation<I, O> {
    /// Whether the operation never returned (its effect may or may not have happened).
    pub fn is_pending(&self) -> bool {
        self.output.is_none() || self.ret == PENDING
    }
}

/// One independent part of a history, checked on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// What the partition is, for reports (e.g. `key "x"`).
    pub label: String,
    /// Indexes into the history of the operations in it.
    pub ops: Vec<usize>,
}

/// A sequential specification of the object the history ran against.
pub trait Model {
    /// The object's state. The search's cache keeps a 128-bit fingerprint of (set of
    /// linearized operations, state) rather than the state itself, so states that grow
    /// (a value under many appends) cost no memory there; equal states must hash equal.
    type State: Clone + Hash + Debug;
    /// What an operation asks.
    type Input: Clone + Debug;
    /// What an operation answers.
    type Output: Clone + Debug;

    /// Splits the history into independent partitions. The default keeps it whole. A
    /// model may leave out operations that constrain nothing (a pending read).
    fn partition(&self, ops: &[Operation<Self::Input, Self::Output>]) -> Vec<Partition> {
        vec![Partition {
            label: "all operations".into(),
            ops: (0..ops.len()).collect(),
        }]
    }

    /// How a picture groups the operations: by default as [`Model::partition`] does; a
    /// model that leaves operations out of its partitions can still show them all.
    fn display_groups(&self, ops: &[Operation<Self::Input, Self::Output>]) -> Vec<Partition> {
        self.partition(ops)
    }

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// The state after `input` runs on `state`, if the object could have answered
    /// `output` (always, when `output` is `None`: the operation is pending); `None` if
    /// that answer is impossible in that state.
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> Option<Self::State>;

    /// An optional pruning of the search for one partition (`ops`, in partition order):
    /// a [`Lookahead`] that the search keeps informed of which operations are linearized
    /// and asks, at each new configuration, whether some operation not linearized yet can
    /// no longer take effect whatever the others do, so that the branch is dead at once
    /// instead of when that operation's response is reached. It must be *sound*: naming
    /// an operation that could still be placed would make the verdict wrong. The default
    /// never prunes.
    fn lookahead<'a>(
        &self,
        ops: &[&'a Operation<Self::Input, Self::Output>],
    ) -> Option<Box<dyn Lookahead<Self::State> + 'a>> {
        let _ = ops;
        None
    }

    /// A short text for an operation (labels in reports and pictures).
    fn describe_operation(&self, input: &Self::Input, output: Option<&Self::Output>) -> String {
        match output {
            Some(o) => format!("{input:?} -> {o:?}"),
            None => format!("{input:?} -> ?"),
        }
    }

    /// A short text for a state.
    fn describe_state(&self, state: &Self::State) -> String {
        format!("{state:?}")
    }
}

/// A model's pruning of the search in one partition (see [`Model::lookahead`]).
/// Operations are named by their position in the partition.
pub trait Lookahead<S> {
    /// The search linearized `op`.
    fn linearize(&mut self, op: usize);
    /// The search took `op` back; calls undo [`Lookahead::linearize`] in stack order.
    fn unlinearize(&mut self, op: usize);
    /// An operation not linearized yet that can take effect in no state reachable from
    /// `state` by operations not linearized yet, so that the branch is dead (the search
    /// places every operation of the partition, a pending one possibly last); `None`
    /// when no such operation is known.
    fn blocked(&mut self, state: &S) -> Option<usize>;

    /// Whether `state` still makes a difference: `false` promises that every state
    /// for which this answers `false`, after the same linearized operations, can be
    /// completed to a linearization exactly when `state` can, so that the search's
    /// cache treats them as one (e.g. values that no remaining read can ever observe,
    /// reached by different orders of the same writes). The default: always.
    fn state_matters(&mut self, state: &S) -> bool {
        let _ = state;
        true
    }
}

/// Why a history is not linearizable: the longest linearizable prefix found in one
/// partition, and the operations that cannot be placed after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The partition that cannot be linearized (its label).
    pub partition: String,
    /// The longest sequence of operations (indexes into the history) the search could
    /// linearize, in linearization order.
    pub prefix: Vec<usize>,
    /// The model's state after that prefix.
    pub state: String,
    /// The operation that returned before it could be placed (index into the history):
    /// it must take effect before its response, but no order of the operations
    /// concurrent with it lets it.
    pub stuck: usize,
    /// The operations that could have come next after the prefix (called before
    /// `stuck` returned, not yet linearized), `stuck` among them; each either does not
    /// fit the state or leads to a dead end.
    pub candidates: Vec<usize>,
    /// The same in words, each operation described by the model.
    pub explanation: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.explanation)
    }
}

/// The checker's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckResult {
    /// The history is linearizable.
    Ok,
    /// The history is not linearizable.
    Illegal(Violation),
    /// The time budget ran out before the search finished: nothing is known.
    Unknown {
        /// How far the search got and why it stopped.
        reason: String,
    },
}

impl CheckResult {
    /// Whether the history was shown linearizable.
    pub fn is_ok(&self) -> bool {
        matches!(self, CheckResult::Ok)
    }

    /// Whether the history was shown not linearizable.
    pub fn is_illegal(&self) -> bool {
        matches!(self, CheckResult::Illegal(_))
    }

    /// The operations to highlight in a picture (the stuck one and its candidates).
    pub fn conflicting(&self) -> Vec<usize> {
        match self {
            CheckResult::Illegal(v) => v.candidates.clone(),
            _ => Vec::new(),
        }
    }
}

impl fmt::Display for CheckResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckResult::Ok => write!(f, "linearizable"),
            CheckResult::Illegal(v) => write!(f, "NOT linearizable: {v}"),
            CheckResult::Unknown { reason } => write!(f, "unknown: {reason}"),
        }
    }
}

/// Checks `ops` against `model`, giving up with [`CheckResult::Unknown`] after `budget`.
///
/// A history recorded by hand: client 1 writes x=1 from 0 to 10 (ns), client 2 reads
/// x during the write (it may see either value), client 3 reads x after the write
/// completed (it must see 1).
///
/// ```
/// use std::time::Duration;
/// use raftsim::check::{check, CheckResult, KvHistory, KvModel};
/// use raftsim::kv::{Op, Reply};
///
/// let get = || Op::Get { key: "x".into() };
/// let history = KvHistory::new();
/// let put = history.invoke_at(1, Op::Put { key: "x".into(), value: "1".into() }, 0);
/// let during = history.invoke_at(2, get(), 5);
/// history.complete_at(put, Reply::Done, 10);
/// history.complete_at(during, Reply::Value(None), 12);
/// let after = history.invoke_at(3, get(), 20);
/// history.complete_at(after, Reply::Value(Some("1".into())), 25);
/// assert!(check(&KvModel, &history.operations(), Duration::from_secs(1)).is_ok());
///
/// // The same, but the late read sees nothing: a stale read.
/// let stale = history.invoke_at(3, get(), 30);
/// history.complete_at(stale, Reply::Value(None), 35);
/// let result = check(&KvModel, &history.operations(), Duration::from_secs(1));
/// let CheckResult::Illegal(violation) = result else { panic!("missed the stale read") };
/// println!("{violation}"); // the longest linearizable prefix, and who could not fit
/// ```
///
/// A cluster's clients record into a shared history with
/// [`Cluster::client_recorded`](crate::Cluster::client_recorded); see the README.
pub fn check<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    budget: Duration,
) -> CheckResult {
    let deadline = Instant::now() + budget;
    let mut partitions = model.partition(ops);
    // Small partitions first: a violation in one of them is found before the budget
    // goes to a hard one.
    partitions.sort_by_key(|p| p.ops.len());
    let mut unknown = Vec::new();
    for (done, p) in partitions.iter().enumerate() {
        match check_partition(model, ops, p, deadline) {
            Search::Linearizable => {}
            Search::Illegal(v) => return CheckResult::Illegal(v),
            Search::OutOfTime { depth } => {
                unknown.push(format!(
                    "{} ({} operations, deepest linearization reached {depth})",
                    p.label,
                    p.ops.len()
                ));
                // Keep going while time lasts? It has run out: report what is left.
                let left: usize = partitions[done + 1..].iter().map(|p| p.ops.len()).sum();
                return CheckResult::Unknown {
                    reason: format!(
                        "time budget of {budget:?} ran out in partition {}; {done} of {} \
                         partitions were linearizable, {} left unchecked ({left} operations)",
                        unknown.join(", "),
                        partitions.len(),
                        partitions.len() - done - 1,
                    ),
                };
            }
        }
    }
    CheckResult::Ok
}

/// The verdict of the search on one partition.
pub(super) enum Search {
    Linearizable,
    Illegal(Violation),
    OutOfTime { depth: usize },
}

/// Searches one partition with the model's lookahead. A violation found with it is
/// explained by the search without it when that one finishes within a bounded number
/// of steps (ten times the first search's, and at least 100,000): the lookahead refutes
/// a branch as soon as some read becomes impossible, so its longest prefix is short and
/// its stuck operation may not be the one to blame, whereas the plain search reports
/// where the history stops being linearizable. Both verdicts are the same, as the
/// lookahead prunes only dead branches.
fn check_partition<M: Model>(
    model: &M,
    all: &[Operation<M::Input, M::Output>],
    part: &Partition,
    deadline: Instant,
) -> Search {
    let ops: Vec<&Operation<M::Input, M::Output>> = part.ops.iter().map(|&i| &all[i]).collect();
    let Some(lookahead) = model.lookahead(&ops) else {
        return search(model, &ops, part, deadline, None, u64::MAX).0;
    };
    match search(model, &ops, part, deadline, Some(lookahead), u64::MAX) {
        (Search::Illegal(pruned), steps) => {
            let limit = steps.saturating_mul(10).max(100_000);
            match search(model, &ops, part, deadline, None, limit).0 {
                Search::Illegal(plain) => Search::Illegal(plain),
                _ => Search::Illegal(pruned),
            }
        }
        (other, _) => other,
    }
}

/// A time stamp (nanoseconds) for reports, in a readable unit; `inf` when pending.
pub fn fmt_time(t: u64) -> String {
    match t {
        PENDING => "inf".into(),
        0..=999 => format!("{t}ns"),
        1_000..=999_999 => format!("{:.1}µs", t as f64 / 1e3),
        _ => format!("{:.3}ms", t as f64 / 1e6),
    }
}
