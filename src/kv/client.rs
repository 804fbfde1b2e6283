//! The key/value client: finds the leader, follows redirects, retries through drops,
//! crashes and elections, and gives each request a sequence number so the store applies
//! it exactly once (dissertation §6.3). Requests and replies go through the router, so
//! the network's faults apply to them too.

use std::time::{Duration, Instant};

use crossbeam_channel::{unbounded, Receiver};

use crate::cluster::{ClientLink, Cluster};
use crate::error::{Error, NotLeader};
use crate::node::Wire;
use crate::router::{Packet, CLIENT_ADDR_BASE};
use crate::types::NodeId;

use super::store::{KvStore, Op, Reply, Request};

/// How long one attempt waits for an answer before trying another node.
const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(250);
/// The pause before retrying when no node knows a leader (an election is on).
const NO_LEADER_BACKOFF: Duration = Duration::from_millis(10);

/// A key/value client. `Send`; owns its client id and request counter, and has one
/// request outstanding at a time.
pub struct Client {
    id: u64,
    seq: u64,
    timeout: Duration,
    link: ClientLink<KvStore>,
    inbox: Receiver<Packet<Wire<KvStore>>>,
    leader: Option<NodeId>,
    next_try: usize,
    attempt: u64,
}

impl Cluster<KvStore> {
    /// A new client with its own id.
    pub fn client(&self) -> Client {
        let (tx, rx) = unbounded();
        let link = self.connect_client(tx);
        Client {
            id: (link.addr - CLIENT_ADDR_BASE) as u64 + 1,
            seq: 0,
            timeout: Duration::from_secs(5),
            link,
            inbox: rx,
            leader: None,
            next_try: 0,
            attempt: 0,
        }
    }
}

impl Client {
    /// This client's id (unique within its cluster).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// How long an operation may take before it returns `Err(Error::Timeout)`
    /// (default 5 s).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
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

    /// Runs one operation to completion: try the believed leader (or the next node),
    /// follow redirects, retry on silence, until answered or out of time.
    fn call(&mut self, op: Op) -> Result<Reply, Error> {
        let read_only = matches!(op, Op::Get { .. });
        self.seq += 1;
        let request = Request {
            client: self.id,
            seq: self.seq,
            op,
        };
        let deadline = Instant::now() + self.timeout;
        while Instant::now() < deadline {
            let target = self.pick_target();
            self.attempt += 1;
            let id = self.attempt;
            self.link.send(
                target,
                Wire::ClientRequest {
                    id,
                    command: request.clone(),
                    read_only,
                },
            );
            let wait_until = deadline.min(Instant::now() + ATTEMPT_TIMEOUT);
            match self.await_reply(id, wait_until) {
                Some(Ok(reply)) => {
                    self.leader = Some(target);
                    return Ok(reply);
                }
                Some(Err(NotLeader { leader: Some(l) })) if l != target => {
                    self.note(&format!("seq {}: n{target} redirects to n{l}", self.seq));
                    self.leader = Some(l);
                }
                Some(Err(NotLeader { .. })) => {
                    self.note(&format!("seq {}: n{target} knows no leader; backing off", self.seq));
                    self.forget_leader();
                    std::thread::sleep(NO_LEADER_BACKOFF.min(deadline.saturating_duration_since(Instant::now())));
                }
                None => {
                    self.note(&format!("seq {}: no answer from n{target}; trying another node", self.seq));
                    self.forget_leader();
                }
            }
        }
        Err(Error::Timeout)
    }

    fn note(&self, text: &str) {
        self.link
            .trace
            .note(log::Level::Debug, &format!("client {}", self.id), text);
    }

    fn pick_target(&mut self) -> NodeId {
        if let Some(l) = self.leader {
            return l;
        }
        let members = self.link.members.lock().clone();
        self.next_try = (self.next_try + 1) % members.len().max(1);
        members.get(self.next_try).copied().unwrap_or(0)
    }

    fn forget_leader(&mut self) {
        self.leader = None;
    }

    /// The reply to attempt `id`, ignoring late replies to earlier attempts.
    fn await_reply(&self, id: u64, until: Instant) -> Option<Result<Reply, NotLeader>> {
        loop {
            let wait = until.saturating_duration_since(Instant::now());
            match self.inbox.recv_timeout(wait) {
                Ok(Packet {
                    msg: Wire::ClientReply { id: got, result },
                    ..
                }) if got == id => return Some(result),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
    }
}
