//! A client for any state machine: sends a command through the router to the node it
//! believes leads, follows redirects, retries on silence, and returns the command's
//! output once the leader applied it (or, for a read-only command, answered it through
//! ReadIndex). The key/value client is built on it; so are the benchmarks.
//!
//! A retried write may be applied twice unless the state machine deduplicates (as
//! `kv::KvStore` does with client sessions, dissertation §6.3).

use std::time::{Duration, Instant};

use crossbeam_channel::{unbounded, Receiver};

use crate::cluster::{ClientLink, Cluster};
use crate::error::{Error, NotLeader};
use crate::node::Wire;
use crate::router::{Packet, CLIENT_ADDR_BASE};
use crate::spin::Spin;
use crate::state_machine::StateMachine;
use crate::types::NodeId;

/// How long one attempt waits for an answer before trying another node.
const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(250);
/// The pause before retrying when no node knows a leader (an election is on).
const NO_LEADER_BACKOFF: Duration = Duration::from_millis(10);

/// A client of a cluster, with its own address on the router. `Send`.
pub struct RawClient<S: StateMachine> {
    id: u64,
    timeout: Duration,
    link: ClientLink<S>,
    inbox: Receiver<Packet<Wire<S>>>,
    leader: Option<NodeId>,
    next_try: usize,
    attempt: u64,
    spin: Spin,
}

impl<S: StateMachine + Default> Cluster<S> {
    /// A new client with its own id and router address.
    pub fn raw_client(&self) -> RawClient<S> {
        let (tx, rx) = unbounded();
        let link = self.connect_client(tx);
        RawClient {
            id: (link.addr - CLIENT_ADDR_BASE) as u64 + 1,
            spin: Spin::new(link.busy_poll),
            timeout: Duration::from_secs(5),
            link,
            inbox: rx,
            leader: None,
            next_try: 0,
            attempt: 0,
        }
    }
}

impl<S: StateMachine> RawClient<S> {
    /// This client's id (unique within its cluster, starting at 1).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// This client's address on the router. Put it in a group of
    /// [`Cluster::partition`] to confine the client to that side (a client in no group
    /// reaches every node).
    pub fn address(&self) -> NodeId {
        self.link.addr
    }

    /// How long `submit` may take before it returns `Err(Error::Timeout)` (default 5 s).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// The node this client currently believes leads.
    pub fn leader_hint(&self) -> Option<NodeId> {
        self.leader
    }

    /// Runs `command` to completion: try the believed leader (or the next member),
    /// follow redirects, retry on silence, until answered or out of time. With
    /// `read_only`, the leader answers with `StateMachine::query` after a ReadIndex
    /// round instead of appending the command to its log.
    pub fn submit(&mut self, command: S::Command, read_only: bool) -> Result<S::Output, Error> {
        let deadline = Instant::now() + self.timeout;
        while Instant::now() < deadline {
            let target = self.pick_target();
            self.attempt += 1;
            let id = self.attempt;
            self.link.send(
                target,
                Wire::ClientRequest {
                    id,
                    command: command.clone(),
                    read_only,
                },
            );
            let wait_until = deadline.min(Instant::now() + ATTEMPT_TIMEOUT);
            match self.await_reply(id, wait_until) {
                Some(Ok(out)) => {
                    self.leader = Some(target);
                    return Ok(out);
                }
                Some(Err(NotLeader { leader: Some(l) })) if l != target => {
                    self.note(&format!("n{target} redirects to n{l}"));
                    self.leader = Some(l);
                }
                Some(Err(NotLeader { .. })) => {
                    self.note(&format!("n{target} knows no leader; backing off"));
                    self.leader = None;
                    let left = deadline.saturating_duration_since(Instant::now());
                    std::thread::sleep(NO_LEADER_BACKOFF.min(left));
                }
                None => {
                    self.note(&format!("no answer from n{target}; trying another node"));
                    self.leader = None;
                }
            }
        }
        Err(Error::Timeout)
    }

