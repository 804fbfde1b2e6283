//! The key/value state machine with client sessions for exactly-once writes.

use std::collections::{BTreeMap, HashMap};

use crate::state_machine::StateMachine;
use crate::types::Index;

/// What a client asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Read a key (absent: `None`).
    Get {
        /// The key.
        key: String,
    },
    /// Set a key.
    Put {
        /// The key.
        key: String,
        /// The new value.
        value: String,
    },
    /// Append to a key's value (an absent key counts as empty).
    Append {
        /// The key.
        key: String,
        /// What to append.
        value: String,
    },
}

/// A client request: the operation, tagged with who sent it and its sequence number so
/// a retried or duplicated write is applied once (§6.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The client's id, unique per client.
    pub client: u64,
    /// The client's request counter; a client has one request outstanding at a time.
    pub seq: u64,
    /// What to do.
    pub op: Op,
}

/// The answer to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The value read by a Get.
    Value(Option<String>),
    /// A Put or Append took effect (exactly once).
    Done,
}

/// The most client sessions the store remembers. Beyond it, the session that was
/// active longest ago (by log index, so every replica evicts the same one) is dropped.
pub const MAX_SESSIONS: usize = 4096;

/// One client's session: its last applied request and the reply to it.
#[derive(Debug, Clone, PartialEq)]
struct Session {
    seq: u64,
    reply: Reply,
    last_index: Index,
}

/// The replicated key/value store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KvStore {
    data: BTreeMap<String, String>,
    sessions: HashMap<u64, Session>,
}

/// A snapshot of the store: its data and its sessions (which must survive compaction,
/// or a retried write could apply twice).
#[derive(Debug, Clone, PartialEq)]
pub struct KvSnapshot {
    data: BTreeMap<String, String>,
    sessions: Vec<(u64, u64, Reply, Index)>,
}

impl KvStore {
    /// The value of `key` now (for inspection and tests).
    pub fn value(&self, key: &str) -> Option<&String> {
        self.data.get(key)
    }

    /// Every key and value.
    pub fn data(&self) -> &BTreeMap<String, String> {
        &self.data
    }

    /// How many client sessions are remembered.
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    fn read(&self, key: &str) -> Reply {
        Reply::Value(self.data.get(key).cloned())
    }

    /// Drops the least recently active session when over the bound. Every replica
    /// applies the same entries, so every replica evicts the same session.
    fn evict(&mut self) {
        while self.sessions.len() > MAX_SESSIONS {
            let oldest = self
                .sessions
                .iter()
                .min_by_key(|(id, s)| (s.last_index, **id))
                .map(|(id, _)| *id)
                .expect("non-empty");
            self.sessions.remove(&oldest);
        }
    }
}

impl StateMachine for KvStore {
    type Command = Request;
    type Output = Reply;
    type Snapshot = KvSnapshot;

    fn apply(&mut self, index: Index, req: &Request) -> Reply {
        if let Op::Get { key } = &req.op {
            // A Get that went through the log (not ReadIndex) changes nothing.
            return self.read(key);
        }
        if let Some(s) = self.sessions.get(&req.client) {
            if req.seq <= s.seq {
                // A retry or a duplicate of a write already applied: answer as before.
                return s.reply.clone();
            }
        }
        match &req.op {
            Op::Put { key, value } => {
                self.data.insert(key.clone(), value.clone());
            }
            Op::Append { key, value } => self.data.entry(key.clone()).or_default().push_str(value),
            Op::Get { .. } => unreachable!(),
        }
        self.sessions.insert(
            req.client,
            Session {
                seq: req.seq,
                reply: Reply::Done,
                last_index: index,
            },
        );
        self.evict();
        Reply::Done
    }

    fn snapshot(&self) -> KvSnapshot {
        let mut sessions: Vec<_> = self
            .sessions
            .iter()
            .map(|(&c, s)| (c, s.seq, s.reply.clone(), s.last_index))
            .collect();
        sessions.sort_by_key(|s| s.0);
        KvSnapshot {
            data: self.data.clone(),
            sessions,
        }
    }

    fn restore(&mut self, snapshot: KvSnapshot) {
        self.data = snapshot.data;
        self.sessions = snapshot
            .sessions
            .into_iter()
            .map(|(c, seq, reply, last_index)| {
                (
                    c,
                    Session {
                        seq,
                        reply,
                        last_index,
                    },
                )
            })
            .collect();
    }

    fn command_size(req: &Request) -> usize {
        16 + match &req.op {
            Op::Get { key } => key.len(),
            Op::Put { key, value } | Op::Append { key, value } => key.len() + value.len(),
        }
    }

    fn query(&self, req: &Request) -> Option<Reply> {
        match &req.op {
            Op::Get { key } => Some(self.read(key)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(client: u64, seq: u64, op: Op) -> Request {
        Request { client, seq, op }
    }

    fn append(key: &str, v: &str) -> Op {
        Op::Append {
            key: key.into(),
            value: v.into(),
        }
    }

    #[test]
    fn writes_apply_once_per_client_request() {
        let mut kv = KvStore::default();
        assert_eq!(kv.apply(1, &req(7, 1, append("k", "a"))), Reply::Done);
        assert_eq!(kv.apply(2, &req(7, 1, append("k", "a"))), Reply::Done);
        assert_eq!(kv.apply(3, &req(8, 1, append("k", "b"))), Reply::Done);
        assert_eq!(kv.apply(4, &req(7, 2, append("k", "c"))), Reply::Done);
        assert_eq!(kv.value("k").map(String::as_str), Some("abc"));
        let get = req(9, 1, Op::Get { key: "k".into() });
        assert_eq!(kv.query(&get), Some(Reply::Value(Some("abc".into()))));
        assert_eq!(kv.query(&req(9, 2, append("k", "x"))), None);
    }

    #[test]
    fn sessions_are_bounded_and_survive_snapshots() {
        let mut kv = KvStore::default();
        for c in 0..(MAX_SESSIONS as u64 + 10) {
            kv.apply(c + 1, &req(c, 1, append("k", "x")));
        }
        assert_eq!(kv.sessions(), MAX_SESSIONS);
        // The oldest sessions were the ones evicted.
        assert!(!kv.sessions.contains_key(&0));
        let mut copy = KvStore::default();
        copy.restore(kv.snapshot());
        assert_eq!(copy, kv);
    }
}
