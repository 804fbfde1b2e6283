//! The sequential specification of the key/value store ([`crate::kv::KvStore`]) for the
//! linearizability checker: one register of text per key, which Put overwrites, Append
//! extends (an absent key counts as empty) and Get reads (an absent key reads as
//! `None`, exactly as `KvStore` answers).
//!
//! Keys are independent, so the history is partitioned by key and each key is checked
//! on its own (linearizability is local).
//!
//! The value is kept as a persistent list of the pieces that built it ([`KvState`]):
//! the search holds one state per linearized operation on its stack, and a value under
//! thousands of appends copied into each would cost memory quadratic in the history.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use super::linearizability::{Lookahead, Model, Operation, Partition};
use crate::kv::{Op, Reply};

/// What a key/value operation asks: the store's own request type.
pub type KvInput = Op;
/// What a key/value operation answers: the store's own reply type.
pub type KvOutput = Reply;

/// The key/value store as a sequential object; the state is the value of one key.
#[derive(Debug, Clone, Copy, Default)]
pub struct KvModel;

/// The key an operation touches.
pub fn key_of(input: &KvInput) -> &str {
    match input {
        Op::Get { key } | Op::Put { key, .. } | Op::Append { key, .. } => key,
    }
}

/// Shortens long values in labels: a Get under many appends returns kilobytes.
fn short(s: &str) -> String {
    const MAX: usize = 24;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let tail: String = s
            .chars()
            .rev()
            .take(MAX)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("…{tail} ({} chars)", s.chars().count())
    }
}

/// The value of one key in the search: absent, or the last of the pieces (a Put's
/// value, then each Append's) that built it, shared between states.
#[derive(Clone, Debug, Default)]
pub struct KvState(Option<Arc<Piece>>);

/// One piece of a value, with the length and hash of the whole value up to it.
#[derive(Debug)]
pub struct Piece {
    prev: Option<Arc<Piece>>,
    text: String,
    /// Bytes in the value up to and including this piece.
    len: usize,
    /// A polynomial hash of those bytes (mod 2^61 - 1), extended piece by piece.
    hash: u64,
}

impl Piece {
    /// Whether `v` starts with the value up to this piece (`v` at least as long),
    /// compared byte for byte from this piece back: a wrong last append shows at once.
    fn starts(&self, v: &str) -> bool {
        let bytes = v.as_bytes();
        let mut end = self.len;
        let mut piece = Some(self);
        while let Some(p) = piece {
            let start = end - p.text.len();
            if &bytes[start..end] != p.text.as_bytes() {
                return false;
            }
            end = start;
            piece = p.prev.as_deref();
        }
        end == 0
    }
}

/// The modulus and base of the polynomial hash.
const P: u64 = (1 << 61) - 1;
const B: u64 = 0x1234_5678_9abc_def1 % P;

fn mul_mod(a: u64, b: u64) -> u64 {
    ((u128::from(a) * u128::from(b)) % u128::from(P)) as u64
}

fn pow_mod(mut base: u64, mut exp: usize) -> u64 {
    let mut r = 1;
    while exp > 0 {
        if exp & 1 == 1 {
            r = mul_mod(r, base);
        }
        base = mul_mod(base, base);
        exp >>= 1;
    }
    r
}

fn hash_bytes(prefix: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(prefix, |h, &b| (mul_mod(h, B) + u64::from(b) + 1) % P)
}

impl KvState {
    /// The value `v`, as after a Put.
    pub fn put(v: &str) -> KvState {
        KvState(Some(Arc::new(Piece {
            prev: None,
            text: v.to_string(),
            len: v.len(),
            hash: hash_bytes(0, v.as_bytes()),
        })))
    }

    /// This value with `v` appended (an absent value counts as empty).
    pub fn append(&self, v: &str) -> KvState {
        match &self.0 {
            None => KvState::put(v),
            Some(p) => {
                let shifted = mul_mod(p.hash, pow_mod(B, v.len()));
                let tail = hash_bytes(0, v.as_bytes());
                KvState(Some(Arc::new(Piece {
                    prev: Some(p.clone()),
                    text: v.to_string(),
                    len: p.len + v.len(),
                    hash: (shifted + tail) % P,
                })))
            }
        }
    }

