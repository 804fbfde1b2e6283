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

use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
use std::fmt::{self, Debug};
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

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

enum Search {
    Linearizable,
    Illegal(Violation),
    OutOfTime { depth: usize },
}

/// One event of the history: a call or a response. The events form a doubly linked
/// list in time order (calls before responses at equal times, so operations that touch
/// count as concurrent); the search "lifts" an operation out of the list when it
/// linearizes it and puts it back when it backtracks.
#[derive(Clone, Copy)]
struct Node {
    /// The operation's position in the partition.
    op: usize,
    is_call: bool,
    /// For a call: the index of its response node.
    partner: usize,
    prev: usize,
    next: usize,
}

/// A set of operations, as bits; the cache key together with the state.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Bits(Vec<u64>);

/// A 128-bit fingerprint of a configuration of the search (which operations are
/// linearized, and the state they led to). Two independent 64-bit hashes: a collision,
/// which would wrongly prune one branch, is as likely as guessing a 128-bit key.
fn fingerprint<S: Hash>(bits: &Bits, state: &S) -> u128 {
    let mut a = DefaultHasher::new();
    let mut b = DefaultHasher::new();
    0x5eed_u64.hash(&mut b);
    bits.hash(&mut a);
    state.hash(&mut a);
    bits.hash(&mut b);
    state.hash(&mut b);
    (u128::from(a.finish()) << 64) | u128::from(b.finish())
}

impl Bits {
    fn new(n: usize) -> Bits {
        Bits(vec![0; n.div_ceil(64)])
    }
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn clear(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }
}

