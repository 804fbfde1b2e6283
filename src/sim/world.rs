//! The simulated world: every node's driver, the network model and the clients' mail on
//! one thread, moved forward by an event queue on a virtual clock.
//!
//! Each event is a message arriving, a node's timer, a node's modelled write finishing,
//! or a simulated client waking up. Events are ordered by (virtual time, sequence
//! number), the sequence number being the order in which they were scheduled, so two
//! events at one instant always run in the same order. Nothing reads the wall clock and
//! nothing iterates a hash map: a run is a function of its seed and its inputs.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use crate::driver::NodeDriver;
use crate::net::{is_client, NetChange, Network, Packet};
use crate::state_machine::StateMachine;
use crate::trace::Trace;
use crate::types::NodeId;
use crate::wire::Wire;

/// Something scheduled to happen at a virtual instant.
enum Item<S: StateMachine> {
    /// A packet reaches its receiver's side of the network.
    Deliver(Packet<Wire<S>>),
    /// A node's earliest deadline (election timeout or heartbeat) may have come.
    Timer { node: NodeId, incarnation: u64 },
    /// A node's modelled fsync is done.
    WriteDone { node: NodeId, incarnation: u64 },
    /// A simulated client's own timer (think time, retry, timeout).
    Wake { client: NodeId, token: u64 },
}

struct Scheduled<S: StateMachine> {
    at: Duration,
    seq: u64,
    item: Item<S>,
}

impl<S: StateMachine> PartialEq for Scheduled<S> {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl<S: StateMachine> Eq for Scheduled<S> {}
impl<S: StateMachine> PartialOrd for Scheduled<S> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl<S: StateMachine> Ord for Scheduled<S> {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

/// A live node in the simulation.
struct SimNode<S: StateMachine> {
    driver: NodeDriver<S>,
    incarnation: u64,
    /// When the timer event in the queue is due, if one is.
    timer_at: Option<Duration>,
    /// Packets that arrived during a modelled write: handled once it is done, as a
    /// thread blocked in its fsync would find them in its inbox.
    held: VecDeque<Packet<Wire<S>>>,
}

/// What a simulated client actor gets told.
pub(crate) enum Mail<S: StateMachine> {
    /// A reply (or any packet) reached the client's address.
    Packet(Packet<Wire<S>>),
    /// The client's timer with this token fired.
    Wake(u64),
}

/// What a simulated client actor does in answer to its mail: packets to send and
/// timers to set, at the current instant.
pub(crate) struct Effects<S: StateMachine> {
    /// Packets to hand to the network.
    pub packets: Vec<Packet<Wire<S>>>,
    /// `(client, at, token)`: wake the client at `at` with `token`.
    pub wakes: Vec<(NodeId, Duration, u64)>,
}

/// The simulated clients of a world (a workload): the world hands them their mail as it
/// comes, and carries out what they do.
pub(crate) trait Actors<S: StateMachine>: Send {
    /// Handles mail for `client` at `now`.
    fn handle(&mut self, now: Duration, client: NodeId, mail: Mail<S>, out: &mut Effects<S>);
}

/// The simulated cluster's moving parts (see the module doc).
pub(crate) struct World<S: StateMachine> {
    now: Duration,
    seq: u64,
    queue: BinaryHeap<Reverse<Scheduled<S>>>,
    nodes: BTreeMap<NodeId, SimNode<S>>,
    network: Network,
    trace: Arc<Trace>,
    /// Mailboxes of clients that call in from outside (a `RawClient`), by address.
    mailboxes: BTreeMap<NodeId, VecDeque<Packet<Wire<S>>>>,
    /// Addresses of simulated client actors, and the actors themselves.
    actor_addrs: std::collections::BTreeSet<NodeId>,
    actors: Option<Box<dyn Actors<S>>>,
    /// Events handled so far.
    pub(crate) events: u64,
    /// Events handled at the current instant: a livelock guard.
    same_instant: u64,
    /// Scripted stepping (`crate::script`): which messages to hold back on arrival,
    /// and the ones held so far, oldest first.
    hold_rules: Vec<MessageFilter>,
    held_messages: Vec<Packet<Wire<S>>>,
    /// Scripted stepping: while true, no node's timer fires by itself (elections and
    /// heartbeats happen only when a script says so).
    timers_frozen: bool,
}

/// Which node-to-node messages a rule or a command means: `None` matches any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageFilter {
    /// The sender.
    pub from: Option<NodeId>,
    /// The receiver.
    pub to: Option<NodeId>,
    /// The message's kind, as the trace names it (`Message::kind`).
    pub kind: Option<String>,
}

impl MessageFilter {
    /// Whether a packet between nodes matches (client traffic never does).
    pub fn matches<M: crate::net::Routable>(&self, p: &Packet<M>) -> bool {
        !is_client(p.from)
            && !is_client(p.to)
            && self.from.is_none_or(|f| f == p.from)
            && self.to.is_none_or(|t| t == p.to)
            && self.kind.as_deref().is_none_or(|k| k == p.msg.kind())
    }
}

/// More events than this at one virtual instant is a livelock (something reschedules
/// itself with no delay): the simulation stops with a panic naming what repeats.
const LIVELOCK: u64 = 1_000_000;

impl<S: StateMachine> World<S> {
    /// An empty world at time zero.
    pub(crate) fn new(network: Network, trace: Arc<Trace>) -> Self {
        World {
            now: Duration::ZERO,
            seq: 0,
            queue: BinaryHeap::new(),
            nodes: BTreeMap::new(),
            network,
            trace,
            mailboxes: BTreeMap::new(),
            actor_addrs: Default::default(),
            actors: None,
            events: 0,
            same_instant: 0,
            hold_rules: Vec::new(),
            held_messages: Vec::new(),
            timers_frozen: false,
        }
    }

