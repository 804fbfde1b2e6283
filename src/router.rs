//! The router: one thread that carries every message between nodes (and clients) and
//! decides its fate: delivered, dropped, delayed, duplicated, or blocked by a crash,
//! a disconnect or a partition.
//!
//! Delay is scheduling, never sleeping: delayed messages wait in a queue ordered by
//! delivery time, and the thread sleeps only until the earliest is due or a new message
//! arrives. Every random choice comes from one seeded RNG, so the fault pattern of a run
//! follows from `Config::seed` (thread timing still varies between runs).

pub mod echo;

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::ops::ControlFlow;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, unbounded, Receiver, RecvTimeoutError, Sender};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::config::NetConfig;
use crate::event::{EventKind, Fate};
use crate::trace::Trace;
use crate::types::{NodeId, Term};

/// Addresses at and above this are clients. They sit outside partitions unless put in a
/// group by address, and outside disconnects (the network's drops, delays and duplicates
/// still apply to them).
pub const CLIENT_ADDR_BASE: NodeId = 1 << 32;

/// What the router needs to know of a message to trace it.
pub trait Routable: Clone + Send + 'static {
    /// The message type's name.
    fn kind(&self) -> &'static str;
    /// The sender's term in it (0 if none).
    fn term(&self) -> Term;
    /// How many log entries it carries.
    fn entries(&self) -> usize;
}

/// A message with its addresses.
#[derive(Debug, Clone)]
pub struct Packet<M> {
    /// The sender.
    pub from: NodeId,
    /// The receiver.
    pub to: NodeId,
    /// The message.
    pub msg: M,
}

/// Changes to the network, applied in order with the messages around them.
pub(crate) enum Control<M> {
    Register(NodeId, Sender<Packet<M>>),
    Unregister(NodeId),
    SetAlive(NodeId, bool),
    SetConnected(NodeId, bool),
    Partition(Vec<Vec<NodeId>>),
    Heal,
    SetNet(NetConfig),
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
            net,
            rng: SmallRng::seed_from_u64(seed),
            trace,
            endpoints: HashMap::new(),
            alive: BTreeSet::new(),
            disconnected: BTreeSet::new(),
            groups: None,
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
    net: NetConfig,
    rng: SmallRng,
    trace: Arc<Trace>,
    endpoints: HashMap<NodeId, Sender<Packet<M>>>,
    alive: BTreeSet<NodeId>,
    disconnected: BTreeSet<NodeId>,
    /// Node -> partition group; `None` when there is no partition.
    groups: Option<HashMap<NodeId, usize>>,
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
                self.alive.remove(&id);
            }
            Control::SetAlive(id, up) => {
                if up {
                    self.alive.insert(id);
                } else {
                    self.alive.remove(&id);
                }
            }
            Control::SetConnected(id, up) => {
                if up {
                    self.disconnected.remove(&id);
                } else {
                    self.disconnected.insert(id);
                }
            }
            Control::Partition(groups) => {
                let mut map = HashMap::new();
                for (g, members) in groups.iter().enumerate() {
                    for &m in members {
                        map.insert(m, g);
                    }
                }
                self.groups = Some(map);
            }
            Control::Heal => {
                self.groups = None;
                self.disconnected.clear();
            }
            Control::SetNet(net) => self.net = net,
            Control::Stop => self.queue.clear(),
        }
    }

    /// Whether a packet may pass now, or why not.
    fn link(&self, from: NodeId, to: NodeId) -> Result<(), Fate> {
        let is_client = |a: NodeId| a >= CLIENT_ADDR_BASE;
        for a in [from, to] {
            if !is_client(a) && !self.alive.contains(&a) {
                return Err(Fate::BlockedCrashed);
            }
        }
        for a in [from, to] {
            if !is_client(a) && self.disconnected.contains(&a) {
                return Err(Fate::BlockedDisconnected);
            }
        }
        if let Some(groups) = &self.groups {
            // A client in no group reaches every side; a node in no group is alone; a
            // client put in a group (by its address) is confined to that side, like a
            // client stuck in a minority.
            let (gf, gt) = (groups.get(&from), groups.get(&to));
            let free = |a: NodeId, g: Option<&usize>| is_client(a) && g.is_none();
            if !free(from, gf) && !free(to, gt) {
                match (gf, gt) {
                    (Some(a), Some(b)) if a == b => {}
                    _ => return Err(Fate::BlockedByPartition),
                }
            }
        }
        Ok(())
    }

    fn note(&self, p: &Packet<M>, fate: Fate) {
        if !self.trace.wants_messages() && !log::log_enabled!(target: "raftsim", log::Level::Debug)
        {
            return;
        }
        self.trace.record(
            None,
            0,
            None,
            EventKind::Message {
                from: p.from,
                to: p.to,
                kind: p.msg.kind(),
                msg_term: p.msg.term(),
                entries: p.msg.entries(),
                fate,
            },
        );
    }

    /// Decides a new packet's fate: blocked, dropped, or scheduled (once or twice).
    fn route(&mut self, p: Packet<M>) {
        if let Err(fate) = self.link(p.from, p.to) {
            return self.note(&p, fate);
        }
        if self.net.is_instant() {
            return self.deliver(p);
        }
        if self.net.drop_rate > 0.0 && self.rng.gen_bool(self.net.drop_rate) {
            return self.note(&p, Fate::Dropped);
        }
        let copies = if self.net.duplicate_rate > 0.0 && self.rng.gen_bool(self.net.duplicate_rate)
        {
            self.note(&p, Fate::Duplicated);
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = self.draw_delay();
            let packet = p.clone();
            if delay.is_zero() {
                self.deliver(packet);
            } else {
                self.note(
                    &packet,
                    Fate::Delayed {
                        delay_us: delay.as_micros() as u64,
                    },
                );
                self.seq += 1;
                self.queue.push(Reverse(Scheduled {
                    at: Instant::now() + delay,
                    seq: self.seq,
                    packet,
                }));
            }
        }
    }

    fn draw_delay(&mut self) -> Duration {
        let (lo, hi) = (self.net.delay_min, self.net.delay_max);
        let mut d = if hi > lo {
            self.rng.gen_range(lo..=hi)
        } else {
            lo
        };
        if self.net.long_reordering && self.rng.gen_bool(NetConfig::LONG_REORDER_RATE) {
            let (a, b) = NetConfig::LONG_REORDER_DELAY;
            d += self.rng.gen_range(a..=b);
        }
        d
    }

    fn deliver_due(&mut self) {
        let now = Instant::now();
        while self.queue.peek().is_some_and(|Reverse(s)| s.at <= now) {
            let Reverse(s) = self.queue.pop().expect("peeked");
            // The link is checked again: a partition or crash since sending blocks it.
            match self.link(s.packet.from, s.packet.to) {
                Ok(()) => self.deliver(s.packet),
                Err(fate) => self.note(&s.packet, fate),
            }
        }
    }

    fn deliver(&mut self, p: Packet<M>) {
        self.note(&p, Fate::Delivered);
        if let Some(tx) = self.endpoints.get(&p.to) {
            let _ = tx.send(p);
        }
    }
}
