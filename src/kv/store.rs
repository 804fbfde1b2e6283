//! The key/value state machine, with client sessions for exactly-once writes
//! (dissertation §6.3).
//!
//! A client first registers: [`Command::RegisterClient`] goes through the log like any
//! write, and the index of its entry becomes the client's id, so every replica hands out
//! the same id and no two registrations share one. Each write then carries that id and
//! a sequence number; the client's session remembers the last `seq` applied and its
//! reply, so a retry or a network duplicate of a write already applied is answered from
//! the session instead of being applied again.
//!
//! Sessions cannot be kept forever, and replicas must agree on when one ends, so expiry
//! is a rule of the state machine, applied at the same log index on every replica: when
//! a registration makes more than `max_sessions` sessions
//! ([`Config::max_client_sessions`](crate::Config), default [`MAX_SESSIONS`]), the
//! session least recently active — the lowest index of its registration or its last
//! applied write — is dropped (§6.3's LRU option; the alternative, leader timestamps
//! in the log, is left out). Sessions are part of the snapshot.
//!
//! A write whose session is gone is never applied: with the session went the knowledge
//! of whether this very request was applied before, so applying it could apply it
//! twice. It is answered [`Reply::SessionExpired`] and changes nothing, and since ids
//! are log indexes a session never comes back, so no later copy of the request can
//! apply either. Gets change nothing and need no session.

use std::collections::BTreeMap;

use crate::config::Config;
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
    /// The client's id: the log index of its registration ([`Reply::Registered`]).
    /// A Get needs none (any value does).
    pub client: u64,
    /// The client's write counter within its session, from 1 (0 is the registration
    /// itself); a client has one request outstanding at a time.
    pub seq: u64,
    /// What to do.
    pub op: Op,
}

/// A command of the key/value store: what goes into the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// RegisterClient (§6.3): open a session. Answered [`Reply::Registered`] with the
    /// new client id, which is this entry's log index.
    RegisterClient,
    /// A client's request within its session.
    Request(Request),
}

impl From<Request> for Command {
    fn from(request: Request) -> Command {
        Command::Request(request)
    }
}

/// The answer to a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The value read by a Get.
    Value(Option<String>),
    /// A Put or Append took effect (exactly once).
    Done,
    /// A registration took effect: the new session's client id.
    Registered {
        /// The id to put in every [`Request`] of this session.
        client: u64,
    },
    /// The write's client has no session: it expired (or was never registered). The
    /// write was not applied now; whether an earlier copy of it was applied before the
    /// session expired is unknown.
    SessionExpired,
}

/// The default of [`Config::max_client_sessions`](crate::Config): the most client
/// sessions the store remembers. Beyond it, the session that was active longest ago
/// (by log index, so every replica evicts the same one) is dropped.
pub const MAX_SESSIONS: usize = crate::config::DEFAULT_MAX_CLIENT_SESSIONS;

/// One client's session: its last applied request and the reply to it.
#[derive(Debug, Clone, PartialEq)]
struct Session {
    seq: u64,
    reply: Reply,
    /// The index of the registration or of the last write applied: the LRU key.
    last_index: Index,
}

/// The replicated key/value store.
#[derive(Debug, Clone, PartialEq)]
pub struct KvStore {
    data: BTreeMap<String, String>,
    sessions: BTreeMap<u64, Session>,
    /// Each session's client id by its `last_index` (unique: one entry touches one
    /// session), oldest first: the eviction order.
    activity: BTreeMap<Index, u64>,
    /// The most sessions kept; configuration, not state, so `restore` leaves it.
    max_sessions: usize,
}

impl Default for KvStore {
    fn default() -> Self {
        KvStore::with_max_sessions(MAX_SESSIONS)
    }
}

/// A snapshot of the store: its data and its sessions (which must survive compaction,
/// or a retried write could apply twice).
#[derive(Debug, Clone, PartialEq)]
pub struct KvSnapshot {
    data: BTreeMap<String, String>,
    /// `(client, seq, reply, last_index)` per session, by client id.
    sessions: Vec<(u64, u64, Reply, Index)>,
}

impl KvStore {
    /// An empty store that keeps at most `max` sessions (at least one).
    #[track_caller]
    pub fn with_max_sessions(max: usize) -> KvStore {
        assert!(max >= 1, "a store must keep at least one session");
        KvStore {
            data: BTreeMap::new(),
            sessions: BTreeMap::new(),
            activity: BTreeMap::new(),
            max_sessions: max,
        }
    }

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

    /// Whether client `client` has a session (registered and not expired).
    pub fn has_session(&self, client: u64) -> bool {
        self.sessions.contains_key(&client)
    }

    /// The most sessions this store keeps.
    pub fn max_sessions(&self) -> usize {
        self.max_sessions
    }

    fn read(&self, key: &str) -> Reply {
        Reply::Value(self.data.get(key).cloned())
    }