    /// From now on, messages matching `filter` are held when they arrive, until
    /// [`World::deliver_held`] or [`World::drop_held`] (scripted stepping).
    pub(crate) fn hold(&mut self, filter: MessageFilter) {
        self.hold_rules.push(filter);
    }

    /// Stops holding new messages (those held stay held).
    pub(crate) fn unhold(&mut self) {
        self.hold_rules.clear();
    }

    /// The held messages, oldest first.
    pub(crate) fn held(&self) -> &[Packet<Wire<S>>] {
        &self.held_messages
    }

    /// Delivers up to `max` held messages matching `filter`, oldest first, at the
    /// current instant (the links are checked as for any arrival); returns how many.
    pub(crate) fn deliver_held(&mut self, filter: &MessageFilter, max: usize) -> usize {
        let mut n = 0;
        while n < max {
            let Some(i) = self.held_messages.iter().position(|p| filter.matches(p)) else {
                break;
            };
            let p = self.held_messages.remove(i);
            self.arrived(p);
            n += 1;
        }
        n
    }

    /// Discards the held messages matching `filter`, as a lossy network would; returns
    /// how many.
    pub(crate) fn drop_held(&mut self, filter: &MessageFilter) -> usize {
        let before = self.held_messages.len();
        let (dropped, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.held_messages)
            .into_iter()
            .partition(|p| filter.matches(p));
        self.held_messages = kept;
        for p in &dropped {
            crate::net::note_fate(&self.trace, p, crate::event::Fate::Dropped);
        }
        before - self.held_messages.len()
    }

    /// Freezes (true) or thaws the nodes' timers. Frozen, no election timeout or
    /// heartbeat fires by itself; thawed, every node's timers start afresh from now, so
    /// the nodes do not all time out at once for the time spent frozen.
    pub(crate) fn freeze_timers(&mut self, frozen: bool) {
        if self.timers_frozen == frozen {
            return;
        }
        self.timers_frozen = frozen;
        if !frozen {
            let now = self.now;
            let ids: Vec<NodeId> = self.nodes.keys().copied().collect();
            for id in ids {
                let node = self.nodes.get_mut(&id).expect("listed");
                node.driver.restart_timers(now);
                node.timer_at = None;
                self.schedule_timer(id);
            }
        }
    }

    /// The virtual time.
    pub(crate) fn now(&self) -> Duration {
        self.now
    }

    /// Starts a node from its driver (built from its storage at `self.now()`).
    pub(crate) fn start(&mut self, driver: NodeDriver<S>, incarnation: u64) {
        let id = driver.id();
        self.network.apply(NetChange::SetAlive(id, true));
        let node = SimNode {
            driver,
            incarnation,
            timer_at: None,
            held: VecDeque::new(),
        };
        self.nodes.insert(id, node);
        self.schedule_timer(id);
    }

    /// Stops a node at once, losing its volatile state (its driver).
    pub(crate) fn crash(&mut self, id: NodeId) -> bool {
        self.network.apply(NetChange::SetAlive(id, false));
        let Some(node) = self.nodes.remove(&id) else {
            return false;
        };
        // A modelled write still in flight never reaches the disk.
        node.driver.lose_write_in_flight();
        true
    }

    /// Changes the links or the network's settings.
    pub(crate) fn net(&mut self, change: NetChange) {
        self.network.apply(change);
    }

