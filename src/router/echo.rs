//! The echo baseline: the ceiling of this design. The same threads and the same
//! thread-to-thread hops through the router as a replicated write (client → leader →
//! every follower → leader → client), with the same batching of whatever waits in an
//! inbox, but no Raft logic: no log, no terms, no commit rule, no state machine.
//! Benchmarks print Raft's throughput as a fraction of this.

use std::collections::HashMap;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{unbounded, Receiver, Sender};

use super::{Control, Input, Packet, Routable, RouterHandle, CLIENT_ADDR_BASE};
use crate::config::NetConfig;
use crate::spin::Spin;
use crate::trace::Trace;
use crate::types::{NodeId, Term};

/// What travels in the echo cluster.
#[derive(Debug, Clone)]
pub enum EchoMsg {
    /// A client's request.
    Request {
        /// Echoed in the reply.
        id: u64,
    },
    /// The leader's batch to a follower (stands for AppendEntries).
    Batch {
        /// The batch's number.
        seq: u64,
        /// How many requests it stands for.
        len: usize,
    },
    /// A follower's acknowledgement (stands for AppendEntriesReply).
    Ack {
        /// The batch acknowledged.
        seq: u64,
    },
    /// The answer to a request.
    Reply {
        /// The request's id.
        id: u64,
    },
}

impl Routable for EchoMsg {
    fn kind(&self) -> &'static str {
        match self {
            EchoMsg::Request { .. } => "Request",
            EchoMsg::Batch { .. } => "Batch",
            EchoMsg::Ack { .. } => "Ack",
            EchoMsg::Reply { .. } => "Reply",
        }
    }
    fn term(&self) -> Term {
        0
    }
    fn entries(&self) -> usize {
        match self {
            EchoMsg::Batch { len, .. } => *len,
            _ => 0,
        }
    }
}

/// A running echo cluster with one client address: send requests, receive replies.
pub struct EchoCluster {
    router: RouterHandle<EchoMsg>,
    tx: Sender<Input<EchoMsg>>,
    inbox: Receiver<Packet<EchoMsg>>,
    joins: Vec<JoinHandle<()>>,
    spin: Spin,
}

/// The most inbox messages a node handles before it sends what they produced, as the
/// Raft node does.
const BATCH: usize = 512;

impl EchoCluster {
    /// Starts a router and `nodes` node threads (node 0 plays the leader), with the
    /// default `Config::busy_poll`.
    pub fn start(nodes: usize) -> Self {
        Self::start_with(nodes, crate::Config::default().busy_poll)
    }

    /// Like [`EchoCluster::start`], with every thread polling for `busy_poll` before it
    /// parks once busy (as `Config::busy_poll` does for a Raft cluster).
    pub fn start_with(nodes: usize, busy_poll: Duration) -> Self {
        assert!(nodes >= 1, "an echo cluster needs a node");
        let trace = Arc::new(Trace::new(false, false, 0));
        let router = RouterHandle::spawn(NetConfig::reliable(), 0, trace, busy_poll);
        let tx = router.sender();
        let mut joins = Vec::new();
        for id in 0..nodes as NodeId {
            let (ntx, nrx) = unbounded();
            router.control(Control::Register(id, ntx));
            router.control(Control::Net(crate::net::NetChange::SetAlive(id, true)));
            let out = tx.clone();
            let name = format!("echo-n{id}");
            let body: Box<dyn FnOnce() + Send> = if id == 0 {
                Box::new(move || leader(nodes, nrx, out, Spin::new(busy_poll)))
            } else {
                Box::new(move || follower(id, nrx, out, Spin::new(busy_poll)))
            };
            let join = std::thread::Builder::new()
                .name(name)
                .spawn(body)
                .expect("spawn an echo node");
            joins.push(join);
        }
        let (ctx, crx) = unbounded();
        router.control(Control::Register(CLIENT_ADDR_BASE, ctx));
        EchoCluster {
            router,
            tx,
            inbox: crx,
            joins,
            spin: Spin::new(busy_poll),
        }
    }

    /// Sends request `id` to the leader.
    pub fn send(&self, id: u64) {
        let p = Packet {
            from: CLIENT_ADDR_BASE,
            to: 0,
            msg: EchoMsg::Request { id },
        };
        let _ = self.tx.send(Input::Packet(p));
    }