    /// Whether a Get answering `value` fits this state (compared byte for byte, from
    /// the last piece back).
    pub fn reads_as(&self, value: Option<&str>) -> bool {
        match (&self.0, value) {
            (None, None) => true,
            (Some(p), Some(v)) => p.len == v.len() && p.starts(v),
            _ => false,
        }
    }

    /// Whether appends alone could turn this state into one a Get answering `value`
    /// fits: an absent value only stays absent, and the others only grow at the end.
    pub fn grows_into(&self, value: Option<&str>) -> bool {
        match (&self.0, value) {
            (None, _) => true,
            (Some(p), Some(v)) => p.len <= v.len() && p.starts(v),
            (Some(_), None) => false,
        }
    }

    /// The value as a string (None when absent).
    pub fn value(&self) -> Option<String> {
        let mut piece = self.0.as_ref()?;
        let mut parts = vec![piece.text.as_str()];
        while let Some(p) = &piece.prev {
            parts.push(&p.text);
            piece = p;
        }
        parts.reverse();
        Some(parts.concat())
    }
}

impl PartialEq for KvState {
    fn eq(&self, other: &KvState) -> bool {
        match (&self.0, &other.0) {
            (None, None) => true,
            (Some(a), Some(b)) => {
                a.len == b.len && a.hash == b.hash && self.value() == other.value()
            }
            _ => false,
        }
    }
}

impl Eq for KvState {}

impl Hash for KvState {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.0.as_ref().map(|p| (p.len, p.hash)).hash(h);
    }
}

impl Model for KvModel {
    type State = KvState;
    type Input = KvInput;
    type Output = KvOutput;

    /// One partition per key, in key order. Left out, because they constrain nothing:
    ///
    /// - a pending Get: it changes nothing and its answer is unknown;
    /// - a pending write whose effect no Get on its key ever shows: an Append whose value
    ///   is in no Get's answer, a Put whose value starts no Get's answer. Had it taken
    ///   effect, every Get until the next Put would show it, so no Get falls between it
    ///   and the next Put, and the history is linearizable with it (placed last: it
    ///   never returned) iff it is without it. Without this, each such write may be
    ///   placed before every later Get, and the search tries every subset of them.
    fn partition(&self, ops: &[Operation<KvInput, KvOutput>]) -> Vec<Partition> {
        let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, op) in ops.iter().enumerate() {
            if op.is_pending() && matches!(op.input, Op::Get { .. }) {
                continue;
            }
            by_key.entry(key_of(&op.input)).or_default().push(i);
        }
        by_key
            .into_iter()
            .map(|(k, part)| {
                let reads: Vec<&str> = part
                    .iter()
                    .filter_map(|&i| match &ops[i].output {
                        Some(Reply::Value(Some(v))) => Some(v.as_str()),
                        _ => None,
                    })
                    .collect();
                let observed = |op: &Operation<KvInput, KvOutput>| match &op.input {
                    Op::Append { value, .. } => reads.iter().any(|r| r.contains(value.as_str())),
                    Op::Put { value, .. } => reads.iter().any(|r| r.starts_with(value.as_str())),
                    Op::Get { .. } => true,
                };
                Partition {
                    label: format!("key {k:?}"),
                    ops: part
                        .iter()
                        .copied()
                        .filter(|&i| !ops[i].is_pending() || observed(&ops[i]))
                        .collect(),
                }
            })
            .collect()
    }

    /// Every operation, by key (the pending ones `partition` leaves out included).
    fn display_groups(&self, ops: &[Operation<KvInput, KvOutput>]) -> Vec<Partition> {
        let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, op) in ops.iter().enumerate() {
            by_key.entry(key_of(&op.input)).or_default().push(i);
        }
        by_key
            .into_iter()
            .map(|(k, ops)| Partition {
                label: format!("key {k:?}"),
                ops,
            })
            .collect()
    }

    /// Prunes every branch after which a completed Get not linearized yet can never
    /// read its answer (see [`KvLookahead`]).
    fn lookahead<'a>(
        &self,
        ops: &[&'a Operation<KvInput, KvOutput>],
    ) -> Option<Box<dyn Lookahead<KvState> + 'a>> {
        Some(Box::new(KvLookahead::new(ops)))
    }

    fn init(&self) -> KvState {
        KvState::default()
    }

    fn step(&self, state: &KvState, input: &KvInput, output: Option<&KvOutput>) -> Option<KvState> {
        match (input, output) {
            (Op::Get { .. }, None) => Some(state.clone()),
            (Op::Get { .. }, Some(Reply::Value(v))) => {
                state.reads_as(v.as_deref()).then(|| state.clone())
            }
            (Op::Put { value, .. }, None | Some(Reply::Done)) => Some(KvState::put(value)),
            (Op::Append { value, .. }, None | Some(Reply::Done)) => Some(state.append(value)),
            // A write answered with a value, or a Get with Done: not what the store does.
            // Nor is a *completed* write answered `SessionExpired`: its effect is unknown
            // (an earlier attempt may have applied before the session expired), which a
            // completed operation cannot express, so recorders leave it pending
            // (`kv::Client` does) and the search may place it anywhere after its call,
            // or nowhere.
            _ => None,
        }
    }

    fn describe_operation(&self, input: &KvInput, output: Option<&KvOutput>) -> String {
        let out = match output {
            None => "?".to_string(),
            Some(Reply::Done) => "ok".to_string(),
            Some(Reply::Value(None)) => "none".to_string(),
            Some(Reply::Value(Some(v))) => format!("{:?}", short(v)),
            Some(Reply::SessionExpired) => "session expired".to_string(),
            Some(Reply::Registered { client }) => format!("registered {client}"),
        };
        match input {
            Op::Get { key } => format!("get({key}) -> {out}"),
            Op::Put { key, value } => format!("put({key}, {:?}) -> {out}", short(value)),
            Op::Append { key, value } => format!("append({key}, {:?}) -> {out}", short(value)),
        }
    }

    fn describe_state(&self, state: &KvState) -> String {
        match state.value() {
            None => "absent".into(),
            Some(v) => format!("{:?}", short(&v)),
        }
    }
}