    /// Runs `f` on node `id`'s driver at the current instant, then carries out what it
    /// caused. `None` if the node is not running. During a modelled write the input is
    /// taken at once (as a control message would be), its effects carried out after.
    pub(crate) fn with_node<R>(
        &mut self,
        id: NodeId,
        f: impl FnOnce(&mut NodeDriver<S>, Duration) -> R,
    ) -> Option<R> {
        let now = self.now;
        let node = self.nodes.get_mut(&id)?;
        node.driver.set_now(now);
        let out = f(&mut node.driver, now);
        if !node.driver.is_writing() {
            self.run_ready(id);
        }
        Some(out)
    }

    /// Registers a mailbox for a client that calls in from outside the world.
    pub(crate) fn open_mailbox(&mut self, addr: NodeId) {
        self.mailboxes.insert(addr, VecDeque::new());
    }

    /// Removes a client's mailbox.
    pub(crate) fn close_mailbox(&mut self, addr: NodeId) {
        self.mailboxes.remove(&addr);
    }

    /// The next packet waiting in a client's mailbox.
    pub(crate) fn take_mail(&mut self, addr: NodeId) -> Option<Packet<Wire<S>>> {
        self.mailboxes.get_mut(&addr)?.pop_front()
    }

    /// Whether a client's mailbox holds anything.
    pub(crate) fn has_mail(&self, addr: NodeId) -> bool {
        self.mailboxes.get(&addr).is_some_and(|m| !m.is_empty())
    }

    /// Installs the simulated clients (replacing any before) and their addresses;
    /// `start` lists the first wake-up of each.
    pub(crate) fn set_actors(
        &mut self,
        actors: Box<dyn Actors<S>>,
        addrs: impl IntoIterator<Item = NodeId>,
        start: Vec<(NodeId, Duration, u64)>,
    ) {
        self.actor_addrs = addrs.into_iter().collect();
        self.actors = Some(actors);
        for (client, at, token) in start {
            self.push(at.max(self.now), Item::Wake { client, token });
        }
    }

    fn mail_actor(&mut self, client: NodeId, mail: Mail<S>) {
        let Some(actors) = self.actors.as_mut() else {
            return;
        };
        let mut out = Effects {
            packets: Vec::new(),
            wakes: Vec::new(),
        };
        actors.handle(self.now, client, mail, &mut out);
        for (client, at, token) in out.wakes {
            self.push(at.max(self.now), Item::Wake { client, token });
        }
        self.send(out.packets);
    }

    /// Hands packets to the network at the current instant.
    pub(crate) fn send(&mut self, packets: Vec<Packet<Wire<S>>>) {
        for p in packets {
            let Some(copies) = self.network.send(&p, &self.trace) else {
                continue;
            };
            let mut delays = copies.iter();
            let first = delays.next().expect("at least one copy");
            match delays.next() {
                Some(second) => {
                    self.push(self.now + first, Item::Deliver(p.clone()));
                    self.push(self.now + second, Item::Deliver(p));
                }
                None => self.push(self.now + first, Item::Deliver(p)),
            }
        }
    }

    /// When the next event is due, if any is scheduled.
    pub(crate) fn next_event_at(&self) -> Option<Duration> {
        self.queue.peek().map(|Reverse(s)| s.at)
    }

    /// Handles the next event, moving the clock to it; false if none is scheduled.
    pub(crate) fn step(&mut self) -> bool {
        let Some(Reverse(ev)) = self.queue.pop() else {
            return false;
        };
        debug_assert!(ev.at >= self.now, "the clock never runs backwards");
        if ev.at != self.now {
            self.now = ev.at;
            self.trace.set_virtual_now(self.now);
            self.same_instant = 0;
        }
        self.events += 1;
        self.same_instant += 1;
        if self.same_instant > LIVELOCK {
            let what = match &ev.item {
                Item::Deliver(p) => format!("delivering {:?} from {} to {}", p.msg, p.from, p.to),
                Item::Timer { node, .. } => format!("the timer of n{node}"),
                Item::WriteDone { node, .. } => format!("the write of n{node}"),
                Item::Wake { client, .. } => format!("the timer of client {client}"),
            };
            panic!(
                "livelock: over {LIVELOCK} events at {:?}, e.g. {what}",
                self.now
            );
        }
        match ev.item {
            Item::Deliver(p) => self.deliver(p),
            Item::Timer { node, incarnation } => self.timer(node, incarnation, ev.at),
            Item::WriteDone { node, incarnation } => self.write_done(node, incarnation),
            Item::Wake { client, token } => self.mail_actor(client, Mail::Wake(token)),
        }
        true
    }

    /// Moves the clock to `at` without handling anything (nothing is due before it).
    pub(crate) fn advance_to(&mut self, at: Duration) {
        debug_assert!(self.next_event_at().is_none_or(|t| t >= at));
        if at > self.now {
            self.now = at;
            self.trace.set_virtual_now(at);
        }
    }

