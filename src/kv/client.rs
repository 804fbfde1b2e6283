//! The key/value client: a [`RawClient`] that numbers its requests so the store applies
//! each write exactly once (dissertation §6.3), and sends Gets as ReadIndex reads (§6.4).

use std::sync::Arc;
use std::time::Duration;

use crate::check::KvHistory;
use crate::client::RawClient;
use crate::cluster::Cluster;
use crate::error::Error;

use super::store::{KvStore, Op, Reply, Request};

/// A key/value client. `Send`; owns its client id and request counter, and has one
/// request outstanding at a time. Each call retries through drops, crashes and
/// elections and returns once the operation took effect exactly once, or
/// `Err(Error::Timeout)` after its timeout, when the outcome is unknown.
///
/// A client may record every operation into a shared [`KvHistory`]
/// ([`Client::record_into`]) for the linearizability checker.
pub struct Client {
    raw: RawClient<KvStore>,
    seq: u64,
    history: Option<Arc<KvHistory>>,
}

impl Cluster<KvStore> {
    /// A new client with its own id.
    pub fn client(&self) -> Client {
        Client {
            raw: self.raw_client(),
            seq: 0,
            history: None,
        }
    }

    /// A new client that records every operation into `history`
    /// (see [`Client::record_into`]).
    pub fn client_recorded(&self, history: &Arc<KvHistory>) -> Client {
        let mut c = self.client();
        c.record_into(history.clone());
        c
    }
}

impl Client {
    /// This client's id (unique within its cluster).
    pub fn id(&self) -> u64 {
        self.raw.id()
    }

    /// Records every later operation into `history`: its input and the time it was
    /// called, then its output and the time the answer arrived. An operation that fails
    /// (`Err(Timeout)`: the outcome is unknown) stays pending in the history, which the
    /// checker reads as "may or may not have taken effect, at any time after its call".
    pub fn record_into(&mut self, history: Arc<KvHistory>) {
        self.history = Some(history);
    }

    /// This client's address on the router: put it in a group of `Cluster::partition`
    /// to confine the client to that side of a partition.
    pub fn address(&self) -> crate::types::NodeId {
        self.raw.address()
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
        // The call time is read before the first attempt is sent and the return time
        // after the answer arrived, so the recorded interval contains the real one.
        let handle = self
            .history
            .as_ref()
            .map(|h| h.invoke(request.client, request.op.clone()));
        let result = self.raw.submit(request, read_only);
        if let (Some(h), Some(handle), Ok(reply)) = (&self.history, handle, &result) {
            h.complete(handle, reply.clone());
        }
        result
    }
}