    /// Records that `client`'s request `seq`, at log index `index`, was answered
    /// `reply`; the session becomes the most recently active.
    fn touch(&mut self, client: u64, seq: u64, reply: Reply, index: Index) {
        let old = self.sessions.insert(
            client,
            Session {
                seq,
                reply,
                last_index: index,
            },
        );
        if let Some(old) = old {
            self.activity.remove(&old.last_index);
        }
        let clash = self.activity.insert(index, client);
        assert!(clash.is_none(), "two sessions active at index {index}");
    }

    /// §6.3: a registration's log index is the client's id, the same on every replica.
    fn register(&mut self, index: Index) -> Reply {
        let reply = Reply::Registered { client: index };
        self.touch(index, 0, reply.clone(), index);
        self.evict();
        reply
    }

    /// Drops the least recently active sessions while over the bound. Every replica
    /// applies the same entries, so every replica evicts the same sessions at the same
    /// index (§6.3: servers must agree on when a session expires).
    fn evict(&mut self) {
        while self.sessions.len() > self.max_sessions {
            let (_, oldest) = self.activity.pop_first().expect("one per session");
            self.sessions.remove(&oldest);
        }
    }
}

impl StateMachine for KvStore {
    type Command = Command;
    type Output = Reply;
    type Snapshot = KvSnapshot;

    fn configure(&mut self, config: &Config) {
        self.max_sessions = config.max_client_sessions;
        self.evict();
    }

    fn apply(&mut self, index: Index, command: &Command) -> Reply {
        let req = match command {
            Command::RegisterClient => return self.register(index),
            Command::Request(req) => req,
        };
        if let Op::Get { key } = &req.op {
            // A Get that went through the log (not ReadIndex) changes nothing.
            return self.read(key);
        }
        let Some(session) = self.sessions.get(&req.client) else {
            // §6.3: without the session we cannot tell whether this request was
            // applied before the session expired; applying it could apply it twice.
            return Reply::SessionExpired;
        };
        if req.seq <= session.seq {
            // A retry or a duplicate of a write already applied: answer as before.
            return session.reply.clone();
        }
        match &req.op {
            Op::Put { key, value } => {
                self.data.insert(key.clone(), value.clone());
            }
            Op::Append { key, value } => self.data.entry(key.clone()).or_default().push_str(value),
            Op::Get { .. } => unreachable!(),
        }
        self.touch(req.client, req.seq, Reply::Done, index);
        Reply::Done
    }

    fn snapshot(&self) -> KvSnapshot {
        KvSnapshot {
            data: self.data.clone(),
            sessions: self
                .sessions
                .iter()
                .map(|(&c, s)| (c, s.seq, s.reply.clone(), s.last_index))
                .collect(),
        }
    }

    fn restore(&mut self, snapshot: KvSnapshot) {
        self.data = snapshot.data;
        self.sessions.clear();
        self.activity.clear();
        for (client, seq, reply, last_index) in snapshot.sessions {
            self.touch(client, seq, reply, last_index);
        }
        // A no-op when the snapshot was taken under the same limit, as in one cluster.
        self.evict();
    }

    fn command_size(command: &Command) -> usize {
        16 + match command {
            Command::RegisterClient => 0,
            Command::Request(req) => match &req.op {
                Op::Get { key } => key.len(),
                Op::Put { key, value } | Op::Append { key, value } => key.len() + value.len(),
            },
        }
    }