    /// Handles events until `done` holds or the clock would pass `until`; true if `done`
    /// held. The clock ends at `until` when it did not.
    pub(crate) fn run_until(
        &mut self,
        until: Duration,
        mut done: impl FnMut(&Self) -> bool,
    ) -> bool {
        loop {
            if done(self) {
                return true;
            }
            match self.next_event_at() {
                Some(t) if t <= until => {
                    self.step();
                }
                _ => {
                    self.advance_to(until);
                    return done(self);
                }
            }
        }
    }

    fn deliver(&mut self, p: Packet<Wire<S>>) {
        if self.hold_rules.iter().any(|f| f.matches(&p)) {
            self.held_messages.push(p);
            return;
        }
        self.arrived(p);
    }

    fn arrived(&mut self, p: Packet<Wire<S>>) {
        if !self.network.arrive(&p, &self.trace) {
            return;
        }
        if is_client(p.to) {
            if self.actor_addrs.contains(&p.to) {
                self.mail_actor(p.to, Mail::Packet(p));
            } else if let Some(mailbox) = self.mailboxes.get_mut(&p.to) {
                mailbox.push_back(p);
            }
            return;
        }
        let now = self.now;
        let Some(node) = self.nodes.get_mut(&p.to) else {
            return;
        };
        if node.driver.is_writing() {
            node.held.push_back(p);
            return;
        }
        let id = p.to;
        node.driver.set_now(now);
        node.driver.handle_packet(p);
        self.run_ready(id);
    }

    fn timer(&mut self, id: NodeId, incarnation: u64, at: Duration) {
        let Some(node) = self.nodes.get_mut(&id) else {
            return;
        };
        if node.incarnation != incarnation || node.timer_at != Some(at) {
            return; // a stale entry: the timer was rescheduled earlier since
        }
        node.timer_at = None;
        if node.driver.is_writing() || self.timers_frozen {
            return; // a thread blocked in its fsync looks at its timers afterwards
        }
        self.run_ready(id);
    }

    fn write_done(&mut self, id: NodeId, incarnation: u64) {
        let now = self.now;
        let mut out = Vec::new();
        let held = {
            let Some(node) = self.nodes.get_mut(&id) else {
                return;
            };
            if node.incarnation != incarnation {
                return;
            }
            node.driver.finish_ready(now, &mut |p| out.extend(p));
            out.extend(node.driver.take_outbox());
            // What arrived during the write is handled now, as one batch.
            let held = std::mem::take(&mut node.held);
            node.driver.set_now(now);
            held
        };
        self.send(out);
        let node = self.nodes.get_mut(&id).expect("still running");
        for p in held {
            node.driver.handle_packet(p);
        }
        self.run_ready(id);
    }

    /// Carries out node `id`'s output and fires its due timers, until it has nothing
    /// left to do or a modelled write suspends it; then schedules its next timer.
    fn run_ready(&mut self, id: NodeId) {
        let now = self.now;
        loop {
            let mut out = Vec::new();
            let node = self.nodes.get_mut(&id).expect("a running node");
            let write = node.driver.begin_ready(now, &mut |p| out.extend(p));
            out.extend(node.driver.take_outbox());
            let incarnation = node.incarnation;
            self.send(out);
            if let Some(write) = write {
                self.push(
                    now + write,
                    Item::WriteDone {
                        node: id,
                        incarnation,
                    },
                );
                return;
            }
            let node = self.nodes.get_mut(&id).expect("a running node");
            // Go round again if a timer fired, or if the write's acknowledgement left
            // work (a leader's commit).
            let fired = !self.timers_frozen && node.driver.fire_timers(now);
            if !fired && !node.driver.has_ready() {
                break;
            }
        }
        self.schedule_timer(id);
    }

    /// Makes sure an event is queued at the node's earliest deadline. One timer entry per
    /// node at a time: a deadline that moved later is found when the entry fires.
    fn schedule_timer(&mut self, id: NodeId) {
        if self.timers_frozen {
            return;
        }
        let now = self.now;
        let node = self.nodes.get_mut(&id).expect("a running node");
        let due = node.driver.next_deadline().max(now);
        if node.timer_at.is_some_and(|t| t <= due) {
            return;
        }
        node.timer_at = Some(due);
        let incarnation = node.incarnation;
        self.push(
            due,
            Item::Timer {
                node: id,
                incarnation,
            },
        );
    }

    fn push(&mut self, at: Duration, item: Item<S>) {
        self.seq += 1;
        self.queue.push(Reverse(Scheduled {
            at,
            seq: self.seq,
            item,
        }));
    }
}
