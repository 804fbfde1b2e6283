//! The router of the threaded runtime: one thread that carries every message between
//! nodes (and clients). What happens to each message (delivered, dropped, delayed,
//! duplicated, or blocked by a crash, a disconnect or a partition) is decided by the
//! shared [`Network`] model; this thread only keeps the time.
//!
//! Delay is scheduling, never sleeping: delayed messages wait in a queue ordered by
//! delivery time, and the thread sleeps only until the earliest is due or a new message
//! arrives. Every random choice comes from one seeded RNG, so the fault pattern of a run
//! follows from `Config::seed`, but thread timing still varies between runs: for a run
//! that replays exactly, use the simulated runtime (`crate::sim`).

#[cfg(feature = "harness")]
pub mod echo;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::ops::ControlFlow;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, unbounded, Receiver, RecvTimeoutError, Sender};

use crate::config::NetConfig;
use crate::net::{NetChange, Network};
pub use crate::net::{Packet, Routable, CLIENT_ADDR_BASE};
use crate::trace::Trace;
use crate::types::NodeId;

/// Changes to the network, applied in order with the messages around them.
pub(crate) enum Control<M> {
    Register(NodeId, Sender<Packet<M>>),
    Unregister(NodeId),
    Net(NetChange),
    Stop,
}

pub(crate) enum Input<M> {
    Packet(Packet<M>),
    /// Several packets in one channel operation: a node hands over everything one
    /// round of work produced at once, which costs the router one wake-up, not many.
    Batch(Vec<Packet<M>>),
    Control(Control<M>, Sender<()>),
}

/// The handle the harness and nodes use to reach the router thread.
pub(crate) struct RouterHandle<M> {
    tx: Sender<Input<M>>,
    join: Option<JoinHandle<()>>,
}

impl<M: Routable> RouterHandle<M> {
    /// Starts the router thread.
    pub(crate) fn spawn(net: NetConfig, seed: u64, trace: Arc<Trace>, busy_poll: Duration) -> Self {
        let (tx, rx) = unbounded();
        let router = Router {
            rx,
            network: Network::new(net, seed),
            trace,
            endpoints: HashMap::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            busy_poll,
        };
        let join = std::thread::Builder::new()
            .name("raft-router".into())
            .spawn(move || router.run())
            .expect("spawn the router thread");
        RouterHandle {
            tx,
            join: Some(join),
        }
    }

    /// Where nodes send their packets.
    pub(crate) fn sender(&self) -> Sender<Input<M>> {
        self.tx.clone()
    }

    /// Applies a network change and waits until the router has it, so that every
    /// message sent afterwards sees it.
    pub(crate) fn control(&self, c: Control<M>) {
        let (ack_tx, ack_rx) = bounded(1);
        if self.tx.send(Input::Control(c, ack_tx)).is_ok() {
            let _ = ack_rx.recv();
        }
    }

    /// Stops the thread (dropping undelivered messages) and waits for it.
    pub(crate) fn stop(&mut self) {
        self.control(Control::Stop);
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
    }
}

impl<M> Drop for RouterHandle<M> {
    fn drop(&mut self) {
        let (ack_tx, _ack_rx) = bounded(1);
        let _ = self.tx.send(Input::Control(Control::Stop, ack_tx));
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
    }
}

/// A delayed packet waiting for its delivery time.
struct Scheduled<M> {
    at: Instant,
    seq: u64,
    packet: Packet<M>,
}

impl<M> PartialEq for Scheduled<M> {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl<M> Eq for Scheduled<M> {}
impl<M> PartialOrd for Scheduled<M> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl<M> Ord for Scheduled<M> {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

struct Router<M> {
    rx: Receiver<Input<M>>,
    network: Network,
    trace: Arc<Trace>,
    endpoints: HashMap<NodeId, Sender<Packet<M>>>,
    queue: BinaryHeap<Reverse<Scheduled<M>>>,
    seq: u64,
    /// `Config::busy_poll`.
    busy_poll: Duration,
}

impl<M: Routable> Router<M> {
    fn run(mut self) {
        let mut spin = crate::spin::Spin::new(self.busy_poll);
        loop {
            // Wait for the next packet, or until the earliest delayed one is due.
            let due = self.queue.peek().map(|Reverse(s)| s.at);
            match spin.recv(&self.rx, due) {
                Ok(input) => {
                    if self.handle(input).is_break() {
                        return;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            self.deliver_due();
        }
    }

    /// Routes a packet or batch, or applies a control; `Break` on `Control::Stop`.
    fn handle(&mut self, input: Input<M>) -> ControlFlow<()> {
        match input {
            Input::Packet(p) => self.route(p),
            Input::Batch(ps) => {
                for p in ps {
                    self.route(p);
                }
            }
            Input::Control(c, ack) => {
                let stop = matches!(c, Control::Stop);
                self.apply_control(c);
                let _ = ack.send(());
                if stop {
                    return ControlFlow::Break(());
                }
            }
        }
        ControlFlow::Continue(())
    }

    fn apply_control(&mut self, c: Control<M>) {
        match c {
            Control::Register(id, tx) => {
                self.endpoints.insert(id, tx);
            }
            Control::Unregister(id) => {
                self.endpoints.remove(&id);
                self.network.apply(NetChange::SetAlive(id, false));
            }
            Control::Net(change) => self.network.apply(change),
            Control::Stop => self.queue.clear(),
        }
    }

    /// Decides a new packet's fate: blocked, dropped, or scheduled (once or twice).
    fn route(&mut self, p: Packet<M>) {
        let Some(copies) = self.network.send(&p, &self.trace) else {
            return;
        };
        for delay in copies.iter() {
            let packet = p.clone();
            if delay.is_zero() {
                self.deliver(packet);
            } else {
                self.seq += 1;
                self.queue.push(Reverse(Scheduled {
                    at: Instant::now() + delay,
                    seq: self.seq,
                    packet,
                }));
            }
        }
    }

    fn deliver_due(&mut self) {
        let now = Instant::now();
        while self.queue.peek().is_some_and(|Reverse(s)| s.at <= now) {
            let Reverse(s) = self.queue.pop().expect("peeked");
            // The link is checked again: a partition or crash since sending blocks it.
            if self.network.arrive(&s.packet, &self.trace) {
                self.hand_over(s.packet);
            }
        }
    }

    /// Delivers a packet that was not delayed (its link was just checked by `send`).
    fn deliver(&mut self, p: Packet<M>) {
        if self.trace.wants_messages() || log::log_enabled!(target: "raftsim", log::Level::Debug) {
            self.network.arrive(&p, &self.trace);
        }
        self.hand_over(p);
    }

    fn hand_over(&mut self, p: Packet<M>) {
        if let Some(tx) = self.endpoints.get(&p.to) {
            let _ = tx.send(p);
        }
    }
}
