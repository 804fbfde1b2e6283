//! The network model: which links are up, and what the network does to each message
//! (deliver, drop, delay, duplicate, hold back).
//!
//! Both runtimes call the same [`Network`]: the router thread of the threaded runtime
//! and the event queue of the simulated one. Only they decide *when* a message arrives
//! (a real timer, or a virtual instant); the fate itself is one function of
//! [`NetConfig`], the link state and one seeded RNG stream, so a simulated run with the
//! same seed makes the same choices in the same order.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::config::NetConfig;
use crate::event::{EventKind, Fate};
use crate::trace::Trace;
use crate::types::{NodeId, Term};

pub use crate::types::{is_client, CLIENT_ADDR_BASE};

/// What the network needs to know of a message to trace it.
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

/// A change to the links or to what the network does, applied between two messages.
#[derive(Debug, Clone)]
pub enum NetChange {
    /// A node came up (true) or crashed (false).
    SetAlive(NodeId, bool),
    /// A node's links were restored (true) or cut (false).
    SetConnected(NodeId, bool),
    /// Only members of one group can talk.
    Partition(Vec<Vec<NodeId>>),
    /// No partition, every node connected.
    Heal,
    /// New drop/duplicate/delay settings.
    SetNet(NetConfig),
}

/// The links and the fault settings, with the RNG stream that draws every fate.
#[derive(Debug)]
pub struct Network {
    net: NetConfig,
    rng: SmallRng,
    alive: BTreeSet<NodeId>,
    disconnected: BTreeSet<NodeId>,
    /// Node (or client address) -> partition group; `None` when there is no partition.
    groups: Option<BTreeMap<NodeId, usize>>,
}

impl Network {
    /// A network with no node up yet, drawing its fates from `seed`.
    pub fn new(net: NetConfig, seed: u64) -> Self {
        Network {
            net,
            rng: SmallRng::seed_from_u64(seed),
            alive: BTreeSet::new(),
            disconnected: BTreeSet::new(),
            groups: None,
        }
    }

    /// The current settings.
    pub fn config(&self) -> &NetConfig {
        &self.net
    }

    /// Applies a change to the links or settings.
    pub fn apply(&mut self, change: NetChange) {
        match change {
            NetChange::SetAlive(id, true) => {
                self.alive.insert(id);
            }
            NetChange::SetAlive(id, false) => {
                self.alive.remove(&id);
            }
            NetChange::SetConnected(id, true) => {
                self.disconnected.remove(&id);
            }
            NetChange::SetConnected(id, false) => {
                self.disconnected.insert(id);
            }
            NetChange::Partition(groups) => {
                let mut map = BTreeMap::new();
                for (g, members) in groups.iter().enumerate() {
                    for &m in members {
                        map.insert(m, g);
                    }
                }
                self.groups = Some(map);
            }
            NetChange::Heal => {
                self.groups = None;
                self.disconnected.clear();
            }
            NetChange::SetNet(net) => self.net = net,
        }
    }

    /// Whether a packet may pass now, or why not.
    pub fn link(&self, from: NodeId, to: NodeId) -> Result<(), Fate> {
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

    /// Decides a new packet's fate and records it in the trace: `None` if it is
    /// blocked or dropped, else the delay of each copy to deliver (two when
    /// duplicated; `Duration::ZERO` means at once).
    pub fn send<M: Routable>(&mut self, p: &Packet<M>, trace: &Trace) -> Option<Copies> {
        if let Err(fate) = self.link(p.from, p.to) {
            note(trace, p, fate);
            return None;
        }
        if self.net.is_instant() {
            return Some(Copies::one(Duration::ZERO));
        }
        if self.net.drop_rate > 0.0 && self.rng.gen_bool(self.net.drop_rate) {
            note(trace, p, Fate::Dropped);
            return None;
        }
        let duplicated =
            self.net.duplicate_rate > 0.0 && self.rng.gen_bool(self.net.duplicate_rate);
        if duplicated {
            note(trace, p, Fate::Duplicated);
        }
        let mut copies = Copies::one(self.draw_delay());
        if duplicated {
            copies.second = Some(self.draw_delay());
        }
        for d in copies.iter().filter(|d| !d.is_zero()) {
            let delay_us = d.as_micros() as u64;
            note(trace, p, Fate::Delayed { delay_us });
        }
        Some(copies)
    }

    /// A packet reaches its receiver's side: the link is checked again (a partition or
    /// crash since sending blocks it). Records the fate; true if it is to be handed over.
    pub fn arrive<M: Routable>(&self, p: &Packet<M>, trace: &Trace) -> bool {
        match self.link(p.from, p.to) {
            Ok(()) => {
                note(trace, p, Fate::Delivered);
                true
            }
            Err(fate) => {
                note(trace, p, fate);
                false
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
}

/// The delays of the copies of one packet: one, or two when the network duplicated it.
#[derive(Debug, Clone, Copy)]
pub struct Copies {
    first: Duration,
    second: Option<Duration>,
}

impl Copies {
    fn one(d: Duration) -> Self {
        Copies {
            first: d,
            second: None,
        }
    }

    /// Each copy's delay.
    pub fn iter(&self) -> impl Iterator<Item = Duration> {
        std::iter::once(self.first).chain(self.second)
    }
}

/// Records a message's fate decided outside the network model (a scripted drop).
pub(crate) fn note_fate<M: Routable>(trace: &Trace, p: &Packet<M>, fate: Fate) {
    note(trace, p, fate);
}

/// Records a message's fate, when message events are wanted by the trace or the log.
fn note<M: Routable>(trace: &Trace, p: &Packet<M>, fate: Fate) {
    if !trace.wants_messages() && !log::log_enabled!(target: "raftsim", log::Level::Debug) {
        return;
    }
    trace.record(
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
