//! The key/value client: a [`RawClient`] that registers a session and numbers its
//! writes within it, so the store applies each write exactly once (dissertation §6.3),
//! and sends Gets as ReadIndex reads (§6.4).
//!
//! A client registers lazily, before its first write. Gets need no session: they change
//! nothing, so there is nothing to apply twice, and they work before registration and
//! after expiry alike. When the store answers a write with
//! [`Reply::SessionExpired`], the client does not register again and re-send the
//! write on its own: that write's outcome is unknown (an earlier attempt may have been
//! applied before the session expired), and only the caller can decide what to do
//! about it. So the call returns [`Error::SessionExpired`], and every later write fails
//! the same way, without being sent, until the caller calls [`Client::register`].

use std::sync::Arc;
use std::time::Duration;

use crate::client::RawClient;
use crate::error::Error;

use super::op_recorder::OpRecorder;
use super::store::{Command, KvStore, Op, Reply, Request};

/// Where a client stands with its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Session {
    /// Never registered: the next write registers first.
    None,
    /// Registered with this client id.
    Active(u64),
    /// The store answered a write with `SessionExpired`; writes fail until the caller
    /// registers again.
    Expired,
}

/// A key/value client. `Send`; owns its session (client id and write counter), and has
/// one request outstanding at a time. Each call retries through drops, crashes and
/// elections and returns once the operation took effect exactly once, or
/// `Err(Error::Timeout)` after its timeout, when the outcome is unknown, or — for a
/// write — `Err(Error::SessionExpired)` when its session expired (see the module doc).
///
/// A client may record every operation into a shared history
/// ([`Client::record_into`], e.g. a [`check::KvHistory`](crate::check::KvHistory)) for
/// the linearizability checker.
///
/// Made by [`Cluster::client`](crate::Cluster::client):
///
/// ```
/// use raftsim::{kv::KvStore, Cluster, Config};
///
/// let cluster: Cluster<KvStore> = Cluster::with_config(3, Config::default().simulated());
/// let mut client = cluster.client();
/// client.put("x", "1")?;
/// client.append("x", "2")?;
/// assert_eq!(client.get("x")?, Some("12".to_string()));
/// assert_eq!(client.get("y")?, None);
/// # Ok::<(), raftsim::Error>(())
/// ```
pub struct Client {
    raw: RawClient<KvStore>,
    session: Session,
    /// The last write's sequence number in the current session.
    seq: u64,
    history: Option<Arc<dyn OpRecorder>>,
}

impl Client {
    /// A client speaking through `raw`, with no session yet.
    pub(crate) fn new(raw: RawClient<KvStore>) -> Client {
        Client {
            raw,
            session: Session::None,
            seq: 0,
            history: None,
        }
    }

    /// This client's own number (unique within its cluster, from 1): its lane in a
    /// recorded history. Not its session's id, which the cluster assigns
    /// ([`Client::session`]).
    pub fn id(&self) -> u64 {
        self.raw.id()
    }

    /// The id of this client's session — the log index of its registration (§6.3) —
    /// while it believes the session alive: `None` before the first write registers
    /// and after `Err(SessionExpired)`.
    pub fn session(&self) -> Option<u64> {
        match self.session {
            Session::Active(id) => Some(id),
            Session::None | Session::Expired => None,
        }
    }

    /// Opens a new session (RegisterClient, §6.3: a log entry whose index becomes the
    /// client id) and returns its id. Writes register by themselves the first time;
    /// call this after `Err(Error::SessionExpired)`, once the unknown outcome of the
    /// write that got it is dealt with. Errors: `Timeout` when no registration was
    /// answered in time (one may still commit; an unused session simply ages out).
    ///
    /// A write of the old session that timed out and still floats in some log may yet
    /// apply under the old session (at most once): its outcome stays unknown.
    pub fn register(&mut self) -> Result<u64, Error> {
        match self.raw.submit(Command::RegisterClient, false)? {
            Reply::Registered { client } => {
                self.session = Session::Active(client);
                self.seq = 0;
                Ok(client)
            }
            other => panic!("the store answered a registration with {other:?}"),
        }
    }

