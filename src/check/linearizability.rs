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
}

fn check_partition<M: Model>(
    model: &M,
    all: &[Operation<M::Input, M::Output>],
    part: &Partition,
    deadline: Instant,
) -> Search {
    let ops: Vec<&Operation<M::Input, M::Output>> = part.ops.iter().map(|&i| &all[i]).collect();
    let n = ops.len();
    if n == 0 {
        return Search::Linearizable;
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
        if steps.is_multiple_of(4096) && Instant::now() >= deadline {
            let depth = best.map(|b| b.prefix.len()).unwrap_or(stack.len());
            return Search::OutOfTime { depth };
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
                if cache.insert(fingerprint(&linearized, &next)) {
                    // A configuration not seen before: linearize the operation here.
                    stack.push((entry, std::mem::replace(&mut state, next), late));
                    lift(&mut nodes, entry);
                    entry = nodes[head].next;
                    late = false;
                    continue;
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
            if best.as_ref().is_none_or(|b| stack.len() > b.prefix.len()) {
                best = Some(DeadEnd {
                    prefix: stack.iter().map(|&(c, _, _)| nodes[c].op).collect(),
                    state: state.clone(),
                    stuck: node.op,
                });
            }
            let Some((call, before, was_late)) = stack.pop() else {
                let dead = best.expect("recorded just above");
                return Search::Illegal(violation(model, &ops, part, dead));
            };
            state = before;
            linearized.clear(nodes[call].op);
            unlift(&mut nodes, call);
            entry = nodes[call].next;
            late = was_late;
        }
    }
    Search::Linearizable
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
    // and not in the prefix.
    let mut candidates: Vec<usize> = (0..ops.len())
        .filter(|i| !in_prefix.contains(i) && ops[*i].call <= stuck_ret)
        .collect();
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
    let explanation = format!(
        "in {}: after a linearizable prefix of {} of {} operations (last: {}) the state is \
         {}, and {} returned before it could take effect; no order of the operations \
         concurrent with it fits: {}",
        part.label,
        dead.prefix.len(),
        ops.len(),
        if tail.is_empty() {
            "none".to_string()
        } else {
            tail.join(", ")
        },
        model.describe_state(&dead.state),
        describe(dead.stuck),
        candidates
            .iter()
            .map(|&i| describe(i))
            .collect::<Vec<_>>()
            .join(", ")
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