/// The search's lookahead on one key: which completed Gets, not linearized yet, could
/// still read their answer.
///
/// From a state, later operations only append to the value, except a Put, which
/// replaces it. So a Get answering `v` can still fit later only if appends alone could
/// make the state read `v` ([`KvState::grows_into`]: the value is a prefix of `v`, or
/// absent), or if a Put not linearized yet writes a prefix of `v` (it may reset the
/// value to a start of `v`). A Get for which neither holds can never be placed: the
/// branch is dead. This prunes only dead branches, so the verdict is unchanged; what it
/// saves is the search through every order of the concurrent appends before a wrong
/// early one meets the next read's response.
///
/// Gets whose every such Put is linearized ("exposed") must all be placed before the
/// next Put, so in a branch that can succeed their answers are prefixes of one another,
/// and the current value must be a prefix of the shortest: only that one is checked.
pub struct KvLookahead<'a> {
    /// For each operation: the answer if it is a Get with one (`Some(None)`: absent).
    reads: Vec<Option<Option<&'a str>>>,
    /// For each Put: the completed Gets whose answer starts with its value.
    rescues: Vec<Vec<usize>>,
    /// For each completed Get: how many of those Puts are not linearized.
    rescuers: Vec<usize>,
    linearized: Vec<bool>,
    /// The exposed Gets not linearized yet, shortest answer first (absent before empty).
    exposed: BTreeSet<(usize, usize)>,
    /// The answers of the completed Gets not linearized yet, in string order.
    unread: BTreeSet<(&'a str, usize)>,
    /// How many completed Gets are not linearized yet.
    reads_left: usize,
}