/// The best dead end seen: the longest prefix and where it got stuck.
struct DeadEnd<S> {
    prefix: Vec<usize>,
    state: S,
    stuck: usize,
    /// Whether the lookahead found `stuck` unable to take effect after the prefix
    /// (rather than the search reaching its response).
    blocked: bool,
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

/// The search itself, pruned by `lookahead` if given; gives up after `max_steps` steps
/// or at `deadline`. Returns the verdict and the steps taken.
fn search<M: Model>(
    model: &M,
    ops: &[&Operation<M::Input, M::Output>],
    part: &Partition,
    deadline: Instant,
    mut lookahead: Option<Box<dyn Lookahead<M::State> + '_>>,
    max_steps: u64,
) -> (Search, u64) {
    let n = ops.len();
    if n == 0 {
        return (Search::Linearizable, 0);
    }
    // Events sorted by time; node 0 is the list's head sentinel, node 2n+1 its tail.
    let mut events: Vec<(u64, bool, usize)> = Vec::with_capacity(2 * n);
    for (i, op) in ops.iter().enumerate() {
        events.push((op.call, true, i));
        events.push((if op.is_pending() { PENDING } else { op.ret }, false, i));
    }
    // Calls sort before responses at the same time (false < true after the `!`).
    events.sort_by_key(|&(t, is_call, i)| (t, !is_call, i));
    let (head, tail) = (0, 2 * n + 1);
    let mut nodes = Vec::with_capacity(2 * n + 2);
    nodes.push(Node {
        op: usize::MAX,
        is_call: false,
        partner: 0,
        prev: 0,
        next: 1,
    });
    let mut ret_node = vec![0; n];
    for (k, &(_, is_call, op)) in events.iter().enumerate() {
        if !is_call {
            ret_node[op] = k + 1;
        }
        nodes.push(Node {
            op,
            is_call,
            partner: 0,
            prev: k,
            next: k + 2,
        });
    }
    nodes.push(Node {
        op: usize::MAX,
        is_call: false,
        partner: 0,
        prev: 2 * n,
        next: tail,
    });
    for node in nodes.iter_mut().take(2 * n + 1).skip(1) {
        if node.is_call {
            node.partner = ret_node[node.op];
        }
    }

    let lift = |nodes: &mut Vec<Node>, call: usize| {
        let ret = nodes[call].partner;
        let (p, x) = (nodes[call].prev, nodes[call].next);
        nodes[p].next = x;
        nodes[x].prev = p;
        let (p, x) = (nodes[ret].prev, nodes[ret].next);
        nodes[p].next = x;
        nodes[x].prev = p;
    };
    let unlift = |nodes: &mut Vec<Node>, call: usize| {
        // Reverse order of `lift`: the response first, then the call.
        let ret = nodes[call].partner;
        let (p, x) = (nodes[ret].prev, nodes[ret].next);
        nodes[p].next = ret;
        nodes[x].prev = ret;
        let (p, x) = (nodes[call].prev, nodes[call].next);
        nodes[p].next = call;
        nodes[x].prev = call;
    };

    let mut state = model.init();
    let mut linearized = Bits::new(n);
    let mut cache: HashSet<u128> = HashSet::new();
    // (call node, state before it, which pass placed it) for each operation
    // linearized so far.
    let mut stack: Vec<(usize, M::State, bool)> = Vec::new();
    let mut best: Option<DeadEnd<M::State>> = None;
    // Which dead end explains the violation best. Without a lookahead, the longest
    // prefix: where the history stops being linearizable. With one, a branch dies as
    // soon as some operation can no longer take effect, so prefixes stay short and the
    // one to blame is rather the latest operation found stuck (then the longest prefix).
    let pruned = lookahead.is_some();
    let better = |stuck: usize, len: usize, best: &Option<DeadEnd<M::State>>| match best {
        None => true,
        Some(b) if pruned => (ops[stuck].ret, len) > (ops[b.stuck].ret, b.prefix.len()),
        Some(b) => len > b.prefix.len(),
    };
    let mut deepest = 0;
    // Candidates (the calls before the first response in the list) are tried in two
    // passes: completed operations first, then pending ones. A pending operation may be
    // placed anywhere after its call, so trying it first, at every step, sends the
    // search down long dead ends; tried last, it is placed only where a completed
    // operation needs it. Both passes together try every candidate, so the search is
    // as complete as before, only in another order.
    let pending: Vec<bool> = ops.iter().map(|o| o.is_pending()).collect();
    let mut late = false;
    let mut entry = nodes[head].next;
    let mut steps: u64 = 0;
    while nodes[head].next != tail {
        steps += 1;
        if steps > max_steps || (steps.is_multiple_of(4096) && Instant::now() >= deadline) {
            return (Search::OutOfTime { depth: deepest }, steps);
        }
        let node = nodes[entry];
        if node.is_call {
            if pending[node.op] != late {
                entry = node.next;
                continue;
            }
            let op = ops[node.op];
            if let Some(next) = model.step(&state, &op.input, op.output.as_ref()) {
                linearized.set(node.op);
                let key = match lookahead.as_mut() {
                    Some(l) => {
                        l.linearize(node.op);
                        if l.state_matters(&next) {
                            fingerprint(&linearized, &next)
                        } else {
                            fingerprint(&linearized, &())
                        }
                    }
                    None => fingerprint(&linearized, &next),
                };
                // A configuration not seen before (a dead one stays in the cache too: it
                // is as dead the next time).
                let fresh = cache.insert(key);
                let blocked = match lookahead.as_mut() {
                    Some(l) if fresh => l.blocked(&next),
                    _ => None,
                };
                if fresh && blocked.is_none() {
                    // Linearize the operation here.
                    stack.push((entry, std::mem::replace(&mut state, next), late));
                    deepest = deepest.max(stack.len());
                    lift(&mut nodes, entry);
                    entry = nodes[head].next;
                    late = false;
                    continue;
                }
                if let Some(l) = lookahead.as_mut() {
                    l.unlinearize(node.op);
                }
                if let Some(stuck) = blocked {
                    // Dead: `stuck` can never take effect after this prefix.
                    if better(stuck, stack.len() + 1, &best) {
                        let mut prefix: Vec<usize> =
                            stack.iter().map(|&(c, _, _)| nodes[c].op).collect();
                        prefix.push(node.op);
                        best = Some(DeadEnd {
                            prefix,
                            state: next,
                            stuck,
                            blocked: true,
                        });
                    }
                }
                linearized.clear(node.op);
            }
            entry = node.next;
        } else if !late {
            // The completed candidates are exhausted: now the pending ones.
            late = true;
            entry = nodes[head].next;
        } else {
            // A response: its operation had to be linearized by now and was not.
            if better(node.op, stack.len(), &best) {
                best = Some(DeadEnd {
                    prefix: stack.iter().map(|&(c, _, _)| nodes[c].op).collect(),
                    state: state.clone(),
                    stuck: node.op,
                    blocked: false,
                });
            }
            let Some((call, before, was_late)) = stack.pop() else {
                let dead = best.expect("recorded just above");
                return (Search::Illegal(violation(model, ops, part, dead)), steps);
            };
            state = before;
            linearized.clear(nodes[call].op);
            if let Some(l) = lookahead.as_mut() {
                l.unlinearize(nodes[call].op);
            }
            unlift(&mut nodes, call);
            entry = nodes[call].next;
            late = was_late;
        }
    }
    (Search::Linearizable, steps)
}

/// Describes a dead end in terms of the whole history.
fn violation<M: Model>(
    model: &M,
    ops: &[&Operation<M::Input, M::Output>],
    part: &Partition,
    dead: DeadEnd<M::State>,
) -> Violation {
    let in_prefix: HashSet<usize> = dead.prefix.iter().copied().collect();
    let stuck_ret = ops[dead.stuck].ret;
    // The operations that could have come next: called before the stuck one returned
    // and not in the prefix. When the lookahead found the dead end: the operation
    // placed last, and the one it left unable to take effect.
    let mut candidates: Vec<usize> = if dead.blocked {
        dead.prefix
            .last()
            .into_iter()
            .copied()
            .chain([dead.stuck])
            .collect()
    } else {
        (0..ops.len())
            .filter(|i| !in_prefix.contains(i) && ops[*i].call <= stuck_ret)
            .collect()
    };
    candidates.sort_by_key(|&i| (ops[i].call, i));
    let describe = |i: usize| {
        let op = ops[i];
        format!(
            "[client {} {} @{}..{}]",
            op.client,
            model.describe_operation(&op.input, op.output.as_ref()),
            fmt_time(op.call),
            fmt_time(op.ret)
        )
    };
    let tail: Vec<String> = dead
        .prefix
        .iter()
        .skip(dead.prefix.len().saturating_sub(5))
        .map(|&i| describe(i))
        .collect();
    let why = if dead.blocked {
        format!(
            "{} can no longer take effect, whatever the operations left do (and every \
             other order of the operations before it fails too)",
            describe(dead.stuck)
        )
    } else {
        format!(
            "{} returned before it could take effect; no order of the operations \
             concurrent with it fits: {}",
            describe(dead.stuck),
            candidates
                .iter()
                .map(|&i| describe(i))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let explanation = format!(
        "in {}: after a linearizable prefix of {} of {} operations (last: {}) the state is \
         {}, and {why}",
        part.label,
        dead.prefix.len(),
        ops.len(),
        if tail.is_empty() {
            "none".to_string()
        } else {
            tail.join(", ")
        },
        model.describe_state(&dead.state),
    );
    Violation {
        partition: part.label.clone(),
        prefix: dead.prefix.iter().map(|&i| part.ops[i]).collect(),
        state: model.describe_state(&dead.state),
        stuck: part.ops[dead.stuck],
        candidates: candidates.iter().map(|&i| part.ops[i]).collect(),
        explanation,
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