    /// The next reply's id, waiting until `until` at most.
    pub fn recv(&mut self, until: Instant) -> Option<u64> {
        match self.spin.recv(&self.inbox, Some(until)).ok()?.msg {
            EchoMsg::Reply { id } => Some(id),
            _ => None,
        }
    }

    /// A reply already waiting, if any.
    pub fn try_recv(&self) -> Option<u64> {
        match self.inbox.try_recv().ok()?.msg {
            EchoMsg::Reply { id } => Some(id),
            _ => None,
        }
    }
}

impl Drop for EchoCluster {
    fn drop(&mut self) {
        // Stopping the router drops its endpoint senders, which ends the node threads.
        self.router.stop();
        for j in self.joins.drain(..) {
            let _ = j.join();
        }
    }
}

/// Queues a packet; `flush` hands the queue to the router in one batch, as the Raft
/// node does after each round of work.
fn send(outbox: &mut Vec<Packet<EchoMsg>>, from: NodeId, to: NodeId, msg: EchoMsg) {
    outbox.push(Packet { from, to, msg });
}

fn flush(out: &Sender<Input<EchoMsg>>, outbox: &mut Vec<Packet<EchoMsg>>) {
    match outbox.len() {
        0 => {}
        1 => {
            let _ = out.send(Input::Packet(outbox.pop().expect("one")));
        }
        _ => {
            let _ = out.send(Input::Batch(std::mem::take(outbox)));
        }
    }
}

/// Node 0: batches requests to every follower, answers them once a majority (counting
/// itself) acknowledged their batch.
fn leader(
    nodes: usize,
    inbox: Receiver<Packet<EchoMsg>>,
    out: Sender<Input<EchoMsg>>,
    mut spin: Spin,
) {
    let needed = nodes / 2; // follower acks for a majority with the leader itself
    let mut waiting: HashMap<u64, (usize, Vec<(NodeId, u64)>)> = HashMap::new();
    let mut seq = 0u64;
    let mut batch: Vec<(NodeId, u64)> = Vec::new();
    let mut outbox = Vec::new();
    while let Ok(first) = spin.recv(&inbox, None) {
        let mut next = Some(first);
        let mut n = 0;
        while let Some(p) = next.take() {
            match p.msg {
                EchoMsg::Request { id } => batch.push((p.from, id)),
                EchoMsg::Ack { seq } => {
                    if let Some(w) = waiting.get_mut(&seq) {
                        w.0 += 1;
                        if w.0 == needed {
                            let (_, ids) = waiting.remove(&seq).expect("present");
                            for (client, id) in ids {
                                send(&mut outbox, 0, client, EchoMsg::Reply { id });
                            }
                        }
                    }
                }
                _ => {}
            }
            n += 1;
            if n < BATCH {
                next = inbox.try_recv().ok();
            }
        }
        if batch.is_empty() {
            flush(&out, &mut outbox);
            continue;
        }
        seq += 1;
        let ids = std::mem::take(&mut batch);
        if needed == 0 {
            for (client, id) in ids {
                send(&mut outbox, 0, client, EchoMsg::Reply { id });
            }
            flush(&out, &mut outbox);
            continue;
        }
        for f in 1..nodes as NodeId {
            let len = ids.len();
            send(&mut outbox, 0, f, EchoMsg::Batch { seq, len });
        }
        flush(&out, &mut outbox);
        waiting.insert(seq, (0, ids));
    }
}

/// Any other node: acknowledges every batch.
fn follower(
    id: NodeId,
    inbox: Receiver<Packet<EchoMsg>>,
    out: Sender<Input<EchoMsg>>,
    mut spin: Spin,
) {
    let mut outbox = Vec::new();
    while let Ok(first) = spin.recv(&inbox, None) {
        let mut next = Some(first);
        let mut n = 0;
        while let Some(p) = next.take() {
            if let EchoMsg::Batch { seq, .. } = p.msg {
                send(&mut outbox, id, p.from, EchoMsg::Ack { seq });
            }
            n += 1;
            if n < BATCH {
                next = inbox.try_recv().ok();
            }
        }
        flush(&out, &mut outbox);
    }
}