    fn query(&self, command: &Command) -> Option<Reply> {
        match command {
            Command::Request(Request {
                op: Op::Get { key },
                ..
            }) => Some(self.read(key)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(client: u64, seq: u64, op: Op) -> Command {
        Command::Request(Request { client, seq, op })
    }

    fn append(key: &str, v: &str) -> Op {
        Op::Append {
            key: key.into(),
            value: v.into(),
        }
    }

    /// Registers a client at `index` and returns its id.
    fn register(kv: &mut KvStore, index: Index) -> u64 {
        match kv.apply(index, &Command::RegisterClient) {
            Reply::Registered { client } => client,
            other => panic!("registration answered {other:?}"),
        }
    }

    #[test]
    fn registration_hands_out_the_entry_index_as_client_id() {
        let mut kv = KvStore::default();
        assert_eq!(register(&mut kv, 3), 3);
        assert_eq!(register(&mut kv, 8), 8);
        assert!(kv.has_session(3) && kv.has_session(8) && !kv.has_session(5));
        // A registration retried is a second session, not an error: the client uses
        // whichever answer it gets, and the other one ages out.
        assert_eq!(kv.sessions(), 2);
    }

    #[test]
    fn writes_apply_once_per_client_request() {
        let mut kv = KvStore::default();
        let (a, b) = (register(&mut kv, 1), register(&mut kv, 2));
        assert_eq!(kv.apply(3, &req(a, 1, append("k", "a"))), Reply::Done);
        assert_eq!(kv.apply(4, &req(a, 1, append("k", "a"))), Reply::Done);
        assert_eq!(kv.apply(5, &req(b, 1, append("k", "b"))), Reply::Done);
        assert_eq!(kv.apply(6, &req(a, 2, append("k", "c"))), Reply::Done);
        assert_eq!(kv.value("k").map(String::as_str), Some("abc"));
        let get = req(9, 1, Op::Get { key: "k".into() });
        assert_eq!(kv.query(&get), Some(Reply::Value(Some("abc".into()))));
        assert_eq!(kv.query(&req(a, 3, append("k", "x"))), None);
        assert_eq!(kv.query(&Command::RegisterClient), None);
    }

    #[test]
    fn a_write_without_a_session_is_not_applied() {
        let mut kv = KvStore::default();
        assert_eq!(
            kv.apply(1, &req(42, 1, append("k", "x"))),
            Reply::SessionExpired
        );
        assert_eq!(kv.value("k"), None);
        assert_eq!(kv.sessions(), 0, "a refused write opens no session");
        // Reads need no session, through the log or not.
        let get = req(42, 2, Op::Get { key: "k".into() });
        assert_eq!(kv.apply(2, &get), Reply::Value(None));
    }

    /// The bug sessions must prevent: `Append(k, "a")` applied, then `MAX_SESSIONS`
    /// other clients write and evict its session, then the same request is retried (its
    /// reply was lost, or the network duplicated it). Applying it would make `k ==
    /// "aa"`; it must be refused instead.
    #[test]
    fn a_retry_after_eviction_is_not_applied_twice() {
        let mut kv = KvStore::default();
        let mut index = 0;
        let mut next = || {
            index += 1;
            index
        };
        let me = register(&mut kv, next());
        let first = req(me, 1, append("k", "a"));
        assert_eq!(kv.apply(next(), &first), Reply::Done);
        for c in 0..MAX_SESSIONS {
            let other = register(&mut kv, next());
            let write = req(other, 1, append(&format!("other{c}"), "x"));
            assert_eq!(kv.apply(next(), &write), Reply::Done);
        }
        assert!(!kv.has_session(me), "the oldest session was evicted");
        assert_eq!(kv.apply(next(), &first), Reply::SessionExpired);
        assert_eq!(kv.value("k").map(String::as_str), Some("a"));
        // And so is every later write of the expired session: ids are never reused.
        let second = req(me, 2, append("k", "b"));
        assert_eq!(kv.apply(next(), &second), Reply::SessionExpired);
        assert_eq!(kv.value("k").map(String::as_str), Some("a"));
    }

    #[test]
    fn the_least_recently_active_session_is_evicted() {
        let mut kv = KvStore::with_max_sessions(2);
        let a = register(&mut kv, 1);
        let b = register(&mut kv, 2);
        assert_eq!(kv.apply(3, &req(b, 1, append("k", "b"))), Reply::Done);
        assert_eq!(kv.apply(4, &req(a, 1, append("k", "a"))), Reply::Done);
        // A duplicate is answered from the session and is not activity: b stays the
        // least recently active.
        assert_eq!(kv.apply(5, &req(b, 1, append("k", "b"))), Reply::Done);
        let c = register(&mut kv, 6);
        assert!(kv.has_session(a) && !kv.has_session(b) && kv.has_session(c));
        assert_eq!(kv.sessions(), 2);
        assert_eq!(
            kv.apply(7, &req(b, 2, append("k", "!"))),
            Reply::SessionExpired
        );
        assert_eq!(kv.value("k").map(String::as_str), Some("ba"));
    }

    #[test]
    fn sessions_and_their_order_survive_snapshots_and_the_limit_stays() {
        let mut kv = KvStore::with_max_sessions(3);
        for i in 1..=3 {
            let c = register(&mut kv, 2 * i - 1);
            kv.apply(2 * i, &req(c, 1, append("k", "x")));
        }
        let mut copy = KvStore::with_max_sessions(3);
        copy.apply(1, &Command::RegisterClient);
        copy.restore(kv.snapshot());
        assert_eq!(copy, kv);
        assert_eq!(copy.max_sessions(), 3, "restore keeps the configured limit");
        // The copy evicts exactly what the original does: the LRU order came along.
        let (r1, r2) = (register(&mut kv, 7), register(&mut copy, 7));
        assert_eq!(r1, r2);
        assert_eq!(copy, kv);
        assert!(!copy.has_session(1) && copy.has_session(3));
    }

    #[test]
    fn configure_sets_the_limit_from_the_config() {
        let mut kv = KvStore::default();
        assert_eq!(kv.max_sessions(), MAX_SESSIONS);
        kv.configure(&Config {
            max_client_sessions: 5,
            ..Config::default()
        });
        assert_eq!(kv.max_sessions(), 5);
    }
}