impl<'a> KvLookahead<'a> {
    /// The lookahead for a partition (one key).
    pub fn new(ops: &[&'a Operation<KvInput, KvOutput>]) -> KvLookahead<'a> {
        let reads: Vec<Option<Option<&'a str>>> = ops
            .iter()
            .map(|op| match (&op.input, &op.output) {
                (Op::Get { .. }, Some(Reply::Value(v))) => Some(v.as_deref()),
                _ => None,
            })
            .collect();
        let mut rescues = vec![Vec::new(); ops.len()];
        let mut rescuers = vec![0; ops.len()];
        for (w, op) in ops.iter().enumerate() {
            if let Op::Put { value, .. } = &op.input {
                for (r, read) in reads.iter().enumerate() {
                    if let Some(Some(v)) = read {
                        if v.starts_with(value.as_str()) {
                            rescues[w].push(r);
                            rescuers[r] += 1;
                        }
                    }
                }
            }
        }
        let exposed = (0..ops.len())
            .filter(|&r| reads[r].is_some() && rescuers[r] == 0)
            .map(|r| (Self::rank(reads[r]), r))
            .collect();
        let unread = (0..ops.len())
            .filter_map(|r| reads[r].flatten().map(|v| (v, r)))
            .collect();
        KvLookahead {
            reads_left: reads.iter().filter(|r| r.is_some()).count(),
            reads,
            rescues,
            rescuers,
            linearized: vec![false; ops.len()],
            exposed,
            unread,
        }
    }

    /// The order of exposed Gets: by the length of their answer, absent first.
    fn rank(read: Option<Option<&str>>) -> usize {
        match read {
            Some(Some(v)) => v.len() + 1,
            _ => 0,
        }
    }
}

impl Lookahead<KvState> for KvLookahead<'_> {
    fn linearize(&mut self, op: usize) {
        self.linearized[op] = true;
        if let Some(read) = self.reads[op] {
            self.exposed.remove(&(Self::rank(Some(read)), op));
            if let Some(v) = read {
                self.unread.remove(&(v, op));
            }
            self.reads_left -= 1;
        }
        for &r in &self.rescues[op] {
            self.rescuers[r] -= 1;
            if self.rescuers[r] == 0 && !self.linearized[r] {
                self.exposed.insert((Self::rank(self.reads[r]), r));
            }
        }
    }

    fn unlinearize(&mut self, op: usize) {
        self.linearized[op] = false;
        for &r in &self.rescues[op] {
            if self.rescuers[r] == 0 && !self.linearized[r] {
                self.exposed.remove(&(Self::rank(self.reads[r]), r));
            }
            self.rescuers[r] += 1;
        }
        if let Some(read) = self.reads[op] {
            if self.rescuers[op] == 0 {
                self.exposed.insert((Self::rank(Some(read)), op));
            }
            if let Some(v) = read {
                self.unread.insert((v, op));
            }
            self.reads_left += 1;
        }
    }

    fn blocked(&mut self, state: &KvState) -> Option<usize> {
        let &(_, r) = self.exposed.first()?;
        let read = self.reads[r].expect("only completed Gets are exposed");
        (!state.grows_into(read)).then_some(r)
    }

    /// Whether a Get not linearized yet could read this value or one that appends
    /// make of it. If none can, the value is never seen: until the next Put no Get can
    /// be placed, appends apply to any value alike, and the Put erases it; so all such
    /// values (after the same operations) are alike, whatever order of the same
    /// appends built them. The answers starting with the value, if any, follow it
    /// directly in string order.
    fn state_matters(&mut self, state: &KvState) -> bool {
        match state.value() {
            None => self.reads_left > 0,
            Some(s) => self
                .unread
                .range((s.as_str(), 0)..)
                .next()
                .is_some_and(|(v, _)| v.starts_with(s.as_str())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persistent_values_read_and_hash_like_strings() {
        let a = KvState::default().append("ab").append("").append("cde");
        let b = KvState::put("abc").append("de");
        assert_eq!(a.value().as_deref(), Some("abcde"));
        assert!(a.reads_as(Some("abcde")) && !a.reads_as(Some("abcdf")));
        assert!(!a.reads_as(None) && !a.reads_as(Some("abcd")));
        assert_eq!(a, b, "equal values from different pieces");
        let h = |s: &KvState| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            s.hash(&mut h);
            h.finish()
        };
        assert_eq!(h(&a), h(&b));
        assert_ne!(a, KvState::put("abced"));
        assert_ne!(KvState::default(), KvState::put(""));
        assert!(KvState::put("").reads_as(Some("")));
    }
}
