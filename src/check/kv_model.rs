//! The sequential specification of the key/value store ([`crate::kv::KvStore`]) for the
//! linearizability checker: one register of text per key, which Put overwrites, Append
//! extends (an absent key counts as empty) and Get reads (an absent key reads as
//! `None`, exactly as `KvStore` answers).
//!
//! Keys are independent, so the history is partitioned by key and each key is checked
//! on its own (linearizability is local).

use std::collections::BTreeMap;

use super::linearizability::{Model, Operation, Partition};
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

impl Model for KvModel {
    type State = Option<String>;
    type Input = KvInput;
    type Output = KvOutput;

    /// One partition per key, in key order. A pending Get is left out: it changes
    /// nothing and its answer is unknown, so it constrains nothing.
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
            .map(|(k, ops)| Partition {
                label: format!("key {k:?}"),
                ops,
            })
            .collect()
    }

    fn init(&self) -> Option<String> {
        None
    }

    fn step(
        &self,
        state: &Option<String>,
        input: &KvInput,
        output: Option<&KvOutput>,
    ) -> Option<Option<String>> {
        match (input, output) {
            (Op::Get { .. }, None) => Some(state.clone()),
            (Op::Get { .. }, Some(Reply::Value(v))) => (v == state).then(|| state.clone()),
            (Op::Put { value, .. }, None | Some(Reply::Done)) => Some(Some(value.clone())),
            (Op::Append { value, .. }, None | Some(Reply::Done)) => {
                let mut s = state.clone().unwrap_or_default();
                s.push_str(value);
                Some(Some(s))
            }
            // A write answered with a value, or a Get with Done: not what the store does.
            _ => None,
        }
    }

    fn describe_operation(&self, input: &KvInput, output: Option<&KvOutput>) -> String {
        let out = match output {
            None => "?".to_string(),
            Some(Reply::Done) => "ok".to_string(),
            Some(Reply::Value(None)) => "none".to_string(),
            Some(Reply::Value(Some(v))) => format!("{:?}", short(v)),
        };
        match input {
            Op::Get { key } => format!("get({key}) -> {out}"),
            Op::Put { key, value } => format!("put({key}, {:?}) -> {out}", short(value)),
            Op::Append { key, value } => format!("append({key}, {:?}) -> {out}", short(value)),
        }
    }

    fn describe_state(&self, state: &Option<String>) -> String {
        match state {
            None => "absent".into(),
            Some(v) => format!("{:?}", short(v)),
        }
    }
}