    fn pick_target(&mut self) -> NodeId {
        if let Some(l) = self.leader {
            return l;
        }
        let members = self.link.members.lock().clone();
        self.next_try = (self.next_try + 1) % members.len().max(1);
        members.get(self.next_try).copied().unwrap_or(0)
    }

    /// The reply to attempt `id`, ignoring late replies to earlier attempts.
    fn await_reply(&mut self, id: u64, until: Instant) -> Option<Result<S::Output, NotLeader>> {
        loop {
            match self.spin.recv(&self.inbox, Some(until)) {
                Ok(Packet {
                    msg:
                        Wire::ClientReply {
                            id: answered,
                            result,
                        },
                    ..
                }) if answered == id => return Some(result),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
    }

    fn note(&self, text: &str) {
        self.link
            .trace
            .note(log::Level::Debug, &format!("client {}", self.id), text);
    }
}

/// Many logical clients behind one router address and one thread, each with at most one
/// request outstanding: what lets a benchmark run 1024 clients on a 2-core machine
/// without 1024 threads fighting over it. The caller keeps the workload's meaning (each
/// logical client waits for its write to apply before sending the next); this type only
/// sends, receives and tracks the leader. It does not retry on silence.
pub struct ClientMux<S: StateMachine> {
    link: ClientLink<S>,
    inbox: Receiver<Packet<Wire<S>>>,
    leader: Option<NodeId>,
    next_try: usize,
    /// Requests queued by `send`, handed to the router in one batch by `flush`.
    outbox: Vec<Packet<Wire<S>>>,
    spin: Spin,
}

impl<S: StateMachine + Default> Cluster<S> {
    /// A new client multiplexer with its own router address.
    pub fn client_mux(&self) -> ClientMux<S> {
        let (tx, rx) = unbounded();
        let link = self.connect_client(tx);
        ClientMux {
            spin: Spin::new(link.busy_poll),
            link,
            inbox: rx,
            leader: None,
            next_try: 0,
            outbox: Vec::new(),
        }
    }
}

impl<S: StateMachine> ClientMux<S> {
    /// Queues request `id` for the node believed to lead (or the next member); returns
    /// the node it goes to. The reply carries the same `id`. Queued requests leave
    /// together at the next `flush` or `recv`: the logical clients share one thread,
    /// so they may as well share its trip to the router.
    pub fn send(&mut self, id: u64, command: S::Command, read_only: bool) -> NodeId {
        let target = match self.leader {
            Some(l) => l,
            None => {
                let members = self.link.members.lock().clone();
                self.next_try = (self.next_try + 1) % members.len().max(1);
                members.get(self.next_try).copied().unwrap_or(0)
            }
        };
        self.outbox.push(Packet {
            from: self.link.addr,
            to: target,
            msg: Wire::ClientRequest {
                id,
                command,
                read_only,
            },
        });
        target
    }

    /// Hands the queued requests to the router.
    pub fn flush(&mut self) {
        if !self.outbox.is_empty() {
            let batch = std::mem::take(&mut self.outbox);
            let _ = self.link.router.send(crate::router::Input::Batch(batch));
        }
    }

    /// Flushes, then returns the next reply, waiting until `until` at most:
    /// `(id, result)`. A redirect updates the believed leader before it is returned.
    pub fn recv(&mut self, until: Instant) -> Option<(u64, Result<S::Output, NotLeader>)> {
        self.flush();
        let p = self.spin.recv(&self.inbox, Some(until)).ok()?;
        self.take(p)
    }

    /// A reply that is already waiting, if any (see [`ClientMux::recv`]); does not flush.
    pub fn try_recv(&mut self) -> Option<(u64, Result<S::Output, NotLeader>)> {
        let p = self.inbox.try_recv().ok()?;
        self.take(p)
    }

    fn take(&mut self, p: Packet<Wire<S>>) -> Option<(u64, Result<S::Output, NotLeader>)> {
        match p.msg {
            Wire::ClientReply { id, result } => {
                match &result {
                    Ok(_) => self.leader = Some(p.from),
                    Err(NotLeader { leader }) => self.leader = *leader,
                }
                Some((id, result))
            }
            _ => None,
        }
    }
}
