//! The search of one partition (Wing & Gong, as improved by Lowe; porcupine's
//! algorithm), split into its three parts:
//!
//! - [`EventList`]: calls and responses in one doubly linked list in time order, from
//!   which a linearized operation is lifted (and put back when the search backtracks);
//! - [`Searcher`]: the configuration — the state, the set of linearized operations, the
//!   stack of choices, the cache of configurations already explored — and the two moves
//!   on it: place an operation ([`Searcher::try_linearize`]) and undo the last one
//!   ([`Searcher::backtrack`]);
//! - [`search`]: the walk along the list that decides which move comes next, and
//!   [`violation`], which describes the best dead end when every order failed.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::time::Instant;

use super::linearizability::{
    fmt_time, Lookahead, Model, Operation, Partition, Search, Violation, PENDING,
};

/// The search itself, pruned by `lookahead` if given; gives up after `max_steps` steps
/// or at `deadline`. Returns the verdict and the steps taken.
///
/// It walks the list from its head. At a call whose operation fits the current state,
/// it linearizes the operation there (lifts it out of the list) and restarts at the
/// head. Reaching a response means that operation should have taken effect already:
/// the last choice was wrong, so it backtracks and tries the next candidate after it.
/// An empty list is a linearization of the whole partition; backtracking with nothing
/// to undo means there is none.
///
/// Candidates (the calls before the first response in the list) are tried in two
/// passes: completed operations first, then pending ones. A pending operation may be
/// placed anywhere after its call, so trying it first, at every step, sends the search
/// down long dead ends; tried last, it is placed only where a completed operation needs
/// it. Both passes together try every candidate, so the search is as complete as
/// before, only in another order.
pub(super) fn search<'a, M: Model>(
    model: &'a M,
    ops: &'a [&'a Operation<M::Input, M::Output>],
    part: &Partition,
    deadline: Instant,
    lookahead: Option<Box<dyn Lookahead<M::State> + 'a>>,
    max_steps: u64,
) -> (Search, u64) {
    if ops.is_empty() {
        return (Search::Linearizable, 0);
    }
    let mut s = Searcher::new(model, ops, lookahead);
    // Whether this pass tries the pending candidates (the second pass).
    let mut late = false;
    let mut entry = s.list.first();
    let mut steps: u64 = 0;
    while !s.list.is_empty() {
        steps += 1;
        if steps > max_steps || (steps.is_multiple_of(4096) && Instant::now() >= deadline) {
            return (Search::OutOfTime { depth: s.deepest }, steps);
        }
        let node = s.list.nodes[entry];
        if node.is_call {
            if s.pending[node.op] == late && s.try_linearize(entry, late) {
                entry = s.list.first();
                late = false;
            } else {
                entry = node.next;
            }
        } else if !late {
            // The completed candidates are exhausted: now the pending ones.
            late = true;
            entry = s.list.first();
        } else {
            // A response: its operation had to be linearized by now and was not.
            s.stuck_at(node.op);
            let Some((call, was_late)) = s.backtrack() else {
                let dead = s.best.expect("recorded just above");
                return (Search::Illegal(violation(model, ops, part, dead)), steps);
            };
            entry = s.list.nodes[call].next;
            late = was_late;
        }
    }
    (Search::Linearizable, steps)
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

/// The calls and responses of a partition's operations, in time order, as a doubly
/// linked list with a head and a tail sentinel.
struct EventList {
    nodes: Vec<Node>,
}

/// The list's head sentinel; its tail sentinel is the last node.
const HEAD: usize = 0;

impl EventList {
    /// The list of `ops`' calls and responses (a pending one returns at infinity).
    fn new<I, O>(ops: &[&Operation<I, O>]) -> EventList {
        let n = ops.len();
        // Events sorted by time; node 0 is the head sentinel, node 2n+1 the tail.
        let mut events: Vec<(u64, bool, usize)> = Vec::with_capacity(2 * n);
        for (i, op) in ops.iter().enumerate() {
            events.push((op.call, true, i));
            events.push((if op.is_pending() { PENDING } else { op.ret }, false, i));
        }
        // Calls sort before responses at the same time (false < true after the `!`).
        events.sort_by_key(|&(t, is_call, i)| (t, !is_call, i));
        let tail = 2 * n + 1;
        let mut nodes = Vec::with_capacity(2 * n + 2);
        nodes.push(Node {
            op: usize::MAX,
            is_call: false,
            partner: 0,
            prev: HEAD,
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
        EventList { nodes }
    }

    /// The first event left in the list (the tail sentinel when it is empty).
    fn first(&self) -> usize {
        self.nodes[HEAD].next
    }

    /// Whether every operation was lifted out.
    fn is_empty(&self) -> bool {
        self.first() == self.nodes.len() - 1
    }

    /// Takes the operation whose call is node `call` out of the list: its call and its
    /// response.
    fn lift(&mut self, call: usize) {
        let ret = self.nodes[call].partner;
        self.unlink(call);
        self.unlink(ret);
    }

    /// Puts back what [`EventList::lift`] took out, in the reverse order.
    fn unlift(&mut self, call: usize) {
        let ret = self.nodes[call].partner;
        self.relink(ret);
        self.relink(call);
    }

    fn unlink(&mut self, k: usize) {
        let (p, x) = (self.nodes[k].prev, self.nodes[k].next);
        self.nodes[p].next = x;
        self.nodes[x].prev = p;
    }

    /// Undoes `unlink(k)`: `k` still remembers its neighbours (dancing links).
    fn relink(&mut self, k: usize) {
        let (p, x) = (self.nodes[k].prev, self.nodes[k].next);
        self.nodes[p].next = k;
        self.nodes[x].prev = k;
    }
}

/// A set of operations, as bits; the cache key together with the state.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Bits(Vec<u64>);

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

/// The best dead end seen: the longest prefix and where it got stuck.
struct DeadEnd<S> {
    prefix: Vec<usize>,
    state: S,
    stuck: usize,
    /// Whether the lookahead found `stuck` unable to take effect after the prefix
    /// (rather than the search reaching its response).
    blocked: bool,
}

/// A configuration of the search and the moves on it.
struct Searcher<'a, M: Model> {
    model: &'a M,
    ops: &'a [&'a Operation<M::Input, M::Output>],
    lookahead: Option<Box<dyn Lookahead<M::State> + 'a>>,
    list: EventList,
    /// Whether each operation is pending (tried in the second pass).
    pending: Vec<bool>,
    state: M::State,
    linearized: Bits,
    /// Every configuration explored (a dead one stays too: it is as dead next time).
    cache: HashSet<u128>,
    /// (call node, state before it, which pass placed it) for each operation
    /// linearized so far.
    stack: Vec<(usize, M::State, bool)>,
    best: Option<DeadEnd<M::State>>,
    /// The longest prefix reached, for a report when time runs out.
    deepest: usize,
}

impl<'a, M: Model> Searcher<'a, M> {
    fn new(
        model: &'a M,
        ops: &'a [&'a Operation<M::Input, M::Output>],
        lookahead: Option<Box<dyn Lookahead<M::State> + 'a>>,
    ) -> Self {
        Searcher {
            model,
            ops,
            lookahead,
            list: EventList::new(ops),
            pending: ops.iter().map(|o| o.is_pending()).collect(),
            state: model.init(),
            linearized: Bits::new(ops.len()),
            cache: HashSet::new(),
            stack: Vec::new(),
            best: None,
            deepest: 0,
        }
    }

    /// Tries to linearize the operation whose call is node `entry` here, in pass
    /// `late`: true if it fits the state and leads to a configuration neither seen
    /// before nor refuted by the lookahead (then it is placed, and lifted out of the
    /// list).
    fn try_linearize(&mut self, entry: usize, late: bool) -> bool {
        let op_index = self.list.nodes[entry].op;
        let op = self.ops[op_index];
        let Some(next) = self.model.step(&self.state, &op.input, op.output.as_ref()) else {
            return false;
        };
        self.linearized.set(op_index);
        let key = match self.lookahead.as_mut() {
            Some(l) => {
                l.linearize(op_index);
                if l.state_matters(&next) {
                    fingerprint(&self.linearized, &next)
                } else {
                    fingerprint(&self.linearized, &())
                }
            }
            None => fingerprint(&self.linearized, &next),
        };
        let fresh = self.cache.insert(key);
        let blocked = match self.lookahead.as_mut() {
            Some(l) if fresh => l.blocked(&next),
            _ => None,
        };
        if fresh && blocked.is_none() {
            let before = std::mem::replace(&mut self.state, next);
            self.stack.push((entry, before, late));
            self.deepest = self.deepest.max(self.stack.len());
            self.list.lift(entry);
            return true;
        }
        if let Some(l) = self.lookahead.as_mut() {
            l.unlinearize(op_index);
        }
        if let Some(stuck) = blocked {
            // Dead: `stuck` can never take effect after this prefix.
            if self.better(stuck, self.stack.len() + 1) {
                let mut prefix = self.prefix();
                prefix.push(op_index);
                self.best = Some(DeadEnd {
                    prefix,
                    state: next,
                    stuck,
                    blocked: true,
                });
            }
        }
        self.linearized.clear(op_index);
        false
    }

    /// Notes that the search reached the response of `op`, not linearized yet: a dead
    /// end, kept if it explains the violation better than the best so far.
    fn stuck_at(&mut self, op: usize) {
        if self.better(op, self.stack.len()) {
            self.best = Some(DeadEnd {
                prefix: self.prefix(),
                state: self.state.clone(),
                stuck: op,
                blocked: false,
            });
        }
    }

    /// Undoes the last linearization: returns its call node and the pass that placed
    /// it, or `None` when nothing is left to undo (no order works).
    fn backtrack(&mut self) -> Option<(usize, bool)> {
        let (call, before, was_late) = self.stack.pop()?;
        let op = self.list.nodes[call].op;
        self.state = before;
        self.linearized.clear(op);
        if let Some(l) = self.lookahead.as_mut() {
            l.unlinearize(op);
        }
        self.list.unlift(call);
        Some((call, was_late))
    }

    /// The operations linearized so far, in order.
    fn prefix(&self) -> Vec<usize> {
        self.stack
            .iter()
            .map(|&(c, _, _)| self.list.nodes[c].op)
            .collect()
    }

    /// Whether a dead end with `stuck` after a prefix of `len` explains the violation
    /// better than the best so far. Without a lookahead, the longest prefix: where the
    /// history stops being linearizable. With one, a branch dies as soon as some
    /// operation can no longer take effect, so prefixes stay short and the one to blame
    /// is rather the latest operation found stuck (then the longest prefix).
    fn better(&self, stuck: usize, len: usize) -> bool {
        match &self.best {
            None => true,
            Some(b) if self.lookahead.is_some() => {
                (self.ops[stuck].ret, len) > (self.ops[b.stuck].ret, b.prefix.len())
            }
            Some(b) => len > b.prefix.len(),
        }
    }
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