    /// Records every later operation into `history`: its input and the time it was
    /// called, then its output and the time the answer arrived. An operation whose
    /// outcome is unknown — `Err(Timeout)`, or a write that got `Err(SessionExpired)` —
    /// stays pending in the history, which the checker reads as "may or may not have
    /// taken effect, at any time after its call". (For an expired write that is looser
    /// than the truth — it cannot take effect after the answer, since its session never
    /// returns — but sound.) A write refused before it was sent, because the session
    /// had already expired, is not recorded: it reached no server.
    ///
    /// `history` is usually an `Arc<check::KvHistory>`; anything implementing
    /// [`OpRecorder`] will do.
    pub fn record_into(&mut self, history: Arc<dyn OpRecorder>) {
        self.history = Some(history);
    }

    /// This client's address on the router: put it in a group of `Cluster::partition`
    /// to confine the client to that side of a partition.
    pub fn address(&self) -> crate::types::NodeId {
        self.raw.address()
    }

    /// How many times a write (or a registration) was sent again after an attempt
    /// went unanswered in time: each may leave a duplicate entry in the log, which the
    /// session table then answers without applying.
    pub fn resent_writes(&self) -> u64 {
        self.raw.resent_writes()
    }

    /// How long an operation may take before it returns `Err(Error::Timeout)`
    /// (default 5 s). A write that must register first may take this long twice.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.raw.set_timeout(timeout);
    }

    /// The value of `key`, linearizably: never older than a write that completed before
    /// this call began. Needs no session.
    pub fn get(&mut self, key: &str) -> Result<Option<String>, Error> {
        let op = Op::Get { key: key.into() };
        // The store reads no session for a Get: any id will do.
        let client = self.session().unwrap_or(0);
        let request = Request {
            client,
            seq: self.seq,
            op: op.clone(),
        };
        let at = self.raw.now_ns();
        let handle = self.history.as_ref().map(|h| h.invoke(self.id(), op, at));
        match self.raw.submit(request.into(), true)? {
            Reply::Value(v) => {
                if let (Some(h), Some(handle)) = (&self.history, handle) {
                    h.complete(handle, Reply::Value(v.clone()), self.raw.now_ns());
                }
                Ok(v)
            }
            other => panic!("the store answered a Get with {other:?}"),
        }
    }

    /// Sets `key` to `value`, exactly once.
    pub fn put(&mut self, key: &str, value: &str) -> Result<(), Error> {
        self.write(Op::Put {
            key: key.into(),
            value: value.into(),
        })
    }

    /// Appends `value` to `key`, exactly once.
    pub fn append(&mut self, key: &str, value: &str) -> Result<(), Error> {
        self.write(Op::Append {
            key: key.into(),
            value: value.into(),
        })
    }

    fn write(&mut self, op: Op) -> Result<(), Error> {
        let client = match self.session {
            Session::Active(id) => id,
            Session::None => self.register()?,
            // Not sent: the caller has not dealt with the expiry yet.
            Session::Expired => return Err(Error::SessionExpired),
        };
        self.seq += 1;
        // The call time is read before the first attempt is sent and the return time
        // after the answer arrived, so the recorded interval contains the real one.
        let handle = self
            .history
            .as_ref()
            .map(|h| h.invoke(self.id(), op.clone(), self.raw.now_ns()));
        let request = Request {
            client,
            seq: self.seq,
            op,
        };
        match self.raw.submit(request.into(), false)? {
            Reply::Done => {
                if let (Some(h), Some(handle)) = (&self.history, handle) {
                    h.complete(handle, Reply::Done, self.raw.now_ns());
                }
                Ok(())
            }
            Reply::SessionExpired => {
                // §6.3: reported, not hidden by a new session and a re-sent write whose
                // first attempt may have been applied. Left pending in the history.
                self.session = Session::Expired;
                Err(Error::SessionExpired)
            }
            other => panic!("the store answered a write with {other:?}"),
        }
    }
}
