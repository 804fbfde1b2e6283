//! The key/value client: a [`RawClient`] that numbers its requests so the store applies
//! each write exactly once (dissertation §6.3), and sends Gets as ReadIndex reads (§6.4).

use std::time::Duration;

use crate::client::RawClient;
use crate::cluster::Cluster;
use crate::error::Error;

use super::store::{KvStore, Op, Reply, Request};

/// A key/value client. `Send`; owns its client id and request counter, and has one
/// request outstanding at a time. Each call retries through drops, crashes and
/// elections and returns once the operation took effect exactly once, or
/// `Err(Error::Timeout)` after its timeout, when the outcome is unknown.
pub struct Client {
    raw: RawClient<KvStore>,
    seq: u64,
}

impl Cluster<KvStore> {
    /// A new client with its own id.
    pub fn client(&self) -> Client {
        Client {
            raw: self.raw_client(),
            seq: 0,
        }
    }
}

impl Client {
    /// This client's id (unique within its cluster).
    pub fn id(&self) -> u64 {
        self.raw.id()
    }

    /// How long an operation may take before it returns `Err(Error::Timeout)`
    /// (default 5 s).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.raw.set_timeout(timeout);
    }

    /// The value of `key`, linearizably: never older than a write that completed before
    /// this call began.
    pub fn get(&mut self, key: &str) -> Result<Option<String>, Error> {
        match self.call(Op::Get { key: key.into() })? {
            Reply::Value(v) => Ok(v),
            Reply::Done => unreachable!("a Get answers with a value"),
        }
    }

    /// Sets `key` to `value`, exactly once.
    pub fn put(&mut self, key: &str, value: &str) -> Result<(), Error> {
        self.call(Op::Put {
            key: key.into(),
            value: value.into(),
        })
        .map(|_| ())
    }

    /// Appends `value` to `key`, exactly once.
    pub fn append(&mut self, key: &str, value: &str) -> Result<(), Error> {
        self.call(Op::Append {
            key: key.into(),
            value: value.into(),
        })
        .map(|_| ())
    }

    fn call(&mut self, op: Op) -> Result<Reply, Error> {
        let read_only = matches!(op, Op::Get { .. });
        self.seq += 1;
        let request = Request {
            client: self.id(),
            seq: self.seq,
            op,
        };
        self.raw.submit(request, read_only)
    }
}
